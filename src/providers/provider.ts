import type { DeploymentConfig, ProviderType } from '../config/schema.js';

/**
 * The contract every provider folder implements. A provider translates between Cerulean's one
 * internal schema (OpenAI's request and response shapes) and its upstream's wire format; it does
 * no I/O itself: `upstream-client.ts` sends what `buildRequest` returns, with pooling, timeouts
 * and retries shared by all providers.
 */
export type Operation = 'chat' | 'completions' | 'embeddings' | 'images';

export type JsonObject = Record<string, unknown>;

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** `cache_creation_tokens`: prompt tokens written to the provider's prompt cache (Anthropic), Cerulean's own field. */
  prompt_tokens_details?: { cached_tokens?: number; cache_creation_tokens?: number };
  completion_tokens_details?: Record<string, number>;
}

/** A deployment resolved to the upstream model it calls. */
export interface Target {
  /** The deployment name the caller used. */
  readonly deployment: string;
  /** The model (or Azure deployment) name sent upstream. */
  readonly model: string;
  readonly config: DeploymentConfig;
}

export interface UpstreamRequest {
  method: 'GET' | 'POST';
  /**
   * The upstream answers in the caller's own API (a native Responses request): its answer is
   * relayed as it is, not translated by `parseResponse` / `createStreamTranslator`.
   */
  answerInCallerApi?: boolean;
  /** Path and query, relative to the provider's origin. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface ProviderResponse {
  /** The response in OpenAI's shape for the operation. */
  body: JsonObject;
  /**
   * The upstream's bytes, when they already are `body` in OpenAI's shape: the edge may send them
   * as they are instead of serialising `body` again. Dropped by any stage that changes `body`.
   */
  raw?: string;
  usage?: Usage;
}

/** One server-sent event as the upstream sent it. */
export interface SseEvent {
  event?: string;
  data: string;
}

/**
 * Turns one upstream stream into OpenAI `chat.completion.chunk` (or `text_completion`) objects.
 * Every translator emits, as its last chunk before the end, one chunk with `choices: []` and the
 * stream's `usage` whenever the upstream reported usage; the relay decides whether the caller sees it.
 */
export interface StreamTranslator {
  /** Throws a CeruleanError when the upstream reports an error inside the stream. */
  push(event: SseEvent): JsonObject[];
  /** Called once when the upstream body ended; returns any chunks still held back. */
  end(): JsonObject[];
}

/** What a provider extracts from an upstream error body. */
export interface UpstreamErrorDetail {
  message: string;
  type?: string;
  code?: string | null;
  param?: string | null;
  /** A wait the upstream advised in its body (e.g. Google's RetryInfo), when no header carries one. */
  retryAfterSeconds?: number;
}

export interface Provider {
  /** The name given in the configuration (`providers.<name>`). */
  readonly name: string;
  readonly type: ProviderType;
  /** Region the provider serves from, reported as `x-ms-region`. */
  readonly region: string | undefined;
  /** `scheme://host:port` every request goes to; paths come from `buildRequest`. */
  readonly origin: string;
  readonly operations: ReadonlySet<Operation>;
  /** The unset environment variable its credential needs, or null when it can be called. */
  readonly missingCredential: string | null;
  /**
   * True when the upstream answers in OpenAI's shape already, so a response `body` equals the
   * upstream's bytes and they may be relayed without serialising again. Absent means false.
   */
  readonly speaksOpenAI?: boolean;

  buildRequest(operation: Operation, body: JsonObject, target: Target, stream: boolean): UpstreamRequest;
  /**
   * The caller's request in its own API, sent as it came (only `model` replaced), when this
   * provider's upstream speaks that API natively (Anthropic's Messages API to an `anthropic`
   * provider); undefined when it does not and the internal request is translated instead. The
   * answer still comes back through `parseResponse` / `createStreamTranslator`. Absent: never native.
   */
  nativeRequest?(api: string, body: JsonObject, target: Target, stream: boolean, betas: string | undefined): UpstreamRequest | undefined;
  /** `request` is the caller's body as received (some translations, e.g. encoding_format, need it). */
  parseResponse(operation: Operation, json: unknown, target: Target, request: JsonObject): ProviderResponse;
  createStreamTranslator(operation: Operation, target: Target): StreamTranslator;
  mapError(status: number, bodyText: string): UpstreamErrorDetail;
}

/** Reads the text of an error body that may be JSON in OpenAI's envelope or another shape. */
export function errorDetailFromBody(status: number, bodyText: string): UpstreamErrorDetail {
  try {
    const parsed = JSON.parse(bodyText) as { error?: unknown; message?: unknown };
    const error = Array.isArray(parsed) ? (parsed[0] as { error?: unknown })?.error : parsed.error;
    if (error && typeof error === 'object') {
      const e = error as Record<string, unknown>;
      return {
        message: typeof e.message === 'string' ? e.message : `upstream answered ${status}`,
        type: typeof e.type === 'string' ? e.type : typeof e.status === 'string' ? e.status : undefined,
        code: typeof e.code === 'string' ? e.code : typeof e.code === 'number' ? String(e.code) : null,
        param: typeof e.param === 'string' ? e.param : null,
      };
    }
    if (typeof error === 'string') return { message: error };
    if (typeof parsed.message === 'string') return { message: parsed.message };
  } catch {
    // not JSON: fall through to the text itself
  }
  const text = bodyText.trim().slice(0, 500);
  return { message: text || `upstream answered ${status}` };
}
