import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_API_KEY, startAnthropicFixture, type AnthropicFixture } from '../fixtures/anthropic-upstream.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { startScriptedUpstream, type ScriptedUpstream } from '../fixtures/scripted-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * Governance on the Messages API, with the Anthropic SDK as the caller: key scopes, quotas,
 * budgets, the content filter and metering (prompt-cache tokens priced), each answered in
 * Anthropic's envelope and statuses.
 */
let openai: OpenAIFixture;
let anthropic: AnthropicFixture;
let scripted: ScriptedUpstream;
let cerulean: GovernedCerulean;

beforeAll(async () => {
  openai = await startOpenAIFixture();
  anthropic = await startAnthropicFixture();
  scripted = await startScriptedUpstream();
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${openai.url}/v1", retry: { max_attempts: 1 } }
  claude: { type: anthropic, api_key: "${FIXTURE_API_KEY}", base_url: "${anthropic.url}", retry: { max_attempts: 1 } }
  scripted: { type: openai-compatible, base_url: "${scripted.url}/v1", retry: { max_attempts: 1 } }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
  other: { provider: up, model: gpt-4o }
  priced: { provider: up, model: gpt-4o }
  claude-cached: { provider: claude, model: cached-prefix }
  filtered: { provider: scripted, model: m }
  guard: { provider: scripted, model: guard }
content_safety:
  classifiers:
    guard: { type: llama-guard, deployment: guard }
  policies:
    default: { classifiers: [guard], jailbreak: off }
  deployments:
    chat: none
    other: none
    priced: none
    claude-cached: none
    guard: none
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
});

afterAll(async () => {
  await cerulean?.close();
  await openai?.close();
  await anthropic?.close();
  await scripted?.close();
});

async function project(id: string): Promise<void> {
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: id, id })).status).toBe(201);
}

async function keyFor(projectId: string, body: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const response = await cerulean.admin('POST', `/projects/${projectId}/keys`, body);
  expect(response.status).toBe(201);
  return response.body;
}

const clientFor = (key: string): Anthropic => new Anthropic({ baseURL: cerulean.url, apiKey: key, maxRetries: 0 });

const ask = (content: string, max_tokens = 100) => ({ max_tokens, messages: [{ role: 'user' as const, content }] });

async function failure(call: Promise<unknown>): Promise<InstanceType<typeof Anthropic.APIError>> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Anthropic.APIError);
  return error as InstanceType<typeof Anthropic.APIError>;
}

async function usageOf(projectId: string, groups: string): Promise<Array<Record<string, any>>> {
  await cerulean.governance.ledger.flush();
  const usage = await cerulean.admin('GET', `/usage?project=${projectId}&group_by=${groups}`);
  expect(usage.status).toBe(200);
  return usage.body.data;
}

