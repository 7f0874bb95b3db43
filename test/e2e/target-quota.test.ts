import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TARGET_WINDOW_MS, type TargetLimits } from '../../src/routing/target-quota.js';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';

/**
 * A target that declares its own capacity (`rpm`, `tpm`) is skipped, untried, once its window is
 * full; the requests go to the deployment's next target; a failed attempt's reservation is given
 * back; when every target is full the caller gets Cerulean's own 429 (not an upstream's), with
 * `retry-after` until the first window ends. With Redis, replicas share each target's window.
 */

const PRIVATE_REDIS_PORT = 6395;

function deployments(upstreamUrl: string): string {
  return `
providers:
  up: { type: openai-compatible, base_url: "${upstreamUrl}/v1", retry: { max_attempts: 1 } }
deployments:
  chat:
    strategy: priority
    targets:
      - { provider: up, model: first, rpm: 2 }
      - { provider: up, model: second, priority: 1 }
  refunding:
    strategy: priority
    targets:
      - { provider: up, model: flaky, rpm: 1, tpm: 100000 }
      - { provider: up, model: steady, priority: 1 }
  tight:
    strategy: priority
    targets:
      - { provider: up, model: tight-a, rpm: 1 }
      - { provider: up, model: tight-b, rpm: 1, priority: 1 }
  streamed:
    targets:
      - { provider: up, model: streamed, tpm: 100000 }
  shared:
    strategy: priority
    targets:
      - { provider: up, model: shared-first, rpm: 2 }
      - { provider: up, model: shared-second, priority: 1 }
content_safety:
  deployments: { chat: none, refunding: none, tight: none, streamed: none, shared: none }
`;
}

/**
 * Target windows are fixed minutes of the clock: a test that must stay within one waits for the
 * next minute when too little of this one is left.
 */
async function withinOneMinute(needMs = 10_000): Promise<void> {
  const left = TARGET_WINDOW_MS - (Date.now() % TARGET_WINDOW_MS);
  if (left < needMs) await new Promise((resolve) => setTimeout(resolve, left + 50));
}

function limitsOf(cerulean: GovernedCerulean, deployment: string, id: string): TargetLimits {
  const route = cerulean.server
    .deployments()
    .routesOf(deployment)
    ?.routes.find((candidate) => candidate.id === id);
  if (!route?.limits) throw new Error(`${deployment}: no limited target ${id}`);
  return route.limits;
}

async function skips(cerulean: GovernedCerulean, deployment: string, target: string): Promise<number> {
  const metric = await cerulean.server.metrics.targetSkips.get();
  return metric.values.find((value) => value.labels.deployment === deployment && value.labels.target === target)?.value ?? 0;
}

const clientOf = (cerulean: GovernedCerulean): OpenAI => new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });

