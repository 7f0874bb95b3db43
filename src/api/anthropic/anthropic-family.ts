import type { IncomingHttpHeaders } from 'node:http';
import type { ApiFamily } from '../api-operation.js';
import { renderAnthropicError } from './anthropic-errors.js';

/**
 * The credential Anthropic's clients send: `x-api-key` (the Anthropic SDK, Claude Code with
 * ANTHROPIC_API_KEY) or `Authorization: Bearer` (Claude Code with ANTHROPIC_AUTH_TOKEN).
 */
function anthropicCredential(headers: IncomingHttpHeaders): string | undefined {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return apiKey;
  const authorization = headers.authorization;
  if (!authorization) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(authorization);
  return match ? match[1].trim() : undefined;
}

/**
 * Anthropic's API (`/v1/messages`, `/anthropic/v1/messages`): its error envelope (with the request's
 * id as `request_id`, as Anthropic's has) and status codes, `request-id` on every answer.
 */
export const anthropicFamily: ApiFamily = {
  name: 'anthropic',
  credential: anthropicCredential,
  missingCredential: 'Missing API key: send it as the "x-api-key" header or as "Authorization: Bearer KEY".',
  renderError: (error, requestId) => renderAnthropicError(error, requestId),
  responseHeaders: (requestId) => ({ 'request-id': requestId }),
};
