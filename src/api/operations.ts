import type { ApiOperation } from './api-operation.js';
import { chatOperation } from './openai/chat.js';
import { completionsOperation } from './openai/completions.js';
import { embeddingsOperation } from './openai/embeddings.js';
import { imagesOperation } from './openai/images.js';
import { modelsOperations, type ModelsDependencies } from './openai/models.js';
import { moderationsOperation } from './openai/moderations.js';
import type { ContentFilter } from '../safety/content-filter.js';
import { countTokensOperation, messagesOperation } from './anthropic/messages/messages-operation.js';
import { responsesOperations, type ResponsesDependencies } from './openai/responses/responses-operation.js';

export interface OperationDependencies extends ModelsDependencies, ResponsesDependencies {
  /** The policy whose classifiers answer `/v1/moderations`; absent: the route is not served. */
  readonly moderation?: (model: string | undefined) => ContentFilter | undefined;
}

/** Every inbound operation Cerulean serves, by family; the edge registers exactly these. */
export function inboundOperations(dependencies: OperationDependencies): ApiOperation[] {
  const operations: ApiOperation[] = [
    chatOperation,
    completionsOperation,
    embeddingsOperation,
    imagesOperation,
    ...modelsOperations(dependencies),
    ...responsesOperations(dependencies),
    messagesOperation,
    countTokensOperation(dependencies),
  ];
  if (dependencies.moderation) operations.push(moderationsOperation(dependencies.moderation));
  return operations;
}
