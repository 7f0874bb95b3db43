import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { FIXTURE_API_KEY, FIXTURE_SIGNATURE, FIXTURE_THINKING, startAnthropicFixture, type AnthropicFixture } from '../fixtures/anthropic-upstream.js';
import { DEFAULT_FIXTURE_API_KEY, startGeminiFixture, type GeminiFixture } from '../fixtures/gemini-upstream.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY, startCerulean, type RunningCerulean } from '../helpers/cerulean.js';

/**
 * Anthropic's Messages API end to end, with the official Anthropic SDK as the caller: an OpenAI and
 * a Gemini deployment (translated both ways) and an Anthropic one (the caller's body sent as it is).
 */
let openai: OpenAIFixture;
let gemini: GeminiFixture;
let anthropic: AnthropicFixture;
let cerulean: RunningCerulean;
let client: Anthropic;

beforeAll(async () => {
  openai = await startOpenAIFixture();
  gemini = await startGeminiFixture();
  anthropic = await startAnthropicFixture();
  cerulean = await startCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${openai.url}/v1", retry: { max_attempts: 1 } }
  google: { type: gemini, api_key: "${DEFAULT_FIXTURE_API_KEY}", base_url: "${gemini.url}", retry: { max_attempts: 1 } }
  claude: { type: anthropic, api_key: "${FIXTURE_API_KEY}", base_url: "${anthropic.url}", retry: { max_attempts: 1 } }
deployments:
  gpt: { provider: up, model: gpt-4o-mini, aliases: ["claude-3-5-haiku-20241022"] }
  gpt-limited: { provider: up, model: fail-429 }
  gemini: { provider: google, model: gemini-2.5-flash }
  claude: { provider: claude, model: claude-sonnet-4-5, aliases: ["claude-*"] }
  claude-overloaded: { provider: claude, model: fail-529 }
  claude-limited: { provider: claude, model: fail-429 }
`);
  client = new Anthropic({ baseURL: cerulean.url, apiKey: MASTER_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await cerulean?.close();
  await openai?.close();
  await gemini?.close();
  await anthropic?.close();
});

const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

interface RawEvent {
  event: string;
  data: Record<string, any>;
}

/** A streamed Messages call read as raw server-sent events, with the status and content type. */
async function rawStream(body: Record<string, unknown>, path = '/v1/messages'): Promise<{ status: number; contentType: string | null; events: RawEvent[] }> {
  const response = await fetch(`${cerulean.url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  const text = await response.text();
  const events = text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const lines = frame.split('\n');
      const event = lines.find((line) => line.startsWith('event: '))?.slice(7) ?? '';
      const data = lines.find((line) => line.startsWith('data: '))?.slice(6) ?? '{}';
      return { event, data: JSON.parse(data) as Record<string, any> };
    });
  return { status: response.status, contentType: response.headers.get('content-type'), events };
}

/** The event names in order, with runs of deltas folded into one `content_block_delta*`. */
function shape(events: RawEvent[]): string[] {
  const out: string[] = [];
  for (const { event } of events) {
    const name = event === 'content_block_delta' ? 'content_block_delta*' : event;
    if (name === 'content_block_delta*' && out.at(-1) === name) continue;
    out.push(name);
  }
  return out;
}

async function failure(call: Promise<unknown>): Promise<InstanceType<typeof Anthropic.APIError>> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Anthropic.APIError);
  return error as InstanceType<typeof Anthropic.APIError>;
}

