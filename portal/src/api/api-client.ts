import { hasExpired, type SessionStore } from './session.js';

/** An error answer of the API, worded as the API worded it (OpenAI's envelope: message, type, param, code). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;
  readonly param: string | null;
  /** The envelope's whole `error` object (a content filter's `inner_error` results, say); null when there was none. */
  readonly detail: Readonly<Record<string, unknown>> | null;

  constructor(status: number, message: string, code: string | null = null, param: string | null = null, detail: Record<string, unknown> | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.param = param;
    this.detail = detail;
  }
}

/** The API's error from a response that is not ok; a body that is not the envelope still gives a readable message. */
export async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const { error } = JSON.parse(text) as { error?: { message?: unknown; code?: unknown; param?: unknown } };
    if (error && typeof error.message === 'string') {
      return new ApiError(
        response.status,
        error.message,
        typeof error.code === 'string' ? error.code : null,
        typeof error.param === 'string' ? error.param : null,
        error,
      );
    }
  } catch {
    // not JSON: a proxy's page, say
  }
  return new ApiError(response.status, `The server answered ${response.status} ${response.statusText}`.trim() + (text ? `: ${text.slice(0, 200)}` : '.'));
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** What `send` may add to a request. */
export interface SendOptions {
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Overrides the session's credential (its 401 is then an answer, not the end of the session). */
  readonly credential?: string;
  /** A 401 is shown as the API's answer and does not end the session (the playground's refusals). */
  readonly keepSessionOn401?: boolean;
}

export interface ApiClientOptions {
  readonly session: SessionStore;
  /** Told when the API refuses the credential (401), or the session's token has expired: the session is over. */
  readonly onUnauthorized: () => void;
  /** Base URL of Cerulean ('' in the browser: the portal is served by Cerulean itself). */
  readonly baseUrl?: string;
  readonly fetch?: Fetch;
}

/** Calls Cerulean's APIs with the session's credential; the one place the portal talks to the server. */
export class ApiClient {
  private readonly options: ApiClientOptions;
  private readonly fetch: Fetch;

  constructor(options: ApiClientOptions) {
    this.options = options;
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** An admin operation: `path` under /admin/v1; resolves to the JSON answer or rejects with the API's ApiError. */
  admin<T>(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, credential?: string): Promise<T> {
    return this.call<T>(method, `/admin/v1${path}`, body, credential);
  }

  /**
   * Sends one request and resolves to its JSON answer, or rejects with the API's ApiError.
   * `credential` overrides the session's (signing in checks a credential before keeping it: its
   * 401 is an answer, not the end of a session).
   */
  async call<T>(method: string, path: string, body?: unknown, credential?: string): Promise<T> {
    const response = await this.send(method, path, { body, credential });
    if (!response.ok) throw await errorOf(response);
    return (await response.json()) as T;
  }

  /**
   * Sends one request and resolves to the response whatever its status (a stream is read by the
   * caller; `errorOf` words a refusal); rejects only when Cerulean could not be reached or the
   * request was aborted (the signal's AbortError).
   */
  async send(method: string, path: string, options: SendOptions = {}): Promise<Response> {
    const session = this.options.session.current();
    const presented = options.credential ?? session?.credential;
    if (!presented) {
      this.options.onUnauthorized();
      throw new ApiError(401, 'You are signed out: sign in again.', 'signed_out');
    }
    // An expired single sign-on token is not sent: Cerulean would refuse it anyway.
    if (options.credential === undefined && session && hasExpired(session, Date.now())) {
      this.options.onUnauthorized();
      throw new ApiError(401, 'Your single sign-on session expired: sign in again.', 'session_expired');
    }
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers, authorization: `Bearer ${presented}` };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetch(`${this.options.baseUrl ?? ''}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        credentials: 'omit',
        signal: options.signal,
      });
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new ApiError(0, 'Cerulean could not be reached: check your connection and retry.', 'network_error');
    }
    if (response.status === 401 && options.credential === undefined && !options.keepSessionOn401) this.options.onUnauthorized();
    return response;
  }
}
