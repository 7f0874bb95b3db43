import type { SessionStore } from './session.js';

/** An error answer of the API, worded as the API worded it (OpenAI's envelope: message, type, param, code). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;
  readonly param: string | null;

  constructor(status: number, message: string, code: string | null = null, param: string | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.param = param;
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
      );
    }
  } catch {
    // not JSON: a proxy's page, say
  }
  return new ApiError(response.status, `The server answered ${response.status} ${response.statusText}`.trim() + (text ? `: ${text.slice(0, 200)}` : '.'));
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  readonly session: SessionStore;
  /** Told when the API refuses the credential (401): the session is over. */
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
   * Sends one request. `credential` overrides the session's (signing in checks a credential before
   * keeping it: its 401 is an answer, not the end of a session).
   */
  async call<T>(method: string, path: string, body?: unknown, credential?: string): Promise<T> {
    const presented = credential ?? this.options.session.current()?.credential;
    if (!presented) {
      this.options.onUnauthorized();
      throw new ApiError(401, 'You are signed out: sign in again.', 'signed_out');
    }
    const headers: Record<string, string> = { authorization: `Bearer ${presented}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetch(`${this.options.baseUrl ?? ''}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'omit',
      });
    } catch {
      throw new ApiError(0, 'Cerulean could not be reached: check your connection and retry.', 'network_error');
    }
    if (!response.ok) {
      const error = await errorOf(response);
      if (response.status === 401 && credential === undefined) this.options.onUnauthorized();
      throw error;
    }
    return (await response.json()) as T;
  }
}