describe.each(['gpt', 'gemini', 'claude'])('%s deployment through the Anthropic SDK', (model) => {
  it('creates a message with a string system prompt, with usage', async () => {
    const message = await client.messages.create({ model, max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model, stop_reason: 'end_turn', stop_sequence: null });
    expect(message.id).toMatch(/^msg_/);
    expect(message.content[0].type).toBe('text');
    expect(message.content[0].type === 'text' && message.content[0].text.length).toBeGreaterThan(0);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it('takes the system prompt as text blocks', async () => {
    const message = await client.messages.create({
      model,
      max_tokens: 200,
      system: [
        { type: 'text', text: 'You are terse.' },
        { type: 'text', text: 'Answer in English.', cache_control: { type: 'ephemeral' } },
      ],
      messages: [{ role: 'user', content: 'blocks please' }],
    });
    expect(message.content[0].type).toBe('text');
    if (model === 'gpt') {
      expect(openai.requests.at(-1)?.body?.messages).toEqual([
        { role: 'system', content: 'You are terse.\n\nAnswer in English.' },
        { role: 'user', content: 'blocks please' },
      ]);
    }
  });

  it('streams events in Anthropic’s published order, on the wire and through the SDK', async () => {
    const { status, contentType, events } = await rawStream({ model, max_tokens: 200, messages: [{ role: 'user', content: 'stream me please' }] });
    expect(status).toBe(200);
    expect(contentType).toContain('text/event-stream');
    expect(shape(events)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta*',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    // Each frame's `type` is its event name.
    for (const { event, data } of events) expect(data.type).toBe(event);
    expect(events[0].data.message).toMatchObject({ type: 'message', role: 'assistant', model, content: [], stop_reason: null });
    expect(events[2].data).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(events.filter((e) => e.event === 'content_block_delta').every((e) => e.data.index === 0 && e.data.delta.type === 'text_delta')).toBe(true);
    const delta = events.find((e) => e.event === 'message_delta')?.data;
    expect(delta?.delta).toEqual({ stop_reason: 'end_turn', stop_sequence: null });
    expect(delta?.usage.output_tokens).toBeGreaterThan(0);

    const streamed = client.messages.stream({ model, max_tokens: 200, messages: [{ role: 'user', content: 'stream me please' }] });
    const seen: string[] = [];
    streamed.on('streamEvent', (event) => seen.push(event.type));
    const final = await streamed.finalMessage();
    const plain = await client.messages.create({ model, max_tokens: 200, messages: [{ role: 'user', content: 'stream me please' }] });
    expect(final.content).toEqual(plain.content);
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(plain.usage.output_tokens);
    expect(seen[0]).toBe('message_start');
    expect(seen.at(-1)).toBe('message_stop');
  });

  it('runs a tool round trip: tool_use, tool_result, answer', async () => {
    const question: Anthropic.MessageParam = { role: 'user', content: 'Use get_weather for Paris' };
    const first = await client.messages.create({ model, max_tokens: 300, tools: [weatherTool], tool_choice: { type: 'any' }, messages: [question] });
    expect(first.stop_reason).toBe('tool_use');
    const use = first.content.find((block) => block.type === 'tool_use');
    // The upstream's own call id is kept (an Anthropic target's is `toolu_…`): the tool_result answers with it.
    expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather', id: expect.stringMatching(/^[A-Za-z0-9_-]+$/) });
    expect(typeof use?.input).toBe('object');
    const second = await client.messages.create({
      model,
      max_tokens: 300,
      tools: [weatherTool],
      messages: [
        question,
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: use?.id ?? '', content: '{"temperature": 21}' }] },
      ],
    });
    expect(second.stop_reason).toBe('end_turn');
    expect(second.content.find((block) => block.type === 'text')).toBeTruthy();
    if (model === 'gpt') {
      const sent = openai.requests.at(-1)?.body?.messages as Array<Record<string, any>>;
      expect(sent.at(-1)).toEqual({ role: 'tool', tool_call_id: use?.id, content: '{"temperature": 21}' });
    }
  });

  it('streams a tool call the SDK assembles', async () => {
    const final = await client.messages
      .stream({
        model,
        max_tokens: 300,
        tools: [weatherTool],
        tool_choice: { type: 'any' },
        messages: [{ role: 'user', content: 'Use get_weather for Paris' }],
      })
      .finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    const use = final.content.find((block) => block.type === 'tool_use');
    expect(use?.name).toBe('get_weather');
    expect(use?.input).toBeTypeOf('object');
  });

  it('accepts a base64 image', async () => {
    const message = await client.messages.create({
      model,
      max_tokens: 200,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
            { type: 'text', text: 'what is this' },
          ],
        },
      ],
    });
    expect(message.content[0].type).toBe('text');
    if (model === 'gpt') {
      const content = (openai.requests.at(-1)?.body?.messages as Array<Record<string, any>>)[0].content;
      expect(content).toContainEqual({ type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } });
    }
    if (model === 'claude') {
      const sent = anthropic.requests.at(-1)?.body as Record<string, any>;
      expect(sent.messages[0].content[0]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } });
    }
  });

  it('counts tokens without calling the upstream', async () => {
    const before = openai.requests.length + gemini.requests.length + anthropic.requests.length;
    const count = await client.messages.countTokens({ model, system: 'Be brief.', messages: [{ role: 'user', content: 'count these words please' }] });
    expect(count.input_tokens).toBeGreaterThan(3);
    const longer = await client.messages.countTokens({ model, messages: [{ role: 'user', content: 'count these words please '.repeat(20) }] });
    expect(longer.input_tokens).toBeGreaterThan(count.input_tokens);
    expect(openai.requests.length + gemini.requests.length + anthropic.requests.length).toBe(before);
  });
});

