import { describe, expect, it } from 'vitest';
import { MessagesStreamEncoder, PING } from '../../../src/api/anthropic/messages/messages-stream.js';
import { AnthropicStreamTranslator } from '../../../src/providers/anthropic/anthropic-stream.js';
import type { DeploymentConfig } from '../../../src/config/schema.js';
import type { JsonObject, Target } from '../../../src/providers/provider.js';

function chunk(delta: JsonObject, finish_reason: string | null = null, id = 'chatcmpl-1'): JsonObject {
  return { id, object: 'chat.completion.chunk', created: 1, model: 'gpt-x', choices: [{ index: 0, delta, logprobs: null, finish_reason }] };
}

function usageChunk(usage: JsonObject, id = 'chatcmpl-1'): JsonObject {
  return { id, object: 'chat.completion.chunk', created: 1, model: 'gpt-x', choices: [], usage };
}

function encode(chunks: JsonObject[], meta: { model: string; id?: string; inputTokens?: number } = { model: 'claude-sonnet-4-5' }): JsonObject[] {
  const encoder = new MessagesStreamEncoder(meta);
  return [...chunks.flatMap((c) => encoder.push(c)), ...encoder.end()];
}

/**
 * Builds the final message from stream events the way Anthropic's SDK does (its MessageStream):
 * blocks by index, text and thinking appended, signatures set, tool input parsed from the joined
 * partial JSON at the end, stop reason and usage taken from message_delta.
 */
function accumulate(events: JsonObject[]): JsonObject {
  let message: JsonObject | undefined;
  const json = new Map<number, string>();
  for (const event of events) {
    const content = message?.content as JsonObject[] | undefined;
    switch (event.type) {
      case 'message_start':
        message = structuredClone(event.message as JsonObject);
        break;
      case 'content_block_start':
        content?.splice(event.index as number, 0, structuredClone(event.content_block as JsonObject));
        break;
      case 'content_block_delta': {
        const block = content?.[event.index as number] as JsonObject;
        const delta = event.delta as JsonObject;
        if (delta.type === 'text_delta') block.text = (block.text as string) + (delta.text as string);
        else if (delta.type === 'thinking_delta') block.thinking = (block.thinking as string) + (delta.thinking as string);
        else if (delta.type === 'signature_delta') block.signature = delta.signature;
        else if (delta.type === 'input_json_delta') json.set(event.index as number, (json.get(event.index as number) ?? '') + (delta.partial_json as string));
        break;
      }
      case 'message_delta':
        Object.assign(message as JsonObject, event.delta);
        Object.assign((message as JsonObject).usage as JsonObject, event.usage);
        break;
    }
  }
  for (const [index, text] of json) ((message?.content as JsonObject[])[index] as JsonObject).input = JSON.parse(text);
  return message as JsonObject;
}

