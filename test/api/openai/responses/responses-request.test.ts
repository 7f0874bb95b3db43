import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../../../src/errors/catalogue.js';
import {
  inputItemsOf,
  newId,
  outputAsHistory,
  parseResponsesRequest,
  responsesToChat,
  type ResponseItem,
} from '../../../../src/api/openai/responses/responses-request.js';
import { chatToResponse } from '../../../../src/api/openai/responses/responses-response.js';

function rejection(body: unknown): InvalidRequestError {
  try {
    parseResponsesRequest(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return error as InvalidRequestError;
  }
  throw new Error('expected the body to be refused');
}

describe('parseResponsesRequest', () => {
  it('accepts a minimal body, defaults store to true and keeps unknown fields', () => {
    const request = parseResponsesRequest({ model: 'gpt-4o', input: 'hi', some_future_field: { a: 1 } });
    expect(request.store).toBe(true);
    expect(request.some_future_field).toEqual({ a: 1 });
    expect(parseResponsesRequest({ model: 'm', input: 'x', store: false }).store).toBe(false);
  });

  it('accepts every documented field', () => {
    const request = parseResponsesRequest({
      model: 'm',
      input: [
        { role: 'user', content: 'plain' },
        {
          type: 'message',
          role: 'user',
          content: [
            { type: 'input_text', text: 'look' },
            { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'low' },
            { type: 'input_image', file_id: 'file-1' },
          ],
        },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'ok', annotations: [] }], id: 'msg_1', status: 'completed' },
        { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: [{ type: 'input_text', text: 'r' }] },
        { type: 'item_reference', id: 'msg_0' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { role: 'developer', content: 'be brief' },
      ],
      instructions: 'sys',
      tools: [{ type: 'function', name: 'f', description: 'd', parameters: { type: 'object' }, strict: false }],
      tool_choice: { type: 'function', name: 'f' },
      parallel_tool_calls: false,
      text: { format: { type: 'json_schema', name: 'x', schema: { type: 'object' }, strict: true, description: 'y' } },
      max_output_tokens: 16,
      temperature: 2,
      top_p: 0,
      reasoning: { effort: 'low', summary: 'auto' },
      metadata: { a: 'b' },
      user: 'u',
      previous_response_id: 'resp_1',
      include: ['reasoning.encrypted_content'],
      truncation: 'auto',
      stream: true,
      stream_options: { include_obfuscation: false },
      background: false,
      service_tier: 'auto',
      prompt_cache_key: 'k',
      safety_identifier: 's',
    });
    expect(request.tools).toHaveLength(1);
  });

  it('names a missing model the way OpenAI does', () => {
    const error = rejection({ input: 'hi' });
    expect(error.message).toBe("Missing required parameter: 'model'.");
    expect(error.param).toBe('model');
    expect(error.status).toBe(400);
  });

  it('refuses a body that is not an object', () => {
    expect(rejection([1]).code).toBe('invalid_body');
  });

  it('requires input unless previous_response_id continues a response', () => {
    expect(rejection({ model: 'm' }).param).toBe('input');
    expect(parseResponsesRequest({ model: 'm', previous_response_id: 'resp_1' }).input).toBeUndefined();
  });

  it('refuses tool types other than function, naming the type', () => {
    const error = rejection({ model: 'm', input: 'x', tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }] });
    expect(error.message).toContain("'web_search'");
    expect(error.message).toContain('not supported');
    expect(error.param).toBe('tools[1].type');
  });

  it('refuses a function tool without a name', () => {
    expect(rejection({ model: 'm', input: 'x', tools: [{ type: 'function' }] }).param).toBe('tools[0].name');
  });

  it('refuses input item and content part types it cannot translate', () => {
    const item = rejection({ model: 'm', input: [{ type: 'computer_call_output', call_id: 'c' }] });
    expect(item.param).toBe('input[0].type');
    expect(item.message).toContain("'computer_call_output'");
    const part = rejection({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_audio', data: 'x' }] }] });
    expect(part.param).toBe('input[0].content[0].type');
  });

  it('checks fields inside input items', () => {
    expect(rejection({ model: 'm', input: [{ role: 'tool', content: 'x' }] }).param).toBe('input[0].role');
    expect(rejection({ model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }).message).toBe(
      "Missing required parameter: 'input[0].call_id'.",
    );
    expect(rejection({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', detail: 'low' }] }] }).param).toBe('input[0].content[0]');
  });

  it('checks ranges in OpenAI words', () => {
    const tokens = rejection({ model: 'm', input: 'x', max_output_tokens: 10 });
    expect(tokens.message).toBe("Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 16, but got 10 instead.");
    expect(tokens.param).toBe('max_output_tokens');
    expect(rejection({ model: 'm', input: 'x', temperature: 2.5 }).param).toBe('temperature');
    expect(rejection({ model: 'm', input: 'x', temperature: 'hot' }).message).toBe(
      "Invalid type for 'temperature': expected number, but got a string instead.",
    );
    expect(rejection({ model: 'm', input: 'x', top_p: -0.1 }).param).toBe('top_p');
    expect(rejection({ model: 'm', input: 'x', truncation: 'sometimes' }).message).toBe(`Invalid value for 'truncation': expected one of "auto", "disabled".`);
    expect(rejection({ model: 'm', input: 'x', tool_choice: 'maybe' }).param).toBe('tool_choice');
    expect(rejection({ model: 'm', input: 'x', reasoning: { effort: 'huge' } }).param).toBe('reasoning.effort');
  });

  it('limits metadata to 16 string pairs', () => {
    const metadata = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    expect(rejection({ model: 'm', input: 'x', metadata }).param).toBe('metadata');
    expect(rejection({ model: 'm', input: 'x', metadata: { a: 1 } }).param).toBe('metadata.a');
  });

  it('checks text.format by its type', () => {
    const format = rejection({ model: 'm', input: 'x', text: { format: { type: 'yaml' } } });
    expect(format.param).toBe('text.format.type');
    expect(format.message).toBe(`Invalid value for 'text.format.type': expected one of "text", "json_object", "json_schema".`);
    expect(rejection({ model: 'm', input: 'x', text: { format: { type: 'json_schema', schema: {} } } }).param).toBe('text.format.name');
  });
});

describe('newId', () => {
  it('draws the prefix and 48 hex characters', () => {
    expect(newId('resp_')).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(newId('msg_')).not.toBe(newId('msg_'));
  });
});

describe('inputItemsOf', () => {
  it('turns a string into one completed user message with an id', () => {
    const [item, ...rest] = inputItemsOf(parseResponsesRequest({ model: 'm', input: 'hello' }));
    expect(rest).toEqual([]);
    expect(item).toEqual({
      type: 'message',
      role: 'user',
      content: [{ type: 'input_text', text: 'hello' }],
      id: expect.stringMatching(/^msg_[0-9a-f]{48}$/),
      status: 'completed',
    });
  });

  it('gives every item a type and an id, and keeps ids that came', () => {
    const items = inputItemsOf(
      parseResponsesRequest({
        model: 'm',
        input: [
          { role: 'assistant', content: 'earlier answer' },
          { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'q' }], id: 'msg_keep' },
          { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{}' },
          { type: 'function_call_output', call_id: 'call_1', output: 'r' },
        ],
      }),
    );
    expect(items[0]).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'earlier answer', annotations: [] }] });
    expect(items[1].id).toBe('msg_keep');
    expect(items[2]).toMatchObject({ type: 'function_call', id: expect.stringMatching(/^fc_/), status: 'completed' });
    expect(items[3]).toMatchObject({ type: 'function_call_output', id: expect.stringMatching(/^fco_/), output: 'r' });
  });
});

