import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { accumulateResponse } from 'openai/lib/responses/ResponseAccumulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponsesRequest } from '../../../../src/api/openai/responses/responses-request.js';
import { ResponsesStreamEncoder } from '../../../../src/api/openai/responses/responses-stream.js';

const META = { id: 'resp_stream', createdAt: 1_700_000_000 };
const REQUEST = parseResponsesRequest({ model: 'my-deployment', input: 'hi', stream: true });

function chunk(delta: Record<string, unknown>, finishReason: string | null = null) {
  return { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [{ index: 0, delta, finish_reason: finishReason }] };
}
const usageChunk = (usage: Record<string, unknown>) => ({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [], usage });
const toolDelta = (index: number, fields: { id?: string; name?: string; args?: string }) => ({
  tool_calls: [
    {
      index,
      ...(fields.id ? { id: fields.id, type: 'function' } : {}),
      function: { ...(fields.name ? { name: fields.name } : {}), ...(fields.args !== undefined ? { arguments: fields.args } : {}) },
    },
  ],
});

/** Runs chunks through a fresh encoder: every event, from start() to end(). */
function encode(chunks: Record<string, unknown>[], request = REQUEST) {
  const encoder = new ResponsesStreamEncoder(request, META);
  const events = [...encoder.start()];
  for (const c of chunks) events.push(...encoder.push(c));
  events.push(...encoder.end());
  return { events: events as any[], encoder };
}

function expectSequenced(events: any[]) {
  expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
}

