import { UpstreamUnreachableError } from '../../errors/catalogue.js';
import type { JsonObject, SseEvent, StreamTranslator, Target } from '../provider.js';
import { streamError } from './anthropic-error.js';
import { finishFieldsOf, nowSeconds, toOpenAIUsage, type OpenAIFinishReason } from './anthropic-response.js';
import type { AnthropicDeltaUsage, AnthropicStreamEvent, AnthropicUsage } from './anthropic-wire.js';

/**
 * Turns a Messages API event stream into `chat.completion.chunk` objects.
 *
 * Anthropic numbers content blocks across text and tool use; OpenAI numbers tool calls alone, so
 * each `tool_use` block gets the next tool call index and its `input_json_delta`s are routed by
 * block index. Usage arrives in two halves (input in `message_start`, output in `message_delta`)
 * and is emitted once, as the final `choices: []` chunk, at `message_stop` or, if the stream ends
 * without one, at `end()`. An `error` event throws: the caller has already been answered 200, so
 * the relay must surface it in the stream.
 */
export class AnthropicStreamTranslator implements StreamTranslator {
  private readonly created = nowSeconds();
  private id = '';
  private model: string;
  private started = false;
  private usage: AnthropicUsage = { input_tokens: 0, output_tokens: 0 };
  private usageSent = false;
  /** Content block index -> OpenAI tool call index. */
  private readonly toolCalls = new Map<number, number>();

  constructor(target: Target) {
    this.model = target.model;
  }

  push(event: SseEvent): JsonObject[] {
    if (event.data === '') return [];
    let data: AnthropicStreamEvent;
    try {
      data = JSON.parse(event.data) as AnthropicStreamEvent;
    } catch (cause) {
      throw new UpstreamUnreachableError('Anthropic sent a stream event that is not JSON.', cause);
    }
    switch (data.type) {
      case 'message_start': {
        const { message } = data;
        this.id = message.id;
        this.model = message.model || this.model;
        this.usage = { ...message.usage };
        this.started = true;
        return [this.chunk({ role: 'assistant', content: '' })];
      }
      case 'content_block_start': {
        const block = data.content_block;
        if (block.type === 'tool_use') {
          const index = this.toolCalls.size;
          this.toolCalls.set(data.index, index);
          return [this.chunk({ tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] })];
        }
        if (block.type === 'text' && block.text !== '') return [this.chunk({ content: block.text })];
        if (block.type === 'thinking') return this.thinkingChunk(block.thinking, block.signature);
        return [];
      }
      case 'content_block_delta': {
        const { delta } = data;
        if (delta.type === 'text_delta') return delta.text === '' ? [] : [this.chunk({ content: delta.text })];
        if (delta.type === 'input_json_delta') {
          const index = this.toolCalls.get(data.index);
          if (index === undefined || delta.partial_json === '') return [];
          return [this.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] })];
        }
        if (delta.type === 'thinking_delta') return this.thinkingChunk(delta.thinking, undefined);
        if (delta.type === 'signature_delta') return this.thinkingChunk(undefined, delta.signature);
        // Citations have no place in the chunk.
        return [];
      }
      case 'message_delta':
        if (data.usage) this.addUsage(data.usage);
        return [
          { ...this.envelope(), choices: [{ index: 0, delta: {}, logprobs: null, ...finishFieldsOf(data.delta.stop_reason, data.delta.stop_sequence) }] },
        ];
      case 'message_stop':
        return this.usageChunk();
      case 'error':
        throw streamError(data.error);
      default:
        // ping, content_block_stop, and event types added after this was written.
        return [];
    }
  }

  end(): JsonObject[] {
    return this.usageChunk();
  }

  /** Thinking travels as `reasoning_content` and its signature as `reasoning_signature` (Cerulean's own delta fields). */
  private thinkingChunk(thinking: string | undefined, signature: string | undefined): JsonObject[] {
    const delta: JsonObject = {};
    if (typeof thinking === 'string' && thinking !== '') delta.reasoning_content = thinking;
    if (typeof signature === 'string' && signature !== '') delta.reasoning_signature = signature;
    return Object.keys(delta).length === 0 ? [] : [this.chunk(delta)];
  }

  /** `message_delta` counts are cumulative; a count it leaves out or nulls keeps its earlier value. */
  private addUsage(delta: AnthropicDeltaUsage): void {
    for (const key of Object.keys(delta) as Array<keyof AnthropicUsage>) {
      const value = delta[key];
      if (typeof value === 'number') this.usage[key] = value;
    }
  }

  private usageChunk(): JsonObject[] {
    if (!this.started || this.usageSent) return [];
    this.usageSent = true;
    return [{ ...this.envelope(), choices: [], usage: toOpenAIUsage(this.usage) }];
  }

  private chunk(delta: JsonObject, finishReason: OpenAIFinishReason | null = null): JsonObject {
    return { ...this.envelope(), choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }] };
  }

  private envelope(): JsonObject {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model };
  }
}
