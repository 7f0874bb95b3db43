import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderAnthropicError } from '../../src/api/anthropic/anthropic-errors.js';
import { configSchema, type DeploymentConfig, type ProviderConfig } from '../../src/config/schema.js';
import { InvalidRequestError, UpstreamStatusError } from '../../src/errors/catalogue.js';
import { renderError } from '../../src/errors/render.js';
import { AnthropicProvider } from '../../src/providers/anthropic/anthropic-provider.js';
import type { JsonObject, Target } from '../../src/providers/provider.js';
import { UpstreamClient } from '../../src/providers/upstream-client.js';

/**
 * The Anthropic provider's side of the Messages API: thinking carried as Cerulean's
 * `reasoning_content`/`reasoning_signature`, `thinking` and `top_k` honoured in translated
 * requests, native requests that keep the caller's body, and an upstream 529 kept for the renderer.
 */

function providerConfig(entry: Record<string, unknown>): ProviderConfig {
  return configSchema.parse({ providers: { anthropic: { type: 'anthropic', ...entry } } }).providers.anthropic as ProviderConfig;
}

const target: Target = {
  deployment: 'claude',
  model: 'claude-sonnet-4-5-20250929',
  config: { provider: 'anthropic', model: 'claude-sonnet-4-5-20250929' } as DeploymentConfig,
};
const provider = new AnthropicProvider('anthropic', providerConfig({ api_key: 'sk-ant-1', headers: { 'anthropic-beta': 'configured-beta' } }), []);

function translated(body: JsonObject): JsonObject {
  return JSON.parse(provider.buildRequest('chat', body, target, false).body as string) as JsonObject;
}

describe('thinking from Anthropic', () => {
  it('becomes reasoning_content and reasoning_signature on the chat message; redacted thinking is dropped', () => {
    const { body, usage } = provider.parseResponse(
      'chat',
      {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-sonnet-4-5',
        content: [
          { type: 'thinking', thinking: 'Step one.', signature: 'sig-1' },
          { type: 'redacted_thinking', data: 'opaque' },
          { type: 'text', text: 'Answer.' },
        ],
        stop_reason: 'end_turn',
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 20, cache_creation_input_tokens: 30, cache_read_input_tokens: 40 },
      },
      target,
    );
    expect((body.choices as JsonObject[])[0].message).toEqual({
      role: 'assistant',
      content: 'Answer.',
      refusal: null,
      reasoning_content: 'Step one.',
      reasoning_signature: 'sig-1',
    });
    expect(usage).toEqual({
      prompt_tokens: 80,
      completion_tokens: 20,
      total_tokens: 100,
      prompt_tokens_details: { cached_tokens: 40, cache_creation_tokens: 30 },
    });
  });

  it('streams as reasoning_content deltas and a reasoning_signature delta', () => {
    const translator = provider.createStreamTranslator('chat', target);
    const event = (data: JsonObject) => ({ event: data.type as string, data: JSON.stringify(data) });
    const deltas = [
      event({
        type: 'message_start',
        message: {
          id: 'msg_2',
          type: 'message',
          role: 'assistant',
          model: 'm',
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 1, output_tokens: 1 },
        },
      }),
      event({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } }),
      event({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'Hmm.' } }),
      event({ type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'sig-2' } }),
      event({ type: 'content_block_stop', index: 0 }),
      event({ type: 'content_block_start', index: 1, content_block: { type: 'redacted_thinking', data: 'opaque' } }),
    ]
      .flatMap((e) => translator.push(e))
      .map((chunk) => (chunk.choices as JsonObject[])[0].delta);
    expect(deltas).toEqual([{ role: 'assistant', content: '' }, { reasoning_content: 'Hmm.' }, { reasoning_signature: 'sig-2' }]);
  });

  it('keeps an overload reported inside a stream as upstream status 529', () => {
    const translator = provider.createStreamTranslator('chat', target);
    let thrown: unknown;
    try {
      translator.push({ event: 'error', data: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }) });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UpstreamStatusError);
    expect(thrown).toMatchObject({ status: 503, upstreamStatus: 529, code: 'overloaded_error' });
    expect(renderAnthropicError(thrown).status).toBe(529);
  });
});