describe('MessagesStreamEncoder', () => {
  it('frames a text answer in Anthropic published order', () => {
    const events = encode([
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Hello' }),
      chunk({ content: ', world' }),
      chunk({}, 'stop'),
      usageChunk({ prompt_tokens: 25, completion_tokens: 15, total_tokens: 40, prompt_tokens_details: { cached_tokens: 0 } }),
    ]);
    expect(events).toEqual([
      {
        type: 'message_start',
        message: {
          id: expect.stringMatching(/^msg_/),
          type: 'message',
          role: 'assistant',
          model: 'claude-sonnet-4-5',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        },
      },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hello' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ', world' } },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { input_tokens: 25, output_tokens: 15, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
      { type: 'message_stop' },
    ]);
  });

  it('opens a block per kind: thinking with its signature, text, then one tool_use block per call', () => {
    const events = encode(
      [
        chunk({ role: 'assistant', content: '' }, null, 'msg_01XYZ'),
        chunk({ reasoning_content: 'Need ' }, null, 'msg_01XYZ'),
        chunk({ reasoning_content: 'weather.' }, null, 'msg_01XYZ'),
        chunk({ reasoning_signature: 'EqQBsig' }, null, 'msg_01XYZ'),
        chunk({ content: 'Checking.' }, null, 'msg_01XYZ'),
        chunk({ tool_calls: [{ index: 0, id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] }, null, 'msg_01XYZ'),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, null, 'msg_01XYZ'),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }, null, 'msg_01XYZ'),
        chunk({ tool_calls: [{ index: 1, id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }, null, 'msg_01XYZ'),
        chunk({}, 'tool_calls', 'msg_01XYZ'),
        usageChunk(
          { prompt_tokens: 3000, completion_tokens: 40, total_tokens: 3040, prompt_tokens_details: { cached_tokens: 2048, cache_creation_tokens: 512 } },
          'msg_01XYZ',
        ),
      ],
      { model: 'claude-opus-4-1', inputTokens: 2900 },
    );
    expect(events.map((e) => e.type)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]).toMatchObject({ message: { id: 'msg_01XYZ', model: 'claude-opus-4-1', usage: { input_tokens: 2900, output_tokens: 0 } } });
    expect(events.slice(1, 6)).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Need ' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'weather.' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBsig' } },
      { type: 'content_block_stop', index: 0 },
    ]);
    expect(events.slice(9, 16)).toEqual([
      { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city":' } },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '"Paris"}' } },
      { type: 'content_block_stop', index: 2 },
      { type: 'content_block_start', index: 3, content_block: { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} } },
      { type: 'content_block_delta', index: 3, delta: { type: 'input_json_delta', partial_json: '{}' } },
      { type: 'content_block_stop', index: 3 },
    ]);
    expect(events.at(-2)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 440, output_tokens: 40, cache_creation_input_tokens: 512, cache_read_input_tokens: 2048 },
    });
    expect(accumulate(events)).toEqual({
      id: 'msg_01XYZ',
      type: 'message',
      role: 'assistant',
      model: 'claude-opus-4-1',
      content: [
        { type: 'thinking', thinking: 'Need weather.', signature: 'EqQBsig' },
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 440, output_tokens: 40, cache_creation_input_tokens: 512, cache_read_input_tokens: 2048 },
    });
  });

  it('sends a late argument fragment of an interleaved call with its own block index', () => {
    const events = encode([
      chunk({ tool_calls: [{ index: 0, id: 'call_a', function: { name: 'a', arguments: '{"x":' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', function: { name: 'b', arguments: '{}' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '1}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    expect(accumulate(events).content).toEqual([
      { type: 'tool_use', id: 'call_a', name: 'a', input: { x: 1 } },
      { type: 'tool_use', id: 'call_b', name: 'b', input: {} },
    ]);
  });

  it('stops at a content_filter finish with stop_reason refusal, ignoring what follows', () => {
    const events = encode([
      chunk({ content: 'Here is how' }),
      chunk({}, 'content_filter'),
      chunk({ content: ' more text' }),
      usageChunk({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 }),
    ]);
    expect(events.slice(1)).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Here is how' } },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'message_delta',
        delta: { stop_reason: 'refusal', stop_sequence: null },
        usage: { input_tokens: 7, output_tokens: 3, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
      { type: 'message_stop' },
    ]);
  });

  it('maps length to max_tokens, and reads a finish without usage as zero output', () => {
    const events = encode([chunk({ content: 'a' }), chunk({}, 'length')], { model: 'm', inputTokens: 12 });
    expect(events.at(-2)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'max_tokens', stop_sequence: null },
      usage: { input_tokens: 12, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });

  it('answers an empty stream with message_start, message_delta and message_stop', () => {
    const encoder = new MessagesStreamEncoder({ model: 'm', id: 'msg_fixed' });
    expect(encoder.end().map((e) => e.type)).toEqual(['message_start', 'message_delta', 'message_stop']);
    expect(encoder.end()).toEqual([]);
    expect(encoder.push(chunk({ content: 'late' }))).toEqual([]);
  });

  it('makes an error event and ends the stream with it', () => {
    const encoder = new MessagesStreamEncoder({ model: 'm' });
    expect(encoder.push(chunk({ content: 'Hi' })).map((e) => e.type)).toEqual(['message_start', 'content_block_start', 'content_block_delta']);
    expect(encoder.error({ type: 'overloaded_error', message: 'Overloaded' })).toEqual({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    expect(encoder.end()).toEqual([]);
    expect(PING).toEqual({ type: 'ping' });
  });
});

describe('an Anthropic stream through the provider translator and back', () => {
  const target: Target = {
    deployment: 'claude',
    model: 'claude-sonnet-4-5',
    config: { provider: 'anthropic', model: 'claude-sonnet-4-5' } as DeploymentConfig,
  };
  const upstream: JsonObject[] = [
    {
      type: 'message_start',
      message: {
        id: 'msg_01Native',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5-20250929',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 100, output_tokens: 1, cache_creation_input_tokens: 300, cache_read_input_tokens: 2000 },
      },
    },
    { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
    { type: 'ping' },
    { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Weather needs a tool.' } },
    { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'EqQBCgIYAh' } },
    { type: 'content_block_stop', index: 0 },
    { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
    { type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Let me look.' } },
    { type: 'content_block_stop', index: 1 },
    { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: {} } },
    { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '' } },
    { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"city": "Par' } },
    { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: 'is"}' } },
    { type: 'content_block_stop', index: 2 },
    {
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 100, output_tokens: 89, cache_creation_input_tokens: 300, cache_read_input_tokens: 2000 },
    },
    { type: 'message_stop' },
  ];

  it('arrives as the message Anthropic sent, with the caller-facing model name', () => {
    const translator = new AnthropicStreamTranslator(target);
    const chunks = [...upstream.flatMap((event) => translator.push({ event: event.type as string, data: JSON.stringify(event) })), ...translator.end()];
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 2400, completion_tokens: 89, prompt_tokens_details: { cached_tokens: 2000, cache_creation_tokens: 300 } },
    });
    const events = encode(chunks, { model: 'claude' });
    // The same events, less the ping and the empty input_json_delta (nothing to send).
    const expected = upstream.filter((e) => e.type !== 'ping' && (e.delta as JsonObject | undefined)?.partial_json !== '');
    expect(events.map((e) => [e.type, e.index])).toEqual(expected.map((e) => [e.type, e.index]));
    expect(accumulate(events)).toEqual({
      id: 'msg_01Native',
      type: 'message',
      role: 'assistant',
      model: 'claude',
      content: [
        { type: 'thinking', thinking: 'Weather needs a tool.', signature: 'EqQBCgIYAh' },
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris' } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 100, output_tokens: 89, cache_creation_input_tokens: 300, cache_read_input_tokens: 2000 },
    });
  });
});
