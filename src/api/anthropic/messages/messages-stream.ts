import type { JsonObject } from '../../../providers/provider.js';
import { messageIdOf, messagesUsageOf, stopOf, toolUseIdOf } from './messages-response.js';

/** The keep-alive event the edge sends while the upstream is silent; Anthropic's streams carry the same. */
export const PING: JsonObject = Object.freeze({ type: 'ping' });

type BlockKind = 'text' | 'thinking' | 'tool_use';

interface OpenBlock {
  kind: BlockKind;
  index: number;
}

interface ChunkToolCall {
  index?: unknown;
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

/**
 * Re-frames a stream of `chat.completion.chunk` objects as Messages API stream events, in the order
 * Anthropic publishes: `message_start` (empty content), then per content block `content_block_start`,
 * its deltas and `content_block_stop`, then `message_delta` (stop reason and usage) and
 * `message_stop`. Each event object carries its `type`, which the edge writes as the SSE event name.
 *
 * Blocks never overlap: text, reasoning (`reasoning_content`, with `reasoning_signature` as a
 * `signature_delta`) and each tool call open their own block, closing the one before. Should an
 * upstream interleave the arguments of parallel tool calls, a late fragment is sent with its own
 * (already closed) block's index, which is how clients assemble blocks: by index.
 *
 * Usage arrives in the stream's last chunk (`choices: []`), so `message_delta` is only sent by
 * `end()`. A `content_filter` finish closes the open block at once and ignores whatever content
 * follows; `end()` then reports stop_reason `refusal`. Only the first choice is read: the
 * Messages API has one.
 */
export class MessagesStreamEncoder {
  private readonly model: string;
  private readonly inputTokens: number;
  private id: string | undefined;
  private started = false;
  private ended = false;
  private filtered = false;
  private nextIndex = 0;
  private open: OpenBlock | undefined;
  /** Chat tool call index -> content block index. */
  private readonly toolBlocks = new Map<number, number>();
  private finishReason: unknown = null;
  /** The finishing choice's `stop_reason`: the stop sequence that ended the answer, when one did. */
  private stopSequence: unknown = null;
  private usage: unknown;

  /**
   * `model` is the name the caller asked for; `id` a Messages id to use (else the first chunk's when
   * it is one, else a new one); `inputTokens` a prompt count to announce in `message_start`, where
   * Anthropic reports its own (the true count follows in `message_delta`).
   */
  constructor(meta: { model: string; id?: string; inputTokens?: number }) {
    this.model = meta.model;
    this.id = meta.id;
    this.inputTokens = meta.inputTokens ?? 0;
  }

  /** The events one chunk stands for; the first call also yields `message_start`. */
  push(chunk: JsonObject): JsonObject[] {
    if (this.ended) return [];
    const events: JsonObject[] = [];
    this.start(events, chunk.id);
    if (chunk.usage && typeof chunk.usage === 'object') this.usage = chunk.usage;
    const choices = Array.isArray(chunk.choices)
      ? (chunk.choices as Array<{ index?: unknown; delta?: JsonObject; finish_reason?: unknown; stop_reason?: unknown }>)
      : [];
    const choice = choices.find((candidate) => (candidate.index ?? 0) === 0);
    if (!choice || this.filtered) return events;
    const delta = choice.delta ?? {};

    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') {
      this.delta(events, 'thinking', { type: 'thinking_delta', thinking: delta.reasoning_content });
    }
    if (typeof delta.reasoning_signature === 'string' && delta.reasoning_signature !== '') {
      this.delta(events, 'thinking', { type: 'signature_delta', signature: delta.reasoning_signature });
    }
    // A refusal streamed in OpenAI's own field is the answer's text as far as the caller is concerned.
    for (const text of [delta.content, delta.refusal]) {
      if (typeof text === 'string' && text !== '') this.delta(events, 'text', { type: 'text_delta', text });
    }
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls as ChunkToolCall[]) this.toolCall(events, call);

    if (choice.finish_reason !== null && choice.finish_reason !== undefined) {
      this.finishReason = choice.finish_reason;
      this.stopSequence = choice.stop_reason;
      if (choice.finish_reason === 'content_filter') {
        this.close(events);
        this.filtered = true;
      }
    }
    return events;
  }

  /** Closes the open block and the message: `content_block_stop`, `message_delta`, `message_stop`. */
  end(): JsonObject[] {
    if (this.ended) return [];
    const events: JsonObject[] = [];
    this.start(events, undefined);
    this.close(events);
    this.ended = true;
    const stop =
      this.finishReason !== null
        ? stopOf(this.finishReason, this.stopSequence)
        : { stop_reason: this.toolBlocks.size > 0 ? 'tool_use' : 'end_turn', stop_sequence: null };
    const usage = this.usage === undefined ? { ...messagesUsageOf(undefined), input_tokens: this.inputTokens } : messagesUsageOf(this.usage);
    events.push({ type: 'message_delta', delta: stop, usage });
    events.push({ type: 'message_stop' });
    return events;
  }

  /**
   * The `error` event for a failure after the stream began (`{type: 'overloaded_error', message}`);
   * nothing follows it, so later pushes and `end()` yield no events.
   */
  error(body: { type: string; message: string }): JsonObject {
    this.ended = true;
    return { type: 'error', error: { type: body.type, message: body.message } };
  }

  private start(events: JsonObject[], chunkId: unknown): void {
    if (this.started) return;
    this.started = true;
    this.id = messageIdOf(this.id ?? chunkId);
    events.push({
      type: 'message_start',
      message: {
        id: this.id,
        type: 'message',
        role: 'assistant',
        model: this.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: this.inputTokens, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    });
  }

  /** A delta for a text or thinking block, opening that kind of block first when another is open. */
  private delta(events: JsonObject[], kind: 'text' | 'thinking', delta: JsonObject): void {
    if (this.open?.kind !== kind) this.begin(events, kind, kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' });
    events.push({ type: 'content_block_delta', index: this.open?.index, delta });
  }

  private toolCall(events: JsonObject[], call: ChunkToolCall): void {
    const position = typeof call.index === 'number' ? call.index : 0;
    let index = this.toolBlocks.get(position);
    if (index === undefined) {
      const name = typeof call.function?.name === 'string' ? call.function.name : '';
      index = this.begin(events, 'tool_use', { type: 'tool_use', id: toolUseIdOf(call.id), name, input: {} });
      this.toolBlocks.set(position, index);
    }
    const args = call.function?.arguments;
    if (typeof args === 'string' && args !== '') events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: args } });
  }

  private begin(events: JsonObject[], kind: BlockKind, contentBlock: JsonObject): number {
    this.close(events);
    const index = this.nextIndex++;
    this.open = { kind, index };
    events.push({ type: 'content_block_start', index, content_block: contentBlock });
    return index;
  }

  private close(events: JsonObject[]): void {
    if (!this.open) return;
    events.push({ type: 'content_block_stop', index: this.open.index });
    this.open = undefined;
  }
}