describe('ResponsesStreamEncoder', () => {
  it('writes a text answer event by event in the published order', () => {
    const { events, encoder } = encode([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hel' }),
      chunk({ content: 'lo' }),
      chunk({}, 'stop'),
      usageChunk({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 }),
    ]);
    expectSequenced(events);
    const messageId = events[2].item.id;
    expect(messageId).toMatch(/^msg_[0-9a-f]{48}$/);
    const at = { item_id: messageId, output_index: 0, content_index: 0 };

    expect(events[0]).toMatchObject({
      type: 'response.created',
      sequence_number: 0,
      response: { id: 'resp_stream', status: 'in_progress', output: [], usage: null },
    });
    expect(events[1]).toMatchObject({ type: 'response.in_progress', sequence_number: 1, response: { status: 'in_progress', output: [] } });
    expect(events.slice(2, -1)).toEqual([
      {
        type: 'response.output_item.added',
        sequence_number: 2,
        output_index: 0,
        item: { id: messageId, type: 'message', status: 'in_progress', content: [], role: 'assistant' },
      },
      { type: 'response.content_part.added', sequence_number: 3, ...at, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } },
      { type: 'response.output_text.delta', sequence_number: 4, ...at, delta: 'Hel', logprobs: [] },
      { type: 'response.output_text.delta', sequence_number: 5, ...at, delta: 'lo', logprobs: [] },
      { type: 'response.output_text.done', sequence_number: 6, ...at, text: 'Hello', logprobs: [] },
      { type: 'response.content_part.done', sequence_number: 7, ...at, part: { type: 'output_text', text: 'Hello', annotations: [], logprobs: [] } },
      {
        type: 'response.output_item.done',
        sequence_number: 8,
        output_index: 0,
        item: {
          id: messageId,
          type: 'message',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Hello', annotations: [], logprobs: [] }],
          role: 'assistant',
        },
      },
    ]);
    const completed = events.at(-1);
    expect(completed).toMatchObject({
      type: 'response.completed',
      sequence_number: 9,
      response: {
        id: 'resp_stream',
        object: 'response',
        status: 'completed',
        completed_at: expect.any(Number),
        model: 'my-deployment',
        output: [events[8].item],
        usage: {
          input_tokens: 7,
          output_tokens: 2,
          total_tokens: 9,
          input_tokens_details: { cached_tokens: 0 },
          output_tokens_details: { reasoning_tokens: 0 },
        },
      },
    });
    expect(encoder.response()).toEqual(completed.response);
  });

  it('keeps events it handed out unchanged as the stream goes on', () => {
    const encoder = new ResponsesStreamEncoder(REQUEST, META);
    const [created] = encoder.start();
    const [added] = encoder.push(chunk({ content: 'a' }));
    encoder.push(chunk({ content: 'b' }, 'stop'));
    encoder.end();
    expect((created.response as any).output).toEqual([]);
    expect((added.item as any).content).toEqual([]);
  });

  it('closes the message before two tool calls and gives each call its own item', () => {
    const { events, encoder } = encode([
      chunk({ role: 'assistant', content: 'Checking.' }),
      chunk(toolDelta(0, { id: 'call_a', name: 'weather', args: '' })),
      chunk(toolDelta(0, { args: '{"city":' })),
      chunk(toolDelta(0, { args: '"Paris"}' })),
      chunk(toolDelta(1, { id: 'call_b', name: 'weather', args: '{"city":"Rome"}' })),
      chunk({}, 'tool_calls'),
      usageChunk({ prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 }),
    ]);
    expectSequenced(events);
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const firstCall = events[8];
    expect(firstCall).toEqual({
      type: 'response.output_item.added',
      sequence_number: 8,
      output_index: 1,
      item: { id: expect.stringMatching(/^fc_[0-9a-f]{48}$/), type: 'function_call', status: 'in_progress', arguments: '', call_id: 'call_a', name: 'weather' },
    });
    const callId = firstCall.item.id;
    expect(events[9]).toEqual({ type: 'response.function_call_arguments.delta', sequence_number: 9, item_id: callId, output_index: 1, delta: '{"city":' });
    expect(events[11]).toEqual({
      type: 'response.function_call_arguments.done',
      sequence_number: 11,
      item_id: callId,
      output_index: 1,
      name: 'weather',
      arguments: '{"city":"Paris"}',
    });
    expect(events[12].item).toEqual({ ...firstCall.item, status: 'completed', arguments: '{"city":"Paris"}' });
    expect(events[13]).toMatchObject({ output_index: 2, item: { call_id: 'call_b', name: 'weather', arguments: '' } });
    expect(events[16].item).toMatchObject({ status: 'completed', arguments: '{"city":"Rome"}' });
    const final = encoder.response();
    expect(final.status).toBe('completed');
    expect((final.output as any[]).map((item) => item.type)).toEqual(['message', 'function_call', 'function_call']);
  });

  it('writes reasoning as a reasoning item with reasoning_text events before the answer', () => {
    const { events } = encode([chunk({ reasoning_content: 'Think' }), chunk({ reasoning_content: 'ing.' }), chunk({ content: 'Done.' }, 'stop')]);
    expectSequenced(events);
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.reasoning_text.delta',
      'response.reasoning_text.delta',
      'response.reasoning_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const reasoningId = events[2].item.id;
    expect(events[2].item).toEqual({ id: expect.stringMatching(/^rs_/), type: 'reasoning', summary: [], content: [] });
    expect(events[3]).toMatchObject({ item_id: reasoningId, output_index: 0, content_index: 0, part: { type: 'reasoning_text', text: '' } });
    expect(events[6]).toMatchObject({ item_id: reasoningId, text: 'Thinking.' });
    expect(events[8].item).toEqual({ id: reasoningId, type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Thinking.' }] });
    expect(events[9]).toMatchObject({ output_index: 1, item: { type: 'message' } });
  });

  it('ends with response.incomplete (content_filter) when a filter cut the answer', () => {
    const { events, encoder } = encode([
      chunk({ content: 'Here is how to' }),
      chunk({}, 'content_filter'),
      usageChunk({ prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 }),
    ]);
    expectSequenced(events);
    expect(events.slice(-4).map((event) => event.type)).toEqual([
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.incomplete',
    ]);
    expect(events.at(-2).item.status).toBe('incomplete');
    expect(events.at(-1).response).toMatchObject({
      status: 'incomplete',
      incomplete_details: { reason: 'content_filter' },
      completed_at: null,
      usage: { input_tokens: 5, output_tokens: 4 },
    });
    expect(encoder.response().status).toBe('incomplete');
  });

  it('ends with response.incomplete (max_output_tokens) at the length limit', () => {
    const { events } = encode([chunk({ content: 'Once upon' }, 'length')], parseResponsesRequest({ model: 'm', input: 'x', max_output_tokens: 16 }));
    expect(events.at(-1)).toMatchObject({
      type: 'response.incomplete',
      response: { incomplete_details: { reason: 'max_output_tokens' }, max_output_tokens: 16 },
    });
  });

  it('reports usage from the last choices-less chunk, with cache and reasoning counts', () => {
    const { events } = encode([
      chunk({ content: 'x' }, 'stop'),
      usageChunk({
        prompt_tokens: 100,
        completion_tokens: 50,
        total_tokens: 150,
        prompt_tokens_details: { cached_tokens: 80, cache_creation_tokens: 20 },
        completion_tokens_details: { reasoning_tokens: 30 },
      }),
    ]);
    expect(events.at(-1).response.usage).toEqual({
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 80, cache_write_tokens: 20 },
      output_tokens: 50,
      output_tokens_details: { reasoning_tokens: 30 },
      total_tokens: 150,
    });
  });

  it('fails with response.failed, keeping what was written, and then says nothing more', () => {
    const encoder = new ResponsesStreamEncoder(REQUEST, META);
    encoder.start();
    encoder.push(chunk({ content: 'partial' }));
    const [failed, ...rest] = encoder.fail({ code: 'server_error', message: 'The upstream connection was lost.' });
    expect(rest).toEqual([]);
    expect(failed).toMatchObject({
      type: 'response.failed',
      sequence_number: 5,
      response: {
        status: 'failed',
        error: { code: 'server_error', message: 'The upstream connection was lost.' },
        output: [{ type: 'message', status: 'incomplete' }],
      },
    });
    expect(encoder.push(chunk({ content: 'late' }))).toEqual([]);
    expect(encoder.end()).toEqual([]);
    expect(encoder.response().status).toBe('failed');
  });

  it('takes a function name that arrives after the fragment that opened the call', () => {
    const { events } = encode([chunk(toolDelta(0, { id: 'call_a', args: '' })), chunk(toolDelta(0, { name: 'late', args: '{}' })), chunk({}, 'tool_calls')]);
    expect(events.find((event) => event.type === 'response.function_call_arguments.done')).toMatchObject({ name: 'late', arguments: '{}' });
  });

  it('writes a refusal as a refusal part', () => {
    const { events } = encode([chunk({ refusal: "I can't" }), chunk({ refusal: ' help.' }, 'stop')]);
    expect(events.map((event) => event.type).slice(2, -1)).toEqual([
      'response.output_item.added',
      'response.content_part.added',
      'response.refusal.delta',
      'response.refusal.delta',
      'response.refusal.done',
      'response.content_part.done',
      'response.output_item.done',
    ]);
    expect(events.at(-2).item.content).toEqual([{ type: 'refusal', refusal: "I can't help." }]);
  });
});

