import type { z } from 'zod';
import { renderError } from '../../errors/render.js';
import type { InferenceContext } from '../../pipeline/context.js';
import type { ApiName, InboundApi, PromptReader, SseFrame } from '../../pipeline/inbound-api.js';
import type { JsonObject, Operation } from '../../providers/provider.js';
import { estimateRequestTokens } from '../../ratelimit/quota-admission.js';
import type { InferenceOperation, RouteSpec } from '../api-operation.js';
import { azureFamily } from '../azure/azure-family.js';
import { validateBody } from '../validation.js';
import { openAIFamily } from './openai-family.js';

/**
 * The routes of an OpenAI operation at `path` (e.g. `chat/completions`): OpenAI's `/v1/...`,
 * Azure's v1 `/openai/v1/...` and Azure's dated `/openai/deployments/{deployment}/...`.
 */
export function openAIRoutes(path: string): RouteSpec[] {
  return [
    { family: openAIFamily, method: 'POST', url: `/v1/${path}` },
    { family: azureFamily, method: 'POST', url: `/openai/v1/${path}`, apiVersion: 'v1' },
    { family: azureFamily, method: 'POST', url: `/openai/deployments/:deployment/${path}`, apiVersion: 'dated', deploymentInPath: true },
  ];
}

/** An error after a stream started, as OpenAI and Azure send it: a last `data:` event holding the error envelope. */
export function openAIStreamError(error: unknown, context: InferenceContext): SseFrame {
  return { data: renderError(error, context.shape === 'azure' ? 'azure' : 'openai').body };
}

/**
 * Relays internal chunks as OpenAI's: hides the usage chunk (and the `usage: null` fields) Cerulean
 * asked the upstream for when the caller did not ask for them. On OpenAI routes every chat chunk
 * stays valid against OpenAI's chunk schema whatever the upstream (an Azure upstream's extra
 * frames): no frame without choices but the usage chunk, and a `delta` on every choice.
 */
export async function* openAIFrames(chunks: AsyncIterable<JsonObject>, context: InferenceContext): AsyncGenerator<SseFrame> {
  const openAIChat = context.shape !== 'azure' && context.operation === 'chat';
  for await (const chunk of chunks) {
    const choices = chunk.choices as unknown[] | undefined;
    if (openAIChat) {
      if (!choices || choices.length === 0) {
        if (chunk.usage == null) continue;
      } else {
        for (const choice of choices as JsonObject[]) if (choice.delta === undefined) choice.delta = {};
      }
    }
    if (chunk.usage != null) {
      if (!context.includeUsage) {
        if (!choices || choices.length === 0) continue;
        delete chunk.usage;
      }
    } else if (!context.includeUsage && 'usage' in chunk) {
      delete chunk.usage;
    }
    yield { data: chunk };
  }
}

export interface OpenAIOperationSpec {
  readonly name: ApiName;
  readonly operation: Operation;
  /** The path after `/v1/` (and Azure's prefixes). */
  readonly path: string;
  readonly schema: z.ZodType;
  readonly prompt: PromptReader;
  /** Whether `stream: true` is honoured. */
  readonly streams: boolean;
  readonly billedImages?: (body: JsonObject) => number;
}

/**
 * An OpenAI operation whose body already is the internal schema (chat, completions, embeddings,
 * images): validated, passed on as it is, its answer relayed (the upstream's own bytes when the
 * provider speaks OpenAI and no stage changed the answer).
 */
export function openAIOperation(spec: OpenAIOperationSpec): InferenceOperation {
  const api: InboundApi = {
    name: spec.name,
    operation: spec.operation,
    prompt: spec.prompt,
    estimateTokens: (body, model, defaults) => estimateRequestTokens(spec.operation, body, model, defaults),
    billedImages: spec.billedImages ?? (() => 0),
    answer: (answer) => answer,
    stream: openAIFrames,
    streamEnd: 'data: [DONE]\n\n',
    streamError: openAIStreamError,
  };
  return {
    kind: 'inference',
    api,
    routes: openAIRoutes(spec.path),
    accept(body, route) {
      const object = validateBody(spec.schema, body, !route.deploymentInPath);
      const stream = spec.streams && object.stream === true;
      const options = object.stream_options as { include_usage?: boolean } | null | undefined;
      return {
        model: route.deploymentInPath ? undefined : (object.model as string),
        internal: object,
        original: object,
        stream,
        includeUsage: options?.include_usage === true,
      };
    },
  };
}
