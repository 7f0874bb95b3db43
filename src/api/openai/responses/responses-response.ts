import type { JsonObject } from '../../../providers/provider.js';
import { newId, type ResponseItem, type ResponsesRequest } from './responses-request.js';

/**
 * The Response object of the Responses API, built from a chat completion (JSON answers) or from
 * the state a stream encoder gathered. One builder serves both so that a streamed response and a
 * JSON one carry the same fields, in the order OpenAI sends them.
 */

export interface ResponseMeta {
  /** `resp_...`, drawn by the caller so that it can store the response under it. */
  id: string;
  /** Unix seconds when the request was accepted. */
  createdAt: number;
  /** The `model` the Response names when not the caller's own (a deployment's `response_model: upstream`). */
  model?: string;
}

export type ResponseStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed';

export interface ResponseState {
  status: ResponseStatus;
  output: ResponseItem[];
  /** Already in the Responses shape (see `responseUsage`); null until known. */
  usage: JsonObject | null;
  error?: { code: string; message: string } | null;
  incompleteReason?: 'max_output_tokens' | 'content_filter' | null;
  /** Unix seconds the response reached `completed`; defaults to now. */
  completedAt?: number;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A function tool as the Response echoes it; OpenAI reports strict mode on unless the caller turned it off. */
function echoTool(tool: JsonObject): JsonObject {
  return {
    type: 'function',
    name: tool.name,
    description: tool.description ?? null,
    parameters: tool.parameters ?? null,
    strict: tool.strict ?? true,
  };
}

/** The full Response object for a request in a given state. */
export function responseObject(request: ResponsesRequest, meta: ResponseMeta, state: ResponseState): JsonObject {
  return {
    id: meta.id,
    object: 'response',
    created_at: meta.createdAt,
    status: state.status,
    background: request.background ?? false,
    completed_at: state.status === 'completed' ? (state.completedAt ?? nowSeconds()) : null,
    error: state.error ?? null,
    incomplete_details: state.status === 'incomplete' && state.incompleteReason ? { reason: state.incompleteReason } : null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    max_tool_calls: request.max_tool_calls ?? null,
    model: meta.model ?? request.model,
    output: state.output,
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: request.previous_response_id ?? null,
    prompt_cache_key: request.prompt_cache_key ?? null,
    prompt_cache_retention: request.prompt_cache_retention ?? null,
    reasoning: { effort: request.reasoning?.effort ?? null, summary: request.reasoning?.summary ?? null },
    safety_identifier: request.safety_identifier ?? null,
    // OpenAI reports the tier it used; 'auto' resolves to 'default' here as there is no other.
    service_tier: !request.service_tier || request.service_tier === 'auto' ? 'default' : request.service_tier,
    store: request.store,
    temperature: request.temperature ?? 1,
    text: { format: request.text?.format ?? { type: 'text' }, verbosity: request.text?.verbosity ?? 'medium' },
    tool_choice: request.tool_choice ?? 'auto',
    tools: (request.tools ?? []).map(echoTool),
    top_logprobs: request.top_logprobs ?? 0,
    top_p: request.top_p ?? 1,
    truncation: request.truncation ?? 'disabled',
    usage: state.usage,
    user: request.user ?? null,
    metadata: request.metadata ?? {},
  };
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/**
 * Chat usage in the Responses shape. Chat's `prompt_tokens` already counts cached tokens, as
 * `input_tokens` does; cache writes are Anthropic's `cache_creation_input_tokens`.
 */
export function responseUsage(usage: unknown): JsonObject | null {
  if (!usage || typeof usage !== 'object') return null;
  const u = usage as JsonObject;
  const prompt = (u.prompt_tokens_details ?? {}) as JsonObject;
  const completion = (u.completion_tokens_details ?? {}) as JsonObject;
  const input = count(u.prompt_tokens);
  const output = count(u.completion_tokens);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: count(prompt.cached_tokens), cache_write_tokens: count(prompt.cache_creation_tokens) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: count(completion.reasoning_tokens) },
    total_tokens: typeof u.total_tokens === 'number' ? u.total_tokens : input + output,
  };
}

/** How a chat finish reason ends a response. */
export function statusOfFinish(finishReason: unknown): { status: 'completed' | 'incomplete'; incompleteReason: 'max_output_tokens' | 'content_filter' | null } {
  if (finishReason === 'length') return { status: 'incomplete', incompleteReason: 'max_output_tokens' };
  if (finishReason === 'content_filter') return { status: 'incomplete', incompleteReason: 'content_filter' };
  return { status: 'completed', incompleteReason: null };
}

export function reasoningItem(id: string, text: string): ResponseItem {
  return { id, type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text }] };
}

export function outputTextPart(text: string): JsonObject {
  return { type: 'output_text', text, annotations: [], logprobs: [] };
}

export function functionCallItem(id: string, callId: string, name: string, args: string, status: string): ResponseItem {
  return { id, type: 'function_call', status, arguments: args, call_id: callId, name };
}

/**
 * The Response for a `chat.completion`: a reasoning item when the model reasoned, one assistant
 * message when it wrote text or refused, then one function_call item per tool call.
 */
export function chatToResponse(chat: JsonObject, request: ResponsesRequest, meta: ResponseMeta): JsonObject {
  const choices = Array.isArray(chat.choices) ? (chat.choices as JsonObject[]) : [];
  const choice = choices.find((c) => c.index === 0) ?? choices[0] ?? {};
  const message = (choice.message ?? {}) as JsonObject;
  const { status, incompleteReason } = statusOfFinish(choice.finish_reason);
  const output: ResponseItem[] = [];

  if (typeof message.reasoning_content === 'string' && message.reasoning_content !== '') output.push(reasoningItem(newId('rs_'), message.reasoning_content));
  const content: JsonObject[] = [];
  if (typeof message.content === 'string' && message.content !== '') content.push(outputTextPart(message.content));
  if (typeof message.refusal === 'string' && message.refusal !== '') content.push({ type: 'refusal', refusal: message.refusal });
  if (content.length > 0) {
    output.push({ id: newId('msg_'), type: 'message', status: status === 'incomplete' ? 'incomplete' : 'completed', content, role: 'assistant' });
  }
  const toolCalls = Array.isArray(message.tool_calls) ? (message.tool_calls as JsonObject[]) : [];
  for (const call of toolCalls) {
    const fn = (call.function ?? {}) as JsonObject;
    const callId = typeof call.id === 'string' ? call.id : newId('call_');
    output.push(functionCallItem(newId('fc_'), callId, String(fn.name ?? ''), typeof fn.arguments === 'string' ? fn.arguments : '', 'completed'));
  }
  return responseObject(request, meta, { status, output, usage: responseUsage(chat.usage), incompleteReason });
}

/**
 * A Response that failed before or while the model answered (stored, and sent in
 * `response.failed`). `output` holds whatever items were already produced, `usage` (in the
 * Responses shape) what the upstream reported before it failed.
 */
export function failedResponse(
  request: ResponsesRequest,
  meta: ResponseMeta,
  error: { code: string; message: string },
  output: ResponseItem[] = [],
  usage: JsonObject | null = null,
): JsonObject {
  return responseObject(request, meta, { status: 'failed', output, usage, error: { code: error.code, message: error.message } });
}
