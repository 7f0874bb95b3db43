import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { redisAvailable } from '../helpers/services.js';

/**
 * Two replicas sharing target health through a Redis of the test's own, which the test stops:
 * requests still route without waiting on it, each replica's own cooldowns and drains still work,
 * the admin API says the state is not shared, and a drain made during the outage reaches the other
 * replica once Redis is back.
 */

const PORT = 6394;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let redis: PrivateRedis | undefined;
let upstream: FaultUpstream;
let a: GovernedCerulean;
let b: GovernedCerulean;

function yaml(): string {
  return `
logging: { level: fatal }
redis: { url: "redis://127.0.0.1:${PORT}" }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
deployments:
  chat:
    strategy: priority
    targets:
      - { provider: up, model: first }
      - { provider: up, model: second, priority: 1 }
content_safety:
  deployments: { chat: none }
`;
}

async function ask(replica: GovernedCerulean, user: string): Promise<{ target: string | null; ms: number }> {
  const client = new OpenAI({ baseURL: `${replica.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  const started = Date.now();
  const { data, response } = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }], user }).withResponse();
  expect(data.choices[0].message.content).toBeTruthy();
  return { target: response.headers.get('x-cerulean-target'), ms: Date.now() - started };
}

async function targets(replica: GovernedCerulean): Promise<{ health_sharing: string; targets: Array<Record<string, any>> }> {
  return (await replica.admin('GET', '/deployments/chat/targets')).body;
}

async function eventually(what: string, probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

beforeAll(async () => {
  if (!redisAvailable) return;
  redis = await startPrivateRedis(PORT);
  upstream = await startFaultUpstream();
  upstream.setFallback({ kind: 'ok' });
  [a, b] = await Promise.all([startGovernedCerulean(yaml()), startGovernedCerulean(yaml())]);
}, 30_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await upstream?.close();
  await redis?.stop();
});

// Needs redis-server, which the suites needing Redis have wherever Redis answers.
describe.skipIf(!redisAvailable)('target health while Redis is unreachable', () => {
  it('routes without waiting, keeps each replica on its own state, and shares the drain made meanwhile once Redis is back', async () => {
    await eventually('sharing', async () => (await targets(a)).health_sharing === 'shared' && (await targets(b)).health_sharing === 'shared');
    await redis?.stop();
    redis = undefined;
    await eventually('the outage seen', async () => (await targets(a)).health_sharing === 'unreachable');

    // Requests route, promptly.
    for (let i = 0; i < 3; i++) {
      const answered = await ask(a, 'A');
      expect(answered.target).toBe('up/first');
      expect(answered.ms).toBeLessThan(500);
    }

    // A's own cooldown works: after the 429 it skips the target; B, told nothing, does not.
    upstream.script([{ kind: 'status', status: 429, retryAfter: '30' }], 'first');
    expect((await ask(a, 'A')).target).toBe('up/second');
    const since = upstream.requests.length;
    expect((await ask(a, 'A')).target).toBe('up/second');
    expect(upstream.requests.slice(since).map((request) => request.model)).toEqual(['second']);
    expect((await ask(b, 'B')).target).toBe('up/first');
    expect((await targets(b)).targets[0].cooling_until).toBeNull();

    // A drain through B holds on B at once and says it could not be shared.
    const drained = await b.admin('POST', '/deployments/chat/targets/up%2Ffirst/drain');
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ drained: true, health_sharing: 'unreachable' });
    expect((await ask(b, 'B')).target).toBe('up/second');
    expect((await targets(a)).targets[0].drained).toBe(false);

    // Redis returns: B publishes its drain, A applies it.
    redis = await startPrivateRedis(PORT);
    await eventually('A learning the drain made during the outage', async () => (await targets(a)).targets[0].drained === true);
    expect((await targets(a)).health_sharing).toBe('shared');
    const restored = await a.admin('POST', '/deployments/chat/targets/up%2Ffirst/restore');
    expect(restored.body).toMatchObject({ drained: false, health_sharing: 'shared' });
    await eventually('B restored', async () => (await targets(b)).targets[0].drained === false, 2_000);
  }, 60_000);
});