describe('the official SDK accumulates the events', () => {
  let server: Server;
  let client: OpenAI;
  let events: any[] = [];

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const event of events) res.write(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: 'test', maxRetries: 0 });
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('rebuilds a text answer whose final response equals the one to store', async () => {
    const encoded = encode([
      chunk({ content: 'Hello, ' }),
      chunk({ content: 'world.' }, 'stop'),
      usageChunk({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }),
    ]);
    events = encoded.events;
    const stream = client.responses.stream({ model: 'my-deployment', input: 'hi' });
    const deltas: string[] = [];
    stream.on('response.output_text.delta', (event) => deltas.push(event.delta));
    const final = await stream.finalResponse();
    expect(deltas).toEqual(['Hello, ', 'world.']);
    expect(final.output_text).toBe('Hello, world.');
    expect(final.usage?.total_tokens).toBe(7);
    expect(final.id).toBe('resp_stream');
  });

  it('accumulates the item events, without the final response, into the output that is stored', () => {
    const encoded = encode([
      chunk({ reasoning_content: 'Hmm.' }),
      chunk({ content: 'Hi ' }),
      chunk({ content: 'there.' }),
      chunk(toolDelta(0, { id: 'call_a', name: 'f', args: '{"a"' })),
      chunk(toolDelta(0, { args: ':1}' })),
      chunk({}, 'tool_calls'),
    ]);
    let snapshot: any;
    for (const event of encoded.events.slice(0, -1)) snapshot = accumulateResponse(event, snapshot);
    const stored = encoded.encoder.response();
    expect(snapshot.output).toEqual(stored.output);
    expect(snapshot.output_text).toBe('Hi there.');
  });

  it('rebuilds reasoning, text and two function calls', async () => {
    const encoded = encode([
      chunk({ reasoning_content: 'Two cities.' }),
      chunk({ content: 'Checking.' }),
      chunk(toolDelta(0, { id: 'call_a', name: 'weather', args: '{"city":' })),
      chunk(toolDelta(0, { args: '"Paris"}' })),
      chunk(toolDelta(1, { id: 'call_b', name: 'weather', args: '{"city":"Rome"}' })),
      chunk({}, 'tool_calls'),
    ]);
    events = encoded.events;
    const final = await client.responses.stream({ model: 'my-deployment', input: 'hi' }).finalResponse();
    expect(final.output_text).toBe('Checking.');
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message', 'function_call', 'function_call']);
    expect(final.output[0]).toMatchObject({ content: [{ type: 'reasoning_text', text: 'Two cities.' }] });
    expect(final.output.slice(2)).toMatchObject([
      { call_id: 'call_a', arguments: '{"city":"Paris"}', status: 'completed' },
      { call_id: 'call_b', arguments: '{"city":"Rome"}', status: 'completed' },
    ]);
  });

  it('reads a content-filter cut as an incomplete response', async () => {
    events = encode([chunk({ content: 'Here is' }), chunk({}, 'content_filter')]).events;
    const final = await client.responses.stream({ model: 'my-deployment', input: 'hi' }).finalResponse();
    expect(final.status).toBe('incomplete');
    expect(final.incomplete_details).toEqual({ reason: 'content_filter' });
    expect(final.output_text).toBe('Here is');
  });
});
