import { performance } from 'node:perf_hooks';
import { CeruleanError, InvalidRequestError, StoredResponseNotFoundError } from '../../../errors/catalogue.js';
import type { Principal } from '../../../pipeline/authenticate.js';
import type { InferenceContext } from '../../../pipeline/context.js';
import type { InboundApi, SseFrame } from '../../../pipeline/inbound-api.js';
import type { JsonObject, Usage } from '../../../providers/provider.js';
import { ClientAbortedError } from '../../../providers/upstream-client.js';
import { estimateRequestTokens } from '../../../ratelimit/quota-admission.js';
import type { AuditRepository, ResponseRepository, StoredResponse } from '../../../storage/storage.js';
import type { DirectCall, DirectOperation, InferenceOperation, RouteSpec } from '../../api-operation.js';
import { azureFamily } from '../../azure/azure-family.js';
import { chatPrompt } from '../chat.js';
import { openAIStreamError } from '../openai-inference.js';
import { openAIFamily } from '../openai-family.js';
import { inputItemsOf, newId, outputAsHistory, parseResponsesRequest, responsesToChat, type ResponseItem, type ResponsesRequest } from './responses-request.js';
import { chatToResponse } from './responses-response.js';
import { ResponsesStreamEncoder } from './responses-stream.js';

/**
 * The Responses API (`POST /v1/responses`, Azure's `/openai/v1/responses` and dated
 * `/openai/responses`): translated to the internal chat schema for every provider, answered and
 * streamed in the Responses shape, and stored (`store`, on by default) in Cerulean's own storage,
 * scoped to the project that made it, for `GET`/`DELETE /v1/responses/{id}`, its input items and
 * `previous_response_id`.
 */

export interface ResponsesDependencies {
  /** Where responses are stored; absent (a server without storage) nothing is stored and every stored id is unknown. */
  readonly store?: ResponseRepository;
  /** Where deletions of stored responses are recorded. */
  readonly audit?: AuditRepository;
  /** The project a caller acts for outside a model call (undefined: the master key, or no governance). */
  readonly projectOf: (principal: Principal, projectHint: string | undefined) => string | undefined;
}

/** What the operation keeps about one request between its stages. */
interface ResponsesState {
  readonly request: ResponsesRequest;
  /** This request's input items, with their ids (listed by `input_items`). */
  readonly items: ResponseItem[];
  readonly id: string;
  readonly createdAt: number;
  /** The stream's encoder once a stream has started, so that an `error` event ending it continues its numbering. */
  encoder?: ResponsesStreamEncoder;
}

/** How far back a `previous_response_id` chain is followed (each link is one stored response). */
const MAX_CHAIN = 256;

const stateOf = (context: InferenceContext): ResponsesState => context.apiState as ResponsesState;

function routes(path: string, method: RouteSpec['method']): RouteSpec[] {
  return [
    { family: openAIFamily, method, url: `/v1/responses${path}` },
    { family: azureFamily, method, url: `/openai/v1/responses${path}`, apiVersion: 'v1' },
    { family: azureFamily, method, url: `/openai/responses${path}`, apiVersion: 'dated' },
  ];
}

