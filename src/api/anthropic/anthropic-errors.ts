import { CeruleanError, ContentFilterError, UpstreamStatusError } from '../../errors/catalogue.js';
import type { JsonObject } from '../../providers/provider.js';
import { retryHeaders } from '../../errors/render.js';

/** The error types Anthropic's API answers with. */
export type AnthropicErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'billing_error'
  | 'permission_error'
  | 'not_found_error'
  | 'request_too_large'
  | 'rate_limit_error'
  | 'api_error'
  | 'timeout_error'
  | 'overloaded_error';

export interface RenderedAnthropicError {
  status: number;
  headers: Record<string, string>;
  body: JsonObject;
}

const INTERNAL_MESSAGE = 'Internal server error';

/** Anthropic's type for each status it uses; a status it has no entry for is handled in `typeOf`. */
const TYPES: Record<number, AnthropicErrorType> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.values(TYPES));

/**
 * The status and type a Messages caller gets for an error.
 *
 * - An upstream's overload (Anthropic's 529, passed on as 503 to OpenAI clients) is answered 529
 *   `overloaded_error`, as Anthropic would, so Anthropic's SDKs and Claude Code treat it as such.
 * - An Anthropic target's own error type (kept as the error's `code`) is answered as it came.
 * - Anthropic has no 502 or 503: Cerulean's keep their status, so the SDKs still retry them
 *   (any 5xx, unless `x-should-retry: false`), with the type `api_error`, Anthropic's type for
 *   failures on the server's side. A 504 is `timeout_error`.
 * - Other 4xx statuses Anthropic lacks (405, 409, 415) are `invalid_request_error`.
 * - A content-filter refusal of the prompt is the plain 400 `invalid_request_error` with the
 *   filter's message.
 */
function statusAndType(error: CeruleanError): { status: number; type: AnthropicErrorType } {
  if (error instanceof UpstreamStatusError) {
    if (error.upstreamStatus === 529 || error.code === 'overloaded_error') return { status: 529, type: 'overloaded_error' };
    if (error.code !== null && KNOWN_TYPES.has(error.code)) return { status: error.status, type: error.code as AnthropicErrorType };
  }
  return { status: error.status, type: typeOf(error.status) };
}

function typeOf(status: number): AnthropicErrorType {
  const known = TYPES[status];
  if (known) return known;
  if (status >= 500) return 'api_error';
  return 'invalid_request_error';
}

/**
 * The `{type, message}` pair for an error: what an `error` stream event carries once a stream has
 * begun, and what the reply envelope holds. A value that is not a Cerulean error never shows its
 * message.
 */
export function anthropicErrorOf(error: unknown): { type: AnthropicErrorType; message: string } {
  if (!(error instanceof CeruleanError)) return { type: 'api_error', message: INTERNAL_MESSAGE };
  return { type: statusAndType(error).type, message: error.message };
}

/**
 * Renders any thrown value as Anthropic's error reply: `{type: 'error', error: {type, message}}`,
 * with `request_id` at the top level when the edge gives one (Anthropic sends its request id there
 * as well as in the `request-id` header). Anything that is not a Cerulean error is a 500
 * `api_error` whose message is never echoed.
 */
export function renderAnthropicError(error: unknown, requestId?: string): RenderedAnthropicError {
  if (!(error instanceof CeruleanError)) return envelope(500, {}, 'api_error', INTERNAL_MESSAGE, requestId);
  if (error instanceof ContentFilterError) return envelope(400, retryHeaders(error), 'invalid_request_error', error.message, requestId);
  const { status, type } = statusAndType(error);
  return envelope(status, retryHeaders(error), type, error.message, requestId);
}

function envelope(
  status: number,
  headers: Record<string, string>,
  type: AnthropicErrorType,
  message: string,
  requestId: string | undefined,
): RenderedAnthropicError {
  const body: JsonObject = { type: 'error', error: { type, message } };
  if (requestId !== undefined) body.request_id = requestId;
  return { status, headers, body };
}