describe('toAnthropicRequest with Cerulean extensions', () => {
  it('passes thinking and top_k', () => {
    const body = translated({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 8000, top_k: 5, thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(body).toMatchObject({ top_k: 5, thinking: { type: 'enabled', budget_tokens: 2048 } });
    expect(translated({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'adaptive' } }).thinking).toEqual({ type: 'adaptive' });
    expect(translated({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'disabled', extra: 1 } }).thinking).toEqual({ type: 'disabled' });
    expect(translated({ messages: [{ role: 'user', content: 'hi' }] })).not.toHaveProperty('thinking');
    expect(() => translated({ messages: [{ role: 'user', content: 'hi' }], thinking: { type: 'on' } })).toThrow(InvalidRequestError);
  });

  it('sends an assistant turn’s signed reasoning back as its first block', () => {
    const body = translated({
      messages: [
        { role: 'user', content: 'Weather?' },
        {
          role: 'assistant',
          content: null,
          reasoning_content: 'Need the tool.',
          reasoning_signature: 'sig-3',
          tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'Sunny' },
        { role: 'assistant', content: 'Sunny.', reasoning_content: 'unsigned, left out' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'Need the tool.', signature: 'sig-3' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'Sunny' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Sunny.' }] },
    ]);
  });
});

describe('native Messages requests', () => {
  const callerBody = {
    model: 'claude',
    max_tokens: 1024,
    system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral', ttl: '1h' } }] }],
    thinking: { type: 'enabled', budget_tokens: 1024 },
    top_k: 3,
    context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
    stream: false,
  };

  it('sends the caller’s body with only model replaced and stream set, on the provider’s path and headers', () => {
    const request = provider.nativeMessagesRequest(callerBody, target, true);
    expect(request).toMatchObject({ method: 'POST', path: '/v1/messages' });
    expect(request.headers).toEqual({
      'content-type': 'application/json',
      'anthropic-beta': 'configured-beta',
      'x-api-key': 'sk-ant-1',
      'anthropic-version': '2023-06-01',
    });
    expect(JSON.parse(request.body as string)).toEqual({ ...callerBody, model: 'claude-sonnet-4-5-20250929', stream: true });
    expect(JSON.parse(provider.nativeMessagesRequest(callerBody, target, false).body as string).stream).toBe(false);
  });

  it('joins the caller’s anthropic-beta to the configured one', () => {
    expect(provider.nativeMessagesRequest(callerBody, target, false, 'context-management-2025-06-27').headers['anthropic-beta']).toBe(
      'configured-beta,context-management-2025-06-27',
    );
    const plain = new AnthropicProvider('a', providerConfig({ api_key: 'k' }), []);
    expect(plain.nativeMessagesRequest(callerBody, target, false, 'interleaved-thinking-2025-05-14').headers['anthropic-beta']).toBe(
      'interleaved-thinking-2025-05-14',
    );
    expect(plain.nativeMessagesRequest(callerBody, target, false, ' ').headers).not.toHaveProperty('anthropic-beta');
  });

  it('counts tokens on /v1/messages/count_tokens', () => {
    const request = provider.nativeCountTokensRequest({ model: 'claude', messages: callerBody.messages }, target);
    expect(request.path).toBe('/v1/messages/count_tokens');
    expect(JSON.parse(request.body as string)).toEqual({ model: 'claude-sonnet-4-5-20250929', messages: callerBody.messages });
  });
});

describe('an upstream 529', () => {
  let upstream: Server;
  let client: UpstreamClient;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      res.writeHead(529, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' }, request_id: 'req_1' }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const config = providerConfig({ api_key: 'k', base_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, retry: { max_attempts: 1 } });
    client = new UpstreamClient(new AnthropicProvider('anthropic', config, []), config);
  });

  afterAll(async () => {
    await client?.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it('is 503 for OpenAI callers and 529 overloaded_error for Messages callers', async () => {
    const request = provider.nativeMessagesRequest({ model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, target, false);
    const failure = await client.sendBuffered(request, { deployment: 'claude', signal: new AbortController().signal }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamStatusError);
    expect(failure).toMatchObject({ status: 503, upstreamStatus: 529 });
    expect(renderError(failure, 'openai').status).toBe(503);
    const rendered = renderAnthropicError(failure);
    expect(rendered.status).toBe(529);
    expect(rendered.body).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });
  });
});