describe('responsesToChat', () => {
  it('puts instructions first as a system message and copies the model', () => {
    const chat = responsesToChat(parseResponsesRequest({ model: 'dep', input: 'hi', instructions: 'Be terse.' }), []);
    expect(chat).toEqual({
      model: 'dep',
      messages: [
        { role: 'system', content: 'Be terse.' },
        { role: 'user', content: 'hi' },
      ],
    });
  });

  it('translates every kind of message part', () => {
    const chat = responsesToChat(
      parseResponsesRequest({
        model: 'm',
        input: [
          { role: 'developer', content: 'rules' },
          { role: 'system', content: [{ type: 'input_text', text: 'sys part' }] },
          {
            role: 'user',
            content: [
              { type: 'input_text', text: 'what is this?' },
              { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'high' },
              { type: 'input_image', image_url: 'https://example.com/b.png' },
              { type: 'input_file', file_data: 'data:application/pdf;base64,AAAA', filename: 'a.pdf' },
            ],
          },
          {
            type: 'message',
            role: 'assistant',
            content: [
              { type: 'output_text', text: 'A ', annotations: [] },
              { type: 'output_text', text: 'cat.' },
            ],
          },
          { type: 'message', role: 'assistant', content: [{ type: 'refusal', refusal: 'No.' }] },
        ],
      }),
      [],
    );
    expect(chat.messages).toEqual([
      { role: 'developer', content: 'rules' },
      { role: 'system', content: [{ type: 'text', text: 'sys part' }] },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'high' } },
          { type: 'image_url', image_url: { url: 'https://example.com/b.png', detail: 'auto' } },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,AAAA', filename: 'a.pdf' } },
        ],
      },
      { role: 'assistant', content: 'A cat.' },
      { role: 'assistant', content: '', refusal: 'No.' },
    ]);
  });

  it('refuses an image given only by file_id, which no provider behind Cerulean can fetch', () => {
    const request = parseResponsesRequest({ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1' }] }] });
    expect(() => responsesToChat(request, [])).toThrow(InvalidRequestError);
  });

  it('joins consecutive function calls into one assistant message and answers them with tool messages', () => {
    const chat = responsesToChat(
      parseResponsesRequest({
        model: 'm',
        input: [
          { role: 'user', content: 'weather in Paris and Rome?' },
          { type: 'reasoning', id: 'rs_1', summary: [] },
          { type: 'function_call', call_id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}' },
          { type: 'function_call', call_id: 'call_b', name: 'weather', arguments: '{"city":"Rome"}' },
          { type: 'function_call_output', call_id: 'call_a', output: '18C' },
          {
            type: 'function_call_output',
            call_id: 'call_b',
            output: [
              { type: 'input_text', text: '2' },
              { type: 'input_text', text: '4C' },
            ],
          },
        ],
      }),
      [],
    );
    expect(chat.messages).toEqual([
      { role: 'user', content: 'weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_b', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: '18C' },
      { role: 'tool', tool_call_id: 'call_b', content: '24C' },
    ]);
  });

  it('continues a stored response: its input and output as history, then the tool result', () => {
    const first = parseResponsesRequest({
      model: 'm',
      input: 'weather in Paris?',
      instructions: 'old instructions',
      tools: [{ type: 'function', name: 'weather', parameters: { type: 'object' } }],
    });
    const stored = chatToResponse(
      {
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            finish_reason: 'tool_calls',
            message: {
              role: 'assistant',
              content: 'Let me check.',
              reasoning_content: 'need the tool',
              tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
            },
          },
        ],
      },
      first,
      { id: 'resp_1', createdAt: 1 },
    );
    const history = [...inputItemsOf(first), ...outputAsHistory(stored.output as ResponseItem[])];
    const next = parseResponsesRequest({
      model: 'm',
      previous_response_id: 'resp_1',
      input: [{ type: 'function_call_output', call_id: 'call_1', output: '18C' }],
      tools: [{ type: 'function', name: 'weather', parameters: { type: 'object' } }],
    });
    const chat = responsesToChat(next, history);
    expect(chat.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'weather in Paris?' }] },
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '18C' },
    ]);
  });

  it('resolves item references through the map it is given and refuses unknown ones', () => {
    const request = parseResponsesRequest({ model: 'm', input: [{ type: 'item_reference', id: 'msg_old' }] });
    const references = new Map<string, ResponseItem>([['msg_old', { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'again' }] }]]);
    expect(responsesToChat(request, [], references).messages).toEqual([{ role: 'user', content: [{ type: 'text', text: 'again' }] }]);
    expect(() => responsesToChat(request, [])).toThrow("Item with id 'msg_old' not found.");
  });

  it('maps tools, tool_choice, format, limits and sampling; keeps metadata out', () => {
    const chat = responsesToChat(
      parseResponsesRequest({
        model: 'm',
        input: 'x',
        tools: [
          { type: 'function', name: 'f', description: 'does f', parameters: { type: 'object', properties: {} }, strict: true },
          { type: 'function', name: 'g' },
        ],
        tool_choice: { type: 'function', name: 'f' },
        parallel_tool_calls: false,
        text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object' }, strict: true, description: 'the answer' }, verbosity: 'low' },
        max_output_tokens: 300,
        temperature: 0.2,
        top_p: 0.9,
        reasoning: { effort: 'high', summary: 'auto' },
        metadata: { team: 'a' },
        user: 'u-1',
        store: false,
      }),
      [],
    );
    const { messages: _messages, ...rest } = chat;
    expect(rest).toEqual({
      model: 'm',
      tools: [
        { type: 'function', function: { name: 'f', description: 'does f', parameters: { type: 'object', properties: {} }, strict: true } },
        { type: 'function', function: { name: 'g' } },
      ],
      parallel_tool_calls: false,
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true, description: 'the answer' } },
      verbosity: 'low',
      max_completion_tokens: 300,
      temperature: 0.2,
      top_p: 0.9,
      reasoning_effort: 'high',
      user: 'u-1',
    });
  });

  it('maps the simple tool choices and formats', () => {
    const base = { model: 'm', input: 'x' };
    expect(responsesToChat(parseResponsesRequest({ ...base, tool_choice: 'required' }), []).tool_choice).toBe('required');
    expect(responsesToChat(parseResponsesRequest({ ...base, text: { format: { type: 'json_object' } } }), []).response_format).toEqual({ type: 'json_object' });
    expect(responsesToChat(parseResponsesRequest({ ...base, text: { format: { type: 'text' } } }), []).response_format).toBeUndefined();
    // parallel_tool_calls goes only with tools: OpenAI's chat refuses it alone.
    expect(responsesToChat(parseResponsesRequest({ ...base, parallel_tool_calls: true }), []).parallel_tool_calls).toBeUndefined();
    expect(responsesToChat(parseResponsesRequest({ ...base, reasoning: { effort: 'none' } }), []).reasoning_effort).toBeUndefined();
    expect(responsesToChat(parseResponsesRequest({ ...base, reasoning: { effort: 'xhigh' } }), []).reasoning_effort).toBe('high');
  });

  it('asks for usage when streaming', () => {
    const chat = responsesToChat(parseResponsesRequest({ model: 'm', input: 'x', stream: true }), []);
    expect(chat.stream).toBe(true);
    expect(chat.stream_options).toEqual({ include_usage: true });
  });
});

describe('outputAsHistory', () => {
  it('copies the items a model produced', () => {
    const output: ResponseItem[] = [
      { id: 'rs_1', type: 'reasoning', summary: [] },
      { id: 'msg_1', type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'hi', annotations: [] }] },
      { id: 'fc_1', type: 'function_call', status: 'completed', call_id: 'c', name: 'f', arguments: '{}' },
    ];
    const history = outputAsHistory(output);
    expect(history).toEqual(output);
    (history[1].content as { text: string }[])[0].text = 'changed';
    expect((output[1].content as { text: string }[])[0].text).toBe('hi');
  });
});
