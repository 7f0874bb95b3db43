import type { ContentFilter } from '../../safety/content-filter.js';
import { moderate } from '../../safety/moderation-endpoint.js';
import type { DirectOperation } from '../api-operation.js';
import { azureFamily } from '../azure/azure-family.js';
import { openAIFamily } from './openai-family.js';

/** POST /v1/moderations, answered by the content filter's own classifiers (src/safety/moderation-endpoint.ts). */
export function moderationsOperation(policyFor: (model: string | undefined) => ContentFilter | undefined): DirectOperation {
  return {
    kind: 'direct',
    routes: [
      { family: openAIFamily, method: 'POST', url: '/v1/moderations' },
      { family: azureFamily, method: 'POST', url: '/openai/v1/moderations', apiVersion: 'v1' },
    ],
    handle: (call) => moderate(call.body, policyFor, call.signal),
  };
}
