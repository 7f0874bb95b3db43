import { afterAll, beforeAll, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * A stream the caller abandons before the upstream reports usage still cost tokens: it is metered
 * with Cerulean's estimate (the prompt as admission counts it, the text relayed at ~4 characters a
 * token), never as free.
 */
let upstream: OpenAIFixture;
let cerulean: GovernedCerulean;

beforeAll(async () => {
  upstream = await startOpenAIFixture({ chunkDelayMs: 40 });
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
deployments:
  slow: { provider: up, model: slow-stream }
content_safety:
  deployments:
    slow: none
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' })).status).toBe(201);
  expect((await cerulean.admin('POST', '/projects', { organization: 'org_acme', name: 'p', id: 'proj_abandon' })).status).toBe(201);
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

it('meters a stream the caller abandoned mid-way with estimated tokens', async () => {
  const key = (await cerulean.admin('POST', '/projects/proj_abandon/keys', {})).body.key as string;
  const controller = new AbortController();
  const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'Tell me a long story about a lighthouse keeper.' }] }),
    signal: controller.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  let text = '';
  while (!/"content":"[^"]/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  await reader.cancel().catch(() => {});

  // The record is written once the server notices the disconnect.
  let row: Record<string, number> | undefined;
  for (let attempt = 0; attempt < 50 && !row; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    await cerulean.governance.ledger.flush();
    row = (await cerulean.admin('GET', '/usage?project=proj_abandon&group_by=api')).body.data[0];
  }
  expect(row).toMatchObject({ api: 'chat', requests: 1 });
  expect(row?.prompt_tokens).toBeGreaterThan(5);
  expect(row?.completion_tokens).toBeGreaterThan(0);
  expect(upstream.billed.completed).toBe(0);
  // The record says its tokens are an estimate.
  const record = await cerulean.governance.storage.usage.get(response.headers.get('x-request-id') as string);
  expect(record).toMatchObject({ status: 499, streamed: true, estimated: true });
});
