import { renderError } from '../../errors/render.js';
import type { ApiFamily } from '../api-operation.js';
import { bearerOrApiKey } from '../openai/openai-family.js';

/** Azure OpenAI (`/openai/...`): Azure's error envelope and texts, `apim-request-id` and `x-ms-region` on every answer. */
export const azureFamily: ApiFamily = {
  name: 'azure',
  credential: bearerOrApiKey,
  renderError: (error) => renderError(error, 'azure'),
  responseHeaders: (requestId, region) => ({ 'apim-request-id': requestId, 'x-ms-region': region }),
};
