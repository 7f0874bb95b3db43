import { describe, expect, it } from 'vitest';
import { chatToMessage, messagesUsageOf, stopReasonOf, toolInputOf } from '../../../src/api/anthropic/messages/messages-response.js';
import type { JsonObject } from '../../../src/providers/provider.js';

function completion(message: JsonObject, finish_reason = 'stop', usage?: JsonObject, id = 'chatcmpl-1'): JsonObject {
  return { id, object: 'chat.completion', created: 1, model: 'gpt-x', choices: [{ index: 0, message, logprobs: null, finish_reason }], usage };
}

describe('chatToMessage', () => {
  it('answers text as a message with uncached input tokens and the cache counts beside them', () => {
    const chat = completion({ role: 'assistant', content: 'Hello!', refusal: null }, 'stop', {
      prompt_tokens: 3000,
      completion_tokens: 12,
      total_tokens: 3012,
      prompt_tokens_details: { cached_tokens: 2048, cache_creation_tokens: 512 },
    });
    expect(chatToMessage(chat, { model: 'claude-sonnet-4-5' })).toEqual({
      id: expect.stringMatching(/^msg_[A-Za-z0-9]{24}$/),
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: 'Hello!' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 440, output_tokens: 12, cache_creation_input_tokens: 512, cache_read_input_tokens: 2048 },
    });
  });

  it('keeps a msg_ id and takes an explicit one', () => {
    const chat = completion({ role: 'assistant', content: 'x' }, 'stop', undefined, 'msg_01ABC');
    expect(chatToMessage(chat, { model: 'm' }).id).toBe('msg_01ABC');
    expect(chatToMessage(completion({ role: 'assistant', content: 'x' }), { model: 'm', id: 'msg_given' }).id).toBe('msg_given');
    expect(chatToMessage(completion({ role: 'assistant', content: 'x' }), { model: 'm' }).id).not.toBe('chatcmpl-1');
  });

  it('puts thinking first, then text, then tool_use blocks with parsed input', () => {
    const chat = completion(
      {
        role: 'assistant',
        content: 'Let me check.',
        reasoning_content: 'The user wants weather.',
        reasoning_signature: 'EqQBCgIYAhIM',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
        ],
      },
      'tool_calls',
      { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    );
    const message = chatToMessage(chat, { model: 'm' });
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'The user wants weather.', signature: 'EqQBCgIYAhIM' },
      { type: 'text', text: 'Let me check.' },
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} },
    ]);
    expect(message.stop_reason).toBe('tool_use');
    expect(message.usage).toEqual({ input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
  });

  it('answers a thinking block without a signature with an empty one, and a refusal as text', () => {
    expect(chatToMessage(completion({ role: 'assistant', content: 'ok', reasoning_content: 'hmm' }), { model: 'm' }).content).toEqual([
      { type: 'thinking', thinking: 'hmm', signature: '' },
      { type: 'text', text: 'ok' },
    ]);
    const refused = chatToMessage(completion({ role: 'assistant', content: null, refusal: 'I cannot help with that.' }, 'content_filter'), { model: 'm' });
    expect(refused).toMatchObject({ content: [{ type: 'text', text: 'I cannot help with that.' }], stop_reason: 'refusal' });
  });

  it('answers an empty completion with no content blocks and zero usage', () => {
    expect(chatToMessage(completion({ role: 'assistant', content: null }, 'length'), { model: 'm' })).toMatchObject({
      content: [],
      stop_reason: 'max_tokens',
      usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  });
});

describe('pieces', () => {
  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['function_call', 'tool_use'],
    ['content_filter', 'refusal'],
    [null, 'end_turn'],
    ['something_new', 'end_turn'],
  ])('maps finish_reason %s to stop_reason %s', (finish, stop) => {
    expect(stopReasonOf(finish)).toBe(stop);
  });

  it('turns broken or non-object arguments into {}', () => {
    expect(toolInputOf('{"a":1}')).toEqual({ a: 1 });
    expect(toolInputOf('{"a":')).toEqual({});
    expect(toolInputOf('[1,2]')).toEqual({});
    expect(toolInputOf('"text"')).toEqual({});
    expect(toolInputOf(undefined)).toEqual({});
  });

  it('never reports negative input tokens', () => {
    expect(messagesUsageOf({ prompt_tokens: 5, completion_tokens: 1, prompt_tokens_details: { cached_tokens: 9 } })).toEqual({
      input_tokens: 0,
      output_tokens: 1,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 9,
    });
  });
});
