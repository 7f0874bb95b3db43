import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { postgresAvailable, POSTGRES_URL, redisAvailable, REDIS_URL } from '../helpers/services.js';
import { dropSchema } from '../storage/storage-test-support.js';

/**
 * Three replicas (three services in this process) on one PostgreSQL schema and one Redis, in
 * front of one fault upstream, called with the official SDK. A 429 with `retry-after` answered to
 * replica A keeps replicas B and C off that target until the wait has passed, and a drain through
 * A's admin API stops B and C sending to it (audited once); a replica started later reads the
 * drain back. Each request names its replica in `user`, so the upstream tells who sent what.
 *
 * Redis is shared with whatever else runs and the health keys' prefix is not configurable, so the
 * deployment's name is random per run: every key member this run writes is its own.
 */

const servicesAnswer = postgresAvailable && redisAvailable;
const run = randomBytes(4).toString('hex');
const SCHEMA = `cerulean_health_${run}`;
const DEPLOYMENT = `shared_${run}`;

let upstream: FaultUpstream;
const replicas: Record<'A' | 'B' | 'C', GovernedCerulean> = {} as never;
const extra: GovernedCerulean[] = [];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function yaml(): string {
  const storage = new URL(POSTGRES_URL);
  storage.searchParams.set('schema', SCHEMA);
  return `
logging: { level: warn }
storage: { url: ${JSON.stringify(storage.toString())} }
redis: { url: ${JSON.stringify(REDIS_URL)} }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
deployments:
  ${DEPLOYMENT}:
    strategy: priority
    targets:
      - { provider: up, model: first }
      - { provider: up, model: second, priority: 1 }
content_safety:
  deployments: { ${DEPLOYMENT}: none }
`;
}

/** One chat completion through `replica`, tagged with its name; the target that answered. */
async function ask(name: 'A' | 'B' | 'C', replica: GovernedCerulean = replicas[name]): Promise<string | null> {
  const client = new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  const { data, response } = await client.chat.completions
    .create({ model: DEPLOYMENT, messages: [{ role: 'user', content: 'Hello there' }], user: name })
    .withResponse();
  expect(data.choices[0].message.content).toBeTruthy();
  return response.headers.get('x-cerulean-target');
}

/** Requests for `model` the upstream received since `since`, from the replicas named. */
function sentTo(model: string, since: number, from: readonly string[]): number {
  return upstream.requests.slice(since).filter((request) => request.model === model && from.includes(request.body.user as string)).length;
}

async function targetsOn(replica: GovernedCerulean): Promise<{ health_sharing: string; targets: Array<Record<string, any>> }> {
  const listed = await replica.admin('GET', `/deployments/${DEPLOYMENT}/targets`);
  expect(listed.status).toBe(200);
  return listed.body;
}

/** Polls until `probe` holds; returns the ms it took. */
async function within(ms: number, what: string, probe: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(5);
  }
  return Date.now() - started;
}

beforeAll(async () => {
  if (!servicesAnswer) return;
  upstream = await startFaultUpstream();
  // Started together, as replicas are: they race to create the schema, which storage tolerates.
  const [a, b, c] = await Promise.all([startGovernedCerulean(yaml()), startGovernedCerulean(yaml()), startGovernedCerulean(yaml())]);
  Object.assign(replicas, { A: a, B: b, C: c });
}, 60_000);

afterAll(async () => {
  if (!servicesAnswer) return;
  for (const replica of [...Object.values(replicas), ...extra]) await replica?.close();
  await upstream?.close();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    for (const target of ['up/first', 'up/second']) {
      const member = JSON.stringify([DEPLOYMENT, target]);
      await redis.zrem('{cerulean}:health:open', member);
      await redis.zrem('{cerulean}:health:cool', member);
      await redis.hdel('{cerulean}:health:drained', member);
    }
  } finally {
    await redis.quit();
  }
  await dropSchema(SCHEMA);
});

beforeEach(() => {
  if (!servicesAnswer) return;
  for (const model of ['first', 'second']) upstream.setFallback({ kind: 'ok' }, model);
});

