import { UpstreamUnreachableError } from '../../errors/catalogue.js';
import type { JsonObject, ProviderResponse, Usage } from '../provider.js';
import type { AnthropicResponse, AnthropicStopReason, AnthropicToolUseBlock, AnthropicUsage } from './anthropic-wire.js';

export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter';

const FINISH_REASONS: Record<AnthropicStopReason, OpenAIFinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  // The turn is complete as far as the caller can tell; resuming it needs Anthropic's own API.
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export function finishReasonOf(reason: AnthropicStopReason | null | undefined): OpenAIFinishReason {
  return (reason && FINISH_REASONS[reason]) || 'stop';
}

/**
 * The choice's fields for why the answer ended: `finish_reason`, and, where a stop sequence ended
 * it, that sequence as `stop_reason` (the field vLLM's chat completions use for it), which chat's
 * `stop` alone does not tell and a Messages caller is answered with.
 */
export function finishFieldsOf(reason: AnthropicStopReason | null | undefined, sequence: string | null | undefined): JsonObject {
  const fields: JsonObject = { finish_reason: finishReasonOf(reason) };
  if (reason === 'stop_sequence' && typeof sequence === 'string') fields.stop_reason = sequence;
  return fields;
}

/**
 * OpenAI counts every prompt token in `prompt_tokens` and reports the cached share inside it;
 * Anthropic reports uncached, cache-read and cache-written tokens side by side, so they are summed.
 * Tokens written to the cache are kept as `cache_creation_tokens` (Cerulean's own field, priced
 * differently by Anthropic and needed to answer a Messages caller), when there were any.
 */
export function toOpenAIUsage(usage: AnthropicUsage): Usage {
  const cacheRead = usage.cache_read_input_tokens ?? 0;
  const cacheCreation = usage.cache_creation_input_tokens ?? 0;
  const prompt = usage.input_tokens + cacheRead + cacheCreation;
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.output_tokens,
    total_tokens: prompt + usage.output_tokens,
    prompt_tokens_details: cacheCreation > 0 ? { cached_tokens: cacheRead, cache_creation_tokens: cacheCreation } : { cached_tokens: cacheRead },
  };
}

export function toOpenAIToolCall(block: AnthropicToolUseBlock): JsonObject {
  return { id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input) } };
}

/** Unix seconds, as OpenAI's `created`. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * Turns a Messages API response into a `chat.completion`. Thinking becomes the assistant message's
 * `reasoning_content` with its `reasoning_signature` (Cerulean's own fields; several thinking blocks
 * are joined and the first signature is kept); redacted thinking and server-tool blocks are dropped.
 */
export function toChatCompletion(json: unknown): ProviderResponse {
  const response = asMessage(json);
  let text: string | null = null;
  let reasoning: string | undefined;
  let signature: string | undefined;
  const toolCalls: JsonObject[] = [];
  for (const block of response.content) {
    if (block.type === 'text') text = (text ?? '') + block.text;
    else if (block.type === 'tool_use') toolCalls.push(toOpenAIToolCall(block));
    else if (block.type === 'thinking') {
      reasoning = (reasoning ?? '') + block.thinking;
      if (signature === undefined && typeof block.signature === 'string' && block.signature !== '') signature = block.signature;
    }
  }
  const message: JsonObject = { role: 'assistant', content: text, refusal: null };
  if (reasoning !== undefined) message.reasoning_content = reasoning;
  if (signature !== undefined) message.reasoning_signature = signature;
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const usage = toOpenAIUsage(response.usage);
  return {
    body: {
      id: response.id,
      object: 'chat.completion',
      created: nowSeconds(),
      model: response.model,
      choices: [{ index: 0, message, logprobs: null, ...finishFieldsOf(response.stop_reason, response.stop_sequence) }],
      usage,
    },
    usage,
  };
}

function asMessage(json: unknown): AnthropicResponse {
  const candidate = json as Partial<AnthropicResponse> | null;
  if (
    !candidate ||
    candidate.type !== 'message' ||
    !Array.isArray(candidate.content) ||
    typeof candidate.usage?.input_tokens !== 'number' ||
    typeof candidate.usage.output_tokens !== 'number'
  ) {
    throw new UpstreamUnreachableError('Anthropic answered with a body that is not a message.');
  }
  return candidate as AnthropicResponse;
}
