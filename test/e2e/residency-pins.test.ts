import OpenAI, { APIError, AzureOpenAI } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * Residency pins on keys and regions, through the official SDK: a key narrows its project's pin
 * (never widens it), the pin in force holds for failover and fallbacks while every allowed target
 * fails, and a refusal names the policy and where it comes from. Deployment types: a data zone
 * deployment outside a pinned request's zone is refused before any call.
 */
let upstream: FaultUpstream;
let cerulean: GovernedCerulean;

const MODELS = ['us-model', 'we-model', 'se-model', 'us-fallback', 'eu-zone-we', 'eu-zone-se', 'us-zone'];

beforeAll(async () => {
  upstream = await startFaultUpstream();
  cerulean = await startGovernedCerulean(`
providers:
  we: { type: openai-compatible, base_url: "${upstream.url}/v1", region: westeurope, data_zone: eu, retry: { max_attempts: 1 } }
  se: { type: openai-compatible, base_url: "${upstream.url}/v1", region: swedencentral, data_zone: eu, retry: { max_attempts: 1 } }
  us: { type: openai-compatible, base_url: "${upstream.url}/v1", region: eastus, data_zone: us, retry: { max_attempts: 1 } }
deployments:
  chat:
    strategy: priority
    targets:
      - { provider: us, model: us-model }
      - { provider: we, model: we-model, priority: 1 }
      - { provider: se, model: se-model, priority: 2 }
    fallbacks:
      - { deployment: us-only }
  us-only: { provider: us, model: us-fallback }
  eu-zone:
    type: data_zone
    targets:
      - { provider: we, model: eu-zone-we }
      - { provider: se, model: eu-zone-se, priority: 1 }
    strategy: priority
  us-zone: { type: data_zone, provider: us, model: us-zone }
content_safety:
  deployments: { chat: none, us-only: none, eu-zone: none, us-zone: none }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  for (const project of [
    { id: 'proj_free', name: 'Free' },
    { id: 'proj_eu', name: 'EU', data_zone: 'eu' },
    { id: 'proj_nordic', name: 'Nordic', regions: 'swedencentral,westeurope' },
  ]) {
    expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', ...project })).status).toBe(201);
  }
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

beforeEach(() => {
  for (const model of MODELS) upstream.setFallback({ kind: 'ok' }, model);
});

async function createKey(project: string, pin: Record<string, unknown> = {}): Promise<{ id: string; key: string }> {
  const created = await cerulean.admin('POST', `/projects/${project}/keys`, pin);
  expect(created.status).toBe(201);
  return created.body;
}

function client(key: string): OpenAI {
  return new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: key, maxRetries: 0 });
}

async function ask(key: string, model = 'chat') {
  const { data, response } = await client(key)
    .chat.completions.create({ model, messages: [{ role: 'user', content: 'Where are you?' }] })
    .withResponse();
  return { content: data.choices[0].message.content, target: response.headers.get('x-cerulean-target') };
}

/** The SDK's error for a request that must fail. */
async function refusal(key: string, model = 'chat'): Promise<APIError> {
  const error = await client(key)
    .chat.completions.create({ model, messages: [{ role: 'user', content: 'Where are you?' }] })
    .then(
      () => undefined,
      (caught: unknown) => caught,
    );
  expect(error).toBeInstanceOf(APIError);
  return error as APIError;
}

const modelsSince = (since: number) => upstream.requests.slice(since).map((request) => request.model);

describe('a key pinned to a data zone in an unpinned project', () => {
  let euKey: string;
  let freeKey: string;

  beforeAll(async () => {
    const created = await cerulean.admin('POST', '/projects/proj_free/keys', { data_zone: 'eu' });
    expect(created.body).toMatchObject({ dataZone: 'eu', regions: null });
    euKey = created.body.key;
    freeKey = (await createKey('proj_free')).key;
  });

  it('reaches only targets in its zone, while the project’s other keys go anywhere', async () => {
    const before = upstream.requests.length;
    expect((await ask(freeKey)).target).toBe('us/us-model');
    expect((await ask(euKey)).target).toBe('we/we-model');
    expect(modelsSince(before)).toEqual(['us-model', 'we-model']);
  });

  it('while every target in its zone fails, fails over inside the zone only: never to a target or a fallback outside it', async () => {
    upstream.setFallback({ kind: 'status', status: 503 }, 'we-model');
    upstream.setFallback({ kind: 'status', status: 503 }, 'se-model');
    const before = upstream.requests.length;
    const error = await refusal(euKey);
    expect(error.status).toBe(503);
    expect(error.headers?.get('x-cerulean-attempts')).toBe('2');
    expect(modelsSince(before)).toEqual(['we-model', 'se-model']);
    // The same failure for an unpinned key is never seen: its first target answers.
    expect((await ask(freeKey)).target).toBe('us/us-model');
  });

  it('with no target in its zone is refused with 403, naming the policy and that it is the key’s, and nothing is sent', async () => {
    const before = upstream.requests.length;
    const error = await refusal(euKey, 'us-only');
    expect(error.status).toBe(403);
    expect(error.code).toBe('data_zone_unavailable');
    expect(error.type).toBe('permission_error');
    expect(error.message).toContain('No target of deployment "us-only" is allowed by the residency policy of project "proj_free": data zone "eu" (key)');
    expect(modelsSince(before)).toEqual([]);
  });

  it('answers on the Azure route in Azure’s shape, with the region that served', async () => {
    const azure = new AzureOpenAI({ endpoint: cerulean.url, apiKey: euKey, apiVersion: '2024-10-21', maxRetries: 0 });
    const { response } = await azure.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(response.headers.get('x-ms-region')).toBe('westeurope');
    const refused = await azure.chat.completions.create({ model: 'us-only', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught);
    expect(refused).toBeInstanceOf(APIError);
    expect((refused as APIError).status).toBe(403);
    expect((refused as APIError).message).toContain('data zone "eu" (key)');
  });
});

describe('region pins', () => {
  it('a key pinned to a region reaches only targets there, failover included, and is refused elsewhere naming the regions', async () => {
    const { key } = await createKey('proj_free', { regions: 'swedencentral' });
    expect((await ask(key)).target).toBe('se/se-model');
    upstream.setFallback({ kind: 'status', status: 500 }, 'se-model');
    const before = upstream.requests.length;
    expect((await refusal(key)).status).toBe(500);
    expect(modelsSince(before)).toEqual(['se-model']);
    const refused = await refusal(key, 'us-only');
    expect(refused.status).toBe(403);
    expect(refused.code).toBe('region_unavailable');
    expect(refused.message).toContain('regions swedencentral (key)');
  });

  it('a project pinned to regions holds its keys to them; a key narrows them further, and the refusal names both', async () => {
    const projectKey = await createKey('proj_nordic');
    expect((await ask(projectKey.key)).target).toBe('we/we-model');
    const narrow = await createKey('proj_nordic', { regions: ['swedencentral'] });
    expect((await ask(narrow.key)).target).toBe('se/se-model');
    const refused = await refusal(narrow.key, 'us-only');
    expect(refused.status).toBe(403);
    expect(refused.message).toContain('regions swedencentral (key) within regions swedencentral, westeurope (project)');
    const projectRefused = await refusal(projectKey.key, 'us-only');
    expect(projectRefused.message).toContain('regions swedencentral, westeurope (project)');
  });
});

describe('a key never widens its project’s pin', () => {
  it('is refused at creation with a zone other than its project’s, or regions outside its project’s, naming both', async () => {
    const zone = await cerulean.admin('POST', '/projects/proj_eu/keys', { data_zone: 'us' });
    expect(zone.status).toBe(400);
    expect(zone.body.error).toMatchObject({ code: 'residency_conflict', param: 'data_zone' });
    expect(zone.body.error.message).toContain(`The key's data zone "us" contradicts the project's data zone "eu" (project "proj_eu")`);
    const regions = await cerulean.admin('POST', '/projects/proj_nordic/keys', { regions: 'swedencentral,eastus' });
    expect(regions.status).toBe(400);
    expect(regions.body.error).toMatchObject({ code: 'residency_conflict', param: 'regions' });
    expect(regions.body.error.message).toContain("The key's regions eastus are outside the project's regions (swedencentral, westeurope)");
    // The same zone as its project's, or a region inside it, is fine.
    expect((await cerulean.admin('POST', '/projects/proj_eu/keys', { data_zone: 'eu', regions: 'westeurope' })).status).toBe(201);
  });

  it('is refused when updated to widen it; an update that narrows it takes effect on the next request', async () => {
    const key = await createKey('proj_eu');
    expect((await ask(key.key)).target).toBe('we/we-model');
    const widened = await cerulean.admin('PATCH', `/keys/${key.id}`, { data_zone: 'us' });
    expect(widened.status).toBe(400);
    expect(widened.body.error.message).toContain('contradicts the project\'s data zone "eu"');
    const narrowed = await cerulean.admin('PATCH', `/keys/${key.id}`, { regions: ['swedencentral'] });
    expect(narrowed.body).toMatchObject({ id: key.id, dataZone: null, regions: ['swedencentral'] });
    expect(narrowed.body).not.toHaveProperty('hash');
    expect((await ask(key.key)).target).toBe('se/se-model');
    expect((await cerulean.admin('PATCH', `/keys/${key.id}`, { regions: '' })).body).toMatchObject({ regions: null });
    expect((await ask(key.key)).target).toBe('we/we-model');
  });

  it('a project cannot be re-pinned where one of its keys would widen it; clearing the key first allows it', async () => {
    await cerulean.admin('POST', '/projects', { organization: 'org_acme', id: 'proj_move', name: 'Move', data_zone: 'eu' });
    const key = await createKey('proj_move', { data_zone: 'eu' });
    const moved = await cerulean.admin('PATCH', '/projects/proj_move', { data_zone: 'us' });
    expect(moved.status).toBe(400);
    expect(moved.body.error.message).toContain(`Key "${key.id}": the key's data zone "eu" contradicts the project's data zone "us"`);
    expect((await cerulean.admin('PATCH', `/keys/${key.id}`, { data_zone: '' })).status).toBe(200);
    expect((await cerulean.admin('PATCH', '/projects/proj_move', { data_zone: 'us' })).body).toMatchObject({ dataZone: 'us' });
    expect((await ask(key.key)).target).toBe('us/us-model');
  });
});

describe('deployment types for a pinned request', () => {
  it('a data zone deployment in the pinned zone serves it; one in another zone is refused before any call', async () => {
    const { key } = await createKey('proj_eu');
    expect((await ask(key, 'eu-zone')).target).toBe('we/eu-zone-we');
    const before = upstream.requests.length;
    const refused = await refusal(key, 'us-zone');
    expect(refused.status).toBe(403);
    expect(refused.code).toBe('data_zone_unavailable');
    expect(refused.message).toContain('data zone "eu" (project)');
    expect(modelsSince(before)).toEqual([]);
  });
});
