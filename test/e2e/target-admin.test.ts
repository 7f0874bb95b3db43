import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * The admin API shows each target's live health on the replica that answers, drains a target out
 * of rotation and restores it (audited, operator only), and the per-target metrics count every
 * attempt, the breaker's state, failovers and the time to first byte of successful attempts.
 */
let upstream: FaultUpstream;
let cerulean: GovernedCerulean;

beforeAll(async () => {
  upstream = await startFaultUpstream();
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 }, timeouts: { first_byte_ms: 500 } }
routing:
  breaker: { failure_threshold: 1, open_ms: 60000 }
deployments:
  chat:
    strategy: priority
    targets:
      - { provider: up, model: first, weight: 3 }
      - { provider: up, model: second, priority: 1 }
    fallbacks:
      - { deployment: pool, on: [context_length] }
  pool:
    strategy: priority
    targets:
      - { provider: up, model: alpha }
      - { provider: up, model: beta, priority: 1 }
content_safety:
  deployments: { chat: none, pool: none }
`);
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

beforeEach(() => {
  for (const model of ['first', 'second', 'alpha', 'beta']) upstream.setFallback({ kind: 'ok' }, model);
});

async function ask(model: string): Promise<{ status: number; target: string | null }> {
  const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Hello there' }] }),
  });
  await response.arrayBuffer();
  return { status: response.status, target: response.headers.get('x-cerulean-target') };
}

async function metricsText(): Promise<string> {
  return (await fetch(`${cerulean.url}/metrics`)).text();
}

const modelsTried = (since: number) => upstream.requests.slice(since).map((request) => request.model);

describe('targets list', () => {
  it("lists a deployment's targets with their live health, strategy and fallbacks; after a failure the target shows it", async () => {
    upstream.script([{ kind: 'status', status: 503 }], 'first');
    expect(await ask('chat')).toEqual({ status: 200, target: 'up/second' });

    const listed = await cerulean.admin('GET', '/deployments/chat/targets');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({
      deployment: 'chat',
      type: null,
      strategy: 'priority',
      fallbacks: [{ deployment: 'pool', on: ['context_length'] }],
      health_sharing: 'local',
      targets: [
        {
          id: 'up/first',
          provider: 'up',
          model: 'first',
          region: expect.any(String),
          zone: null,
          weight: 3,
          priority: 0,
          capacity: 'standard',
          state: 'open',
          cooling_until: null,
          outstanding: 0,
          latency_ewma_ms: null,
          failures: 1,
          requests: 1,
          drained: false,
          learnt_from_replica: false,
        },
        {
          id: 'up/second',
          provider: 'up',
          model: 'second',
          region: expect.any(String),
          zone: null,
          weight: 1,
          priority: 1,
          capacity: 'standard',
          state: 'closed',
          cooling_until: null,
          outstanding: 0,
          latency_ewma_ms: expect.any(Number),
          failures: 0,
          requests: 1,
          drained: false,
          learnt_from_replica: false,
        },
      ],
    });
  });

  it('shows a cooldown as an ISO time', async () => {
    upstream.script([{ kind: 'status', status: 429, retryAfter: '30' }], 'alpha');
    const before = Date.now();
    expect(await ask('pool')).toEqual({ status: 200, target: 'up/beta' });
    const alpha = (await cerulean.admin('GET', '/deployments/pool/targets')).body.targets[0];
    expect(alpha.id).toBe('up/alpha');
    expect(alpha.state).toBe('closed');
    expect(Date.parse(alpha.cooling_until) - before).toBeGreaterThanOrEqual(29_000);
    expect(alpha.cooling_until).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('counts attempts by outcome, the breaker state, failovers and latency in the metrics', async () => {
    const text = await metricsText();
    expect(text).toContain('cerulean_target_requests_total{deployment="chat",target="up/first",outcome="status_5xx"} 1');
    expect(text).toContain('cerulean_target_requests_total{deployment="chat",target="up/second",outcome="ok"} 1');
    expect(text).toContain('cerulean_target_requests_total{deployment="pool",target="up/alpha",outcome="rate_limited"} 1');
    expect(text).toContain('cerulean_target_breaker_state{deployment="chat",target="up/first"} 2');
    expect(text).toContain('cerulean_target_breaker_state{deployment="chat",target="up/second"} 0');
    expect(text).toContain('cerulean_target_breaker_state{deployment="pool",target="up/alpha"} 0');
    // up/alpha answered 429 with retry-after: 30 in the test before: still cooling down, by about that long.
    const cooldown = Number(/cerulean_target_cooldown_seconds\{deployment="pool",target="up\/alpha"\} ([\d.]+)/.exec(text)?.[1]);
    expect(cooldown).toBeGreaterThan(20);
    expect(cooldown).toBeLessThanOrEqual(30);
    expect(text).toContain('cerulean_target_cooldown_seconds{deployment="chat",target="up/second"} 0');
    expect(text).toContain('cerulean_failovers_total{deployment="chat"} 1');
    expect(text).toContain('cerulean_failovers_total{deployment="pool"} 1');
    expect(text).toContain('cerulean_target_latency_seconds_count{deployment="chat",target="up/second"} 1');
    expect(text).not.toContain('cerulean_target_latency_seconds_count{deployment="chat",target="up/first"} 1');
  });

  it('answers 404 for an unknown deployment or target', async () => {
    const deployment = await cerulean.admin('GET', '/deployments/nope/targets');
    expect(deployment.status).toBe(404);
    expect(deployment.body.error.code).toBe('deployment_not_found');
    const target = await cerulean.admin('POST', '/deployments/pool/targets/up%2Fnope/drain');
    expect(target.status).toBe(404);
    expect(target.body.error.code).toBe('target_not_found');
  });
});

describe('targets drain and restore', () => {
  it('drains a target: no request reaches it until it is restored; both are audited', async () => {
    const drained = await cerulean.admin('POST', '/deployments/pool/targets/up%2Fbeta/drain');
    expect(drained.status).toBe(200);
    expect(drained.body).toMatchObject({ id: 'up/beta', drained: true, health_sharing: 'local' });

    // alpha is cooling down from the 429 above: without the drain these would go to beta.
    let before = upstream.requests.length;
    for (let i = 0; i < 3; i++) expect((await ask('pool')).target).toBe('up/alpha');
    expect(modelsTried(before)).toEqual(['alpha', 'alpha', 'alpha']);
    expect((await cerulean.admin('GET', '/deployments/pool/targets')).body.targets[1]).toMatchObject({ id: 'up/beta', drained: true });

    // Even a failing alpha does not send a request to the drained target.
    upstream.script([{ kind: 'status', status: 503 }], 'alpha');
    before = upstream.requests.length;
    expect((await ask('pool')).status).toBe(503);
    expect(modelsTried(before)).toEqual(['alpha']);

    const restored = await cerulean.admin('POST', '/deployments/pool/targets/up%2Fbeta/restore');
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ id: 'up/beta', drained: false });
    before = upstream.requests.length;
    // alpha's breaker opened on the 503: beta, back in rotation, answers.
    expect((await ask('pool')).target).toBe('up/beta');
    expect(modelsTried(before)).toEqual(['beta']);

    const audit = await cerulean.admin('GET', '/audit?action=targets.drain');
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({
      actor: 'master',
      action: 'targets.drain',
      target: 'deployment:pool',
      before: { target: 'up/beta', drained: false },
      after: { target: 'up/beta', drained: true },
    });
    const restoreAudit = await cerulean.admin('GET', '/audit?action=targets.restore');
    expect(restoreAudit.body.data).toHaveLength(1);
    expect(restoreAudit.body.data[0]).toMatchObject({ target: 'deployment:pool', after: { target: 'up/beta', drained: false } });
  });

  it('refuses to drain the last target in rotation', async () => {
    expect((await cerulean.admin('POST', '/deployments/chat/targets/up%2Fsecond/drain')).status).toBe(200);
    const last = await cerulean.admin('POST', '/deployments/chat/targets/up%2Ffirst/drain');
    expect(last.status).toBe(409);
    expect(last.body.error.code).toBe('last_target');
    expect((await cerulean.admin('GET', '/deployments/chat/targets')).body.targets.map((target: { drained: boolean }) => target.drained)).toEqual([
      false,
      true,
    ]);
    expect((await cerulean.admin('POST', '/deployments/chat/targets/up%2Fsecond/restore')).status).toBe(200);
  });

  it('is for the service operator only; reading targets needs deployments:read', async () => {
    expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
    expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Search', id: 'proj_search' })).status).toBe(201);
    const key = await cerulean.admin('POST', '/projects/proj_search/keys', { name: 'app' });
    expect(key.status).toBe(201);
    const drain = await cerulean.admin('POST', '/deployments/pool/targets/up%2Fbeta/drain', undefined, key.body.key);
    expect(drain.status).toBe(403);
    expect((await cerulean.admin('GET', '/deployments/pool/targets', undefined, key.body.key)).status).toBe(403);
    expect((await cerulean.admin('GET', '/deployments/pool/targets')).body.targets[1].drained).toBe(false);
  });
});
