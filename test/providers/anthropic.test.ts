import { createParser } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type DeploymentConfig, type ProviderConfig } from '../../src/config/schema.js';
import { InvalidRequestError, OperationNotSupportedError, UpstreamStatusError } from '../../src/errors/catalogue.js';
import { AnthropicProvider } from '../../src/providers/anthropic/anthropic-provider.js';
import type { JsonObject, SseEvent, StreamTranslator, Target } from '../../src/providers/provider.js';
import { FIXTURE_API_KEY, FIXTURE_MODELS, startAnthropicFixture, type AnthropicFixture } from '../fixtures/anthropic-upstream.js';

const MODEL = 'claude-sonnet-4-5';

/** A provider entry as the configuration loader produces it, defaults included. */
function providerConfig(entry: Record<string, unknown>): ProviderConfig {
  return configSchema.parse({ providers: { anthropic: { type: 'anthropic', ...entry } } }).providers.anthropic as ProviderConfig;
}

function target(model = MODEL, config: Partial<DeploymentConfig> = {}): Target {
  return { deployment: 'claude', model, config: { provider: 'anthropic', model, ...config } };
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city.',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['city'] },
  },
};
const TIME_TOOL = {
  type: 'function',
  function: { name: 'get_time', description: 'Current local time for a city.', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

/** The Anthropic body `buildRequest` produces. */
function translate(provider: AnthropicProvider, body: JsonObject, options: { stream?: boolean; target?: Target } = {}): JsonObject {
  const request = provider.buildRequest('chat', body, options.target ?? target(), options.stream ?? false);
  return JSON.parse(request.body as string) as JsonObject;
}

describe('AnthropicProvider configuration', () => {
  it('talks to api.anthropic.com with the default version when nothing else is configured', () => {
    const provider = new AnthropicProvider('anthropic', providerConfig({ api_key: 'sk-ant-1', region: 'eu' }), []);
    const request = provider.buildRequest('chat', { messages: [{ role: 'user', content: 'hi' }] }, target(), false);
    expect(provider.type).toBe('anthropic');
    expect(provider.region).toBe('eu');
    expect(provider.origin).toBe('https://api.anthropic.com');
    expect([...provider.operations]).toEqual(['chat']);
    expect(provider.missingCredential).toBeNull();
    expect(request).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(request.headers).toEqual({ 'content-type': 'application/json', 'x-api-key': 'sk-ant-1', 'anthropic-version': '2023-06-01' });
  });

  it('keeps the base URL path, adds configured headers and uses the configured version', () => {
    const provider = new AnthropicProvider(
      'anthropic',
      providerConfig({
        api_key: 'sk-ant-1',
        base_url: 'https://gateway.example.com/anthropic/',
        anthropic_version: '2023-01-01',
        headers: { 'anthropic-beta': 'prompt-caching-2024-07-31', 'x-api-key': 'not-this-one' },
      }),
      [],
    );
    const request = provider.buildRequest('chat', { messages: [{ role: 'user', content: 'hi' }] }, target(), false);
    expect(provider.origin).toBe('https://gateway.example.com');
    expect(request.path).toBe('/anthropic/v1/messages');
    expect(request.headers).toEqual({
      'content-type': 'application/json',
      'anthropic-beta': 'prompt-caching-2024-07-31',
      'x-api-key': 'sk-ant-1',
      'anthropic-version': '2023-01-01',
    });
  });

  it('names the unset variable, or api_key, when there is no key', () => {
    expect(new AnthropicProvider('a', providerConfig({ api_key: '' }), ['ANTHROPIC_API_KEY']).missingCredential).toBe('ANTHROPIC_API_KEY');
    expect(new AnthropicProvider('a', providerConfig({}), []).missingCredential).toBe('api_key');
  });

  it('refuses operations other than chat', () => {
    const provider = new AnthropicProvider('a', providerConfig({ api_key: 'k' }), []);
    expect(() => provider.buildRequest('embeddings', { input: 'x' }, target(), false)).toThrow(OperationNotSupportedError);
  });
});

describe('AnthropicProvider request translation', () => {
  const provider = new AnthropicProvider('anthropic', providerConfig({ api_key: 'k' }), []);

  it('moves system and developer messages to system and keeps turns', () => {
    const body = translate(provider, {
      model: 'claude',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: 'Bonjour.' },
        { role: 'user', content: [{ type: 'text', text: 'How are you?' }] },
      ],
    });
    expect(body).toEqual({
      model: MODEL,
      max_tokens: 4096,
      system: 'You are terse.\n\nAnswer in French.',
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'Hello' }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Bonjour.' }] },
        { role: 'user', content: [{ type: 'text', text: 'How are you?' }] },
      ],
    });
  });

  it('translates data and http image URLs', () => {
    const body = translate(provider, {
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare these.' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
          ],
        },
      ],
    });
    expect((body.messages as JsonObject[])[0].content).toEqual([
      { type: 'text', text: 'Compare these.' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });

  it('turns tool calls into tool_use and tool messages into one user turn of tool_result', () => {
    const body = translate(provider, {
      messages: [
        { role: 'user', content: 'Weather and time in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '18°C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '14:05' }] },
        { role: 'user', content: 'Thanks, summarise.' },
      ],
      tools: [WEATHER_TOOL, TIME_TOOL],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather and time in Paris?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'call_2', name: 'get_time', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: '18°C' },
          { type: 'tool_result', tool_use_id: 'call_2', content: '14:05' },
          { type: 'text', text: 'Thanks, summarise.' },
        ],
      },
    ]);
    expect(body.tools).toEqual([
      { name: 'get_weather', description: 'Current weather for a city.', input_schema: WEATHER_TOOL.function.parameters },
      { name: 'get_time', description: 'Current local time for a city.', input_schema: TIME_TOOL.function.parameters },
    ]);
  });

  it('merges consecutive messages of one role and puts tool results first', () => {
    const body = translate(provider, {
      messages: [
        { role: 'user', content: 'one' },
        { role: 'user', content: 'two' },
        { role: 'assistant', content: '', tool_calls: [{ id: 't1', type: 'function', function: { name: 'get_time', arguments: '{}' } }] },
        { role: 'user', content: 'while you are at it' },
        { role: 'tool', tool_call_id: 't1', content: 'noon' },
      ],
    });
    expect(body.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'one' },
          { type: 'text', text: 'two' },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_time', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: 'noon' },
          { type: 'text', text: 'while you are at it' },
        ],
      },
    ]);
  });

  it.each([
    ['auto', true, { type: 'auto' }],
    ['required', true, { type: 'any' }],
    ['none', true, { type: 'none' }],
    [{ type: 'function', function: { name: 'get_weather' } }, true, { type: 'tool', name: 'get_weather' }],
    ['auto', false, { type: 'auto', disable_parallel_tool_use: true }],
    ['required', false, { type: 'any', disable_parallel_tool_use: true }],
    [undefined, false, { type: 'auto', disable_parallel_tool_use: true }],
    [undefined, true, undefined],
  ])('maps tool_choice %j with parallel_tool_calls %s', (toolChoice, parallel, expected) => {
    const body = translate(provider, {
      messages: [{ role: 'user', content: 'hi' }],
      tools: [WEATHER_TOOL],
      tool_choice: toolChoice,
      parallel_tool_calls: parallel,
    });
    expect(body.tool_choice).toEqual(expected);
  });

  it('maps sampling, limits, stop sequences and the end user', () => {
    const body = translate(
      provider,
      {
        messages: [{ role: 'user', content: 'hi' }],
        max_completion_tokens: 300,
        max_tokens: 100,
        temperature: 0.2,
        top_p: 0.9,
        stop: 'END',
        user: 'user-42',
        presence_penalty: 0,
        seed: 7,
        stream_options: { include_usage: true },
      },
      { stream: true },
    );
    expect(body).toEqual({
      model: MODEL,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
      max_tokens: 300,
      temperature: 0.2,
      top_p: 0.9,
      stop_sequences: ['END'],
      metadata: { user_id: 'user-42' },
      stream: true,
    });
    expect(translate(provider, { messages: [{ role: 'user', content: 'hi' }], max_tokens: 100, stop: ['a', 'b'] })).toMatchObject({
      max_tokens: 100,
      stop_sequences: ['a', 'b'],
    });
  });

  it("falls back to the deployment's default_max_tokens, then 4096", () => {
    const messages = [{ role: 'user', content: 'hi' }];
    expect(translate(provider, { messages }, { target: target(MODEL, { default_max_tokens: 1024 }) }).max_tokens).toBe(1024);
    expect(translate(provider, { messages, max_tokens: null }).max_tokens).toBe(4096);
  });

  it('asks for JSON in the system prompt for response_format', () => {
    const messages = [
      { role: 'system', content: 'Be helpful.' },
      { role: 'user', content: 'List two colours.' },
    ];
    const object = translate(provider, { messages, response_format: { type: 'json_object' } });
    expect(object.system).toMatch(/^Be helpful\.\n\nAnswer with a single valid JSON value and nothing else.*JSON object\.$/s);

    const schema = { type: 'object', properties: { colours: { type: 'array', items: { type: 'string' } } }, required: ['colours'] };
    const structured = translate(provider, { messages, response_format: { type: 'json_schema', json_schema: { name: 'colours', schema } } });
    expect(structured.system).toContain(JSON.stringify(schema));
    expect(translate(provider, { messages, response_format: { type: 'text' } }).system).toBe('Be helpful.');
  });

  it.each([
    [{ n: 2 }, 'n'],
    [{ logprobs: true }, 'logprobs'],
    [{ top_logprobs: 3 }, 'logprobs'],
    [{ functions: [{ name: 'f' }] }, 'functions'],
    [{ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role'],
    [{ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }, 'messages[0].content[0].type'],
    [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] }, 'messages[0].content[0].image_url'],
    [
      { messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{not json' } }] }] },
      'messages[0].tool_calls[0].function.arguments',
    ],
    [{ tool_choice: 'sometimes', tools: [WEATHER_TOOL] }, 'tool_choice'],
  ])('refuses %j with a 400 naming %s', (fields, param) => {
    const body = { messages: [{ role: 'user', content: 'hi' }], ...fields };
    let error: unknown;
    try {
      provider.buildRequest('chat', body, target(), false);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ status: 400, type: 'invalid_request_error', param });
  });

  it('accepts n = 1', () => {
    expect(() => translate(provider, { messages: [{ role: 'user', content: 'hi' }], n: 1 })).not.toThrow();
  });
});