export function responsesOperations(dependencies: ResponsesDependencies): Array<InferenceOperation | DirectOperation> {
  const { store } = dependencies;
  const scope = (projectId: string | undefined): string => projectId ?? '';

  /** The stored conversation `id` continues: every earlier turn's input and output, oldest first. */
  const history = async (projectId: string, id: string): Promise<ResponseItem[]> => {
    const turns: ResponseItem[][] = [];
    let next: string | null = id;
    for (let depth = 0; next !== null && depth < MAX_CHAIN; depth++) {
      const stored: StoredResponse | undefined = store ? await store.get(projectId, next) : undefined;
      if (!stored) throw new StoredResponseNotFoundError(next, 'previous_response_id');
      const output = Array.isArray(stored.response.output) ? (stored.response.output as ResponseItem[]) : [];
      turns.unshift([...(stored.input as ResponseItem[]), ...outputAsHistory(output)]);
      next = stored.previousResponseId;
    }
    return turns.flat();
  };

  const save = async (context: InferenceContext, response: JsonObject, responseJson?: string): Promise<void> => {
    const state = stateOf(context);
    if (!store || state.request.store === false) return;
    await store.put({
      // A native answer keeps the upstream's own id.
      id: typeof response.id === 'string' ? response.id : state.id,
      projectId: scope(context.projectId),
      createdAt: state.createdAt * 1000,
      model: context.deployment,
      previousResponseId: state.request.previous_response_id ?? null,
      input: state.items,
      response,
      status: typeof response.status === 'string' ? response.status : 'completed',
      ...(responseJson === undefined ? {} : { responseJson }),
    });
  };

  const api: InboundApi = {
    name: 'responses',
    operation: 'chat',
    // Judged as translated: every input text, instructions, tool outputs as documents, the history it continues.
    prompt: chatPrompt,
    estimateTokens: (body, model, defaults) => estimateRequestTokens('chat', body, model, defaults),
    billedImages: () => 0,
    async prepare(context) {
      // A native request carries previous_response_id and item references to the upstream, which keeps the conversation.
      if (goesNative(context)) return;
      const state = stateOf(context);
      const projectId = scope(context.projectId);
      const previous = state.request.previous_response_id;
      const earlier = previous ? await history(projectId, previous) : [];
      const references = new Map<string, ResponseItem>();
      for (const item of earlier) if (typeof item.id === 'string' && item.type !== 'item_reference') references.set(item.id, item);
      // An item_reference may name an item of any response stored for the project, not only of the
      // conversation continued (clients that keep the conversation themselves send earlier answers so).
      const referenced = [...earlier, ...state.items].filter((item) => item.type === 'item_reference').map((item) => String(item.id));
      for (const id of new Set(referenced)) {
        if (references.has(id)) continue;
        const found = store ? await store.findItem(projectId, id) : undefined;
        if (found) references.set(id, found as ResponseItem);
      }
      if (!previous && referenced.length === 0) return;
      // An item_reference still unresolved is a 400 here.
      context.body = responsesToChat(state.request, earlier, references);
    },
    native: (context) => (goesNative(context) ? { body: context.request, betas: undefined } : undefined),
    nativeUsage: (answer) => internalUsage(answer.usage),
    async answer(answer, context) {
      if (context.answeredNatively) {
        await save(context, answer.body);
        return { body: answer.body, raw: answer.raw };
      }
      const state = stateOf(context);
      const response = chatToResponse(answer.body, state.request, { id: state.id, createdAt: state.createdAt, model: context.answerModel });
      // Serialised once: the same text is stored and sent.
      const text = JSON.stringify(response);
      await save(context, response, text);
      return { body: response, raw: text };
    },
    stream: (chunks, context) => (context.answeredNatively ? nativeEvents(chunks, context, save) : responseEvents(chunks, context, save)),
    streamError: (error, context) => {
      // Past the point where the stream can end in `response.failed` (see responseEvents): OpenAI's `error` event.
      // Numbered after the events already sent, as every event of the stream is.
      const rendered = openAIStreamError(error, context).data as { error: { message?: unknown; code?: unknown; param?: unknown } };
      const encoder = stateOf(context).encoder;
      return { event: 'error', data: encoder ? encoder.errorEvent(rendered.error) : errorEventOf(rendered.error) };
    },
  };

  const create: InferenceOperation = {
    kind: 'inference',
    api,
    routes: routes('', 'POST'),
    accept(body) {
      const request = parseResponsesRequest(body);
      if (request.background === true) {
        throw new InvalidRequestError(
          'Background responses are not offered by this service: send the request without `background` (stream it for long answers).',
          'background',
          'unsupported_parameter',
        );
      }
      const items = inputItemsOf(request);
      const state: ResponsesState = { request, items, id: newId('resp_'), createdAt: Math.floor(Date.now() / 1000) };
      // Without history and item references yet: `prepare` adds them once the project is known.
      const input = Array.isArray(request.input) ? request.input.filter((item) => item.type !== 'item_reference') : request.input;
      return {
        model: request.model,
        internal: responsesToChat({ ...request, input }, []),
        original: request as JsonObject,
        stream: request.stream === true,
        includeUsage: true,
        state,
      };
    },
  };

  const stored = async (call: DirectCall): Promise<{ projectId: string; record: StoredResponse }> => {
    const projectId = scope(dependencies.projectOf(call.principal, call.projectHint));
    const record = store ? await store.get(projectId, call.params.id) : undefined;
    if (!record) throw new StoredResponseNotFoundError(call.params.id);
    return { projectId, record };
  };

  const retrieve: DirectOperation = {
    kind: 'direct',
    routes: routes('/:id', 'GET'),
    handle: async (call) => (await stored(call)).record.response,
  };

  const remove: DirectOperation = {
    kind: 'direct',
    routes: routes('/:id', 'DELETE'),
    async handle(call) {
      const { projectId, record } = await stored(call);
      await store?.delete(projectId, record.id);
      const principal = call.principal;
      await dependencies.audit?.append({
        at: Date.now(),
        actor: principal.kind === 'master' ? 'master' : `${principal.kind}:${principal.id}`,
        action: 'response.delete',
        target: `response:${record.id}`,
        organizationId: principal.kind === 'key' ? principal.organizationId : null,
        projectId: projectId || null,
        before: { id: record.id, model: record.model, created_at: record.createdAt, status: record.status },
        after: null,
        source: call.ip,
      });
      return { id: record.id, object: 'response', deleted: true };
    },
  };

  const inputItems: DirectOperation = {
    kind: 'direct',
    routes: routes('/:id/input_items', 'GET'),
    async handle(call) {
      const { order, after, before, limit } = call.query;
      if (order !== undefined && order !== 'asc' && order !== 'desc') {
        throw new InvalidRequestError(`Invalid value for 'order': expected one of "asc", "desc".`, 'order');
      }
      const count = limit === undefined ? undefined : Number(limit);
      if (count !== undefined && (!Number.isInteger(count) || count < 1 || count > 100)) {
        throw new InvalidRequestError(`Invalid value for 'limit': expected an integer from 1 to 100.`, 'limit');
      }
      const projectId = scope(dependencies.projectOf(call.principal, call.projectHint));
      const page = store ? await store.listInputItems(projectId, call.params.id, { order, after, before, limit: count }) : undefined;
      if (!page) throw new StoredResponseNotFoundError(call.params.id);
      return { object: 'list', ...page };
    },
  };

  const cancel: DirectOperation = {
    kind: 'direct',
    routes: routes('/:id/cancel', 'POST'),
    async handle(call) {
      await stored(call);
      throw new InvalidRequestError('Only responses created with background=true can be cancelled.', null, 'not_background');
    },
  };

  return [create, retrieve, remove, inputItems, cancel];
}

