import { renderError } from '../../errors/render.js';
import type { ApiFamily } from '../api-operation.js';
import { bearerOrApiKey, MISSING_BEARER_OR_API_KEY } from '../openai/openai-family.js';

/** Azure OpenAI (`/openai/...`): Azure's error envelope and texts, `apim-request-id` and `x-ms-region` on every answer. */
export const azureFamily: ApiFamily = {
  name: 'azure',
  credential: bearerOrApiKey,
  missingCredential: MISSING_BEARER_OR_API_KEY,
  renderError: (error) => renderError(error, 'azure'),
  responseHeaders: (requestId, region) => ({ 'apim-request-id': requestId, 'x-ms-region': region }),
};