describe('AnthropicProvider against the fixture upstream', () => {
  let fixture: AnthropicFixture;
  let provider: AnthropicProvider;

  beforeAll(async () => {
    fixture = await startAnthropicFixture();
    provider = new AnthropicProvider('anthropic', providerConfig({ api_key: FIXTURE_API_KEY, base_url: fixture.url }), []);
  });
  afterAll(() => fixture.close());

  async function send(body: JsonObject, options: { stream?: boolean; target?: Target; via?: AnthropicProvider } = {}): Promise<Response> {
    const via = options.via ?? provider;
    const request = via.buildRequest('chat', body, options.target ?? target(), options.stream ?? false);
    return fetch(via.origin + request.path, { method: request.method, headers: request.headers, body: request.body });
  }

  async function complete(body: JsonObject, model = MODEL): Promise<JsonObject> {
    const response = await send(body, { target: target(model) });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const parsed = provider.parseResponse('chat', JSON.parse(text), target(model));
    expect(parsed.raw).toBeUndefined();
    expect(parsed.usage).toEqual(parsed.body.usage);
    return parsed.body;
  }

  /** Feeds the SSE body through the translator, collecting chunks into `chunks` as they come. */
  async function pump(response: Response, translator: StreamTranslator, chunks: JsonObject[]): Promise<void> {
    const events: SseEvent[] = [];
    const parser = createParser({
      onEvent(event) {
        events.push({ event: event.event, data: event.data });
      },
    });
    const decoder = new TextDecoder();
    for await (const bytes of response.body as ReadableStream<Uint8Array>) {
      parser.feed(decoder.decode(bytes, { stream: true }));
      for (const event of events.splice(0)) chunks.push(...translator.push(event));
    }
    chunks.push(...translator.end());
  }

  async function stream(body: JsonObject, model = MODEL): Promise<JsonObject[]> {
    const response = await send(body, { stream: true, target: target(model) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const chunks: JsonObject[] = [];
    await pump(response, provider.createStreamTranslator('chat', target(model)), chunks);
    return chunks;
  }

  const choiceOf = (chunk: JsonObject) => (chunk.choices as JsonObject[])[0];
  const deltaOf = (chunk: JsonObject) => choiceOf(chunk).delta as JsonObject;

  it('sends the headers and body the real API requires', async () => {
    const before = fixture.requests.length;
    await complete({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] });
    const received = fixture.requests[before];
    expect(received).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(received.headers).toMatchObject({ 'x-api-key': FIXTURE_API_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' });
    expect(received.body).toEqual({ model: MODEL, max_tokens: 4096, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] });
  });

  it('returns a chat.completion for a text answer', async () => {
    const before = Math.floor(Date.now() / 1000);
    const body = await complete({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello there' },
      ],
    });
    expect(body).toEqual({
      id: expect.stringMatching(/^msg_01/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: 'You said: Hello there', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: expect.any(Number),
        completion_tokens: 4,
        total_tokens: expect.any(Number),
        prompt_tokens_details: { cached_tokens: 0 },
      },
    });
    expect(body.created).toBeGreaterThanOrEqual(before);
    const usage = body.usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it('counts cache reads and writes into prompt_tokens', async () => {
    const body = await complete({ messages: [{ role: 'user', content: 'Hello' }] }, FIXTURE_MODELS.cachedPrefix);
    const usage = body.usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number; prompt_tokens_details: { cached_tokens: number } };
    // Uncached input tokens come on top of the 2048 read from and 512 written to the cache.
    expect(usage.prompt_tokens).toBeGreaterThan(2048 + 512);
    expect(usage.prompt_tokens_details).toEqual({ cached_tokens: 2048, cache_creation_tokens: 512 });
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it('maps max_tokens and stop sequences to finish reasons', async () => {
    const cut = await complete({ messages: [{ role: 'user', content: 'one two three four five' }], max_tokens: 3 });
    expect(choiceOf(cut)).toMatchObject({ message: { content: 'You said: one' }, finish_reason: 'length' });
    expect(cut.usage).toMatchObject({ completion_tokens: 3 });

    const stopped = await complete({ messages: [{ role: 'user', content: 'alpha beta STOP gamma' }], stop: ['STOP'] });
    expect(choiceOf(stopped)).toMatchObject({ message: { content: 'You said: alpha beta ' }, finish_reason: 'stop' });
  });

  it('returns tool calls, and the follow-up turn with their results is accepted', async () => {
    const question = { role: 'user', content: 'Use get_weather for Paris.' };
    const first = await complete({ messages: [question], tools: [WEATHER_TOOL, TIME_TOOL] });
    const choice = choiceOf(first);
    expect(choice.finish_reason).toBe('tool_calls');
    const message = choice.message as {
      content: string | null;
      tool_calls: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
    };
    expect(message.content).toBe("I'll use get_weather to answer that.");
    expect(message.tool_calls).toEqual([
      { id: expect.stringMatching(/^toolu_01/), type: 'function', function: { name: 'get_weather', arguments: expect.any(String) } },
    ]);
    expect(JSON.parse(message.tool_calls[0].function.arguments)).toEqual({ city: 'sample city', unit: 'celsius' });

    const second = await complete({
      messages: [question, { role: 'assistant', ...message }, { role: 'tool', tool_call_id: message.tool_calls[0].id, content: '18°C and sunny' }],
      tools: [WEATHER_TOOL, TIME_TOOL],
    });
    expect(choiceOf(second)).toMatchObject({ message: { content: 'The tools returned: 18°C and sunny.' }, finish_reason: 'stop' });
  });

  it('returns a forced tool call with null content', async () => {
    const body = await complete({
      messages: [{ role: 'user', content: 'Anything.' }],
      tools: [WEATHER_TOOL, TIME_TOOL],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    expect(choiceOf(body)).toMatchObject({
      message: { content: null, tool_calls: [{ type: 'function', function: { name: 'get_time', arguments: '{"city":"sample city"}' } }] },
      finish_reason: 'tool_calls',
    });
  });

  it('sends images in a form the API accepts', async () => {
    const body = await complete({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
            { type: 'text', text: 'What is this?' },
          ],
        },
      ],
    });
    expect(choiceOf(body)).toMatchObject({ message: { content: 'You said: What is this?' } });
  });

  describe('the fixture holds requests to the rules of the real API', () => {
    async function post(body: JsonObject): Promise<{ status: number; error: { type: string; message: string } }> {
      const response = await fetch(`${fixture.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': FIXTURE_API_KEY, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify(body),
      });
      return { status: response.status, error: ((await response.json()) as { error: { type: string; message: string } }).error };
    }
    const hi = { role: 'user', content: 'hi' };

    it.each([
      [{ model: MODEL, messages: [hi] }, 'max_tokens: Field required'],
      [{ model: MODEL, max_tokens: 10, messages: [hi], n: 1 }, 'n: Extra inputs are not permitted'],
      [
        { model: MODEL, max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] },
        'messages: text content blocks must be non-empty',
      ],
      [
        { model: MODEL, max_tokens: 10, messages: [hi, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }] }] },
        /unexpected `tool_use_id`/,
      ],
      [
        { model: MODEL, max_tokens: 10, messages: [hi, { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_x', name: 'f', input: {} }] }, hi] },
        /`tool_use` ids were found without `tool_result` blocks immediately after: toolu_x/,
      ],
    ])('rejects %j', async (body, message) => {
      const { status, error } = await post(body);
      expect(status).toBe(400);
      expect(error.type).toBe('invalid_request_error');
      expect(error.message).toMatch(message);
    });
  });

  describe('errors', () => {
    it('reads the authentication error of a wrong key', async () => {
      const wrong = new AnthropicProvider('anthropic', providerConfig({ api_key: 'sk-ant-wrong', base_url: fixture.url }), []);
      const response = await send({ messages: [{ role: 'user', content: 'hi' }] }, { via: wrong });
      expect(response.status).toBe(401);
      const text = await response.text();
      expect(JSON.parse(text)).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } });
      expect(wrong.mapError(401, text)).toEqual({ message: 'invalid x-api-key', type: 'authentication_error', code: 'authentication_error', param: null });
    });

    it.each([
      [FIXTURE_MODELS.rateLimited, 429, 'rate_limit_error', 'rate_limit_error'],
      [FIXTURE_MODELS.overloaded, 529, 'server_error', 'overloaded_error'],
      [FIXTURE_MODELS.serverError, 500, 'server_error', 'api_error'],
    ])('reads the error body of model %s', async (model, status, type, code) => {
      const response = await send({ messages: [{ role: 'user', content: 'hi' }] }, { target: target(model) });
      expect(response.status).toBe(status);
      const detail = provider.mapError(response.status, await response.text());
      expect(detail).toMatchObject({ type, code, message: expect.any(String) });
      if (status === 429) expect(response.headers.get('retry-after')).toBe('7');
    });

    it('passes on what the API says about an invalid request', async () => {
      const response = await send({ messages: [{ role: 'user', content: 'hi' }], temperature: 1.5 });
      expect(response.status).toBe(400);
      expect(provider.mapError(400, await response.text())).toEqual({
        message: 'temperature: Input should be less than or equal to 1',
        type: 'invalid_request_error',
        code: 'invalid_request_error',
        param: null,
      });
    });

    it('falls back to the generic reading for bodies that are not Anthropic errors', () => {
      expect(provider.mapError(502, '<html>Bad gateway</html>')).toEqual({ message: '<html>Bad gateway</html>' });
      expect(provider.mapError(400, '{"error":{"message":"proxy says no","type":"invalid_request_error"}}')).toMatchObject({
        message: 'proxy says no',
        type: 'invalid_request_error',
      });
    });
  });

  describe('streaming', () => {
    it('streams text as chunks that add up to the non-streamed answer', async () => {
      const body = { messages: [{ role: 'user', content: 'Tell me about the sea and the sky' }] };
      const chunks = await stream(body);
      const whole = await complete(body);

      const [first] = chunks;
      expect(first).toEqual({
        id: expect.stringMatching(/^msg_01/),
        object: 'chat.completion.chunk',
        created: expect.any(Number),
        model: MODEL,
        choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
      });
      for (const chunk of chunks) {
        expect(chunk).toMatchObject({ id: first.id, object: 'chat.completion.chunk', created: first.created, model: MODEL });
      }
      const content = chunks
        .filter((c) => (c.choices as JsonObject[]).length > 0)
        .map((c) => deltaOf(c).content ?? '')
        .join('');
      expect(content).toBe(choiceOf(whole).message && (choiceOf(whole).message as JsonObject).content);
      expect(chunks.filter((c) => (c.choices as JsonObject[]).length > 0 && choiceOf(c).finish_reason !== null).map((c) => choiceOf(c).finish_reason)).toEqual([
        'stop',
      ]);

      const last = chunks.at(-1) as JsonObject;
      expect(last.choices).toEqual([]);
      expect(last.usage).toEqual(whole.usage);
      expect(chunks.filter((c) => c.usage !== undefined)).toHaveLength(1);
    });

    it('streams parallel tool calls with their own indices and complete arguments', async () => {
      const chunks = await stream({ messages: [{ role: 'user', content: 'Call get_weather and get_time.' }], tools: [WEATHER_TOOL, TIME_TOOL] });
      const calls = new Map<number, { id?: string; name?: string; arguments: string }>();
      for (const chunk of chunks) {
        if ((chunk.choices as JsonObject[]).length === 0) continue;
        const toolCalls = deltaOf(chunk).tool_calls as
          Array<{ index: number; id?: string; type?: string; function: { name?: string; arguments: string } }> | undefined;
        for (const call of toolCalls ?? []) {
          const entry = calls.get(call.index) ?? { arguments: '' };
          if (call.id) {
            expect(call).toEqual({ index: call.index, id: call.id, type: 'function', function: { name: expect.any(String), arguments: '' } });
            entry.id = call.id;
            entry.name = call.function.name;
          }
          entry.arguments += call.function.arguments;
          calls.set(call.index, entry);
        }
      }
      expect([...calls.keys()]).toEqual([0, 1]);
      expect(calls.get(0)).toMatchObject({ id: expect.stringMatching(/^toolu_01/), name: 'get_weather' });
      expect(JSON.parse(calls.get(0)!.arguments)).toEqual({ city: 'sample city', unit: 'celsius' });
      expect(calls.get(1)).toMatchObject({ id: expect.stringMatching(/^toolu_01/), name: 'get_time' });
      expect(JSON.parse(calls.get(1)!.arguments)).toEqual({ city: 'sample city' });
      const finish = chunks
        .filter((c) => (c.choices as JsonObject[]).length > 0)
        .map((c) => choiceOf(c).finish_reason)
        .filter((r) => r !== null);
      expect(finish).toEqual(['tool_calls']);
    });

    it('reports cached prompt tokens in the usage chunk', async () => {
      const chunks = await stream({ messages: [{ role: 'user', content: 'Hello' }] }, FIXTURE_MODELS.cachedPrefix);
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens_details: { cached_tokens: 2048 } } });
    });

    it('throws the error an error event reports, after the chunks before it', async () => {
      const response = await send(
        { messages: [{ role: 'user', content: 'Tell me a long story' }] },
        { stream: true, target: target(FIXTURE_MODELS.overloadedMidStream) },
      );
      expect(response.status).toBe(200);
      const chunks: JsonObject[] = [];
      const failure = pump(response, provider.createStreamTranslator('chat', target(FIXTURE_MODELS.overloadedMidStream)), chunks);
      await expect(failure).rejects.toBeInstanceOf(UpstreamStatusError);
      await expect(failure).rejects.toMatchObject({ status: 503, type: 'server_error', code: 'overloaded_error', message: 'Overloaded' });
      expect(chunks.map((c) => deltaOf(c))).toEqual([{ role: 'assistant', content: '' }, { content: 'You said:' }]);
    });
  });
});

describe('AnthropicStreamTranslator edge cases', () => {
  const provider = new AnthropicProvider('anthropic', providerConfig({ api_key: 'k' }), []);
  const event = (data: JsonObject): SseEvent => ({ event: data.type as string, data: JSON.stringify(data) });
  const start = event({
    type: 'message_start',
    message: {
      id: 'msg_1',
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 5, cache_creation_input_tokens: null },
    },
  });

  it('takes output tokens from an older message_delta that reports only them, and emits usage at end() without message_stop', () => {
    const translator = provider.createStreamTranslator('chat', target());
    const chunks = [
      start,
      { event: 'ping', data: '{"type":"ping"}' },
      event({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
      event({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
      event({ type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } }),
      event({ type: 'content_block_delta', index: 1, delta: { type: 'text_delta', text: 'Hi' } }),
      event({ type: 'message_delta', delta: { stop_reason: 'max_tokens', stop_sequence: null }, usage: { output_tokens: 7 } }),
    ].flatMap((e) => translator.push(e));
    expect(chunks.map((c) => (c.choices as JsonObject[])[0])).toEqual([
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
      { index: 0, delta: { reasoning_content: 'hmm' }, logprobs: null, finish_reason: null },
      { index: 0, delta: { content: 'Hi' }, logprobs: null, finish_reason: null },
      { index: 0, delta: {}, logprobs: null, finish_reason: 'length' },
    ]);
    expect(chunks[0]).toMatchObject({ id: 'msg_1', model: 'claude-x' });
    const tail = translator.end();
    expect(tail).toEqual([
      {
        id: 'msg_1',
        object: 'chat.completion.chunk',
        created: chunks[0].created,
        model: 'claude-x',
        choices: [],
        usage: { prompt_tokens: 15, completion_tokens: 7, total_tokens: 22, prompt_tokens_details: { cached_tokens: 5 } },
      },
    ]);
    expect(translator.end()).toEqual([]);
  });

  it.each([
    ['refusal', 'content_filter'],
    ['stop_sequence', 'stop'],
    ['model_context_window_exceeded', 'length'],
    ['something_new', 'stop'],
  ])('maps stop_reason %s to %s', (reason, finish) => {
    const translator = provider.createStreamTranslator('chat', target());
    translator.push(start);
    const [chunk] = translator.push(event({ type: 'message_delta', delta: { stop_reason: reason, stop_sequence: null }, usage: { output_tokens: 2 } }));
    expect((chunk.choices as JsonObject[])[0].finish_reason).toBe(finish);
  });

  it('maps an error event type to a status', () => {
    const translator = provider.createStreamTranslator('chat', target());
    translator.push(start);
    expect(() => translator.push(event({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }))).toThrow(
      expect.objectContaining({ status: 429, type: 'rate_limit_error', code: 'rate_limit_error', message: 'slow down' }),
    );
  });

  it('emits nothing at end() for a stream that never started', () => {
    expect(provider.createStreamTranslator('chat', target()).end()).toEqual([]);
  });
});
