import { UpstreamStatusError, type ErrorType } from '../../errors/catalogue.js';
import { errorDetailFromBody, type UpstreamErrorDetail } from '../provider.js';
import type { AnthropicErrorObject } from './anthropic-wire.js';

/**
 * Anthropic's error types, with the HTTP status Anthropic answers them with and the OpenAI type a
 * caller's SDK expects. `overloaded_error` is 529 on Anthropic's wire; 503 is what OpenAI clients
 * know to retry, so an overload reported inside a stream (where the status must be chosen here) uses it.
 */
const ERROR_TYPES: Record<string, { status: number; type: ErrorType }> = {
  invalid_request_error: { status: 400, type: 'invalid_request_error' },
  authentication_error: { status: 401, type: 'authentication_error' },
  billing_error: { status: 402, type: 'invalid_request_error' },
  permission_error: { status: 403, type: 'permission_error' },
  not_found_error: { status: 404, type: 'not_found_error' },
  request_too_large: { status: 413, type: 'invalid_request_error' },
  rate_limit_error: { status: 429, type: 'rate_limit_error' },
  api_error: { status: 500, type: 'server_error' },
  timeout_error: { status: 504, type: 'timeout_error' },
  overloaded_error: { status: 503, type: 'server_error' },
};

/**
 * Reads Anthropic's error body, `{"type":"error","error":{"type":..., "message":...},"request_id":...}`.
 * `type` becomes the OpenAI type and Anthropic's own type is kept as `code`; any other body is read
 * the generic way.
 */
export function anthropicErrorDetail(status: number, bodyText: string): UpstreamErrorDetail {
  const error = errorObjectOf(bodyText);
  if (!error) return errorDetailFromBody(status, bodyText);
  return { message: error.message, type: ERROR_TYPES[error.type]?.type ?? error.type, code: error.type, param: null };
}

/** The error an `error` event inside a stream stands for, after a 200 has already been answered. */
export function streamError(error: AnthropicErrorObject): UpstreamStatusError {
  const known = ERROR_TYPES[error.type];
  return new UpstreamStatusError(known?.status ?? 502, error.message, {
    type: known?.type ?? 'server_error',
    code: error.type,
    upstreamStatus: error.type === 'overloaded_error' ? 529 : undefined,
  });
}

/** The `error` member of an Anthropic error body, or undefined when the body is something else. */
function errorObjectOf(text: string): AnthropicErrorObject | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const envelope = parsed as { type?: unknown; error?: { type?: unknown; message?: unknown } } | null;
  const error = envelope?.error;
  if (envelope?.type !== 'error' || typeof error?.type !== 'string' || typeof error.message !== 'string') return undefined;
  return { type: error.type, message: error.message };
}
