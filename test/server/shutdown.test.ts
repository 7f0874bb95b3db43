import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY, startCerulean } from '../helpers/cerulean.js';

let upstream: OpenAIFixture;
beforeAll(async () => {
  upstream = await startOpenAIFixture({ chunkDelayMs: 60 });
});
afterAll(async () => {
  await upstream?.close();
});

const yaml = (server: string): string => `
server: { ${server} }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
  slow: { provider: up, model: slow-stream }
content_safety: { deployments: { chat: none, slow: none } }
`;

const headers = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' };
const chat = (url: string, model: string, stream: boolean): Promise<Response> =>
  fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }) });

describe('draining on shutdown', () => {
  it('answers /readyz and new requests with 503 while a stream in flight finishes, then closes the port', async () => {
    const cerulean = await startCerulean(yaml('shutdown_grace_ms: 10000'));
    const streaming = await chat(cerulean.url, 'slow', true);
    expect(streaming.status).toBe(200);
    const body = streaming.text();
    const closing = cerulean.server.shutdown();

    const ready = await fetch(`${cerulean.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'shutting_down' });
    const refused = await chat(cerulean.url, 'chat', false);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('connection')).toBe('close');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('shutting_down');

    expect(await body).toContain('data: [DONE]');
    await closing;
    await expect(fetch(`${cerulean.url}/readyz`)).rejects.toThrow();
  });

  it('keeps the port open for drain_delay_ms even with nothing in flight', async () => {
    const cerulean = await startCerulean(yaml('shutdown_grace_ms: 10000, drain_delay_ms: 400'));
    let closed = false;
    const closing = cerulean.server.shutdown().then(() => (closed = true));
    const ready = await fetch(`${cerulean.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(closed).toBe(false);
    await closing;
  });
});
