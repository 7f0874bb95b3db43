import type { JsonObject } from '../../../providers/provider.js';
import { newId, type ResponseItem, type ResponsesRequest } from './responses-request.js';
import {
  functionCallItem,
  outputTextPart,
  reasoningItem,
  responseObject,
  responseUsage,
  statusOfFinish,
  type ResponseMeta,
  type ResponseStatus,
} from './responses-response.js';

/** The item being written: the only one events may still be added to. */
type OpenItem =
  | { kind: 'message'; index: number; item: ResponseItem; part: JsonObject | null }
  | { kind: 'reasoning'; index: number; item: ResponseItem; part: JsonObject }
  | { kind: 'function_call'; index: number; item: ResponseItem };

/**
 * Turns a stream of `chat.completion.chunk` objects into the Responses API's streaming events,
 * in the order OpenAI publishes: `response.created`, `response.in_progress`, then per output item
 * `output_item.added`, its parts and deltas, their `.done` events and `output_item.done`, and last
 * `response.completed` (or `response.incomplete`, or `response.failed`). Items are written one at a
 * time, as OpenAI does: a chunk for another item closes the open one first.
 *
 * Every event carries `type` and a `sequence_number` that counts from 0. The edge frames each as
 * `event: <type>\ndata: <json>\n\n`. Items in events are copies, so the state kept here for
 * `response()` never changes under an event already handed out.
 */
export class ResponsesStreamEncoder {
  private readonly request: ResponsesRequest;
  private readonly meta: ResponseMeta;
  private sequence = 0;
  private readonly output: ResponseItem[] = [];
  private open: OpenItem | null = null;
  /** Function-call items by the chat tool call `index`. */
  private readonly calls = new Map<number, ResponseItem>();
  private finishReason: unknown = null;
  private usage: JsonObject | null = null;
  private status: ResponseStatus = 'in_progress';
  private error: { code: string; message: string } | null = null;
  private completedAt: number | undefined;
  /** The Response once ended (`end()` or `fail()`): its state no longer changes, so events and storage share it. */
  private final: JsonObject | undefined;

  constructor(request: ResponsesRequest, meta: ResponseMeta) {
    this.request = request;
    this.meta = meta;
  }

  /** `response.created` then `response.in_progress`, both with the response as it starts. */
  start(): JsonObject[] {
    // Nothing is written yet: the object holds a new empty `output` and otherwise only values of the
    // request, which nothing changes, so it needs no deep copy (a copy cost ~25 µs per stream).
    const response = this.build(null, []);
    return [this.event('response.created', { response }), this.event('response.in_progress', { response: { ...response } })];
  }

  /** The events one chat chunk adds. Only choice 0 is read: a response has one answer. */
  push(chunk: JsonObject): JsonObject[] {
    if (this.status !== 'in_progress') return [];
    const events: JsonObject[] = [];
    if (chunk.usage && typeof chunk.usage === 'object') this.usage = responseUsage(chunk.usage);
    const choices = Array.isArray(chunk.choices) ? (chunk.choices as JsonObject[]) : [];
    const choice = choices.find((c) => c.index === 0 || c.index === undefined);
    if (!choice) return events;
    const delta = (choice.delta ?? {}) as JsonObject;

    if (typeof delta.reasoning_content === 'string' && delta.reasoning_content !== '') this.reasoningDelta(delta.reasoning_content, events);
    if (typeof delta.content === 'string' && delta.content !== '') this.messageDelta('output_text', delta.content, events);
    if (typeof delta.refusal === 'string' && delta.refusal !== '') this.messageDelta('refusal', delta.refusal, events);
    if (Array.isArray(delta.tool_calls)) for (const call of delta.tool_calls as JsonObject[]) this.toolCallDelta(call, events);
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return events;
  }

  /**
   * Closes the open item and ends the response: `response.completed`, or `response.incomplete`
   * when the answer was cut by max_output_tokens or by a content filter.
   */
  end(): JsonObject[] {
    if (this.status !== 'in_progress') return [];
    const { status, incompleteReason } = statusOfFinish(this.finishReason);
    const events: JsonObject[] = [];
    this.close(events, status === 'incomplete' ? 'incomplete' : 'completed');
    this.status = status;
    this.completedAt = Math.floor(Date.now() / 1000);
    const type = status === 'completed' ? 'response.completed' : 'response.incomplete';
    this.final = this.build(incompleteReason, this.output);
    events.push(this.event(type, { response: this.final }));
    return events;
  }

  /** `response.failed` with the error; items already written stay in `output`, the open one marked incomplete. */
  fail(error: { code: string; message: string }): JsonObject[] {
    if (this.status !== 'in_progress') return [];
    if (this.open) this.open.item.status = 'incomplete';
    this.open = null;
    this.status = 'failed';
    this.error = { code: error.code, message: error.message };
    this.final = this.build(statusOfFinish(this.finishReason).incompleteReason, this.output);
    return [this.event('response.failed', { response: this.final })];
  }

  /**
   * OpenAI's `error` event, numbered after the events already handed out: for a stream that fails
   * where it can no longer end in `response.failed` (e.g. the final response could not be stored).
   */
  errorEvent(error: { code?: unknown; message?: unknown; param?: unknown }): JsonObject {
    return this.event('error', { code: error.code ?? null, message: error.message ?? null, param: error.param ?? null });
  }

  /**
   * The Response as it stands: after `end()` or `fail()` the final one to store (the very object of
   * the final event: nothing here changes once the response has ended), before that a deep copy.
   */
  response(): JsonObject {
    return this.final ?? structuredClone(this.build(statusOfFinish(this.finishReason).incompleteReason, this.output));
  }

