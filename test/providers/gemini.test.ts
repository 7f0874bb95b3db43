import { createParser } from 'eventsource-parser';
import { getEncoding } from 'js-tiktoken';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type ProviderConfig } from '../../src/config/schema.js';
import { CeruleanError, InvalidRequestError, OperationNotSupportedError, UpstreamStatusError } from '../../src/errors/catalogue.js';
import { sanitizeSchema } from '../../src/providers/gemini/gemini-chat-request.js';
import { GeminiProvider } from '../../src/providers/gemini/gemini-provider.js';
import type { JsonObject, Operation, ProviderResponse, Target, UpstreamRequest } from '../../src/providers/provider.js';
import { DEFAULT_EMBEDDING_DIMENSIONS, fixtureEmbedding, startGeminiFixture, type GeminiFixture, type RecordedRequest } from '../fixtures/gemini-upstream.js';

const API_KEY = 'test-key-123';

/** A provider config as the loader produces it, defaults included. */
function providerConfig(fields: Record<string, unknown>): ProviderConfig {
  return configSchema.parse({ providers: { gemini: { type: 'gemini', ...fields } } }).providers.gemini as ProviderConfig;
}

function target(model: string): Target {
  return { deployment: `deployment-${model}`, model, config: { provider: 'gemini', model } };
}

let fixture: GeminiFixture;
let provider: GeminiProvider;

beforeAll(async () => {
  fixture = await startGeminiFixture({ apiKey: API_KEY });
  provider = new GeminiProvider('gemini', providerConfig({ api_key: API_KEY, base_url: fixture.url }), []);
});

afterAll(async () => {
  await fixture.close();
});

function send(request: UpstreamRequest, via: GeminiProvider = provider): Promise<Response> {
  return fetch(via.origin + request.path, { method: request.method, headers: request.headers, body: request.body });
}

/** The body the fixture received last, as Gemini saw it. */
function lastUpstreamRequest(): RecordedRequest {
  return fixture.requests[fixture.requests.length - 1];
}

function lastUpstreamBody(): JsonObject {
  return lastUpstreamRequest().body as JsonObject;
}

async function call(operation: Operation, body: JsonObject, model: string): Promise<ProviderResponse> {
  const response = await send(provider.buildRequest(operation, body, target(model), false));
  const text = await response.text();
  if (!response.ok) throw new Error(`fixture answered ${response.status}: ${text}`);
  return provider.parseResponse(operation, JSON.parse(text), target(model), body);
}

async function chat(body: JsonObject, model = 'gemini-2.5-flash'): Promise<JsonObject> {
  return (await call('chat', body, model)).body;
}

/** Streams a chat through the fixture and the translator, returning every chunk in order. */
async function streamChat(body: JsonObject, model = 'gemini-2.5-flash'): Promise<JsonObject[]> {
  const response = await send(provider.buildRequest('chat', { ...body, stream: true }, target(model), true));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const translator = provider.createStreamTranslator('chat', target(model));
  const chunks: JsonObject[] = [];
  const parser = createParser({
    onEvent(event) {
      chunks.push(...translator.push({ event: event.event, data: event.data }));
    },
  });
  parser.feed(await response.text());
  chunks.push(...translator.end());
  return chunks;
}

function choicesOf(chunk: JsonObject): JsonObject[] {
  return chunk.choices as JsonObject[];
}

function deltaText(chunks: JsonObject[], index: number): string {
  return chunks
    .flatMap(choicesOf)
    .filter((choice) => choice.index === index)
    .map((choice) => ((choice.delta as JsonObject).content as string | undefined) ?? '')
    .join('');
}

function messageOf(body: JsonObject, index = 0): JsonObject {
  return (body.choices as JsonObject[])[index].message as JsonObject;
}

function caught(action: () => unknown): CeruleanError {
  try {
    action();
  } catch (error) {
    if (error instanceof CeruleanError) return error;
    throw error;
  }
  throw new Error('expected a CeruleanError');
}

const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city'],
      additionalProperties: false,
    },
  },
};

