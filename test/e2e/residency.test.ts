import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * Residency: a project pinned to a data zone never reaches a target outside it, not as a failover
 * and not as a fallback, even while every in-zone target fails; with no target in its zone it is
 * refused, naming the policy, and nothing is sent.
 */
let upstream: FaultUpstream;
let cerulean: GovernedCerulean;
let euKey: string;
let freeKey: string;

beforeAll(async () => {
  upstream = await startFaultUpstream();
  cerulean = await startGovernedCerulean(`
providers:
  eu: { type: openai-compatible, base_url: "${upstream.url}/v1", region: westeurope, data_zone: eu, retry: { max_attempts: 1 } }
  us: { type: openai-compatible, base_url: "${upstream.url}/v1", region: eastus, data_zone: us, retry: { max_attempts: 1 } }
deployments:
  chat:
    strategy: priority
    targets:
      - { provider: us, model: us-model }
      - { provider: eu, model: eu-model, priority: 1 }
    fallbacks:
      - { deployment: us-only }
  us-only: { provider: us, model: us-fallback }
content_safety:
  deployments: { chat: none, us-only: none }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'EU', id: 'proj_eu', data_zone: 'eu' })).body).toMatchObject({
    dataZone: 'eu',
  });
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'Free', id: 'proj_free' })).body).toMatchObject({ dataZone: null });
  euKey = (await cerulean.admin('POST', '/projects/proj_eu/keys', {})).body.key;
  freeKey = (await cerulean.admin('POST', '/projects/proj_free/keys', {})).body.key;
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

beforeEach(() => {
  for (const model of ['us-model', 'eu-model', 'us-fallback']) upstream.setFallback({ kind: 'ok' }, model);
});

async function ask(key: string, model = 'chat') {
  const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Where are you?' }] }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, any> };
}

const modelsSince = (since: number) => upstream.requests.slice(since).map((request) => request.model);

describe('data zones', () => {
  it('an unpinned project takes the first target wherever it is', async () => {
    const before = upstream.requests.length;
    expect((await ask(freeKey)).status).toBe(200);
    expect(modelsSince(before)).toEqual(['us-model']);
  });

  it('a pinned project goes only to targets in its zone, and the answer names the region that served', async () => {
    const before = upstream.requests.length;
    const answer = await ask(euKey);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cerulean-target')).toBe('eu/eu-model');
    expect(modelsSince(before)).toEqual(['eu-model']);
  });

  it('while every in-zone target fails, it fails rather than leave the zone (no failover, no fallback outside it)', async () => {
    upstream.setFallback({ kind: 'status', status: 503 }, 'eu-model');
    const before = upstream.requests.length;
    const answer = await ask(euKey);
    expect(answer.status).toBe(503);
    expect(modelsSince(before)).toEqual(['eu-model']);
    // The unpinned project is unaffected: it is served in the US.
    expect((await ask(freeKey)).status).toBe(200);
  });

  it('with no target in its zone the request is refused, naming the policy, and nothing is sent', async () => {
    const before = upstream.requests.length;
    const answer = await ask(euKey, 'us-only');
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ type: 'permission_error', code: 'data_zone_unavailable' });
    expect(answer.body.error.message).toContain('data zone "eu"');
    expect(modelsSince(before)).toEqual([]);
  });

  it('a pin can be removed (and set) by updating the project', async () => {
    expect((await cerulean.admin('PATCH', '/projects/proj_eu', { data_zone: '' })).body).toMatchObject({ dataZone: null });
    const before = upstream.requests.length;
    expect((await ask(euKey, 'us-only')).status).toBe(200);
    expect(modelsSince(before)).toEqual(['us-fallback']);
    expect((await cerulean.admin('PATCH', '/projects/proj_eu', { data_zone: 'eu' })).body).toMatchObject({ dataZone: 'eu' });
    expect((await ask(euKey, 'us-only')).status).toBe(403);
  });
});
