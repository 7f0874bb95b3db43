import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { dropSchema, POSTGRES_URL, uniqueSchema } from '../storage/storage-test-support.js';

/**
 * On PostgreSQL the change feed tells the replica that made a change a few milliseconds after the
 * admin call returns: without more, a key just created is refused (401) by that very replica for
 * a moment. An admin call that changed something returns only once this replica's cache has it.
 */
const schema = uniqueSchema();
let upstream: OpenAIFixture;
let cerulean: GovernedCerulean;

beforeAll(async () => {
  upstream = await startOpenAIFixture();
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', schema);
  cerulean = await startGovernedCerulean(`
storage: { url: ${JSON.stringify(url.toString())} }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_r' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_r', name: 'P', id: 'proj_r' })).status).toBe(201);
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
  await dropSchema(schema);
});

async function chat(key: string): Promise<number> {
  const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('read-your-writes on PostgreSQL', () => {
  it('accepts a key at once after creating it, and refuses it at once after revoking it, on the same replica', async () => {
    for (let i = 0; i < 10; i++) {
      const created = await cerulean.admin('POST', '/projects/proj_r/keys', { name: `k${i}` });
      expect(created.status).toBe(201);
      expect(await chat(created.body.key)).toBe(200);
      expect((await cerulean.admin('POST', `/keys/${created.body.id}/revoke`)).status).toBe(200);
      expect(await chat(created.body.key)).toBe(401);
    }
  });
});