describe('access and limits', () => {
  it('a key scoped to other deployments: 403 permission_error; its own deployment answers', async () => {
    await project('proj_scope');
    const client = clientFor((await keyFor('proj_scope', { deployments: ['chat'] })).key);
    await expect(client.messages.create({ model: 'chat', ...ask('hi') })).resolves.toMatchObject({ type: 'message' });
    const refused = await failure(client.messages.create({ model: 'other', ...ask('hi') }));
    expect(refused.status).toBe(403);
    expect(refused.error).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    // count_tokens keeps the scope too: a deployment the key may not use is not there for it.
    const counted = await failure(client.messages.countTokens({ model: 'other', messages: [{ role: 'user', content: 'x' }] }));
    expect(counted.status).toBe(404);
  });

  it('a TPM quota: 429 rate_limit_error with retry-after, and a request too large for good is not to be retried', async () => {
    await project('proj_quota');
    expect((await cerulean.admin('PUT', '/projects/proj_quota/quotas/chat', { tpm: 1000 })).status).toBe(200);
    const client = clientFor((await keyFor('proj_quota')).key);
    const first = await client.messages.create({ model: 'chat', ...ask('hello', 300) }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
    const second = await failure(client.messages.create({ model: 'chat', ...ask('hello', 300) }));
    expect(second.status).toBe(429);
    expect(second.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(Number(second.headers?.get('retry-after'))).toBeGreaterThan(0);
    const tooBig = await failure(client.messages.create({ model: 'chat', ...ask('hello', 5000) }));
    expect(tooBig.status).toBe(429);
    expect(tooBig.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.stringContaining('max_tokens (5000)') } });
    expect(tooBig.headers?.get('x-should-retry')).toBe('false');
  });

  it('a spent budget: 429 rate_limit_error that the SDK must not retry', async () => {
    await project('proj_budget');
    expect((await cerulean.admin('PATCH', '/deployments/priced', { input_per_million: 1, output_per_million: 2 })).status).toBe(200);
    expect((await cerulean.admin('PUT', '/budgets/project/proj_budget', { daily_usd: 0.0002 })).status).toBe(200);
    const client = clientFor((await keyFor('proj_budget')).key);
    let admitted = 0;
    let refusal: InstanceType<typeof Anthropic.APIError> | undefined;
    for (let i = 0; i < 40 && !refusal; i++) {
      try {
        await client.messages.create({ model: 'priced', ...ask('hello', 50) });
        admitted += 1;
      } catch (error) {
        refusal = error as InstanceType<typeof Anthropic.APIError>;
      }
    }
    expect(admitted).toBeGreaterThan(0);
    expect(refusal?.status).toBe(429);
    expect(refusal?.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(refusal?.headers?.get('x-should-retry')).toBe('false');
  });
});

describe('content filter', () => {
  it('refuses a blocked prompt with 400 invalid_request_error; the upstream is not called', async () => {
    const client = clientFor(MASTER_KEY);
    const before = scripted.requests.filter((r) => r.body.model === 'm').length;
    const error = await failure(client.messages.create({ model: 'filtered', ...ask('a VIOLENT request') }));
    expect(error.status).toBe(400);
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(scripted.requests.filter((r) => r.body.model === 'm').length).toBe(before);
    await expect(client.messages.create({ model: 'filtered', ...ask('a kind request') })).resolves.toMatchObject({
      content: [{ type: 'text', text: 'All good.' }],
    });
  });

  it('ends a stream whose output was cut with an error event, not message_stop, and still records it', async () => {
    await project('proj_filter');
    const key = await keyFor('proj_filter');
    const safe = 'The quick brown fox jumps over the lazy dog near the river bank. '.repeat(20);
    const response = await fetch(`${cerulean.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': key.key, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'filtered', ...ask(`ECHO:${safe}then {{V}} here.${safe}`), stream: true }),
    });
    expect(response.status).toBe(200);
    const frames = (await response.text()).split('\n\n').filter((frame) => frame.trim() !== '');
    const names = frames.map((frame) => /^event: (.+)$/m.exec(frame)?.[1]);
    expect(names[0]).toBe('message_start');
    expect(names).not.toContain('message_delta');
    expect(names).not.toContain('message_stop');
    expect(names.at(-1)).toBe('error');
    expect(JSON.parse(/^data: (.+)$/m.exec(frames.at(-1) ?? '')?.[1] ?? '{}')).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'Output blocked by the content filtering policy.' },
    });
    // Every block opened was closed before the error.
    expect(names.filter((name) => name === 'content_block_start').length).toBe(names.filter((name) => name === 'content_block_stop').length);
    const released = frames
      .filter((frame) => frame.startsWith('event: content_block_delta'))
      .map((frame) => JSON.parse(/^data: (.+)$/m.exec(frame)?.[1] ?? '{}').delta.text as string)
      .join('');
    expect(released).not.toContain('VIOLENT');

    const error = await failure(
      clientFor(key.key)
        .messages.stream({ model: 'filtered', ...ask(`ECHO:${safe}then {{V}} here.`) })
        .finalMessage(),
    );
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });

    // Without a stream, a blocked answer is Anthropic's `refusal` stop reason, its text withheld.
    const refused = await clientFor(key.key).messages.create({ model: 'filtered', ...ask('ECHO:then {{V}} here.') });
    expect(refused.stop_reason).toBe('refusal');
    expect(JSON.stringify(refused.content)).not.toContain('VIOLENT');

    const [row] = await usageOf('proj_filter', 'api');
    expect(row).toMatchObject({ api: 'messages', requests: 3 });
  });
});

describe('metering', () => {
  it('reports Messages requests grouped by api, with their tokens', async () => {
    await project('proj_usage');
    const client = clientFor((await keyFor('proj_usage')).key);
    const before = { ...openai.billed };
    const message = await client.messages.create({ model: 'chat', ...ask('count me') });
    const streamed = await client.messages.stream({ model: 'chat', ...ask('count me too') }).finalMessage();
    const rows = await usageOf('proj_usage', 'api');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      api: 'messages',
      requests: 2,
      prompt_tokens: openai.billed.prompt - before.prompt,
      completion_tokens: openai.billed.completion - before.completion,
    });
    expect(rows[0].prompt_tokens).toBe(message.usage.input_tokens + streamed.usage.input_tokens);
    expect(rows[0].completion_tokens).toBe(message.usage.output_tokens + streamed.usage.output_tokens);
  });

  it('meters prompt-cache reads as cached tokens and prices them, for answers and streams', async () => {
    await project('proj_cache');
    // $3 per million input tokens, $0.30 per million cached, $15 per million output.
    expect(
      (await cerulean.admin('PATCH', '/deployments/claude-cached', { input_per_million: 3, cached_input_per_million: 0.3, output_per_million: 15 })).status,
    ).toBe(200);
    const client = clientFor((await keyFor('proj_cache')).key);
    const request = {
      model: 'claude-cached',
      max_tokens: 100,
      system: [{ type: 'text' as const, text: 'A long, stable prefix.', cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: 'cached question' }],
    };
    const message = await client.messages.create(request);
    expect(message.usage).toMatchObject({ cache_read_input_tokens: 2048, cache_creation_input_tokens: 512 });
    expect(message.usage.input_tokens).toBeGreaterThan(0);
    const streamed = await client.messages.stream(request).finalMessage();
    expect(streamed.usage).toMatchObject({ cache_read_input_tokens: 2048, cache_creation_input_tokens: 512, input_tokens: message.usage.input_tokens });

    const [row] = await usageOf('proj_cache', 'api,deployment');
    const prompt = 2 * (message.usage.input_tokens + 2048 + 512);
    const completion = message.usage.output_tokens + streamed.usage.output_tokens;
    expect(row).toMatchObject({
      api: 'messages',
      deployment: 'claude-cached',
      requests: 2,
      prompt_tokens: prompt,
      cached_tokens: 2 * 2048,
      completion_tokens: completion,
    });
    // Each request is charged to the micro-dollar.
    expect(row.cost_usd).toBeCloseTo(((prompt - 4096) * 3 + 4096 * 0.3 + completion * 15) / 1_000_000, 5);
    expect(row.cost_usd).toBeLessThan((prompt * 3 + completion * 15) / 1_000_000);
  });
});