describe('GeminiProvider configuration', () => {
  it('targets Google by default and keeps a base_url path prefix', () => {
    const google = new GeminiProvider('g', providerConfig({ api_key: 'k', region: 'europe-west4' }), []);
    expect(google.origin).toBe('https://generativelanguage.googleapis.com');
    expect(google.region).toBe('europe-west4');
    expect(google.type).toBe('gemini');
    expect(google.buildRequest('chat', { messages: [{ role: 'user', content: 'hi' }] }, target('gemini-2.5-flash'), false).path).toBe(
      '/v1beta/models/gemini-2.5-flash:generateContent',
    );

    const proxied = new GeminiProvider('g', providerConfig({ api_key: 'k', base_url: 'http://proxy.internal:8080/google/' }), []);
    expect(proxied.origin).toBe('http://proxy.internal:8080');
    expect(proxied.buildRequest('embeddings', { input: 'x' }, target('text-embedding-004'), false).path).toBe(
      '/google/v1beta/models/text-embedding-004:batchEmbedContents',
    );
  });

  it('offers chat and embeddings only', () => {
    expect([...provider.operations].sort()).toEqual(['chat', 'embeddings']);
    expect(caught(() => provider.buildRequest('completions', { prompt: 'x' }, target('m'), false))).toBeInstanceOf(OperationNotSupportedError);
    expect(caught(() => provider.buildRequest('images', { prompt: 'x' }, target('m'), false))).toBeInstanceOf(OperationNotSupportedError);
  });

  it('names the missing credential', () => {
    expect(new GeminiProvider('g', providerConfig({ api_key: '' }), ['GEMINI_API_KEY']).missingCredential).toBe('GEMINI_API_KEY');
    expect(new GeminiProvider('g', providerConfig({}), []).missingCredential).toBe('api_key');
    expect(new GeminiProvider('g', providerConfig({ api_key: 'k' }), []).missingCredential).toBeNull();
  });

  it('sends the key as x-goog-api-key along with configured headers, and picks the stream endpoint', () => {
    const custom = new GeminiProvider('g', providerConfig({ api_key: 'secret', headers: { 'x-team': 'search' } }), []);
    const request = custom.buildRequest('chat', { messages: [{ role: 'user', content: 'hi' }] }, target('gemini-2.5-flash'), true);
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(request.headers).toMatchObject({ 'x-goog-api-key': 'secret', 'x-team': 'search', 'content-type': 'application/json' });
    expect(request.headers.authorization).toBeUndefined();
  });

  it('accepts full resource names and encodes path segments', () => {
    const body = { messages: [{ role: 'user', content: 'hi' }] };
    expect(provider.buildRequest('chat', body, target('tunedModels/my-model'), false).path).toBe('/v1beta/tunedModels/my-model:generateContent');
    expect(provider.buildRequest('chat', body, target('models/gemini-2.5-pro'), false).path).toBe('/v1beta/models/gemini-2.5-pro:generateContent');
    expect(provider.buildRequest('chat', body, target('odd name?'), false).path).toBe('/v1beta/models/odd%20name%3F:generateContent');
  });
});

