import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBudgetStore } from '../../src/governance/budget/redis-budget-store.js';
import { MemoryBudgetStore } from '../../src/governance/budget/memory-budget-store.js';
import { adminOperation } from '../../src/admin/admin-operations.js';
import { adminContext } from '../../src/admin/admin-routes.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { REDIS_URL, redisAvailable } from '../helpers/services.js';

/**
 * `GET /projects/:project/limits`: quotas and budgets with what the current month and day have
 * spent, from the live budget counters of the running service, and from the ledger where none runs.
 */
let upstream: OpenAIFixture;
let cerulean: GovernedCerulean;

beforeAll(async () => {
  upstream = await startOpenAIFixture();
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Search', id: 'proj_limits' })).status).toBe(201);
  expect((await cerulean.admin('PATCH', '/deployments/chat', { input_per_million: 1000, output_per_million: 2000 })).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

describe('limits.show', () => {
  it('shows quotas and the spend of the project and its keys against their limits', async () => {
    const key = await cerulean.admin('POST', '/projects/proj_limits/keys', { name: 'ci' });
    expect(key.status).toBe(201);
    expect((await cerulean.admin('PUT', '/projects/proj_limits/quotas/chat', { tpm: 20000 })).status).toBe(200);
    expect((await cerulean.admin('PUT', '/budgets/project/proj_limits', { monthly_usd: 50, daily_usd: 5 })).status).toBe(200);
    expect((await cerulean.admin('PUT', `/budgets/key/${key.body.id}`, { daily_usd: 2 })).status).toBe(200);

    const before = await cerulean.admin('GET', '/projects/proj_limits/limits');
    expect(before.status).toBe(200);
    expect(before.body.quotas).toEqual([
      { deployment: 'chat', tpm: 20000, rpm: 120, requests_per_10s: 20, used: { tokens_this_minute: 0, requests_this_10s: 0 } },
    ]);
    expect(before.body.budgets.map((budget: { scope: string; periods: unknown[] }) => [budget.scope, budget.periods.length])).toEqual([
      ['project', 2],
      ['key', 1],
    ]);
    expect(before.body.budgets[1]).toMatchObject({ id: key.body.id, name: 'ci', revoked: false });
    expect(before.body.budgets[0].periods[0]).toMatchObject({ period: 'month', limit_usd: 50, spent_usd: 0, remaining_usd: 50 });

    const client = new OpenAI({ apiKey: key.body.key, baseURL: `${cerulean.url}/v1` });
    // Start early in a minute and a 10 s window, so the reads below fall in the windows the request counted in.
    await settleIntoFreshWindows();
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hello' }], max_tokens: 16 });
    await cerulean.governance.ledger.flush();
    const [spend] = await cerulean.governance.storage.usage.query({ projectId: 'proj_limits' }, []);
    expect(spend.cost).toBeGreaterThan(0);

    const after = await cerulean.admin('GET', '/projects/proj_limits/limits');
    // The quota's current windows: the request's tokens as billed (settled from the estimate), one request.
    expect(after.body.quotas[0].used).toEqual({ tokens_this_minute: spend.promptTokens + spend.completionTokens, requests_this_10s: 1 });
    const projectDay = after.body.budgets[0].periods.find((period: { period: string }) => period.period === 'day');
    // The live counter, settled to the actual cost: the same as the ledger's sum.
    expect(projectDay).toMatchObject({ source: 'counter', limit_usd: 5, spent_usd: spend.cost / 1_000_000 });
    expect(projectDay.remaining_usd).toBeCloseTo(5 - spend.cost / 1_000_000, 9);
    expect(after.body.budgets[1].periods[0]).toMatchObject({ period: 'day', source: 'counter', spent_usd: spend.cost / 1_000_000 });

    // Without a running service (the CLI), the same operation reads the ledger.
    const operation = adminOperation('limits.show')!;
    const offline = adminContext({ storage: cerulean.governance.storage, deployments: () => ['chat'] }, operation, { kind: 'master' } as never, 'cli');
    const fromLedger = (await operation.run(offline, { project: 'proj_limits' })) as typeof after.body;
    // No live counters without a server: the quota's use is not known.
    expect(fromLedger.quotas[0].used).toBeNull();
    expect(fromLedger.budgets[0].periods.map((period: { source: string; spent_usd: number }) => [period.source, period.spent_usd])).toEqual([
      ['ledger', spend.cost / 1_000_000],
      ['ledger', spend.cost / 1_000_000],
    ]);
  });

  it('refuses a project the caller cannot see, and counts errors in usage', async () => {
    expect((await cerulean.admin('GET', '/projects/proj_nowhere/limits')).status).toBe(404);
    const usage = await cerulean.admin('GET', '/usage?project=proj_limits&group_by=deployment');
    expect(usage.body.data).toEqual([expect.objectContaining({ deployment: 'chat', requests: 1, errors: 0 })]);
  });

  it('reads the same sums, errors included, from the rollups of each bucket size', async () => {
    // A refusal (unknown deployment) is an error answer, counted in the records and the rollups alike.
    const key = await cerulean.admin('POST', '/projects/proj_limits/keys', { name: 'rollups' });
    const client = new OpenAI({ apiKey: key.body.key, baseURL: `${cerulean.url}/v1`, maxRetries: 0 });
    await expect(
      client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x'.repeat(90_000) }], max_tokens: 16 }),
    ).rejects.toThrow();
    await cerulean.governance.ledger.flush();
    const records = await cerulean.admin('GET', '/usage?project=proj_limits&group_by=deployment');
    expect(records.body.data).toEqual([expect.objectContaining({ deployment: 'chat', requests: 2, errors: 1 })]);
    for (const bucket of ['minute', 'hour', 'day']) {
      const rollups = await cerulean.admin('GET', `/usage?project=proj_limits&group_by=deployment&bucket=${bucket}&from=0`);
      expect(rollups.status).toBe(200);
      expect(rollups.body.data).toEqual(records.body.data);
    }
    expect((await cerulean.admin('GET', '/usage?bucket=week')).status).toBe(400);
  });
});

describe('budget stores read their counters', () => {
  it('memory: what a counter holds, undefined for one never set', async () => {
    const store = new MemoryBudgetStore();
    await store.seed('project:p:d:2030-01-01', 700, 60_000);
    await store.reserve([{ key: 'project:p:d:2030-01-01', limit: 10_000 }], 300, 60_000);
    expect(await store.read(['project:p:d:2030-01-01', 'project:q:d:2030-01-01'])).toEqual([1000, undefined]);
  });

  it.skipIf(!redisAvailable)('redis: the shared count, undefined for one never set', async () => {
    const prefix = `{cerulean-budget}:read-test-${process.pid}-${Date.now()}:`;
    const store = new RedisBudgetStore(REDIS_URL, prefix);
    try {
      await store.seed('key:k:m:2030-01', 1200, 60_000);
      await store.reserve([{ key: 'key:k:m:2030-01', limit: 10_000 }], 34, 60_000);
      expect(await store.read(['key:k:m:2030-01', 'key:other:m:2030-01'])).toEqual([1234, undefined]);
    } finally {
      await store.close();
    }
  });
});

/** Waits, when needed, until at least 5 s remain in the current minute and 10 s window (at most ~8 s). */
async function settleIntoFreshWindows(): Promise<void> {
  const now = Date.now();
  const wait = now % 60_000 > 52_000 ? 60_000 - (now % 60_000) : now % 10_000 > 5_000 ? 10_000 - (now % 10_000) : 0;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 20));
}
