import { describe, expect, it } from 'vitest';
import { messagesToChat, parseCountTokensRequest, parseMessagesRequest } from '../../../src/api/anthropic/messages/messages-request.js';
import { InvalidRequestError } from '../../../src/errors/catalogue.js';

const BASE = { model: 'claude-sonnet-4-5', max_tokens: 1024, messages: [{ role: 'user', content: 'Hello' }] };

/** The InvalidRequestError a body is refused with. */
function refusal(body: unknown): { message: string; param: string | null; status: number } {
  try {
    parseMessagesRequest(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    const { message, param, status } = error as InvalidRequestError;
    return { message, param, status };
  }
  throw new Error('the body was accepted');
}

describe('parseMessagesRequest', () => {
  it('accepts a minimal body and keeps fields it does not know', () => {
    const body = { ...BASE, service_tier: 'auto', context_management: { edits: [] } };
    expect(parseMessagesRequest(body)).toEqual(body);
  });

  it('accepts every block kind, cache_control and server tools', () => {
    const body = {
      ...BASE,
      system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look', cache_control: { type: 'ephemeral', ttl: '1h' } },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.png' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Plain text' }, title: 'Notes' },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
            { type: 'search_result', source: 'https://example.com', title: 't', content: [] },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'Let me see.', signature: 'sig' },
            { type: 'redacted_thinking', data: 'opaque' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'Sunny' }], is_error: false }] },
      ],
      tools: [
        { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
        { type: 'custom', name: 'get_time', input_schema: { type: 'object' } },
        { type: 'web_search_20250305', name: 'web_search', max_uses: 3 },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      stop_sequences: ['END'],
      temperature: 1,
      top_p: 0.9,
      top_k: 40,
      metadata: { user_id: 'user-1' },
      thinking: { type: 'enabled', budget_tokens: 2048 },
      stream: true,
    };
    expect(parseMessagesRequest(body)).toEqual(body);
  });

  it('accepts adaptive and disabled thinking', () => {
    expect(parseMessagesRequest({ ...BASE, thinking: { type: 'adaptive' } }).thinking).toEqual({ type: 'adaptive' });
    expect(parseMessagesRequest({ ...BASE, thinking: { type: 'disabled' } }).thinking).toEqual({ type: 'disabled' });
  });

  it.each([
    [{ model: 'm', messages: BASE.messages }, 'max_tokens: Field required', 'max_tokens'],
    [{ ...BASE, model: undefined }, 'model: Field required', 'model'],
    [{ ...BASE, max_tokens: 0 }, 'max_tokens: Input should be greater than or equal to 1', 'max_tokens'],
    [{ ...BASE, max_tokens: 1.5 }, 'max_tokens: Input should be a valid integer', 'max_tokens'],
    [{ ...BASE, max_tokens: '10' }, 'max_tokens: Input should be a valid number', 'max_tokens'],
    [{ ...BASE, messages: [] }, 'messages: List should have at least 1 item after validation', 'messages'],
    [{ ...BASE, messages: [{ role: 'system', content: 'x' }] }, "messages.0.role: Input should be 'user' or 'assistant'", 'messages.0.role'],
    [{ ...BASE, messages: [{ role: 'user', content: 5 }] }, 'messages.0.content: Input should be a valid string or a valid list', 'messages.0.content'],
    [{ ...BASE, messages: [{ role: 'user', content: [{ type: 'text' }] }] }, 'messages.0.content.0.text: Field required', 'messages.0.content.0.text'],
    [
      { ...BASE, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] },
      "messages.0.content.0.source.type: Input tag 'file' found using 'type' does not match any of the expected tags: 'base64', 'url'",
      'messages.0.content.0.source.type',
    ],
    [
      { ...BASE, messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'n', input: 'x' }] }] },
      'messages.0.content.0.input: Input should be a valid dictionary',
      'messages.0.content.0.input',
    ],
    [{ ...BASE, system: [{ type: 'image' }] }, "system.0.type: Input should be 'text'", 'system.0.type'],
    [{ ...BASE, temperature: 1.5 }, 'temperature: Input should be less than or equal to 1', 'temperature'],
    [{ ...BASE, tools: [{ name: 'a' }] }, 'tools.0.input_schema: Field required', 'tools.0.input_schema'],
    [
      { ...BASE, tool_choice: { type: 'maybe' } },
      "tool_choice.type: Input tag 'maybe' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'",
      'tool_choice.type',
    ],
    [{ ...BASE, tool_choice: { type: 'tool' } }, 'tool_choice.name: Field required', 'tool_choice.name'],
    [
      { ...BASE, thinking: { type: 'enabled', budget_tokens: 100 } },
      'thinking.budget_tokens: Input should be greater than or equal to 1024',
      'thinking.budget_tokens',
    ],
    [{ ...BASE, stop_sequences: 'END' }, 'stop_sequences: Input should be a valid list', 'stop_sequences'],
    [{ ...BASE, stream: 'yes' }, 'stream: Input should be a valid boolean', 'stream'],
  ])('refuses %j with "%s"', (body, message, param) => {
    expect(refusal(body)).toEqual({ message, param, status: 400 });
  });

  it('refuses a body that is not an object', () => {
    expect(refusal([1])).toEqual({ message: 'Input should be a valid dictionary', param: null, status: 400 });
  });

  it('takes count_tokens bodies without max_tokens', () => {
    expect(parseCountTokensRequest({ model: 'm', messages: BASE.messages })).toEqual({ model: 'm', messages: BASE.messages });
    expect(() => parseCountTokensRequest({ model: 'm', messages: [] })).toThrow('messages: List should have at least 1 item after validation');
  });
});