describe('chat request translation', () => {
  it('translates roles, system prompts, images, tool calls and tool results into contents Gemini accepts', async () => {
    const body = await chat({
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in English.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look at these.' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.webp?size=large', detail: 'low' } },
            { type: 'image_url', image_url: { url: 'https://example.com/photo' } },
          ],
        },
        { role: 'user', content: 'What is the weather in Paris and Rome?' },
        {
          role: 'assistant',
          content: 'Checking.',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_b', content: 'noon' },
        { role: 'tool', tool_call_id: 'call_a', content: '{"temperature":21}' },
      ],
      tools: [WEATHER_TOOL],
    });

    const sent = lastUpstreamBody();
    expect(sent.systemInstruction).toEqual({ parts: [{ text: 'You are terse.' }, { text: 'Answer in English.' }] });
    expect(sent.contents).toEqual([
      {
        role: 'user',
        parts: [
          { text: 'Look at these.' },
          { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
          { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/cat.webp?size=large' } },
          { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/photo' } },
          { text: 'What is the weather in Paris and Rome?' },
        ],
      },
      {
        role: 'model',
        parts: [
          { text: 'Checking.' },
          { functionCall: { name: 'get_weather', args: { city: 'Paris' } } },
          { functionCall: { name: 'get_time', args: { city: 'Rome' } } },
        ],
      },
      {
        role: 'user',
        parts: [
          { functionResponse: { name: 'get_time', response: { content: 'noon' } } },
          { functionResponse: { name: 'get_weather', response: { temperature: 21 } } },
        ],
      },
    ]);
    // The JSON Schema keywords Gemini rejects are gone; the fixture would have answered 400 otherwise.
    expect(sent.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: 'get_weather',
            description: 'Current weather for a city',
            parameters: {
              type: 'object',
              properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
              required: ['city'],
            },
          },
        ],
      },
    ]);
    expect(messageOf(body).content).toBe('Function get_time returned {"content":"noon"}. Function get_weather returned {"temperature":21}.');
  });

  it('maps sampling options into generationConfig', async () => {
    await chat({
      messages: [{ role: 'user', content: 'Say something long enough to count' }],
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 50,
      max_completion_tokens: 40,
      n: 2,
      stop: 'never-appears',
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      response_format: { type: 'json_object' },
      logprobs: true,
      top_logprobs: 3,
      user: 'end-user-1',
      parallel_tool_calls: true,
    });
    expect(lastUpstreamBody().generationConfig).toEqual({
      temperature: 0.3,
      topP: 0.9,
      maxOutputTokens: 40,
      candidateCount: 2,
      stopSequences: ['never-appears'],
      seed: 7,
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      responseMimeType: 'application/json',
      responseLogprobs: true,
      logprobs: 3,
    });
    expect(Object.keys(lastUpstreamBody()).sort()).toEqual(['contents', 'generationConfig']);
  });

  it('sends a json_schema response format as a responseSchema without the keywords Gemini rejects', async () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        additionalProperties: { type: 'string', description: 'a field that merely has this name' },
        items: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' } }, additionalProperties: false } },
        choice: { anyOf: [{ type: 'string' }, { type: 'object', properties: {}, additionalProperties: true }] },
      },
      required: ['items'],
      additionalProperties: false,
    };
    const response = await call(
      'chat',
      { messages: [{ role: 'user', content: 'json please' }], response_format: { type: 'json_schema', json_schema: { name: 'out', strict: true, schema } } },
      'gemini-2.5-flash',
    );
    expect(response.body.object).toBe('chat.completion');
    expect((lastUpstreamBody().generationConfig as JsonObject).responseMimeType).toBe('application/json');
    expect((lastUpstreamBody().generationConfig as JsonObject).responseSchema).toEqual({
      type: 'object',
      properties: {
        additionalProperties: { type: 'string', description: 'a field that merely has this name' },
        items: { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' } } } },
        choice: { anyOf: [{ type: 'string' }, { type: 'object', properties: {} }] },
      },
      required: ['items'],
    });

    // The same schema unsanitised is refused, as by Google: the fixture's strictness is what makes the check above meaningful.
    const raw = provider.buildRequest('chat', { messages: [{ role: 'user', content: 'x' }] }, target('gemini-2.5-flash'), false);
    const tampered = { ...JSON.parse(raw.body as string), generationConfig: { responseSchema: schema } };
    const refused = await send({ ...raw, body: JSON.stringify(tampered) });
    expect(refused.status).toBe(400);
    expect(provider.mapError(400, await refused.text())).toMatchObject({ type: 'INVALID_ARGUMENT', message: expect.stringContaining('$schema') });
  });

  it('maps tool_choice to functionCallingConfig', () => {
    const configFor = (toolChoice: unknown): unknown => {
      const request = provider.buildRequest(
        'chat',
        { messages: [{ role: 'user', content: 'x' }], tools: [WEATHER_TOOL], tool_choice: toolChoice },
        target('m'),
        false,
      );
      const body = JSON.parse(request.body as string) as JsonObject;
      return {
        toolConfig: body.toolConfig,
        names: ((body.tools as JsonObject[] | undefined)?.[0]?.functionDeclarations as JsonObject[] | undefined)?.map((d) => d.name),
      };
    };
    expect(configFor('auto')).toEqual({ toolConfig: { functionCallingConfig: { mode: 'AUTO' } }, names: ['get_weather'] });
    expect(configFor('none')).toEqual({ toolConfig: { functionCallingConfig: { mode: 'NONE' } }, names: ['get_weather'] });
    expect(configFor('required')).toEqual({ toolConfig: { functionCallingConfig: { mode: 'ANY' } }, names: ['get_weather'] });
    expect(configFor({ type: 'function', function: { name: 'get_weather' } })).toEqual({
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
      names: ['get_weather'],
    });
    expect(configFor(undefined)).toEqual({ toolConfig: undefined, names: ['get_weather'] });
    expect(caught(() => configFor('sometimes'))).toMatchObject({ param: 'tool_choice', status: 400 });
  });

  it('sends a conversation of system messages only as user content, since Gemini needs contents', async () => {
    const body = await chat({ messages: [{ role: 'system', content: 'Introduce yourself' }] });
    expect(lastUpstreamBody().contents).toEqual([{ role: 'user', parts: [{ text: 'Introduce yourself' }] }]);
    expect(lastUpstreamBody().systemInstruction).toBeUndefined();
    expect(messageOf(body).content).toBe('Echo: Introduce yourself');
  });

  it('decodes non-base64 data URLs and carries audio and files inline', () => {
    const request = provider.buildRequest(
      'chat',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image_url', image_url: { url: 'data:text/plain,hello%20world' } },
              { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
              { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0=', filename: 'a.pdf' } },
            ],
          },
        ],
      },
      target('m'),
      false,
    );
    expect((JSON.parse(request.body as string) as JsonObject).contents).toEqual([
      {
        role: 'user',
        parts: [
          { inlineData: { mimeType: 'text/plain', data: Buffer.from('hello world').toString('base64') } },
          { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
          { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
        ],
      },
    ]);
  });

  it('rejects what Gemini cannot express, naming the parameter', () => {
    const build = (body: JsonObject) => () => provider.buildRequest('chat', body, target('m'), false);
    const unknownCall = caught(
      build({
        messages: [
          { role: 'user', content: 'x' },
          { role: 'tool', tool_call_id: 'call_missing', content: 'r' },
        ],
      }),
    );
    expect(unknownCall).toBeInstanceOf(InvalidRequestError);
    expect(unknownCall.param).toBe('messages[1].tool_call_id');
    expect(caught(build({ messages: [{ role: 'user', content: [{ type: 'video', video: {} }] }] })).param).toBe('messages[0].content[0].type');
    expect(caught(build({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }] }] })).param).toBe(
      'messages[0].content[0].image_url.url',
    );
    expect(caught(build({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search' }] })).param).toBe('tools[0].type');
    expect(
      caught(build({ messages: [{ role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] })).param,
    ).toBe('messages[0].tool_calls[0].function.arguments');
  });

  it('sanitizes schemas structurally', () => {
    expect(
      sanitizeSchema({
        $schema: 'x',
        type: 'object',
        additionalProperties: { type: 'string' },
        properties: { $schema: { type: 'string' }, nested: { type: 'array', items: [{ additionalProperties: false, type: 'object' }] } },
        $defs: { thing: { type: 'object', additionalProperties: false } },
        default: { additionalProperties: 'kept: default values are data' },
      }),
    ).toEqual({
      type: 'object',
      properties: { $schema: { type: 'string' }, nested: { type: 'array', items: [{ type: 'object' }] } },
      $defs: { thing: { type: 'object' } },
      default: { additionalProperties: 'kept: default values are data' },
    });
  });
});

describe('chat responses', () => {
  it('returns an OpenAI chat.completion with Gemini usage', async () => {
    const response = await call(
      'chat',
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hello there' },
        ],
      },
      'gemini-2.5-flash',
    );
    expect(response.body).toEqual({
      id: expect.stringMatching(/^fixture-response-\d+$/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'gemini-2.5-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Echo: Hello there', refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } },
    });
    expect(response.usage).toEqual(response.body.usage);
    expect(Math.abs((response.body.created as number) - Date.now() / 1000)).toBeLessThan(5);
  });

  it('returns one choice per candidate for n', async () => {
    const body = await chat({ messages: [{ role: 'user', content: 'Hi' }], n: 3 });
    expect((lastUpstreamBody().generationConfig as JsonObject).candidateCount).toBe(3);
    expect((body.choices as JsonObject[]).map((choice) => [choice.index, (choice.message as JsonObject).content])).toEqual([
      [0, 'Echo: Hi'],
      [1, 'Echo (candidate 1): Hi'],
      [2, 'Echo (candidate 2): Hi'],
    ]);
  });

  it('reports length when maxOutputTokens cut the answer, and honours stop sequences', async () => {
    const cut = await chat({ messages: [{ role: 'user', content: 'one two three four five' }], max_tokens: 3 });
    expect((cut.choices as JsonObject[])[0]).toMatchObject({ finish_reason: 'length', message: { content: 'Echo: one two' } });
    const stopped = await chat({ messages: [{ role: 'user', content: 'one two three' }], stop: [' two'] });
    expect((stopped.choices as JsonObject[])[0]).toMatchObject({ finish_reason: 'stop', message: { content: 'Echo: one' } });
  });

  it('returns function calls as tool_calls and takes them back on the next turn', async () => {
    const messages: JsonObject[] = [{ role: 'user', content: 'Please call get_weather for Paris' }];
    const first = await chat({ messages, tools: [WEATHER_TOOL] });
    const choice = (first.choices as JsonObject[])[0];
    expect(choice.finish_reason).toBe('tool_calls');
    const message = choice.message as JsonObject;
    expect(message.content).toBeNull();
    expect(message.tool_calls).toEqual([
      {
        id: expect.stringMatching(/^call_[0-9a-f]{24}$/),
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"example","unit":"celsius"}' },
      },
    ]);

    const toolCall = (message.tool_calls as JsonObject[])[0];
    messages.push(message, { role: 'tool', tool_call_id: toolCall.id, content: '{"temperature":18}' });
    const second = await chat({ messages, tools: [WEATHER_TOOL] });
    expect(lastUpstreamBody().contents).toEqual([
      { role: 'user', parts: [{ text: 'Please call get_weather for Paris' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'example', unit: 'celsius' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temperature: 18 } } }] },
    ]);
    expect(messageOf(second)).toEqual({ role: 'assistant', content: 'Function get_weather returned {"temperature":18}.', refusal: null });
    expect((second.choices as JsonObject[])[0].finish_reason).toBe('stop');
  });

  it('honours tool_choice none and a forced function', async () => {
    const none = await chat({ messages: [{ role: 'user', content: 'call get_weather' }], tools: [WEATHER_TOOL], tool_choice: 'none' });
    expect(messageOf(none)).toMatchObject({ content: 'Echo: call get_weather' });
    expect(messageOf(none).tool_calls).toBeUndefined();
    const forced = await chat({
      messages: [{ role: 'user', content: 'anything' }],
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
    });
    expect((messageOf(forced).tool_calls as JsonObject[])[0]).toMatchObject({ function: { name: 'get_weather' } });
  });

  it('leaves thoughts out of the answer, counts them as reasoning tokens and round-trips thought signatures', async () => {
    const plain = await call('chat', { messages: [{ role: 'user', content: 'Think about it' }] }, 'gemini-thinking');
    expect(messageOf(plain.body).content).toBe('Echo: Think about it');
    expect(plain.usage).toEqual({
      prompt_tokens: 3,
      completion_tokens: 7,
      total_tokens: 10,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 3 },
    });

    const messages: JsonObject[] = [{ role: 'user', content: 'use get_weather' }];
    const first = await chat({ messages, tools: [WEATHER_TOOL] }, 'gemini-thinking');
    const toolCall = (messageOf(first).tool_calls as JsonObject[])[0];
    const signature = Buffer.from('fixture-signature:get_weather').toString('base64');
    expect(toolCall.extra_content).toEqual({ google: { thought_signature: signature } });
    messages.push(messageOf(first), { role: 'tool', tool_call_id: toolCall.id, content: 'sunny' });
    await chat({ messages, tools: [WEATHER_TOOL] }, 'gemini-thinking');
    expect((lastUpstreamBody().contents as JsonObject[])[1]).toEqual({
      role: 'model',
      parts: [{ functionCall: { name: 'get_weather', args: { city: 'example', unit: 'celsius' } }, thoughtSignature: signature }],
    });
  });

  it('reports cached prompt tokens', async () => {
    const response = await call('chat', { messages: [{ role: 'user', content: 'a b c d e f' }] }, 'gemini-cached');
    expect(response.usage).toMatchObject({ prompt_tokens: 6, prompt_tokens_details: { cached_tokens: 3 } });
  });

  it('translates logprobs', async () => {
    const body = await chat({ messages: [{ role: 'user', content: 'Hi' }], logprobs: true, top_logprobs: 2 });
    const logprobs = (body.choices as JsonObject[])[0].logprobs as { content: JsonObject[] };
    expect(logprobs.content.map((entry) => entry.token)).toEqual(['Echo:', ' Hi']);
    expect(logprobs.content[1]).toEqual({
      token: ' Hi',
      logprob: -0.2,
      bytes: [...Buffer.from(' Hi')],
      top_logprobs: [
        { token: ' Hi', logprob: -0.2, bytes: [...Buffer.from(' Hi')] },
        { token: 'alt1', logprob: -1.2, bytes: [...Buffer.from('alt1')] },
      ],
    });
  });

  it('reports content_filter for a blocked candidate and for a blocked prompt', async () => {
    const candidate = await chat({ messages: [{ role: 'user', content: 'something bad' }] }, 'safety-block');
    expect((candidate.choices as JsonObject[])[0]).toEqual({
      index: 0,
      message: { role: 'assistant', content: null, refusal: null },
      finish_reason: 'content_filter',
      logprobs: null,
    });
    const prompt = await call('chat', { messages: [{ role: 'user', content: 'something worse' }] }, 'prompt-block');
    expect((prompt.body.choices as JsonObject[])[0]).toMatchObject({ index: 0, finish_reason: 'content_filter', message: { content: null } });
    expect(prompt.usage).toMatchObject({ prompt_tokens: 2, completion_tokens: 0, total_tokens: 2 });
  });
});