/**
 * The Responses events of a translated stream. The first events wait for the first internal chunk,
 * so an upstream that fails at once still gets a proper HTTP error. A failure after that ends the
 * stream in `response.failed` (stored as such), as OpenAI ends a response that failed mid-way; a
 * caller that went away ends it without a word.
 */
async function* responseEvents(
  chunks: AsyncIterable<JsonObject>,
  context: InferenceContext,
  save: (context: InferenceContext, response: JsonObject) => Promise<void>,
): AsyncGenerator<SseFrame> {
  const state = stateOf(context);
  const encoder = new ResponsesStreamEncoder(state.request, { id: state.id, createdAt: state.createdAt, model: context.answerModel });
  state.encoder = encoder;
  const frames = (events: JsonObject[]): SseFrame[] => events.map((event) => ({ event: event.type as string, data: event }));
  let started = false;
  try {
    for await (const chunk of chunks) {
      if (!started) {
        started = true;
        yield* frames(encoder.start());
      }
      yield* frames(encoder.push(chunk));
    }
  } catch (error) {
    if (!started || error instanceof ClientAbortedError || context.signal.reason instanceof ClientAbortedError) throw error;
    const known = error instanceof CeruleanError ? error : undefined;
    context.status = known?.status ?? 500;
    const events = encoder.fail({ code: known?.code ?? 'server_error', message: known?.message ?? 'The server had an error while processing your request.' });
    // The response failed already: were it not stored as well, the caller still learns how it ended.
    await save(context, encoder.response()).catch(() => undefined);
    yield* frames(events);
    return;
  }
  if (!started) yield* frames(encoder.start());
  const closing = encoder.end();
  const final = closing.pop() as JsonObject;
  yield* frames(closing);
  // Stored before the final event, so a caller that reads `response.completed` can retrieve it at once.
  try {
    await save(context, encoder.response());
  } catch (error) {
    // Not stored, as `store` asked: the stream ends in OpenAI's error event instead, in the final event's place and number.
    context.status = error instanceof CeruleanError ? error.status : 500;
    const rendered = openAIStreamError(error, context).data as { error: { message?: unknown; code?: unknown; param?: unknown } };
    yield { event: 'error', data: { ...errorEventOf(rendered.error), sequence_number: final.sequence_number } };
    return;
  }
  yield* frames([final]);
}

