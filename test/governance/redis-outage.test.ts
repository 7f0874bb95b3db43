import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { startCuttableProxy, type CuttableProxy } from '../helpers/cuttable-proxy.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';

/**
 * Redis going away under a running service: a private redis-server behind a TCP proxy the test
 * cuts (connection refused) or stalls (a partition: the connection stays up, nothing answers).
 * One service per outage policy, both on the same Redis.
 */

let upstream: OpenAIFixture;
let redis: PrivateRedis;
let proxy: CuttableProxy;
let closed: GovernedCerulean;
let open: GovernedCerulean;
const logLines: Array<Record<string, unknown>> = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

function capturingLogger() {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return createLogger('info', sink);
}

const yaml = (policy: string): string => `
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
  priced: { provider: up, model: gpt-4o }
redis: { url: "redis://127.0.0.1:${proxy.port}", on_outage: ${policy}, command_timeout_ms: 250 }
`;

/** A key of a project with a TPM quota on `chat`, one of a project with a budget, one of a project with neither. */
async function keysFor(cerulean: GovernedCerulean): Promise<{ quota: string; budget: string; free: string }> {
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  for (const id of ['proj_quota', 'proj_budget', 'proj_free']) {
    expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: id, id })).status).toBe(201);
  }
  expect((await cerulean.admin('PUT', '/projects/proj_quota/quotas/chat', { tpm: 100_000 })).status).toBe(200);
  expect((await cerulean.admin('PATCH', '/deployments/priced', { input_per_million: 1, output_per_million: 2 })).status).toBe(200);
  expect((await cerulean.admin('PUT', '/budgets/project/proj_budget', { daily_usd: 100 })).status).toBe(200);
  const key = async (project: string): Promise<string> => (await cerulean.admin('POST', `/projects/${project}/keys`, {})).body.key as string;
  return { quota: await key('proj_quota'), budget: await key('proj_budget'), free: await key('proj_free') };
}

async function chat(cerulean: GovernedCerulean, key: string, model = 'chat'): Promise<{ status: number; headers: Headers; body: any; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 20 }),
  });
  const body = await response.json();
  return { status: response.status, headers: response.headers, body, ms: performance.now() - started };
}

let closedKeys: Awaited<ReturnType<typeof keysFor>>;
let openKeys: Awaited<ReturnType<typeof keysFor>>;

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  upstream = await startOpenAIFixture();
  redis = await startPrivateRedis(26501);
  proxy = await startCuttableProxy(26511, { host: '127.0.0.1', port: redis.port });
  closed = await startGovernedCerulean(yaml('fail_closed'), {}, { logger: capturingLogger() });
  open = await startGovernedCerulean(yaml('fail_open'), {}, { logger: capturingLogger() });
  closedKeys = await keysFor(closed);
  openKeys = await keysFor(open);
}, 20_000);

afterAll(async () => {
  await closed?.close();
  await open?.close();
  await proxy?.close();
  await redis?.stop();
  await upstream?.close();
  process.off('unhandledRejection', onUnhandled);
});