describe('chat streams', () => {
  it('streams chunks that add up to the non-streamed answer, usage last', async () => {
    const body = { messages: [{ role: 'user', content: 'The quick brown fox jumps' }] };
    const chunks = await streamChat(body);
    expect(lastUpstreamRequest().query).toEqual({ alt: 'sse' });
    expect(lastUpstreamRequest().path).toBe('/v1beta/models/gemini-2.5-flash:streamGenerateContent');

    const first = chunks[0];
    expect(first).toMatchObject({
      object: 'chat.completion.chunk',
      model: 'gemini-2.5-flash',
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }],
    });
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ id: first.id, created: first.created, model: first.model, object: 'chat.completion.chunk' });
    }
    expect(deltaText(chunks, 0)).toBe('Echo: The quick brown fox jumps');
    expect(chunks.length).toBeGreaterThan(4);

    const finishes = chunks.flatMap(choicesOf).filter((choice) => choice.finish_reason !== null);
    expect(finishes).toEqual([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    const last = chunks[chunks.length - 1];
    const whole = await call('chat', body, 'gemini-2.5-flash');
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual(whole.usage);
    expect(chunks.filter((chunk) => chunk.usage !== undefined)).toHaveLength(1);
  });

  it('streams every candidate for n, each opened with its role and closed with its finish reason', async () => {
    const chunks = await streamChat({ messages: [{ role: 'user', content: 'a b c d e' }], n: 2 });
    for (const index of [0, 1]) {
      const mine = chunks.flatMap(choicesOf).filter((choice) => choice.index === index);
      expect(mine[0].delta).toEqual({ role: 'assistant', content: '' });
      expect(mine.filter((choice) => choice.finish_reason === 'stop')).toHaveLength(1);
      expect(mine[mine.length - 1].finish_reason).toBe('stop');
    }
    expect(deltaText(chunks, 0)).toBe('Echo: a b c d e');
    expect(deltaText(chunks, 1)).toBe('Echo (candidate 1): a b c d e');
    expect(chunks[chunks.length - 1]).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 14, total_tokens: 19 } });
  });

  it('streams function calls as whole tool_calls deltas', async () => {
    const chunks = await streamChat({ messages: [{ role: 'user', content: 'get_weather now' }], tools: [WEATHER_TOOL] }, 'gemini-thinking');
    const toolDeltas = chunks.flatMap(choicesOf).flatMap((choice) => ((choice.delta as JsonObject).tool_calls as JsonObject[] | undefined) ?? []);
    expect(toolDeltas).toEqual([
      {
        index: 0,
        id: expect.stringMatching(/^call_/),
        type: 'function',
        function: { name: 'get_weather', arguments: '{"city":"example","unit":"celsius"}' },
        extra_content: { google: { thought_signature: Buffer.from('fixture-signature:get_weather').toString('base64') } },
      },
    ]);
    expect(deltaText(chunks, 0)).toBe('');
    expect(chunks.flatMap(choicesOf).find((choice) => choice.finish_reason !== null)?.finish_reason).toBe('tool_calls');
    expect(chunks[chunks.length - 1].usage).toMatchObject({ completion_tokens_details: { reasoning_tokens: 3 } });
  });

  it('streams logprobs with the content they belong to', async () => {
    const chunks = await streamChat({ messages: [{ role: 'user', content: 'x y z' }], logprobs: true, top_logprobs: 1 });
    const tokens = chunks
      .flatMap(choicesOf)
      .flatMap((choice) => ((choice.logprobs as { content: JsonObject[] } | null)?.content ?? []).map((entry) => entry.token));
    expect(tokens.join('')).toBe(deltaText(chunks, 0));
  });

  it('ends a filtered stream with content_filter', async () => {
    const chunks = await streamChat({ messages: [{ role: 'user', content: 'bad' }] }, 'safety-block');
    expect(deltaText(chunks, 0)).toBe('I will');
    expect(
      chunks
        .flatMap(choicesOf)
        .filter((choice) => choice.finish_reason !== null)
        .map((choice) => choice.finish_reason),
    ).toEqual(['content_filter']);

    const blocked = await streamChat({ messages: [{ role: 'user', content: 'worse' }] }, 'prompt-block');
    expect(blocked.flatMap(choicesOf)).toEqual([
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
      { index: 0, delta: {}, logprobs: null, finish_reason: 'content_filter' },
    ]);
  });

  it('throws an upstream error sent mid-stream', async () => {
    const response = await send(provider.buildRequest('chat', { messages: [{ role: 'user', content: 'x' }] }, target('fail-midstream'), true));
    const translator = provider.createStreamTranslator('chat', target('fail-midstream'));
    const events: string[] = [];
    createParser({ onEvent: (event) => events.push(event.data) }).feed(await response.text());
    expect(events).toHaveLength(2);
    expect(deltaText(translator.push({ data: events[0] }), 0)).toBe('Partial');
    const error = caught(() => translator.push({ data: events[1] }));
    expect(error).toBeInstanceOf(UpstreamStatusError);
    expect(error).toMatchObject({ status: 503, code: 'UNAVAILABLE', type: 'server_error' });
  });

  it('ignores empty events and produces nothing at end without usage', () => {
    const translator = provider.createStreamTranslator('chat', target('m'));
    expect(translator.push({ data: '' })).toEqual([]);
    expect(translator.end()).toEqual([]);
  });
});

