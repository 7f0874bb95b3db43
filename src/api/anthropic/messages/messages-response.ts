import { randomBytes } from 'node:crypto';
import type { JsonObject } from '../../../providers/provider.js';

/** Why generation stopped, as a Messages caller reads it. */
export type MessagesStopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal';

const STOP_REASONS: Record<string, MessagesStopReason> = {
  stop: 'end_turn',
  length: 'max_tokens',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
  content_filter: 'refusal',
};

/**
 * The stop reason for a chat `finish_reason`. Chat's `stop` does not say whether a stop sequence
 * ended the answer, so it reads as `end_turn` unless the choice names the sequence (see `stopOf`).
 */
export function stopReasonOf(finishReason: unknown): MessagesStopReason {
  return (typeof finishReason === 'string' ? STOP_REASONS[finishReason] : undefined) ?? 'end_turn';
}

/**
 * `stop_reason` and `stop_sequence` for a choice. A `stop` whose choice carries the matched stop
 * sequence as a string `stop_reason` (an Anthropic target's, or vLLM's own field) was ended by that
 * sequence; vLLM's token-id `stop_reason` names no sequence and is not one.
 */
export function stopOf(finishReason: unknown, stopReason: unknown): { stop_reason: MessagesStopReason; stop_sequence: string | null } {
  if (finishReason === 'stop' && typeof stopReason === 'string') return { stop_reason: 'stop_sequence', stop_sequence: stopReason };
  return { stop_reason: stopReasonOf(finishReason), stop_sequence: null };
}

/** Token counts as a Messages answer carries them. */
export interface MessagesUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
}

/**
 * Chat usage in Anthropic's terms: chat's `prompt_tokens` counts every prompt token, Anthropic's
 * `input_tokens` only those neither read from nor written to the cache, which are reported beside it.
 */
export function messagesUsageOf(usage: unknown): MessagesUsage {
  const counts = (usage ?? {}) as {
    prompt_tokens?: unknown;
    completion_tokens?: unknown;
    prompt_tokens_details?: { cached_tokens?: unknown; cache_creation_tokens?: unknown } | null;
  };
  const prompt = numberOr0(counts.prompt_tokens);
  const cacheRead = numberOr0(counts.prompt_tokens_details?.cached_tokens);
  const cacheCreation = numberOr0(counts.prompt_tokens_details?.cache_creation_tokens);
  return {
    input_tokens: Math.max(0, prompt - cacheRead - cacheCreation),
    output_tokens: numberOr0(counts.completion_tokens),
    cache_creation_input_tokens: cacheCreation,
    cache_read_input_tokens: cacheRead,
  };
}

function numberOr0(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The upstream's id when it already is a Messages id (an Anthropic target's), else a new `msg_…` id. */
export function messageIdOf(id: unknown): string {
  return typeof id === 'string' && id.startsWith('msg_') ? id : randomId('msg_');
}

/** A tool call's id as it came (the caller answers with it), or a new `toolu_…` id where there was none. */
export function toolUseIdOf(id: unknown): string {
  return typeof id === 'string' && id !== '' ? id : randomId('toolu_');
}

function randomId(prefix: string): string {
  let out = prefix;
  for (const byte of randomBytes(24)) out += ID_ALPHABET[byte % ID_ALPHABET.length];
  return out;
}

/**
 * A tool call's arguments as the `input` object a tool_use block needs. Arguments that are not a
 * JSON object (a model that wrote broken JSON) become `{}`: the caller's tool then reports the
 * missing fields to the model, which can try again, where failing the whole answer would lose the turn.
 */
export function toolInputOf(args: unknown): JsonObject {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    const input: unknown = JSON.parse(args);
    return input && typeof input === 'object' && !Array.isArray(input) ? (input as JsonObject) : {};
  } catch {
    return {};
  }
}

/**
 * Turns a `chat.completion` into a Messages API `message`: the first choice's reasoning as a
 * thinking block, its text (or its refusal text) as a text block, then one tool_use block per
 * tool call. `model` is the name the caller asked for.
 */
export function chatToMessage(chat: JsonObject, meta: { id?: string; model: string }): JsonObject {
  const choice = (Array.isArray(chat.choices) ? chat.choices[0] : undefined) as
    { message?: JsonObject; finish_reason?: unknown; stop_reason?: unknown } | undefined;
  const message = choice?.message ?? {};
  const content: JsonObject[] = [];
  if (typeof message.reasoning_content === 'string' && message.reasoning_content !== '') {
    content.push({
      type: 'thinking',
      thinking: message.reasoning_content,
      signature: typeof message.reasoning_signature === 'string' ? message.reasoning_signature : '',
    });
  }
  const text = typeof message.content === 'string' && message.content !== '' ? message.content : typeof message.refusal === 'string' ? message.refusal : '';
  if (text !== '') content.push({ type: 'text', text });
  const calls = Array.isArray(message.tool_calls) ? (message.tool_calls as Array<{ id?: unknown; function?: { name?: unknown; arguments?: unknown } }>) : [];
  for (const call of calls) {
    content.push({ type: 'tool_use', id: toolUseIdOf(call.id), name: String(call.function?.name ?? ''), input: toolInputOf(call.function?.arguments) });
  }
  return {
    id: messageIdOf(meta.id ?? chat.id),
    type: 'message',
    role: 'assistant',
    model: meta.model,
    content,
    ...stopOf(choice?.finish_reason, choice?.stop_reason),
    usage: messagesUsageOf(chat.usage),
  };
}