/** OpenAI's `error` event of the Responses stream, from an error rendered in OpenAI's envelope (numbered by the caller). */
function errorEventOf(error: { message?: unknown; code?: unknown; param?: unknown }): JsonObject {
  return { type: 'error', code: error.code ?? null, message: error.message ?? null, param: error.param ?? null };
}

/**
 * Whether this request goes to the upstream's own Responses API: its deployment chose
 * `responses_api: native` and no content-filter policy applies (a filter judges the translated
 * request and stream, so with one the request is translated).
 */
function goesNative(context: InferenceContext): boolean {
  return context.route?.target.config.responses_api === 'native' && context.filterApplies === false;
}

/** A Responses API `usage` in the internal schema (prompt tokens include the cached ones in both). */
function internalUsage(value: unknown): Usage | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const usage = value as {
    input_tokens?: unknown;
    output_tokens?: unknown;
    total_tokens?: unknown;
    input_tokens_details?: JsonObject;
    output_tokens_details?: JsonObject;
  };
  const count = (n: unknown): number => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : 0);
  const prompt = count(usage.input_tokens);
  const completion = count(usage.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: count(usage.total_tokens) || prompt + completion,
    prompt_tokens_details: {
      cached_tokens: count(usage.input_tokens_details?.cached_tokens),
      cache_creation_tokens: count(usage.input_tokens_details?.cache_write_tokens),
    },
    completion_tokens_details: { reasoning_tokens: count(usage.output_tokens_details?.reasoning_tokens) },
  };
}

const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/**
 * The upstream's own events, relayed as they came. Its final response (the terminal event's) gives
 * the usage metered and is stored before that event is written, as a translated one is.
 */
async function* nativeEvents(
  events: AsyncIterable<JsonObject>,
  context: InferenceContext,
  save: (context: InferenceContext, response: JsonObject) => Promise<void>,
): AsyncGenerator<SseFrame> {
  for await (const event of events) {
    const type = typeof event.type === 'string' ? event.type : undefined;
    // What the meter needs should the stream end before its usage: time to first text, text relayed.
    if (type === 'response.output_text.delta' && typeof event.delta === 'string') {
      context.firstTokenAt ??= performance.now();
      context.streamedChars = (context.streamedChars ?? 0) + event.delta.length;
    }
    if (type !== undefined && TERMINAL_EVENTS.has(type) && event.response && typeof event.response === 'object') {
      const response = event.response as JsonObject;
      context.usage = internalUsage(response.usage);
      await save(context, response);
    }
    yield { event: type, data: event };
  }
}
