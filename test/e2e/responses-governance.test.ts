import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/master-key.js';
import { parseConfig } from '../../src/config/load.js';
import { startService } from '../../src/service/service.js';
import { DEFAULT_FIXTURE_API_KEY, startGeminiFixture, type GeminiFixture } from '../fixtures/gemini-upstream.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { startScriptedUpstream, type ScriptedUpstream } from '../fixtures/scripted-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * Governance on the Responses API: stored responses are scoped to the project that made them,
 * key scopes, unknown models, quotas, budgets and content filters refuse in OpenAI's shape, usage
 * is recorded under `api: responses` and priced, deletions are audited, and old stored responses
 * are pruned at start.
 */
let upstream: OpenAIFixture;
let scripted: ScriptedUpstream;
let gemini: GeminiFixture;
let cerulean: GovernedCerulean;
let master: OpenAI;
/** Set once the retention test has closed the service to start it again on the same data. */
let closed = false;

const yaml = (): string => `
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
  scripted: { type: openai-compatible, base_url: "${scripted.url}/v1", retry: { max_attempts: 1 } }
  google: { type: gemini, api_key: "${DEFAULT_FIXTURE_API_KEY}", base_url: "${gemini.url}", retry: { max_attempts: 1 } }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
  other: { provider: up, model: gpt-4o-mini }
  priced: { provider: up, model: gpt-4o }
  thinker: { provider: google, model: gemini-thinking-cached }
  guarded: { provider: scripted, model: m }
  local: { provider: scripted, model: m }
  guard: { provider: scripted, model: guard }
content_safety:
  classifiers:
    guard: { type: llama-guard, deployment: guard }
  policies:
    guarded: { classifiers: [guard], jailbreak: off }
    builtin: { classifiers: [local] }
  deployments:
    chat: none
    other: none
    priced: none
    thinker: none
    guard: none
    guarded: guarded
    local: builtin
`;

beforeAll(async () => {
  upstream = await startOpenAIFixture();
  scripted = await startScriptedUpstream();
  gemini = await startGeminiFixture();
  cerulean = await startGovernedCerulean(yaml());
  master = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  for (const id of ['proj_a', 'proj_b', 'proj_quota', 'proj_budget', 'proj_usage']) {
    expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: id, id })).status).toBe(201);
  }
});

afterAll(async () => {
  if (!closed) await cerulean?.close();
  await upstream?.close();
  await scripted?.close();
  await gemini?.close();
});

async function createKey(project: string, body: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const response = await cerulean.admin('POST', `/projects/${project}/keys`, body);
  expect(response.status).toBe(201);
  return response.body;
}

const clientFor = (key: string): OpenAI => new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: key, maxRetries: 0 });

