import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * Failed attempts cost nothing: a request's usage record, its budget and its quota settle on the
 * attempt that answered; a request whose every attempt failed records its attempts, no tokens and
 * no cost. The record keeps how many targets were tried, which, and why the failed ones failed, and
 * the usage API shows it. The answer names the deployment the caller asked for, not the upstream model.
 */
let upstream: FaultUpstream;
let cerulean: GovernedCerulean;
const hello = { messages: [{ role: 'user' as const, content: 'Say hello to the routing tests' }] };

beforeAll(async () => {
  upstream = await startFaultUpstream();
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
deployments:
  pair:
    strategy: priority
    targets:
      - { provider: up, model: first }
      - { provider: up, model: second, priority: 1 }
  named:
    response_model: upstream
    strategy: priority
    targets:
      - { provider: up, model: first }
      - { provider: up, model: second, priority: 1 }
content_safety:
  deployments: { pair: none, named: none }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  for (const project of ['proj_routed', 'proj_plain']) {
    expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: project, id: project })).status).toBe(201);
    expect((await cerulean.admin('PUT', `/projects/${project}/quotas/pair`, { tpm: 100_000 })).status).toBe(200);
    expect((await cerulean.admin('PUT', `/budgets/project/${project}`, { daily_usd: 10 })).status).toBe(200);
  }
  expect((await cerulean.admin('PATCH', '/deployments/pair', { input_per_million: 1, output_per_million: 2 })).status).toBe(200);
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

beforeEach(() => {
  for (const model of ['first', 'second']) upstream.setFallback({ kind: 'ok' }, model);
});

async function clientFor(project: string): Promise<OpenAI> {
  const created = await cerulean.admin('POST', `/projects/${project}/keys`, {});
  return new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: created.body.key, maxRetries: 0 });
}

async function usageOf(project: string): Promise<Record<string, number>> {
  await cerulean.governance.ledger.flush();
  const usage = await cerulean.admin('GET', `/usage?project=${project}`);
  return usage.body.data[0];
}