describe('upstream errors', () => {
  async function failure(model: string, via: GeminiProvider = provider): Promise<{ status: number; text: string }> {
    const response = await send(via.buildRequest('chat', { messages: [{ role: 'user', content: 'x' }] }, target(model), false), via);
    return { status: response.status, text: await response.text() };
  }

  it('reads Google status codes from error bodies', async () => {
    const quota = await failure('fail-429');
    expect(quota.status).toBe(429);
    expect(provider.mapError(quota.status, quota.text)).toEqual({
      message: expect.stringContaining('exceeded your current quota'),
      type: 'RESOURCE_EXHAUSTED',
      code: 'RESOURCE_EXHAUSTED',
      param: null,
      retryAfterSeconds: 7,
    });
    const internal = await failure('fail-500');
    expect(internal.status).toBe(500);
    expect(provider.mapError(internal.status, internal.text)).toMatchObject({ type: 'INTERNAL', code: 'INTERNAL' });
    const overloaded = await failure('fail-503');
    expect(overloaded.status).toBe(503);
    expect(provider.mapError(overloaded.status, overloaded.text)).toMatchObject({
      type: 'UNAVAILABLE',
      message: 'The model is overloaded. Please try again later.',
    });
  });

  it('distinguishes a wrong key from a missing one', async () => {
    const wrong = new GeminiProvider('g', providerConfig({ api_key: 'wrong', base_url: fixture.url }), []);
    const rejected = await failure('gemini-2.5-flash', wrong);
    expect(rejected.status).toBe(400);
    expect(provider.mapError(rejected.status, rejected.text)).toMatchObject({
      type: 'INVALID_ARGUMENT',
      message: 'API key not valid. Please pass a valid API key.',
    });

    const keyless = new GeminiProvider('g', providerConfig({ base_url: fixture.url }), []);
    const denied = await failure('gemini-2.5-flash', keyless);
    expect(lastUpstreamRequest().headers['x-goog-api-key']).toBeUndefined();
    expect(denied.status).toBe(403);
    expect(provider.mapError(denied.status, denied.text)).toMatchObject({ type: 'PERMISSION_DENIED', code: 'PERMISSION_DENIED' });
  });

  it('reads array-wrapped errors and falls back for other bodies', () => {
    expect(provider.mapError(400, '[{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}]')).toMatchObject({
      message: 'bad',
      type: 'INVALID_ARGUMENT',
    });
    expect(provider.mapError(502, '<html>Bad Gateway</html>')).toEqual({ message: '<html>Bad Gateway</html>' });
    expect(provider.mapError(400, '{"error":{"message":"openai-shaped","type":"invalid_request_error","code":"x"}}')).toMatchObject({
      message: 'openai-shaped',
      type: 'invalid_request_error',
      code: 'x',
    });
  });
});