async function post(key: string, body: unknown): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${cerulean.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** OpenAI's error envelope: exactly message, type, param and code. */
function expectOpenAIEnvelope(body: any): void {
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
}

describe('stored responses belong to their project', () => {
  it("hides one project's stored response from another project's key", async () => {
    const a = clientFor((await createKey('proj_a')).key);
    const b = clientFor((await createKey('proj_b')).key);
    const response = await a.responses.create({ model: 'chat', input: 'project a secret' });
    await expect(a.responses.retrieve(response.id)).resolves.toMatchObject({ id: response.id });
    await expect(a.responses.inputItems.list(response.id)).resolves.toMatchObject({ data: [{ type: 'message' }] });

    await expect(b.responses.retrieve(response.id)).rejects.toMatchObject({ status: 404 });
    await expect(b.responses.inputItems.list(response.id)).rejects.toMatchObject({ status: 404 });
    await expect(b.responses.delete(response.id)).rejects.toMatchObject({ status: 404 });
    // Nor can it continue the conversation: the earlier turns are not its to read.
    await expect(b.responses.create({ model: 'chat', input: 'what did a say', previous_response_id: response.id })).rejects.toMatchObject({
      status: 400,
      code: 'previous_response_not_found',
    });
    // Nor refer to its items.
    const reference = await post((await createKey('proj_b')).key, { model: 'chat', input: [{ type: 'item_reference', id: response.output[0].id }] });
    expect(reference.status).toBe(400);
    expect(reference.body.error).toMatchObject({ param: 'input[0]', message: `Item with id '${response.output[0].id}' not found.` });
    await expect(a.responses.create({ model: 'chat', input: [{ type: 'item_reference', id: response.output[0].id! }] })).resolves.toMatchObject({
      status: 'completed',
    });
    // The master key acts for no project: it does not see project responses either.
    await expect(master.responses.retrieve(response.id)).rejects.toMatchObject({ status: 404 });
    // Still there for its own project after all that.
    await expect(a.responses.retrieve(response.id)).resolves.toMatchObject({ id: response.id });
  });

  it('refuses a deployment outside the key’s scope (403) and an unknown model (404 model_not_found)', async () => {
    const scoped = await createKey('proj_a', { deployments: ['chat'] });
    await expect(clientFor(scoped.key).responses.create({ model: 'chat', input: 'fine' })).resolves.toMatchObject({ status: 'completed' });
    const refused = await post(scoped.key, { model: 'other', input: 'not mine' });
    expect(refused.status).toBe(403);
    expectOpenAIEnvelope(refused.body);
    expect(refused.body.error.code).toBe('deployment_not_allowed');

    const unknown = await post(scoped.key, { model: 'no-such-model', input: 'x' });
    expect(unknown.status).toBe(404);
    expectOpenAIEnvelope(unknown.body);
    expect(unknown.body.error).toMatchObject({ code: 'model_not_found', type: 'invalid_request_error' });
  });
});

describe('quotas and budgets', () => {
  it('refuses past a tiny TPM quota with 429 in OpenAI’s shape', async () => {
    expect((await cerulean.admin('PUT', '/projects/proj_quota/quotas/chat', { tpm: 1000 })).status).toBe(200);
    const key = (await createKey('proj_quota')).key;
    // Larger than the whole window: refused for good, naming max_output_tokens as the lever.
    const tooBig = await post(key, { model: 'chat', input: 'hello', max_output_tokens: 5000 });
    expect(tooBig.status).toBe(429);
    expectOpenAIEnvelope(tooBig.body);
    expect(tooBig.body.error.type).toBe('tokens');
    expect(tooBig.body.error.message).toMatch(/^Request too large for chat in project proj_quota on tokens per min \(TPM\): Limit 1000, Requested \d+\./);
    expect(tooBig.headers.get('x-should-retry')).toBe('false');

    // Within the window: the first is admitted with rate-limit headers, the next waits for the window.
    const first = await post(key, { model: 'chat', input: 'hello', max_output_tokens: 300 });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
    const second = await post(key, { model: 'chat', input: 'hello', max_output_tokens: 300 });
    expect(second.status).toBe(429);
    expectOpenAIEnvelope(second.body);
    expect(second.body.error.type).toBe('requests');
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
    await expect(clientFor(key).responses.create({ model: 'chat', input: 'hello', max_output_tokens: 300 })).rejects.toMatchObject({ status: 429 });
  });

  it('stops at an exhausted budget with 429 budget_exceeded', async () => {
    expect((await cerulean.admin('PATCH', '/deployments/priced', { input_per_million: 1, output_per_million: 2 })).status).toBe(200);
    expect((await cerulean.admin('PUT', '/budgets/project/proj_budget', { daily_usd: 0.0003 })).status).toBe(200);
    const client = clientFor((await createKey('proj_budget')).key);
    let admitted = 0;
    let refusal: any;
    for (let i = 0; i < 40 && !refusal; i++) {
      try {
        await client.responses.create({ model: 'priced', input: 'hello', max_output_tokens: 50 });
        admitted += 1;
      } catch (error) {
        refusal = error;
      }
    }
    expect(admitted).toBeGreaterThan(0);
    expect(refusal).toMatchObject({ status: 429, code: 'budget_exceeded' });
    expect(refusal.headers.get('x-should-retry')).toBe('false');
  });
});

describe('content filtering', () => {
  it('blocks a prompt the built-in classifier flags with 400 content_filter; the upstream is not called', async () => {
    const before = scripted.requests.length;
    const blocked = await post(MASTER_KEY, { model: 'local', input: 'I am going to kill you tonight, I know where you live.' });
    expect(blocked.status).toBe(400);
    // Azure's content filter refusal, which OpenAI clients read: code content_filter on param prompt, with the verdicts.
    expect(blocked.body.error).toMatchObject({ code: 'content_filter', param: 'prompt', innererror: { code: 'ResponsibleAIPolicyViolation' } });
    expect(['medium', 'high']).toContain(blocked.body.error.innererror.content_filter_result.violence.severity);
    expect(scripted.requests.length).toBe(before);
    // Items, not just a string input, are judged.
    const items = await master.responses
      .create({ model: 'local', input: [{ role: 'user', content: [{ type: 'input_text', text: 'I am going to kill you tonight, I know where you live.' }] }] })
      .catch((e: unknown) => e);
    expect(items).toMatchObject({ status: 400, code: 'content_filter' });
    await expect(master.responses.create({ model: 'local', input: 'How do I kill a zombie process in Linux?' })).resolves.toMatchObject({
      status: 'completed',
    });
  });

  it('ends a stream the output filter cuts with response.incomplete (content_filter), stored as such', async () => {
    const safe = 'The quick brown fox jumps over the lazy dog near the river bank. '.repeat(20);
    const stream = master.responses.stream({ model: 'guarded', input: `ECHO:${safe}then something {{V}} here.${safe}` });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, index) => index));
    const last = events.at(-1) as OpenAI.Responses.ResponseIncompleteEvent;
    expect(last.type).toBe('response.incomplete');
    expect(last.response.status).toBe('incomplete');
    expect(last.response.incomplete_details).toEqual({ reason: 'content_filter' });
    const text = events
      .filter((e): e is OpenAI.Responses.ResponseTextDeltaEvent => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    expect(text).not.toContain('VIOLENT');
    const itemDone = events.find((e): e is OpenAI.Responses.ResponseOutputItemDoneEvent => e.type === 'response.output_item.done');
    expect(itemDone?.item).toMatchObject({ type: 'message', status: 'incomplete' });
    const stored = await master.responses.retrieve(last.response.id);
    expect(stored.status).toBe('incomplete');
    expect(stored.incomplete_details).toEqual({ reason: 'content_filter' });

    // The same cut without streaming.
    const plain = await master.responses.create({ model: 'guarded', input: `ECHO:${safe}then something {{V}} here.` });
    expect(plain.status).toBe('incomplete');
    expect(plain.incomplete_details).toEqual({ reason: 'content_filter' });
  });
});