describe('native requests to an Anthropic deployment', () => {
  it('sends the caller’s body as written (cache_control, top_k, thinking) with its anthropic-beta header, and answers with thinking', async () => {
    const betas = 'prompt-caching-2024-07-31,interleaved-thinking-2025-05-14';
    const body = {
      model: 'claude',
      max_tokens: 4096,
      system: [{ type: 'text' as const, text: 'A long, stable prefix.', cache_control: { type: 'ephemeral' as const } }],
      messages: [
        { role: 'user' as const, content: [{ type: 'text' as const, text: 'think first', cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }] },
      ],
      top_k: 5,
      thinking: { type: 'enabled' as const, budget_tokens: 2048 },
      metadata: { user_id: 'user-42' },
    };
    const message = await client.messages.create(body, { headers: { 'anthropic-beta': betas } });
    const sent = anthropic.requests.at(-1);
    expect(sent?.body).toEqual({ ...body, model: 'claude-sonnet-4-5', stream: false });
    expect(sent?.headers['anthropic-beta']).toBe(betas);
    expect(sent?.headers['x-api-key']).toBe(FIXTURE_API_KEY);
    expect(sent?.headers['anthropic-version']).toBe('2023-06-01');
    expect(message.content[0]).toEqual({ type: 'thinking', thinking: FIXTURE_THINKING, signature: FIXTURE_SIGNATURE });
    expect(message.content[1]).toMatchObject({ type: 'text', text: 'You said: think first' });

    const { events } = await rawStream(body);
    expect(anthropic.requests.at(-1)?.body).toEqual({ ...body, model: 'claude-sonnet-4-5', stream: true });
    expect(shape(events)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta*',
      'content_block_stop',
      'content_block_start',
      'content_block_delta*',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[2].data.content_block.type).toBe('thinking');
    const deltas = events.filter((e) => e.event === 'content_block_delta' && e.data.index === 0).map((e) => e.data.delta);
    expect(
      deltas
        .filter((d) => d.type === 'thinking_delta')
        .map((d) => d.thinking as string)
        .join(''),
    ).toBe(FIXTURE_THINKING);
    expect(deltas.at(-1)).toEqual({ type: 'signature_delta', signature: FIXTURE_SIGNATURE });
  });
});

describe('stop sequences', () => {
  it('reports the stop sequence that ended an Anthropic answer, in messages and streams', async () => {
    const request = { model: 'claude', max_tokens: 100, stop_sequences: ['END', 'said'], messages: [{ role: 'user' as const, content: 'hello there' }] };
    const message = await client.messages.create(request);
    expect(message).toMatchObject({ content: [{ type: 'text', text: 'You ' }], stop_reason: 'stop_sequence', stop_sequence: 'said' });
    const { events } = await rawStream(request);
    expect(events.find((e) => e.event === 'message_delta')?.data.delta).toEqual({ stop_reason: 'stop_sequence', stop_sequence: 'said' });
    const final = await client.messages.stream(request).finalMessage();
    expect(final).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: 'said' });
    // An answer that ended on its own still reads as end_turn.
    await expect(client.messages.create({ ...request, stop_sequences: ['nowhere'] })).resolves.toMatchObject({ stop_reason: 'end_turn', stop_sequence: null });
  });
});