async function ask(client: OpenAI, model: string): Promise<{ target: string | null; total: number }> {
  const { data, response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Hello there' }] }).withResponse();
  return { target: response.headers.get('x-cerulean-target'), total: data.usage?.total_tokens ?? -1 };
}

let upstream: FaultUpstream;

beforeAll(async () => {
  upstream = await startFaultUpstream();
});
afterAll(async () => {
  await upstream?.close();
});
beforeEach(() => upstream.setFallback({ kind: 'ok' }));

const modelsSince = (since: number): string[] => upstream.requests.slice(since).map((request) => request.model);

describe('a target with its own capacity, one replica', () => {
  let cerulean: GovernedCerulean;
  let client: OpenAI;

  beforeAll(async () => {
    cerulean = await startGovernedCerulean(deployments(upstream.url));
    client = clientOf(cerulean);
  });
  afterAll(async () => {
    await cerulean?.close();
  });

  it('sends requests 1-2 to the first target (rpm: 2) and 3+ to the second, the first never seeing them', async () => {
    await withinOneMinute();
    const before = upstream.requests.length;
    const answered: Array<string | null> = [];
    for (let i = 0; i < 4; i++) answered.push((await ask(client, 'chat')).target);
    expect(answered).toEqual(['up/first', 'up/first', 'up/second', 'up/second']);
    expect(modelsSince(before)).toEqual(['first', 'first', 'second', 'second']);
    expect(await skips(cerulean, 'chat', 'up/first')).toBe(2);
    expect((await cerulean.governance.targetQuota.windows(limitsOf(cerulean, 'chat', 'up/first'))).requests).toMatchObject({ limit: 2, used: 2 });
  });

  it("gives a failed attempt's reservation back, and settles the answering one to the tokens it used", async () => {
    await withinOneMinute();
    const limits = limitsOf(cerulean, 'refunding', 'up/flaky');
    upstream.script([{ kind: 'status', status: 503 }], 'flaky');
    const before = upstream.requests.length;
    expect((await ask(client, 'refunding')).target).toBe('up/steady');
    expect(modelsSince(before)).toEqual(['flaky', 'steady']);
    // The 503 cost the target nothing: its one request a minute is still there to take.
    expect(await cerulean.governance.targetQuota.windows(limits)).toMatchObject({ requests: { limit: 1, used: 0 }, tokens: { limit: 100_000, used: 0 } });

    const answered = await ask(client, 'refunding');
    expect(answered.target).toBe('up/flaky');
    // Reserved as prompt plus the 4096 tokens a request without max_tokens may generate, settled to what the upstream billed.
    await expect.poll(async () => cerulean.governance.targetQuota.windows(limits)).toMatchObject({ requests: { used: 1 }, tokens: { used: answered.total } });
    expect(answered.total).toBeGreaterThan(0);
    expect((await ask(client, 'refunding')).target).toBe('up/steady');
  });

  it('settles a stream to the usage it reported', async () => {
    await withinOneMinute();
    const stream = await client.chat.completions.create({
      model: 'streamed',
      messages: [{ role: 'user', content: 'Hello there' }],
      max_tokens: 500,
      stream: true,
      stream_options: { include_usage: true },
    });
    let total = -1;
    for await (const chunk of stream) if (chunk.usage) total = chunk.usage.total_tokens;
    expect(total).toBeGreaterThan(0);
    const limits = limitsOf(cerulean, 'streamed', 'up/streamed');
    await expect.poll(async () => (await cerulean.governance.targetQuota.windows(limits)).tokens?.used).toBe(total);
  });

  it("answers Cerulean's own 429 with retry-after when every target is full, and calls no upstream", async () => {
    await withinOneMinute();
    expect((await ask(client, 'tight')).target).toBe('up/tight-a');
    expect((await ask(client, 'tight')).target).toBe('up/tight-b');
    const before = upstream.requests.length;
    const refusal = await client.chat.completions.create({ model: 'tight', messages: [{ role: 'user', content: 'Hello there' }] }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refusal as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.status).toBe(429);
    // Told apart from an upstream's 429 by its code; the OpenAI envelope all the same.
    expect(error.code).toBe('targets_at_capacity');
    expect(error.type).toBe('rate_limit_error');
    expect(error.message).toContain('Every target of deployment "tight" has used its capacity');
    const retryAfter = Number(error.headers?.get('retry-after'));
    const windowLeft = (TARGET_WINDOW_MS - (Date.now() % TARGET_WINDOW_MS)) / 1000;
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(windowLeft) + 1);
    expect(error.headers?.get('x-cerulean-attempts')).toBeNull();
    expect(modelsSince(before)).toEqual([]);
    // tight-a was passed over by the second request and this one, tight-b by this one.
    expect(await skips(cerulean, 'tight', 'up/tight-a')).toBe(2);
    expect(await skips(cerulean, 'tight', 'up/tight-b')).toBe(1);
  });
});

describe('a target with its own capacity, two replicas on one Redis', () => {
  let redis: PrivateRedis;
  const replicas: GovernedCerulean[] = [];

  beforeAll(async () => {
    redis = await startPrivateRedis(PRIVATE_REDIS_PORT);
    for (let i = 0; i < 2; i++) replicas.push(await startGovernedCerulean(`redis: { url: "${redis.url}" }\n${deployments(upstream.url)}`));
  });
  afterAll(async () => {
    for (const replica of replicas) await replica.close();
    await redis?.stop();
  });

  it("shares the target's window: the replica that comes third sends to the second target", async () => {
    await withinOneMinute();
    const [a, b] = replicas.map(clientOf);
    const before = upstream.requests.length;
    expect((await ask(a, 'shared')).target).toBe('up/shared-first');
    expect((await ask(b, 'shared')).target).toBe('up/shared-first');
    expect((await ask(a, 'shared')).target).toBe('up/shared-second');
    expect((await ask(b, 'shared')).target).toBe('up/shared-second');
    expect(modelsSince(before)).toEqual(['shared-first', 'shared-first', 'shared-second', 'shared-second']);
    const limits = limitsOf(replicas[1], 'shared', 'up/shared-first');
    expect((await replicas[1].governance.targetQuota.windows(limits)).requests).toMatchObject({ limit: 2, used: 2 });
  });
});