  private build(incompleteReason: 'max_output_tokens' | 'content_filter' | null, output: ResponseItem[]): JsonObject {
    return responseObject(this.request, this.meta, {
      status: this.status,
      output,
      usage: this.status === 'in_progress' ? null : this.usage,
      error: this.error,
      incompleteReason,
      completedAt: this.completedAt,
    });
  }

  private event(type: string, fields: JsonObject): JsonObject {
    return { type, sequence_number: this.sequence++, ...fields };
  }

  private addItem(item: ResponseItem, events: JsonObject[]): number {
    const index = this.output.length;
    this.output.push(item);
    events.push(this.event('response.output_item.added', { output_index: index, item: structuredClone(item) }));
    return index;
  }

  private reasoningDelta(text: string, events: JsonObject[]): void {
    let open = this.open;
    if (open?.kind !== 'reasoning') {
      this.close(events, 'completed');
      const item: ResponseItem = { ...reasoningItem(newId('rs_'), ''), content: [] };
      const index = this.addItem(item, events);
      const part = { type: 'reasoning_text', text: '' };
      (item.content as JsonObject[]).push(part);
      events.push(this.event('response.content_part.added', { item_id: item.id, output_index: index, content_index: 0, part: { ...part } }));
      open = this.open = { kind: 'reasoning', index, item, part };
    }
    open.part.text += text;
    events.push(this.event('response.reasoning_text.delta', { item_id: open.item.id, output_index: open.index, content_index: 0, delta: text }));
  }

  private messageDelta(partType: 'output_text' | 'refusal', text: string, events: JsonObject[]): void {
    let open = this.open;
    if (open?.kind !== 'message') {
      this.close(events, 'completed');
      const item: ResponseItem = { id: newId('msg_'), type: 'message', status: 'in_progress', content: [], role: 'assistant' };
      open = this.open = { kind: 'message', index: this.addItem(item, events), item, part: null };
    }
    const content = open.item.content as JsonObject[];
    if (open.part?.type !== partType) {
      this.closePart(open, events);
      const part = partType === 'output_text' ? outputTextPart('') : { type: 'refusal', refusal: '' };
      content.push(part);
      open.part = part;
      events.push(
        this.event('response.content_part.added', { item_id: open.item.id, output_index: open.index, content_index: content.length - 1, part: { ...part } }),
      );
    }
    const location = { item_id: open.item.id, output_index: open.index, content_index: content.length - 1 };
    if (partType === 'output_text') {
      open.part!.text += text;
      events.push(this.event('response.output_text.delta', { ...location, delta: text, logprobs: [] }));
    } else {
      open.part!.refusal += text;
      events.push(this.event('response.refusal.delta', { ...location, delta: text }));
    }
  }

  private toolCallDelta(call: JsonObject, events: JsonObject[]): void {
    const index = typeof call.index === 'number' ? call.index : 0;
    const fn = (call.function ?? {}) as JsonObject;
    const args = typeof fn.arguments === 'string' ? fn.arguments : '';
    let item = this.calls.get(index);
    if (!item) {
      this.close(events, 'completed');
      const callId = typeof call.id === 'string' ? call.id : newId('call_');
      item = functionCallItem(newId('fc_'), callId, typeof fn.name === 'string' ? fn.name : '', '', 'in_progress');
      this.calls.set(index, item);
      this.open = { kind: 'function_call', index: this.addItem(item, events), item };
    }
    // Some upstreams name the function in a later fragment than the one that opened the call.
    if (!item.name && typeof fn.name === 'string') item.name = fn.name;
    if (args === '') return;
    item.arguments += args;
    // Chat streams send one tool call after another; a late fragment of a call already closed
    // still reaches the stored response, though its events were sent.
    if (this.open?.item === item) {
      events.push(this.event('response.function_call_arguments.delta', { item_id: item.id, output_index: this.open.index, delta: args }));
    }
  }

  private closePart(open: OpenItem & { kind: 'message' }, events: JsonObject[]): void {
    const part = open.part;
    if (!part) return;
    const location = { item_id: open.item.id, output_index: open.index, content_index: (open.item.content as JsonObject[]).indexOf(part) };
    if (part.type === 'output_text') events.push(this.event('response.output_text.done', { ...location, text: part.text, logprobs: [] }));
    else events.push(this.event('response.refusal.done', { ...location, refusal: part.refusal }));
    events.push(this.event('response.content_part.done', { ...location, part: structuredClone(part) }));
    open.part = null;
  }

  /** Closes the open item with the given status: its part's `.done` events, then `output_item.done`. */
  private close(events: JsonObject[], status: 'completed' | 'incomplete'): void {
    const open = this.open;
    if (!open) return;
    this.open = null;
    if (open.kind === 'message') this.closePart(open, events);
    else if (open.kind === 'reasoning') {
      const location = { item_id: open.item.id, output_index: open.index, content_index: 0 };
      events.push(this.event('response.reasoning_text.done', { ...location, text: open.part.text }));
      events.push(this.event('response.content_part.done', { ...location, part: { ...open.part } }));
    } else {
      events.push(
        this.event('response.function_call_arguments.done', {
          item_id: open.item.id,
          output_index: open.index,
          name: open.item.name,
          arguments: open.item.arguments,
        }),
      );
    }
    if (open.kind !== 'reasoning') open.item.status = status;
    events.push(this.event('response.output_item.done', { output_index: open.index, item: structuredClone(open.item) }));
  }
}