describe('routes, credentials and versions', () => {
  it('answers under /anthropic/v1/messages, by x-api-key and by Authorization: Bearer, with any anthropic-version', async () => {
    const prefixed = new Anthropic({ baseURL: `${cerulean.url}/anthropic`, apiKey: MASTER_KEY, maxRetries: 0 });
    const viaPrefix = await prefixed.messages.create({ model: 'gpt', max_tokens: 50, messages: [{ role: 'user', content: 'prefixed' }] });
    expect(viaPrefix.type).toBe('message');
    await expect(prefixed.messages.countTokens({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] })).resolves.toMatchObject({
      input_tokens: expect.any(Number),
    });
    const { status, events } = await rawStream({ model: 'gpt', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] }, '/anthropic/v1/messages');
    expect(status).toBe(200);
    expect(events.at(-1)?.event).toBe('message_stop');

    const bearer = new Anthropic({ baseURL: cerulean.url, apiKey: null, authToken: MASTER_KEY, maxRetries: 0 });
    const viaBearer = await bearer.messages.create({ model: 'gpt', max_tokens: 50, messages: [{ role: 'user', content: 'bearer' }] });
    expect(viaBearer.type).toBe('message');

    for (const version of ['2023-06-01', '2023-01-01', undefined]) {
      const response = await fetch(`${cerulean.url}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': MASTER_KEY, 'content-type': 'application/json', ...(version ? { 'anthropic-version': version } : {}) },
        body: JSON.stringify({ model: 'gpt', max_tokens: 50, messages: [{ role: 'user', content: 'versioned' }] }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('request-id')).toBeTruthy();
    }
  });
});

describe('errors in Anthropic’s envelope and statuses', () => {
  it('missing max_tokens: 400 invalid_request_error naming the field', async () => {
    const response = await fetch(`${cerulean.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as Record<string, any>;
    expect(body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
    expect(body.request_id).toBe(response.headers.get('request-id'));
  });

  it('unknown routes and methods under the Messages paths: 404 and 405 in Anthropic’s envelope', async () => {
    const call = async (method: string, path: string): Promise<{ status: number; body: Record<string, any> }> => {
      const response = await fetch(`${cerulean.url}${path}`, {
        method,
        headers: { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01', ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        body: method === 'POST' ? '{}' : undefined,
      });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    expect(await call('GET', '/v1/messages')).toMatchObject({ status: 405, body: { type: 'error', error: { type: 'invalid_request_error' } } });
    expect(await call('POST', '/v1/messages/batches')).toMatchObject({ status: 404, body: { type: 'error', error: { type: 'not_found_error' } } });
    expect(await call('GET', '/anthropic/v1/models')).toMatchObject({ status: 404, body: { type: 'error', error: { type: 'not_found_error' } } });
  });

  it('bad key: 401 authentication_error', async () => {
    const bad = new Anthropic({ baseURL: cerulean.url, apiKey: 'sk-ant-wrong', maxRetries: 0 });
    const error = await failure(bad.messages.create({ model: 'gpt', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(error.status).toBe(401);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });

  it('no key: 401 naming the headers Anthropic clients send', async () => {
    const response = await fetch(`${cerulean.url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(401);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('authentication_error');
    expect(body.error.message).toContain('x-api-key');
  });

  it('unknown model: 404 not_found_error, for messages and count_tokens', async () => {
    const error = await failure(client.messages.create({ model: 'gpt-nope', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(error.status).toBe(404);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const counted = await failure(client.messages.countTokens({ model: 'gpt-nope', messages: [{ role: 'user', content: 'x' }] }));
    expect(counted.status).toBe(404);
  });

  it('an upstream 529 is passed on as 529 overloaded_error, for messages and streams', async () => {
    const error = await failure(client.messages.create({ model: 'claude-overloaded', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(error.status).toBe(529);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
    const streamed = await failure(
      client.messages.stream({ model: 'claude-overloaded', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }).finalMessage(),
    );
    expect(streamed.status).toBe(529);
  });

  it('an upstream 429 is 429 rate_limit_error with its retry-after, from Anthropic and from OpenAI', async () => {
    const fromAnthropic = await failure(client.messages.create({ model: 'claude-limited', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(fromAnthropic.status).toBe(429);
    expect(fromAnthropic.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(fromAnthropic.headers?.get('retry-after')).toBe('7');
    const fromOpenAI = await failure(client.messages.create({ model: 'gpt-limited', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }));
    expect(fromOpenAI.status).toBe(429);
    expect(fromOpenAI.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(fromOpenAI.headers?.get('retry-after')).toBe('1');
  });
});

describe('deployment aliases', () => {
  it('answers a dated Claude model name through a wildcard alias; an exact alias wins over the pattern', async () => {
    const dated = await client.messages.create({ model: 'claude-sonnet-4-5-20250929', max_tokens: 50, messages: [{ role: 'user', content: 'alias' }] });
    expect(dated.model).toBe('claude-sonnet-4-5-20250929');
    expect(anthropic.requests.at(-1)?.body).toMatchObject({ model: 'claude-sonnet-4-5' });
    // "claude-3-5-haiku-20241022" matches claude-* too, but is gpt's exact alias.
    const exact = await client.messages.create({ model: 'claude-3-5-haiku-20241022', max_tokens: 50, messages: [{ role: 'user', content: 'exact' }] });
    expect(exact.model).toBe('claude-3-5-haiku-20241022');
    expect(openai.requests.at(-1)?.body).toMatchObject({ model: 'gpt-4o-mini' });
    await expect(client.messages.countTokens({ model: 'claude-opus-4-1', messages: [{ role: 'user', content: 'x' }] })).resolves.toMatchObject({
      input_tokens: expect.any(Number),
    });
  });

  it('refuses, with its path, an alias that is another deployment’s name or that two deployments share', () => {
    const base = `
providers:
  up: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1" }
deployments:
  a: { provider: up, model: m, aliases: ["claude-x", "b"] }
  b: { provider: up, model: m, aliases: ["claude-x"] }
`;
    let message = '';
    try {
      parseConfig(base, 'aliases.yaml', {});
    } catch (error) {
      message = String((error as Error).message);
    }
    expect(message).toContain('deployments.a.aliases.1: "b" is the name of deployment "b"');
    expect(message).toContain('deployments.b.aliases.0: "claude-x" is also an alias of deployment "a"');
  });
});

describe('Claude Code’s request shape', () => {
  it('streams an answer from a translated deployment for system blocks with cache_control, server tools, metadata and betas', async () => {
    const body = {
      model: 'claude-3-5-haiku-20241022',
      max_tokens: 32000,
      stream: true,
      system: [
        { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'You are an interactive CLI tool that helps users with software engineering tasks.', cache_control: { type: 'ephemeral' } },
      ],
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: '<system-reminder>\nThis is a reminder.\n</system-reminder>' },
            { type: 'text', text: 'list the files', cache_control: { type: 'ephemeral' } },
          ],
        },
      ],
      tools: [
        {
          name: 'Bash',
          description: 'Executes a given bash command',
          input_schema: {
            type: 'object',
            properties: { command: { type: 'string' }, timeout: { type: 'number' } },
            required: ['command'],
            additionalProperties: false,
            $schema: 'http://json-schema.org/draft-07/schema#',
          },
        },
        { type: 'web_search_20250305', name: 'web_search', max_uses: 8 },
      ],
      metadata: { user_id: 'user_abc123_account__session_0f1e2d3c' },
      temperature: 1,
    };
    const response = await fetch(`${cerulean.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: {
        'x-api-key': MASTER_KEY,
        'anthropic-version': '2023-06-01',
        'anthropic-beta': 'claude-code-20250219,interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14',
        'anthropic-dangerous-direct-browser-access': 'true',
        'x-app': 'cli',
        'user-agent': 'claude-cli/2.0.14 (external, cli)',
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('event: message_start');
    expect(text.trimEnd().endsWith('data: {"type":"message_stop"}')).toBe(true);
    const sent = openai.requests.at(-1)?.body as Record<string, any>;
    expect(sent.model).toBe('gpt-4o-mini');
    expect(sent.stream).toBe(true);
    expect(sent.tools.map((tool: { function: { name: string } }) => tool.function.name)).toEqual(['Bash']);
    expect(sent.user).toBe('user_abc123_account__session_0f1e2d3c');
    expect(sent.messages[0]).toEqual({ role: 'system', content: `${body.system[0].text}\n\n${body.system[1].text}` });
  });
});
