import { UpstreamStatusError, UpstreamUnreachableError } from '../../errors/catalogue.js';
import type { JsonObject, SseEvent, StreamTranslator, Target, Usage } from '../provider.js';
import { finishReasonFromGemini, newCompletionId, readCandidate, usageFromGemini } from './gemini-chat-response.js';
import type { GeminiErrorBody, GeminiGenerateContentResponse } from './gemini-wire.js';

interface ChoiceState {
  /** Tool calls already sent for this choice: the next one's `index` in delta.tool_calls. */
  toolCalls: number;
}

/**
 * Turns `streamGenerateContent?alt=sse` into `chat.completion.chunk`s. Each Gemini event is a
 * whole GenerateContentResponse holding the next piece of one or more candidates; most carry a
 * running usageMetadata. Usage is therefore held back and sent once, in the `choices: []` chunk
 * at `end()`: with n > 1 candidates finish in different events, and only the upstream's end says
 * that no candidate (and no later usage) is still to come.
 */
export class GeminiStreamTranslator implements StreamTranslator {
  private readonly target: Target;
  /** Set from the first event and shared by every chunk of the stream. */
  private id: string | undefined;
  private created = 0;
  private model = '';
  private readonly choices = new Map<number, ChoiceState>();
  private usage: Usage | undefined;

  constructor(target: Target) {
    this.target = target;
  }

  push(event: SseEvent): JsonObject[] {
    if (event.data === '' || event.data === '[DONE]') return [];
    let frame: GeminiGenerateContentResponse & GeminiErrorBody;
    try {
      frame = JSON.parse(event.data) as GeminiGenerateContentResponse & GeminiErrorBody;
    } catch {
      throw new UpstreamUnreachableError('Gemini sent a stream event that is not JSON.');
    }
    if (frame.error) {
      // Google reports failures after the stream has begun (e.g. overload) as an error event.
      const status = typeof frame.error.code === 'number' && frame.error.code >= 400 ? frame.error.code : 502;
      throw new UpstreamStatusError(status, frame.error.message ?? 'Gemini failed during the stream.', { code: frame.error.status ?? null });
    }
    if (this.id === undefined) {
      this.id = frame.responseId ?? newCompletionId();
      this.created = Math.floor(Date.now() / 1000);
      this.model = frame.modelVersion ?? this.target.model;
    }
    if (frame.usageMetadata) this.usage = usageFromGemini(frame.usageMetadata);

    const chunks: JsonObject[] = [];
    const candidates = frame.candidates ?? [];
    if (candidates.length === 0 && frame.promptFeedback?.blockReason) {
      this.choice(0, chunks);
      chunks.push(this.chunk(0, {}, 'content_filter'));
    }
    candidates.forEach((candidate, position) => {
      const index = candidate.index ?? position;
      const state = this.choice(index, chunks);
      const output = readCandidate(candidate);
      const delta: JsonObject = {};
      if (output.text !== null && output.text !== '') delta.content = output.text;
      if (output.toolCalls.length > 0) {
        // Gemini sends each function call whole, so one delta carries its name and full arguments.
        delta.tool_calls = output.toolCalls.map((call, offset) => ({ index: state.toolCalls + offset, ...call }));
        state.toolCalls += output.toolCalls.length;
      }
      if (Object.keys(delta).length > 0) chunks.push(this.chunk(index, delta, null, output.logprobs));
      if (candidate.finishReason) chunks.push(this.chunk(index, {}, finishReasonFromGemini(candidate.finishReason, state.toolCalls > 0)));
    });
    return chunks;
  }

  end(): JsonObject[] {
    if (!this.usage) return [];
    return [{ ...this.envelope(), choices: [], usage: this.usage }];
  }

  /** The state of a choice, opening it with the role chunk OpenAI streams begin with. */
  private choice(index: number, chunks: JsonObject[]): ChoiceState {
    let state = this.choices.get(index);
    if (!state) {
      state = { toolCalls: 0 };
      this.choices.set(index, state);
      chunks.push(this.chunk(index, { role: 'assistant', content: '' }, null));
    }
    return state;
  }

  private chunk(index: number, delta: JsonObject, finishReason: string | null, logprobs: JsonObject | null = null): JsonObject {
    return { ...this.envelope(), choices: [{ index, delta, logprobs, finish_reason: finishReason }] };
  }

  private envelope(): JsonObject {
    return { id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model };
  }
}
