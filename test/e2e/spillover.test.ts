import { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * Azure's per-request spillover: on Azure routes, `x-ms-spillover-deployment` names a deployment
 * the request moves to when the requested one answers 429 or is unavailable (a provisioned
 * deployment spilling over to a standard one). The answer then says so in Azure's headers
 * (`x-ms-spillover-from-deployment`, `x-ms-deployment-name`, `x-ms-spillover-error`). The named
 * deployment must exist (400 in Azure's shape) and be one the caller may call (403); residency
 * pins still apply.
 */
let upstream: FaultUpstream;
let cerulean: GovernedCerulean;
let euKey: string;
let scopedKey: string;

beforeAll(async () => {
  upstream = await startFaultUpstream();
  cerulean = await startGovernedCerulean(`
providers:
  eu: { type: openai-compatible, base_url: "${upstream.url}/v1", region: westeurope, data_zone: eu, retry: { max_attempts: 1 } }
  us: { type: openai-compatible, base_url: "${upstream.url}/v1", region: eastus, data_zone: us, retry: { max_attempts: 1 } }
deployments:
  ptu: { provider: eu, model: ptu-model }
  standard: { provider: eu, model: standard-model }
  us-standard: { provider: us, model: us-model }
content_safety:
  deployments: { ptu: none, standard: none, us-standard: none }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'EU', id: 'proj_eu', data_zone: 'eu' })).status).toBe(201);
  euKey = (await cerulean.admin('POST', '/projects/proj_eu/keys', {})).body.key;
  scopedKey = (await cerulean.admin('POST', '/projects/proj_eu/keys', { deployments: ['ptu'] })).body.key;
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

beforeEach(() => {
  for (const model of ['ptu-model', 'standard-model', 'us-model']) upstream.setFallback({ kind: 'ok' }, model);
});

function azure(key: string, spillover?: string): AzureOpenAI {
  return new AzureOpenAI({
    endpoint: cerulean.url,
    apiKey: key,
    apiVersion: '2024-10-21',
    deployment: 'ptu',
    maxRetries: 0,
    defaultHeaders: spillover === undefined ? undefined : { 'x-ms-spillover-deployment': spillover },
  });
}

/** The error a request that must fail failed with (OpenAI's APIError: status, code, headers). */
async function refusal(request: Promise<unknown>): Promise<{ status: number; code?: string; headers: Headers }> {
  try {
    await request;
  } catch (error) {
    return error as { status: number; code?: string; headers: Headers };
  }
  throw new Error('the request was expected to fail');
}

const ask = { model: 'ptu', messages: [{ role: 'user' as const, content: 'Hello' }] };

describe('x-ms-spillover-deployment', () => {
  it('spills a 429 of the requested deployment over to the named one, and says so as Azure does', async () => {
    upstream.script([{ kind: 'status', status: 429, retryAfter: '0' }], 'ptu-model');
    const before = upstream.requests.length;
    const { data, response } = await azure(euKey, 'standard').chat.completions.create(ask).withResponse();
    expect(data.choices[0].message.content).toBeTruthy();
    expect(upstream.requests.slice(before).map((request) => request.model)).toEqual(['ptu-model', 'standard-model']);
    expect(response.headers.get('x-ms-spillover-from-deployment')).toBe('ptu');
    expect(response.headers.get('x-ms-deployment-name')).toBe('standard');
    expect(response.headers.get('x-ms-spillover-error')).toBe('429');
    expect(response.headers.get('x-cerulean-target')).toBe('eu/standard-model');
  });

  it('spills a 5xx over too, and keeps the headers when the spillover deployment fails as well', async () => {
    upstream.script([{ kind: 'status', status: 503 }], 'ptu-model');
    upstream.script([{ kind: 'status', status: 500 }], 'standard-model');
    const error = await refusal(azure(euKey, 'standard').chat.completions.create(ask));
    expect(error.status).toBe(500);
    expect(error.headers.get('x-ms-spillover-from-deployment')).toBe('ptu');
    expect(error.headers.get('x-ms-spillover-error')).toBe('503');
  });

  it("never spills a caller's mistake over, and an answer that did not spill carries no spillover header", async () => {
    upstream.script([{ kind: 'status', status: 400 }], 'ptu-model');
    const before = upstream.requests.length;
    const error = await refusal(azure(euKey, 'standard').chat.completions.create(ask));
    expect(error.status).toBe(400);
    expect(upstream.requests.slice(before).map((request) => request.model)).toEqual(['ptu-model']);
    const { response } = await azure(euKey, 'standard').chat.completions.create(ask).withResponse();
    expect(response.headers.get('x-ms-spillover-from-deployment')).toBeNull();
  });

  it('refuses an unknown deployment with 400 in Azure’s shape, and one the key may not call with 403, before any upstream call', async () => {
    const before = upstream.requests.length;
    const unknown = await fetch(`${cerulean.url}/openai/deployments/ptu/chat/completions?api-version=2024-10-21`, {
      method: 'POST',
      headers: { 'api-key': euKey, 'content-type': 'application/json', 'x-ms-spillover-deployment': 'nowhere' },
      body: JSON.stringify({ messages: ask.messages }),
    });
    expect(unknown.status).toBe(400);
    const body = (await unknown.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_spillover_deployment');
    expect(body.error.message).toContain('nowhere');

    const refused = await refusal(azure(scopedKey, 'standard').chat.completions.create(ask));
    expect(refused).toMatchObject({ status: 403, code: 'deployment_not_allowed' });
    expect(upstream.requests.length).toBe(before);
  });

  it('keeps a pinned project in its zone: a spillover deployment outside it is never tried', async () => {
    upstream.script([{ kind: 'status', status: 429, retryAfter: '0' }], 'ptu-model');
    const before = upstream.requests.length;
    const error = await refusal(azure(euKey, 'us-standard').chat.completions.create(ask));
    expect(error.status).toBe(429);
    expect(upstream.requests.slice(before).map((request) => request.model)).toEqual(['ptu-model']);
  });
});
