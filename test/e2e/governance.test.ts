import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

let upstream: OpenAIFixture;
let cerulean: GovernedCerulean;

beforeAll(async () => {
  upstream = await startOpenAIFixture();
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
  embed: { provider: up, model: text-embedding-3-small }
  frontier: { provider: up, model: gpt-5 }
  priced: { provider: up, model: gpt-4o }
`);
  const org = await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' });
  expect(org.status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Search', id: 'proj_search' })).status).toBe(201);
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

async function createKey(body: Record<string, unknown>, project = 'proj_search'): Promise<{ id: string; key: string }> {
  const response = await cerulean.admin('POST', `/projects/${project}/keys`, body);
  expect(response.status).toBe(201);
  return response.body;
}

function clientFor(key: string): OpenAI {
  return new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: key, maxRetries: 0 });
}

/** HTTP status a chat call ends with: 200, or the error's status. */
async function chatStatus(client: OpenAI, model: string): Promise<number> {
  try {
    await client.chat.completions.create({ model, ...hello });
    return 200;
  } catch (error) {
    return (error as { status: number }).status;
  }
}

const hello = { messages: [{ role: 'user' as const, content: 'hello' }] };

describe('managed keys', () => {
  it('creates a key shown once, stored as a hash with a visible prefix, and accepts it', async () => {
    const created = await createKey({ name: 'ci' });
    expect(created.key).toMatch(/^cer-[A-Za-z0-9_-]{43}$/);
    const listed = await cerulean.admin('GET', '/projects/proj_search/keys');
    const entry = listed.body.data.find((key: { id: string }) => key.id === created.id);
    expect(entry.prefix).toBe(created.key.slice(0, 12));
    expect(JSON.stringify(listed.body)).not.toContain(created.key);
    expect(entry).not.toHaveProperty('hash');
    const completion = await clientFor(created.key).chat.completions.create({ model: 'chat', ...hello });
    expect(completion.choices[0].message.content).toContain('fixture');
  });

  it('limits a key scoped to some deployments to those', async () => {
    const scoped = await createKey({ deployments: ['chat'] });
    const client = clientFor(scoped.key);
    await expect(client.chat.completions.create({ model: 'chat', ...hello })).resolves.toBeTruthy();
    await expect(client.embeddings.create({ model: 'embed', input: 'x' })).rejects.toMatchObject({ status: 403, code: 'deployment_not_allowed' });
  });

  it('refuses a revoked key at once, and an expired key', async () => {
    const key = await createKey({});
    const client = clientFor(key.key);
    await client.chat.completions.create({ model: 'chat', ...hello });
    expect((await cerulean.admin('POST', `/keys/${key.id}/revoke`)).status).toBe(200);
    await expect.poll(() => chatStatus(client, 'chat'), { timeout: 1_000 }).toBe(401);
    expect((await cerulean.admin('POST', `/keys/${key.id}/revoke`)).status).toBe(409);

    const shortLived = await createKey({ expires: new Date(Date.now() + 1_200).toISOString() });
    await expect(clientFor(shortLived.key).chat.completions.create({ model: 'chat', ...hello })).resolves.toBeTruthy();
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    await expect(clientFor(shortLived.key).chat.completions.create({ model: 'chat', ...hello })).rejects.toMatchObject({ status: 401 });
  });

  it('refuses keys of a project that allows tokens only', async () => {
    await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Tokens only', id: 'proj_tokens' });
    const key = await createKey({}, 'proj_tokens');
    await expect(clientFor(key.key).chat.completions.create({ model: 'chat', ...hello })).resolves.toBeTruthy();
    expect((await cerulean.admin('PATCH', '/projects/proj_tokens', { key_auth: false })).status).toBe(200);
    await expect.poll(() => chatStatus(clientFor(key.key), 'chat')).toBe(403);
  });

  it('never lets a key use the admin API', async () => {
    const key = await createKey({});
    const response = await cerulean.admin('GET', '/projects/proj_search/keys', undefined, key.key);
    // The key's own project is visible to it, so this is a refusal (403), not a "no such project".
    expect(response.status).toBe(403);
    expect((await cerulean.admin('POST', '/organizations', { name: 'Evil' }, key.key)).status).toBe(403);
  });
});

describe('limited access', () => {
  it('gates a deployment until an application is approved, auditing both', async () => {
    expect((await cerulean.admin('PATCH', '/deployments/frontier', { gated: true })).status).toBe(200);
    const key = await createKey({});
    const client = clientFor(key.key);
    const refused = await client.chat.completions.create({ model: 'frontier', ...hello }).catch((e: { status: number; code: string; message: string }) => e);
    expect(refused).toMatchObject({ status: 403, code: 'limited_access' });
    expect((refused as { message: string }).message).toContain('cerulean access apply --project proj_search --deployment frontier');

    const tooShort = await cerulean.admin('POST', '/projects/proj_search/access-requests', { deployment: 'frontier', use_case: 'short' });
    expect(tooShort.status).toBe(400);
    const applied = await cerulean.admin('POST', '/projects/proj_search/access-requests', {
      deployment: 'frontier',
      use_case: 'Summarising support tickets for our agents.',
    });
    expect(applied.status).toBe(201);
    expect(
      (await cerulean.admin('POST', '/projects/proj_search/access-requests', { deployment: 'frontier', use_case: 'Summarising support tickets again, twice.' }))
        .status,
    ).toBe(409);
    await expect(client.chat.completions.create({ model: 'frontier', ...hello })).rejects.toMatchObject({ status: 403 });
    expect((await cerulean.admin('POST', `/access-requests/${applied.body.id}/approve`, { reason: 'fine' })).status).toBe(200);
    await expect.poll(() => chatStatus(client, 'frontier')).toBe(200);
    expect((await cerulean.admin('POST', `/access-requests/${applied.body.id}/reject`)).status).toBe(409);

    const audit = await cerulean.admin('GET', '/audit?action=access.approve');
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({
      actor: 'master',
      target: `access-request:${applied.body.id}`,
      before: { status: 'pending' },
      after: { status: 'approved' },
    });
  });
});

describe('model list', () => {
  it('lists and retrieves only the deployments the caller may use (key scope, limited access)', async () => {
    // Runs after "limited access": frontier is gated, and this new project is not approved for it.
    expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Catalog', id: 'proj_catalog' })).status).toBe(201);
    const scoped = clientFor((await createKey({ deployments: ['chat', 'frontier'] }, 'proj_catalog')).key);
    const ids = async (client: OpenAI): Promise<string[]> => (await client.models.list()).data.map((model) => model.id).sort();
    expect(await ids(scoped)).toEqual(['chat']);
    await expect(scoped.models.retrieve('chat')).resolves.toMatchObject({ id: 'chat' });
    await expect(scoped.models.retrieve('embed')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(scoped.models.retrieve('frontier')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    const unscoped = clientFor((await createKey({}, 'proj_catalog')).key);
    expect(await ids(unscoped)).toEqual(['chat', 'embed', 'priced']);
    expect(await ids(clientFor(MASTER_KEY))).toEqual(['chat', 'embed', 'frontier', 'priced']);
  });
});

describe('quotas', () => {
  it('admits per Azure semantics, sends rate-limit headers and answers 429 with retry-after', async () => {
    await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Quota', id: 'proj_quota' });
    expect((await cerulean.admin('PUT', '/projects/proj_quota/quotas/chat', { tpm: 1000 })).status).toBe(200);
    const key = await createKey({}, 'proj_quota');
    const client = clientFor(key.key);
    const first = await client.chat.completions.create({ model: 'chat', ...hello, max_tokens: 300 }).withResponse();
    expect(first.response.headers.get('x-ratelimit-limit-tokens')).toBe('1000');
    expect(Number(first.response.headers.get('x-ratelimit-remaining-tokens'))).toBeLessThan(1000);
    expect(first.response.headers.get('x-ratelimit-limit-requests')).toBe('1');
    // RPM = 6 per 1,000 TPM over 10-second windows: one request per 10 s here.
    const second = await client.chat.completions
      .create({ model: 'chat', ...hello, max_tokens: 300 })
      .catch((e: { status: number; headers: Headers; message: string }) => e);
    expect(second).toMatchObject({ status: 429 });
    const retryAfter = Number((second as { headers: Headers }).headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThan(60);
    expect(Number((second as { headers: Headers }).headers.get('retry-after-ms'))).toBeGreaterThan(0);
    expect((second as { message: string }).message).toMatch(
      /^429 Rate limit reached for chat in project proj_quota on requests per min \(RPM\): Limit 6, enforced as 1 per 10 s, Used 1, Requested 1\. Please try again in [\d.]+m?s\./,
    );
    expect((second as unknown as { type: string }).type).toBe('requests');
  });

  it('refuses a request whose estimate exceeds the token window for good, naming the limit and max_tokens', async () => {
    await cerulean.admin('PUT', '/projects/proj_quota/quotas/embed', { tpm: 2000 });
    const key = await createKey({}, 'proj_quota');
    const tooBig = (await clientFor(key.key)
      .chat.completions.create({ model: 'chat', ...hello, max_tokens: 5000 })
      .catch((e: unknown) => e)) as { status: number; message: string; type: string; headers: Headers };
    expect(tooBig).toMatchObject({ status: 429, type: 'tokens' });
    expect(tooBig.headers.get('x-should-retry')).toBe('false');
    expect(tooBig.headers.get('retry-after')).toBeNull();
    expect(tooBig.message).toMatch(
      /^429 Request too large for chat in project proj_quota on tokens per min \(TPM\): Limit 1000, Requested \d+\. .*max_tokens \(5000\)/,
    );

    // No max_tokens at all: the default allowance (4,096) alone is too much; the Azure route says so in Azure's words.
    const azure = await fetch(`${cerulean.url}/openai/deployments/chat/chat/completions?api-version=2024-10-21`, {
      method: 'POST',
      headers: { 'api-key': key.key, 'content-type': 'application/json' },
      body: JSON.stringify(hello),
    });
    expect(azure.status).toBe(429);
    expect(azure.headers.get('x-should-retry')).toBe('false');
    const { error } = (await azure.json()) as { error: { code: string; message: string } };
    expect(error.code).toBe('429');
    expect(error.message).toMatch(/^Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit/);
    expect(error.message).toContain('retrying will not help');
    expect(error.message).toContain('max_tokens of 4096');
  });
});

describe('budgets and usage', () => {
  it('stops spending at the budget, records usage exactly and exports it', async () => {
    await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Budget', id: 'proj_budget' });
    // $1 per million input tokens and $2 per million output tokens.
    expect((await cerulean.admin('PATCH', '/deployments/priced', { input_per_million: 1, output_per_million: 2 })).status).toBe(200);
    const budget = await cerulean.admin('PUT', '/budgets/project/proj_budget', { daily_usd: 0.0005 });
    expect(budget.status).toBe(200);
    expect(budget.body).toMatchObject({ daily_usd: 0.0005, monthly_usd: null });
    const key = await createKey({}, 'proj_budget');
    const client = clientFor(key.key);
    const before = { ...upstream.billed };
    let admitted = 0;
    let refusal: { status?: number; code?: string; headers?: Headers } | undefined;
    for (let i = 0; i < 40 && !refusal; i++) {
      try {
        await client.chat.completions.create({ model: 'priced', ...hello, max_tokens: 50, user: 'end-user-7' });
        admitted += 1;
      } catch (error) {
        refusal = error as typeof refusal;
      }
    }
    expect(admitted).toBeGreaterThan(0);
    expect(refusal).toMatchObject({ status: 429, code: 'budget_exceeded' });
    expect(refusal?.headers?.get('x-should-retry')).toBe('false');

    await cerulean.governance.ledger.flush();
    const usage = await cerulean.admin('GET', '/usage?project=proj_budget&group_by=deployment');
    expect(usage.status).toBe(200);
    const row = usage.body.data.find((r: { deployment: string }) => r.deployment === 'priced');
    const prompt = upstream.billed.prompt - before.prompt;
    const completion = upstream.billed.completion - before.completion;
    expect(row.prompt_tokens).toBe(prompt);
    expect(row.completion_tokens).toBe(completion);
    expect(row.requests).toBe(admitted + 1); // the refused request is recorded too, with no tokens
    expect(row.errors).toBe(1); // and counted as an error
    expect(row.cost_usd).toBeLessThanOrEqual(0.0005);
    expect(row.cost_usd).toBeCloseTo((prompt * 1 + completion * 2) / 1_000_000, 6);

    const csv = await cerulean.admin('GET', '/usage?project=proj_budget&group_by=deployment,day&format=csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(String(csv.body).split('\r\n')[0]).toBe('deployment,day,requests,prompt_tokens,cached_tokens,completion_tokens,cost_usd,errors');

    const record = await cerulean.governance.storage.usage.query({ projectId: 'proj_budget' }, ['key']);
    expect(record[0].key).toBe(key.id);
  });
});

describe('admin API input and documents', () => {
  it('validates input with 400, 404 and 409 in the OpenAI envelope', async () => {
    const unknownField = await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'x', colour: 'blue' });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.type).toBe('invalid_request_error');
    const missing = await cerulean.admin('POST', '/projects', { organization: 'org_acme' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.param).toBe('name');
    // Plain words naming the field, not the schema library's wording.
    expect(missing.body.error.message).toBe('name: is required');
    expect(unknownField.body.error.message).toBe('unknown field colour');
    const notANumber = await cerulean.admin('PUT', '/projects/proj_search/quotas/chat', { tpm: 'lots' });
    expect(notANumber.body.error).toMatchObject({ message: 'tpm: expected a number', param: 'tpm' });
    expect((await cerulean.admin('GET', '/projects/proj_nope')).status).toBe(404);
    expect((await cerulean.admin('POST', '/projects', { organization: 'org_nope', name: 'x' })).status).toBe(404);
    expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'dup', id: 'proj_search' })).status).toBe(409);
    expect((await cerulean.admin('POST', '/projects/proj_search/keys', { deployments: 'chat,nope' })).status).toBe(400);
    expect((await cerulean.admin('POST', '/projects/proj_search/keys', { expires: 'yesterday' })).status).toBe(400);
    expect((await cerulean.admin('GET', '/projects', undefined, 'wrong')).status).toBe(401);
  });

  it('serves an OpenAPI document covering every operation', async () => {
    const document = await cerulean.admin('GET', '/openapi.json');
    expect(document.body.openapi).toBe('3.1.0');
    expect(document.body.paths['/admin/v1/projects/{project}/keys'].post.operationId).toBe('keys.create');
    expect(document.body.paths['/admin/v1/usage'].get.parameters.map((p: { name: string }) => p.name)).toContain('group_by');
  });

  it('keeps an audit chain that verifies', async () => {
    const verify = await cerulean.admin('GET', '/audit/verify');
    expect(verify.body).toMatchObject({ ok: true, problems: [] });
    expect(verify.body.checked).toBeGreaterThan(10);
  });

  it('exports the audit head and verifies against it', async () => {
    const head = await cerulean.admin('GET', '/audit/head');
    expect(head.body).toMatchObject({ seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/), at: expect.any(String) });
    const verified = await cerulean.admin('GET', `/audit/verify?head=${head.body.head}`);
    expect(verified.body).toMatchObject({ ok: true, head: { seq: expect.any(Number) } });
    expect(verified.body.head.seq).toBeGreaterThanOrEqual(head.body.seq);
    const unknown = await cerulean.admin('GET', `/audit/verify?head=${head.body.seq}:${'0'.repeat(64)}`);
    expect(unknown.body).toMatchObject({ ok: false, problems: [{ seq: head.body.seq, problem: 'head-mismatch' }] });
    expect((await cerulean.admin('GET', '/audit/verify?head=nope')).body.error).toMatchObject({ param: 'head' });
  });
});