describe('messagesToChat', () => {
  it('maps the system prompt and the sampling fields', () => {
    const chat = messagesToChat(
      parseMessagesRequest({
        ...BASE,
        system: [
          { type: 'text', text: 'First.' },
          { type: 'text', text: 'Second.', cache_control: { type: 'ephemeral' } },
        ],
        stop_sequences: ['END', 'STOP'],
        temperature: 0.2,
        top_p: 0.5,
        top_k: 10,
        metadata: { user_id: 'u-1' },
      }),
    );
    expect(chat).toEqual({
      model: 'claude-sonnet-4-5',
      messages: [
        { role: 'system', content: 'First.\n\nSecond.' },
        { role: 'user', content: 'Hello' },
      ],
      max_tokens: 1024,
      stop: ['END', 'STOP'],
      temperature: 0.2,
      top_p: 0.5,
      top_k: 10,
      user: 'u-1',
    });
  });

  it('turns images into image_url parts, documents into text or file parts', () => {
    const chat = messagesToChat(
      parseMessagesRequest({
        ...BASE,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is this?' },
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.jpg' } },
              { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Body' }, title: 'Doc' },
              {
                type: 'document',
                source: {
                  type: 'content',
                  content: [
                    { type: 'text', text: 'A' },
                    { type: 'text', text: 'B' },
                  ],
                },
              },
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'report.pdf' },
            ],
          },
        ],
      }),
    );
    expect(chat.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          { type: 'image_url', image_url: { url: 'https://example.com/a.jpg' } },
          { type: 'text', text: 'Doc\n\nBody' },
          { type: 'text', text: 'A\nB' },
          { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'report.pdf' } },
        ],
      },
    ]);
  });

  it('round-trips a tool call: tool_use to tool_calls, tool_result to tool messages placed before the rest of the turn', () => {
    const chat = messagesToChat(
      parseMessagesRequest({
        ...BASE,
        messages: [
          { role: 'user', content: 'Weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'Two calls.', signature: 'sig' },
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
              { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Rome' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Here you go.' },
              { type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' },
              {
                type: 'tool_result',
                tool_use_id: 'toolu_2',
                content: [
                  { type: 'text', text: 'Station down' },
                  { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'BBBB' } },
                ],
                is_error: true,
              },
            ],
          },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_3', name: 'noop', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_3' }] },
        ],
      }),
    );
    expect(chat.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'Sunny' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'Error: Station down' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Here you go.' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,BBBB' } },
        ],
      },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_3', type: 'function', function: { name: 'noop', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'toolu_3', content: '' },
    ]);
  });

  it('maps tools and every tool_choice, and drops Anthropic-defined tools', () => {
    const tools = [
      { name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      { type: 'web_search_20250305', name: 'web_search' },
      { type: 'bash_20250124', name: 'bash' },
    ];
    const map = (tool_choice?: unknown) => messagesToChat(parseMessagesRequest({ ...BASE, tools, tool_choice }));
    expect(map().tools).toEqual([
      { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
    ]);
    expect(map()).not.toHaveProperty('tool_choice');
    expect(map({ type: 'auto' })).toMatchObject({ tool_choice: 'auto' });
    expect(map({ type: 'any' })).toMatchObject({ tool_choice: 'required' });
    expect(map({ type: 'none' })).toMatchObject({ tool_choice: 'none' });
    expect(map({ type: 'tool', name: 'get_weather' })).toMatchObject({ tool_choice: { type: 'function', function: { name: 'get_weather' } } });
    expect(map({ type: 'auto', disable_parallel_tool_use: true })).toMatchObject({ tool_choice: 'auto', parallel_tool_calls: false });
    expect(map({ type: 'auto' })).not.toHaveProperty('parallel_tool_calls');
    const onlyServer = messagesToChat(parseMessagesRequest({ ...BASE, tools: [tools[1]], tool_choice: { type: 'auto' } }));
    expect(onlyServer).not.toHaveProperty('tools');
    expect(onlyServer).not.toHaveProperty('tool_choice');
  });

  it.each([
    [1024, 'low'],
    [4095, 'low'],
    [4096, 'medium'],
    [16_383, 'medium'],
    [16_384, 'high'],
    [64_000, 'high'],
  ])('copies thinking with a budget of %i and derives reasoning_effort %s', (budget, effort) => {
    const chat = messagesToChat(parseMessagesRequest({ ...BASE, max_tokens: 100_000, thinking: { type: 'enabled', budget_tokens: budget } }));
    expect(chat).toMatchObject({ thinking: { type: 'enabled', budget_tokens: budget }, reasoning_effort: effort });
  });

  it('copies disabled and adaptive thinking without an effort', () => {
    for (const thinking of [{ type: 'disabled' }, { type: 'adaptive' }]) {
      const chat = messagesToChat(parseMessagesRequest({ ...BASE, thinking }));
      expect(chat.thinking).toEqual(thinking);
      expect(chat).not.toHaveProperty('reasoning_effort');
    }
  });

  it('asks for usage when streaming', () => {
    expect(messagesToChat(parseMessagesRequest({ ...BASE, stream: true }))).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(messagesToChat(parseMessagesRequest(BASE))).not.toHaveProperty('stream');
  });

  it('refuses block kinds only Anthropic can take, and drops the model-only ones in assistant turns', () => {
    const userBlock = { ...BASE, messages: [{ role: 'user', content: [{ type: 'search_result', source: 's', title: 't', content: [] }] }] };
    expect(() => messagesToChat(parseMessagesRequest(userBlock))).toThrow(
      "messages.0.content.0.type: Content blocks of type 'search_result' can only be sent to Anthropic deployments",
    );
    const urlPdf = { ...BASE, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } }] }] };
    expect(() => messagesToChat(parseMessagesRequest(urlPdf))).toThrow(InvalidRequestError);
    const serverTurn = {
      ...BASE,
      messages: [
        { role: 'user', content: 'Search' },
        {
          role: 'assistant',
          content: [
            { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
            { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
            { type: 'text', text: 'Found it.' },
          ],
        },
      ],
    };
    expect(messagesToChat(parseMessagesRequest(serverTurn)).messages).toEqual([
      { role: 'user', content: 'Search' },
      { role: 'assistant', content: 'Found it.' },
    ]);
  });
});