describe('embeddings', () => {
  const ENCODER = getEncoding('cl100k_base');

  it('embeds a string through batchEmbedContents', async () => {
    const response = await call('embeddings', { input: 'hello world' }, 'text-embedding-004');
    expect(lastUpstreamRequest().path).toBe('/v1beta/models/text-embedding-004:batchEmbedContents');
    expect(lastUpstreamBody()).toEqual({ requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'hello world' }] } }] });
    expect(response.body).toEqual({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: fixtureEmbedding('hello world') }],
      model: 'text-embedding-004',
      usage: { prompt_tokens: 2, total_tokens: 2 },
    });
    expect((response.body.data as JsonObject[])[0].embedding).toHaveLength(DEFAULT_EMBEDDING_DIMENSIONS);
    expect(response.usage).toEqual({ prompt_tokens: 2, completion_tokens: 0, total_tokens: 2 });
  });

  it('embeds several inputs in order, with dimensions and an estimated token count', async () => {
    const input = ['first text', 'the second, somewhat longer text'];
    const response = await call('embeddings', { input, dimensions: 8 }, 'gemini-embedding-001');
    expect((lastUpstreamBody().requests as JsonObject[]).map((request) => request.outputDimensionality)).toEqual([8, 8]);
    expect((response.body.data as JsonObject[]).map((entry) => [entry.index, entry.embedding])).toEqual([
      [0, fixtureEmbedding(input[0], 8)],
      [1, fixtureEmbedding(input[1], 8)],
    ]);
    const tokens = input.reduce((sum, text) => sum + ENCODER.encode(text).length, 0);
    expect(response.body.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  it('encodes base64 as little-endian float32 when asked', async () => {
    const response = await call('embeddings', { input: 'bytes please', encoding_format: 'base64', dimensions: 16 }, 'text-embedding-004');
    expect(lastUpstreamBody()).not.toHaveProperty('encoding_format');
    const encoded = (response.body.data as JsonObject[])[0].embedding as string;
    expect(typeof encoded).toBe('string');
    const bytes = Buffer.from(encoded, 'base64');
    const decoded = Array.from({ length: bytes.length / 4 }, (_, index) => bytes.readFloatLE(index * 4));
    expect(decoded).toEqual(fixtureEmbedding('bytes please', 16));
  });

  it('refuses token arrays', () => {
    for (const input of [
      [1, 2, 3],
      [[1, 2], [3]],
    ]) {
      const error = caught(() => provider.buildRequest('embeddings', { input }, target('text-embedding-004'), false));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error.param).toBe('input');
    }
  });
});
