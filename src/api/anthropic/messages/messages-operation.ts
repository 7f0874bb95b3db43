import { DeploymentNotFoundError } from '../../../errors/catalogue.js';
import type { Principal } from '../../../pipeline/authenticate.js';
import type { InferenceContext } from '../../../pipeline/context.js';
import type { InboundApi, SseFrame } from '../../../pipeline/inbound-api.js';
import type { DeploymentTable } from '../../../pipeline/pick-target.js';
import type { JsonObject } from '../../../providers/provider.js';
import { estimateRequestTokens } from '../../../ratelimit/quota-admission.js';
import type { DirectOperation, InferenceOperation, RouteSpec } from '../../api-operation.js';
import { chatPrompt } from '../../openai/chat.js';
import { anthropicErrorOf } from '../anthropic-errors.js';
import { anthropicFamily } from '../anthropic-family.js';
import { countMessageTokens } from './count-tokens.js';
import { messagesToChat, parseCountTokensRequest, parseMessagesRequest, type MessagesRequest } from './messages-request.js';
import { chatToMessage } from './messages-response.js';
import { MessagesStreamEncoder, PING } from './messages-stream.js';

/**
 * Anthropic's Messages API (`POST /v1/messages`, also under `/anthropic`), for Claude Code and the
 * Anthropic SDK. The request is translated to the internal chat schema, which admission, the
 * content filter and the meter judge; to an `anthropic` provider it is sent as the caller wrote it
 * (prompt-caching blocks, thinking, top_k and beta features kept), to any other translated. The
 * answer and the stream come back in Anthropic's shape.
 *
 * A stream whose output the content filter cut (an internal chunk finishing with `content_filter`)
 * ends in Anthropic's own `error` event (`invalid_request_error`, "Output blocked by the content
 * filtering policy."), not in `message_delta` and `message_stop`: Anthropic's clients know no stop
 * reason for a cut answer, and an error is what makes the SDKs and Claude Code stop and say so
 * rather than take the partial text as a finished turn. The rest of the stream is still read, so
 * its usage is metered.
 */

interface MessagesState {
  readonly request: MessagesRequest;
  /** The caller's `anthropic-beta` header, passed on to an Anthropic upstream. */
  readonly betas: string | undefined;
  /** The internal request as translated, to tell whether the prompt filter changed it (redaction). */
  readonly translated: JsonObject;
}

const stateOf = (context: InferenceContext): MessagesState => context.apiState as MessagesState;

function routes(path: string): RouteSpec[] {
  return [
    { family: anthropicFamily, method: 'POST', url: `/v1/messages${path}` },
    { family: anthropicFamily, method: 'POST', url: `/anthropic/v1/messages${path}` },
  ];
}

const api: InboundApi = {
  name: 'messages',
  operation: 'chat',
  // Judged as translated: system, every text block, tool results as documents.
  prompt: chatPrompt,
  estimateTokens: (body, model, defaults) => estimateRequestTokens('chat', body, model, defaults),
  billedImages: () => 0,
  native(context) {
    const state = stateOf(context);
    // Redacted personal data lives only in the translated request: then that one is sent.
    if (context.body !== state.translated) return undefined;
    return { body: context.request, betas: state.betas };
  },
  answer: (answer, context) => ({ body: chatToMessage(answer.body, { model: context.answerModel ?? stateOf(context).request.model }) }),
  stream: (chunks, context) => messageEvents(chunks, context),
  streamError: (error) => ({ event: 'error', data: { type: 'error', error: anthropicErrorOf(error) } }),
};

export const messagesOperation: InferenceOperation = {
  kind: 'inference',
  api,
  routes: routes(''),
  accept(body, _route, headers) {
    const request = parseMessagesRequest(body);
    const translated = messagesToChat(request);
    const beta = headers['anthropic-beta'];
    const betas = Array.isArray(beta) ? beta.join(',') : beta || undefined;
    return {
      model: request.model,
      internal: translated,
      original: request as JsonObject,
      stream: request.stream === true,
      includeUsage: true,
      state: { request, betas, translated } satisfies MessagesState,
    };
  },
};

/** The `error` event that ends a stream whose output the content filter cut. */
const OUTPUT_BLOCKED: JsonObject = { type: 'error', error: { type: 'invalid_request_error', message: 'Output blocked by the content filtering policy.' } };

/** Whether the chunk finishes the (only) choice because the content filter cut it. */
function cutByFilter(chunk: JsonObject): boolean {
  const choices = Array.isArray(chunk.choices) ? (chunk.choices as Array<{ index?: unknown; finish_reason?: unknown }>) : [];
  return choices.some((choice) => (choice.index ?? 0) === 0 && choice.finish_reason === 'content_filter');
}

/** Anthropic's events; the first wait for the first internal chunk, so an upstream that fails at once gets a proper HTTP error. */
async function* messageEvents(chunks: AsyncIterable<JsonObject>, context: InferenceContext): AsyncGenerator<SseFrame> {
  const encoder = new MessagesStreamEncoder({ model: context.answerModel ?? stateOf(context).request.model });
  let pinged = false;
  let blocked = false;
  for await (const chunk of chunks) {
    // After the cut nothing more is sent, but the stream is read to its end for its usage.
    if (blocked) continue;
    for (const event of encoder.push(chunk)) {
      yield { event: event.type as string, data: event };
      // As Anthropic does, a ping follows message_start.
      if (!pinged && event.type === 'message_start') {
        pinged = true;
        yield { event: 'ping', data: PING };
      }
    }
    if (cutByFilter(chunk)) {
      blocked = true;
      // The encoder closed the open block; the error ends the message in its place.
      yield { event: 'error', data: OUTPUT_BLOCKED };
    }
  }
  if (!blocked) for (const event of encoder.end()) yield { event: event.type as string, data: event };
}

export interface CountTokensDependencies {
  readonly table: () => DeploymentTable;
  readonly mayUse?: (principal: Principal, deployment: string, projectHint: string | undefined) => boolean;
}

/**
 * `POST /v1/messages/count_tokens`: the prompt's tokens as Cerulean's admission counts them
 * (offline, cl100k), for a model the caller may call. Nothing is sent upstream.
 */
export function countTokensOperation(dependencies: CountTokensDependencies): DirectOperation {
  return {
    kind: 'direct',
    routes: routes('/count_tokens'),
    async handle(call) {
      const request = parseCountTokensRequest(call.body);
      const table = dependencies.table();
      const deployment = table.resolve(request.model);
      if (!table.get(deployment) || dependencies.mayUse?.(call.principal, deployment, call.projectHint) === false) {
        throw new DeploymentNotFoundError(request.model);
      }
      return { input_tokens: countMessageTokens(request) };
    },
  };
}
