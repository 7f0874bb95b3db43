import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { NATIVE_REPLY, startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * `responses_api: native`: the Responses API request goes to the upstream's own `/responses` as it
 * came and its answer is relayed unchanged (built-in tool items included), with admission, metering
 * and storage as for a translated one; a request a content-filter policy applies to is translated.
 */
let upstream: OpenAIFixture;
let azureUpstream: OpenAIFixture;
let cerulean: GovernedCerulean;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startOpenAIFixture({ apiKey: 'sk-fixture' });
  azureUpstream = await startOpenAIFixture({ azureKey: 'azure-secret' });
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai, api_key: sk-fixture, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
  az: { type: azure-openai, endpoint: "${azureUpstream.url}", api_key: azure-secret, api_version: "2024-10-21", retry: { max_attempts: 1 } }
deployments:
  native: { provider: up, model: gpt-4o-mini, responses_api: native }
  native-filtered: { provider: up, model: gpt-4o-mini, responses_api: native }
  azure-native: { provider: az, model: my-azure-deployment, responses_api: native }
content_safety:
  deployments:
    native: none
    azure-native: none
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'p', id: 'proj_native' })).status).toBe(201);
  const key = (await cerulean.admin('POST', '/projects/proj_native/keys', {})).body.key as string;
  client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: key, maxRetries: 0 });
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
  await azureUpstream?.close();
});

const lastUpstreamRequest = () => upstream.requests[upstream.requests.length - 1];

describe('native Responses pass-through', () => {
  it('sends the request to the upstream /responses as it came and relays the answer unchanged', async () => {
    const response = await client.responses.create({ model: 'native', input: 'Search for lighthouses.', metadata: { topic: 'sea' } });
    expect(lastUpstreamRequest()).toMatchObject({
      path: '/v1/responses',
      body: { model: 'gpt-4o-mini', input: 'Search for lighthouses.', metadata: { topic: 'sea' } },
    });
    // A built-in tool item no translation produces, and the upstream's own id.
    expect(response.output.map((item) => item.type)).toEqual(['web_search_call', 'message']);
    expect(response.output_text).toBe(NATIVE_REPLY);
    expect((await client.responses.retrieve(response.id)).output).toEqual(response.output);
  });

  it('relays the upstream event stream event by event, and stores its final response', async () => {
    const stream = client.responses.stream({ model: 'native', input: 'Search again.' });
    const events: Array<{ type: string; sequence_number: number }> = [];
    for await (const event of stream) events.push(event);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_event, index) => index));
    expect(events.map((event) => event.type)).toContain('response.web_search_call.searching');
    expect(events[events.length - 1].type).toBe('response.completed');
    const final = await stream.finalResponse();
    expect(final.output_text).toBe(NATIVE_REPLY);
    expect((await client.responses.retrieve(final.id)).status).toBe('completed');
  });

  it('meters the upstream usage of native answers under the responses API', async () => {
    const before = upstream.billed.prompt + upstream.billed.completion;
    await client.responses.create({ model: 'native', input: 'Count me.' });
    const billed = upstream.billed.prompt + upstream.billed.completion - before;
    await cerulean.governance.ledger.flush();
    const rows = (await cerulean.admin('GET', '/usage?project=proj_native&group_by=api')).body.data as Array<Record<string, number | string>>;
    const row = rows.find((r) => r.api === 'responses');
    expect(row?.requests).toBeGreaterThanOrEqual(3);
    expect(Number(row?.prompt_tokens) + Number(row?.completion_tokens)).toBeGreaterThanOrEqual(billed);
    expect(billed).toBeGreaterThan(0);
  });

  it("reaches an Azure upstream's v1 Responses API, the Azure deployment named in model", async () => {
    const response = await client.responses.create({ model: 'azure-native', input: 'Hi Azure.' });
    const sent = azureUpstream.requests[azureUpstream.requests.length - 1];
    expect(sent).toMatchObject({ path: '/openai/v1/responses', body: { model: 'my-azure-deployment' } });
    expect(sent.headers['api-key']).toBe('azure-secret');
    expect(response.output_text).toBe(NATIVE_REPLY);
  });

  it('translates instead when a content-filter policy applies, so the filter can judge the stream', async () => {
    const response = await client.responses.create({ model: 'native-filtered', input: 'Hello there.' });
    expect(lastUpstreamRequest().path).toBe('/v1/chat/completions');
    expect(response.output.map((item) => item.type)).toEqual(['message']);
  });

  it('refuses native for a provider whose upstream has no Responses API, naming the key', () => {
    expect(() =>
      parseConfig(
        'providers:\n  claude: { type: anthropic, api_key: k }\ndeployments:\n  c: { provider: claude, model: claude-sonnet-4-5, responses_api: native }\n',
        'test.yaml',
        {},
      ),
    ).toThrow(/deployments\.c\.responses_api: "native" needs an openai, azure-openai or openai-compatible provider/);
  });
});