describe.skipIf(!servicesAnswer)('target health shared by three replicas (PostgreSQL + Redis)', () => {
  it('keeps B and C off a target for exactly the retry-after of a 429 that A saw', async () => {
    for (const replica of Object.values(replicas)) expect((await targetsOn(replica)).health_sharing).toBe('shared');
    // The preferred target answers everyone while healthy.
    for (const name of ['A', 'B', 'C'] as const) expect(await ask(name)).toBe('up/first');

    upstream.script([{ kind: 'status', status: 429, retryAfter: '2' }], 'first');
    const before = upstream.requests.length;
    expect(await ask('A')).toBe('up/second');
    const limitedAt = Date.now();
    expect(sentTo('first', before, ['A'])).toBe(1);

    // B and C learn it over pub/sub, long before their 1 s resync would tell them.
    const learnt = await within(1_000, 'B and C showing the cooldown', async () => {
      const [b, c] = [await targetsOn(replicas.B), await targetsOn(replicas.C)];
      return [b, c].every(({ targets }) => targets[0].cooling_until !== null && targets[0].learnt_from_replica === true);
    });
    expect(learnt).toBeLessThan(500);
    const cooling = Date.parse((await targetsOn(replicas.B)).targets[0].cooling_until);
    expect(Math.abs(cooling - (limitedAt + 2_000))).toBeLessThan(300);

    // Until the wait has passed, neither B nor C sends a request to the limited target.
    const during = upstream.requests.length;
    while (Date.now() < cooling - 150) {
      expect(await ask('B')).toBe('up/second');
      expect(await ask('C')).toBe('up/second');
      await sleep(50);
    }
    expect(sentTo('first', during, ['B', 'C'])).toBe(0);
    expect(sentTo('second', during, ['B', 'C'])).toBeGreaterThan(10);

    // Then they go back to it.
    await sleep(Math.max(0, cooling - Date.now() + 50));
    const after = upstream.requests.length;
    expect(await ask('B')).toBe('up/first');
    expect(await ask('C')).toBe('up/first');
    expect(sentTo('first', after, ['B', 'C'])).toBe(2);
  });

  it("stops B and C sending to a target drained through A's admin API, audits it once, and a restarted replica reads it back", async () => {
    const drained = await replicas.A.admin('POST', `/deployments/${DEPLOYMENT}/targets/up%2Ffirst/drain`);
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ id: 'up/first', drained: true, health_sharing: 'shared' });

    const took = await within(1_000, 'B and C showing the drain', async () => {
      const [b, c] = [await targetsOn(replicas.B), await targetsOn(replicas.C)];
      return [b, c].every(({ targets }) => targets[0].drained === true);
    });
    expect(took).toBeLessThan(500);
    const before = upstream.requests.length;
    for (let i = 0; i < 5; i++) for (const name of ['A', 'B', 'C'] as const) expect(await ask(name)).toBe('up/second');
    expect(sentTo('first', before, ['A', 'B', 'C'])).toBe(0);

    // Audited once, by the replica that was asked (the audit log is the one database).
    const audit = await replicas.C.admin('GET', '/audit?action=targets.drain');
    expect(audit.status).toBe(200);
    const entries = (audit.body.data as Array<Record<string, any>>).filter((entry) => entry.target === `deployment:${DEPLOYMENT}`);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ before: { target: 'up/first', drained: false }, after: { target: 'up/first', drained: true } });

    // A replica started now sends nothing to it either: the drain is read at start.
    const late = await startGovernedCerulean(yaml());
    extra.push(late);
    expect((await targetsOn(late)).targets[0].drained).toBe(true);
    const lateBefore = upstream.requests.length;
    expect(await ask('B', late)).toBe('up/second');
    expect(sentTo('first', lateBefore, ['B'])).toBe(0);

    // Restored through C: every replica sends to it again.
    const restored = await replicas.C.admin('POST', `/deployments/${DEPLOYMENT}/targets/up%2Ffirst/restore`);
    expect(restored.body).toMatchObject({ drained: false, health_sharing: 'shared' });
    await within(1_000, 'every replica restored', async () => {
      for (const replica of [replicas.A, replicas.B, late]) if ((await targetsOn(replica)).targets[0].drained) return false;
      return true;
    });
    for (const name of ['A', 'B', 'C'] as const) expect(await ask(name)).toBe('up/first');
  });
});