describe('a Redis outage', () => {
  it('fail_closed: refuses quota and budget callers at once with 503 and retry-after; fail_open admits them; others are unaffected', async () => {
    expect((await chat(closed, closedKeys.quota)).status).toBe(200);
    expect((await chat(closed, closedKeys.budget, 'priced')).status).toBe(200);
    expect((await chat(open, openKeys.quota)).status).toBe(200);

    await proxy.cut();
    for (const [key, model] of [
      [closedKeys.quota, 'chat'],
      [closedKeys.budget, 'priced'],
    ] as const) {
      const refused = await chat(closed, key, model);
      expect(refused.status).toBe(503);
      expect(refused.body.error).toMatchObject({ type: 'service_unavailable', code: 'counters_unavailable' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.ms).toBeLessThan(1_000);
    }
    expect((await chat(closed, closedKeys.free)).status).toBe(200);

    const admitted = await chat(open, openKeys.quota);
    expect(admitted.status).toBe(200);
    expect(admitted.ms).toBeLessThan(1_000);
    expect(admitted.headers.get('x-ratelimit-limit-tokens')).toBe('100000');
    expect((await chat(open, openKeys.budget, 'priced')).status).toBe(200);

    const metrics = async (cerulean: GovernedCerulean): Promise<string> => (await fetch(`${cerulean.url}/metrics`)).text();
    expect(await metrics(closed)).toMatch(/^cerulean_redis_up 0$/m);
    // Every replica shares one Redis: it says so in readyz, but stays in rotation (200 degraded).
    const ready = await fetch(`${closed.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'degraded', redis: { status: 'unavailable', on_outage: 'fail_closed' } });
    expect(await metrics(closed)).toMatch(/^cerulean_redis_unshared_admissions_total\{outcome="refused"\} 2$/m);
    expect(await metrics(open)).toMatch(/^cerulean_redis_unshared_admissions_total\{outcome="local"\} 2$/m);

    // Each service logged the outage once, as a structured line naming its policy.
    const outageLines = logLines.filter((line) => String(line.msg).startsWith('redis unreachable'));
    expect(outageLines.map((line) => (line.redis as { on_outage: string }).on_outage).sort()).toEqual(['fail_closed', 'fail_open']);
    expect(outageLines.every((line) => line.level === 50)).toBe(true);

    await proxy.restore();
    await expect.poll(async () => (await chat(closed, closedKeys.quota)).status, { timeout: 10_000, interval: 100 }).toBe(200);
    await expect.poll(() => logLines.filter((line) => String(line.msg).startsWith('redis reachable again')).length, { timeout: 10_000 }).toBe(2);
    expect(await metrics(open)).toMatch(/^cerulean_redis_up 1$/m);
    expect(await (await fetch(`${open.url}/readyz`)).json()).toMatchObject({ status: 'ready', redis: { status: 'ok' } });
    expect(logLines.filter((line) => String(line.msg).startsWith('redis unreachable'))).toHaveLength(2);
    expect(unhandled).toEqual([]);
  }, 20_000);

  it('fail_open: the local budget counters start from the spend in the ledger, so a spent budget stays spent', async () => {
    expect((await open.admin('POST', '/projects', { organization: 'org_acme', name: 'Tight', id: 'proj_tight' })).status).toBe(201);
    expect((await open.admin('PUT', '/budgets/project/proj_tight', { daily_usd: 0.0005 })).status).toBe(200);
    const key = (await open.admin('POST', '/projects/proj_tight/keys', {})).body.key as string;
    // Spend until refused even after every settlement has landed (a refusal can come while the
    // previous request's reservation still counts its worst case).
    let refusals = 0;
    for (let i = 0; i < 60 && refusals < 3; i++) {
      const answer = await chat(open, key, 'priced');
      if (answer.status === 200) refusals = 0;
      else {
        expect(answer.body.error.code).toBe('budget_exceeded');
        refusals += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    expect(refusals).toBe(3);
    await open.governance.ledger.flush();

    await proxy.cut();
    try {
      const during = await chat(open, key, 'priced');
      expect(during.status).toBe(429);
      expect(during.body.error.code).toBe('budget_exceeded');
    } finally {
      await proxy.restore();
    }
    await expect
      .poll(async () => (await chat(open, openKeys.quota)).headers.get('x-ratelimit-limit-tokens'), { timeout: 10_000, interval: 100 })
      .toBe('100000');
  }, 20_000);

  it('a replica starts while Redis is away, refuses quota callers until it comes, then shares its counters', async () => {
    const late = await startCuttableProxy(26514, { host: '127.0.0.1', port: redis.port });
    await late.cut();
    const lines = logLines.length;
    let cerulean: GovernedCerulean | undefined;
    try {
      cerulean = await startGovernedCerulean(yaml('fail_closed').replace(`:${proxy.port}"`, `:${late.port}"`), {}, { logger: capturingLogger() });
      const keys = await keysFor(cerulean);
      const refused = await chat(cerulean, keys.quota);
      expect(refused.status).toBe(503);
      expect(refused.ms).toBeLessThan(1_000);
      expect((await chat(cerulean, keys.free)).status).toBe(200);
      expect(logLines.slice(lines).filter((line) => String(line.msg).startsWith('redis unreachable'))).toHaveLength(1);

      await late.restore();
      await expect.poll(async () => (await chat(cerulean!, keys.quota)).status, { timeout: 10_000, interval: 100 }).toBe(200);
      expect((await chat(cerulean, keys.budget, 'priced')).status).toBe(200);
    } finally {
      await cerulean?.close();
      await late.close();
    }
    expect(unhandled).toEqual([]);
  }, 20_000);

  it('a stalled Redis (connection up, no answers) costs a request the command timeout, not a hang', async () => {
    proxy.stall();
    try {
      const refused = await chat(closed, closedKeys.quota);
      expect(refused.status).toBe(503);
      expect(refused.ms).toBeLessThan(1_000);
      const admitted = await chat(open, openKeys.quota);
      expect(admitted.status).toBe(200);
      expect(admitted.ms).toBeLessThan(1_000);
    } finally {
      await proxy.restore();
    }
    await expect.poll(async () => (await chat(closed, closedKeys.quota)).status, { timeout: 10_000, interval: 100 }).toBe(200);
    expect(unhandled).toEqual([]);
  }, 20_000);
});