describe('failed attempts cost nothing', () => {
  it('records the attempts, settles on the one that answered, and leaves quota and budget as one plain request would', async () => {
    const routed = await clientFor('proj_routed');
    const plain = await clientFor('proj_plain');

    // Every attempt fails: recorded, with no tokens and no cost.
    upstream.script([{ kind: 'status', status: 503 }], 'first');
    upstream.script([{ kind: 'status', status: 502 }], 'second');
    const failed = await routed.chat.completions
      .create({ model: 'pair', ...hello })
      .withResponse()
      .catch((error: unknown) => error as InstanceType<typeof OpenAI.APIError>);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    const failedId = (failed as InstanceType<typeof OpenAI.APIError>).headers?.get('x-request-id') as string;

    // The first target fails, the second answers: billed once, for the answer.
    upstream.script([{ kind: 'status', status: 503 }], 'first');
    const billedBefore = { ...upstream.billed };
    const answered = await routed.chat.completions.create({ model: 'pair', ...hello }).withResponse();
    expect(answered.response.headers.get('x-cerulean-attempts')).toBe('2');
    const answeredId = answered.response.headers.get('x-request-id') as string;
    const billed = { prompt: upstream.billed.prompt - billedBefore.prompt, completion: upstream.billed.completion - billedBefore.completion };

    // The plain project: one request, answered at once.
    await plain.chat.completions.create({ model: 'pair', ...hello });

    await cerulean.governance.ledger.flush();
    const failedRecord = await cerulean.admin('GET', `/usage/requests/${failedId}`);
    expect(failedRecord.status).toBe(200);
    expect(failedRecord.body).toMatchObject({
      status: 502,
      attempts: 2,
      targets_tried: ['up/first', 'up/second'],
      attempt_errors: [
        { target: 'up/first', cause: 'status_5xx', status: 503 },
        { target: 'up/second', cause: 'status_5xx', status: 502 },
      ],
      prompt_tokens: 0,
      completion_tokens: 0,
      cost_usd: 0,
    });
    const answeredRecord = await cerulean.admin('GET', `/usage/requests/${answeredId}`);
    expect(answeredRecord.body).toMatchObject({
      status: 200,
      model: 'second',
      attempts: 2,
      targets_tried: ['up/first', 'up/second'],
      attempt_errors: [{ target: 'up/first', cause: 'status_5xx', status: 503 }],
      prompt_tokens: billed.prompt,
      completion_tokens: billed.completion,
    });

    // The project's usage (what its budget is measured by) equals the plain project's single request.
    const routedUsage = await usageOf('proj_routed');
    const plainUsage = await usageOf('proj_plain');
    expect(routedUsage.requests).toBe(2);
    expect(plainUsage.requests).toBe(1);
    for (const measure of ['prompt_tokens', 'completion_tokens', 'cost_usd'] as const) expect(routedUsage[measure], measure).toBe(plainUsage[measure]);
    expect(routedUsage.cost_usd).toBeGreaterThan(0);

    // The quota too: the next request of each project finds the same tokens left.
    const routedNext = await routed.chat.completions.create({ model: 'pair', ...hello }).withResponse();
    const plainNext = await plain.chat.completions.create({ model: 'pair', ...hello }).withResponse();
    const remaining = (response: Response) => response.headers.get('x-ratelimit-remaining-tokens');
    expect(remaining(routedNext.response)).not.toBeNull();
    expect(remaining(routedNext.response)).toBe(remaining(plainNext.response));
  });

  it("another project's record reads as absent", async () => {
    const plain = await clientFor('proj_plain');
    const answered = await plain.chat.completions.create({ model: 'pair', ...hello }).withResponse();
    await cerulean.governance.ledger.flush();
    const id = answered.response.headers.get('x-request-id') as string;
    const routedKey = (await cerulean.admin('POST', '/projects/proj_routed/keys', {})).body.key;
    expect((await cerulean.admin('GET', `/usage/requests/${id}`, undefined, routedKey)).status).toBeGreaterThanOrEqual(403);
    expect((await cerulean.admin('GET', '/usage/requests/req_missing')).status).toBe(404);
  });
});

describe("the answer's model", () => {
  it('names the deployment on a routing deployment, in JSON and every stream chunk, whichever target answered', async () => {
    const client = new OpenAI({
      baseURL: `${cerulean.url}/v1`,
      apiKey: (await cerulean.admin('POST', '/projects/proj_plain/keys', {})).body.key,
      maxRetries: 0,
    });
    upstream.script([{ kind: 'status', status: 503 }], 'first');
    const completion = await client.chat.completions.create({ model: 'pair', ...hello });
    expect(completion.model).toBe('pair');

    upstream.script([{ kind: 'status', status: 503 }], 'first');
    const stream = await client.chat.completions.create({ model: 'pair', stream: true, ...hello });
    const models = new Set<string>();
    for await (const chunk of stream) models.add(chunk.model);
    expect([...models]).toEqual(['pair']);

    const response = await client.responses.create({ model: 'pair', input: 'Hi' });
    expect(response.model).toBe('pair');
  });

  it('names the upstream model that answered with `response_model: upstream`', async () => {
    const client = new OpenAI({
      baseURL: `${cerulean.url}/v1`,
      apiKey: (await cerulean.admin('POST', '/projects/proj_plain/keys', {})).body.key,
      maxRetries: 0,
    });
    upstream.script([{ kind: 'status', status: 503 }], 'first');
    expect((await client.chat.completions.create({ model: 'named', ...hello })).model).toBe('second');
    const stream = await client.chat.completions.create({ model: 'named', stream: true, ...hello });
    const models = new Set<string>();
    for await (const chunk of stream) models.add(chunk.model);
    expect([...models]).toEqual(['first']);
    const response = await client.responses.create({ model: 'named', input: 'Hi' });
    expect(response.model).toBe('first');
  });
});
