import type { IncomingHttpHeaders } from 'node:http';
import { renderError } from '../../errors/render.js';
import type { ApiFamily } from '../api-operation.js';

/**
 * The credential OpenAI's and Azure OpenAI's clients send: `Authorization: Bearer <key>` (OpenAI
 * SDKs, Azure with Entra tokens) or `api-key: <key>` (Azure SDKs with a key).
 */
export function bearerOrApiKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization);
    return match ? match[1].trim() : undefined;
  }
  const apiKey = headers['api-key'];
  return typeof apiKey === 'string' && apiKey !== '' ? apiKey : undefined;
}

export const MISSING_BEARER_OR_API_KEY = 'Missing API key: send it as "Authorization: Bearer KEY" or as the "api-key" header.';

/** The OpenAI API (`/v1/...`): OpenAI's error envelope. */
export const openAIFamily: ApiFamily = {
  name: 'openai',
  credential: bearerOrApiKey,
  missingCredential: MISSING_BEARER_OR_API_KEY,
  renderError: (error) => renderError(error, 'openai'),
};