describe('usage and audit', () => {
  it('records usage under api "responses", priced with cached and reasoning tokens', async () => {
    // $1 per million input tokens, $0.25 cached, $4 output (reasoning tokens are output tokens).
    const prices = { input_per_million: 1, cached_input_per_million: 0.25, output_per_million: 4 };
    expect((await cerulean.admin('PATCH', '/deployments/thinker', prices)).status).toBe(200);
    const client = clientFor((await createKey('proj_usage')).key);
    const answered = await client.responses.create({ model: 'thinker', input: 'think about the weather in Paris today please' });
    const streamed = await client.responses.stream({ model: 'thinker', input: 'think again about the weather in Rome' }).finalResponse();
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'a chat call' }] });

    const usages = [answered.usage, streamed.usage].map((usage) => {
      expect(usage?.input_tokens_details.cached_tokens).toBeGreaterThan(0);
      expect(usage?.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);
      return usage!;
    });

    await cerulean.governance.ledger.flush();
    const report = await cerulean.admin('GET', '/usage?project=proj_usage&group_by=api');
    expect(report.status).toBe(200);
    const byApi = Object.fromEntries(report.body.data.map((row: { api: string }) => [row.api, row]));
    expect(Object.keys(byApi).sort()).toEqual(['chat', 'responses']);
    const prompt = usages.reduce((sum, u) => sum + u.input_tokens, 0);
    const cached = usages.reduce((sum, u) => sum + u.input_tokens_details.cached_tokens, 0);
    const completion = usages.reduce((sum, u) => sum + u.output_tokens, 0);
    expect(byApi.responses).toMatchObject({ requests: 2, prompt_tokens: prompt, cached_tokens: cached, completion_tokens: completion });
    expect(byApi.responses.cost_usd).toBeCloseTo(((prompt - cached) * 1 + cached * 0.25 + completion * 4) / 1_000_000, 6);
    expect(byApi.responses.cost_usd).toBeGreaterThan(0);
    expect(byApi.chat).toMatchObject({ requests: 1, cost_usd: 0 });

    const onlyResponses = await cerulean.admin('GET', '/usage?project=proj_usage&api=responses');
    expect(onlyResponses.body.data[0]).toMatchObject({ requests: 2 });
  });

  it('audits the deletion of a stored response', async () => {
    const key = await createKey('proj_a');
    const client = clientFor(key.key);
    const response = await client.responses.create({ model: 'chat', input: 'to be deleted' });
    await client.responses.delete(response.id);
    const audit = await cerulean.admin('GET', '/audit?action=response.delete');
    expect(audit.status).toBe(200);
    const entry = audit.body.data.find((e: { target: string }) => e.target === `response:${response.id}`);
    expect(entry).toMatchObject({
      action: 'response.delete',
      actor: `key:${key.id}`,
      target: `response:${response.id}`,
      before: { id: response.id, model: 'chat', status: 'completed' },
      after: null,
    });
    const verify = await cerulean.admin('GET', '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true });
  });
});

describe('retention', () => {
  it('prunes stored responses older than responses.retention_days when the service starts', async () => {
    const dataDir = cerulean.dataDir;
    const day = 86_400_000;
    const old = await master.responses.create({ model: 'chat', input: 'an old answer' });
    const recent = await master.responses.create({ model: 'chat', input: 'a recent answer' });
    // Backdate one stored response as if it were made 40 days ago.
    const record = await cerulean.governance.storage.responses.get('', old.id);
    await cerulean.governance.storage.responses.put({ ...record!, createdAt: Date.now() - 40 * day });
    await cerulean.close();
    closed = true;

    // The same data, a service that keeps responses 30 days: the old one is gone once it has started.
    const config = parseConfig(`data_dir: ${JSON.stringify(dataDir)}\n${yaml()}\nresponses: { retention_days: 30 }\n`, 'test.yaml', {});
    const service = await startService(config, { masterHash: hashKey(MASTER_KEY), version: 'test' });
    try {
      const url = await service.server.listen('127.0.0.1', 0);
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
      await expect.poll(async () => (await service.governance.storage.responses.get('', old.id)) === undefined, { timeout: 5_000 }).toBe(true);
      await expect(client.responses.retrieve(old.id)).rejects.toMatchObject({ status: 404 });
      await expect(client.responses.retrieve(recent.id)).resolves.toMatchObject({ id: recent.id });
    } finally {
      await service.close();
    }
  });
});
