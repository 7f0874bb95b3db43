import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/master-key.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/observability/logger.js';
import { startService, type Service } from '../../src/service/service.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';

/**
 * What an operator reads per request: one access line with who, what, how much and how long; the
 * caller's request id kept; the caller's W3C trace continued to the upstream.
 */
const lines: Array<Record<string, any>> = [];
let upstream: OpenAIFixture;
let service: Service;
let url: string;
let key: { id: string; key: string; prefix: string };

async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(response.status).toBeLessThan(300);
  return response.json();
}

function chat(headers: Record<string, string> = {}, stream = false): Promise<Response> {
  return fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hello' }], stream }),
  });
}

/** The access line of the request with this id (written once the response has ended). */
async function accessLine(requestId: string): Promise<Record<string, any>> {
  await expect.poll(() => lines.some((line) => line.msg === 'request' && line.reqId === requestId)).toBe(true);
  return lines.find((line) => line.msg === 'request' && line.reqId === requestId) as Record<string, any>;
}

beforeAll(async () => {
  upstream = await startOpenAIFixture();
  const dataDir = mkdtempSync(join(tmpdir(), 'cerulean-access-'));
  const config = parseConfig(
    `
data_dir: ${JSON.stringify(dataDir)}
providers: { up: { type: openai-compatible, base_url: "${upstream.url}/v1" } }
deployments: { chat: { provider: up, model: gpt-4o-mini } }
content_safety: { deployments: { chat: none } }
`,
    'test.yaml',
    {},
  );
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      callback();
    },
  });
  service = await startService(config, { masterHash: hashKey(MASTER_KEY), version: 'test', logger: createLogger('info', sink) });
  url = await service.server.listen('127.0.0.1', 0);
  await admin('POST', '/organizations', { name: 'Acme', id: 'org_log' });
  await admin('POST', '/projects', { organization: 'org_log', name: 'Logs', id: 'proj_log' });
  await admin('PATCH', '/deployments/chat', { input_per_million: 1, output_per_million: 2 });
  key = await admin('POST', '/projects/proj_log/keys', { name: 'logged' });
});

afterAll(async () => {
  await service?.close();
  await upstream?.close();
});

describe('the access line', () => {
  it('carries deployment, project, key prefix (never the key), status, tokens, cost and latency, once per request', async () => {
    const response = await chat();
    expect(response.status).toBe(200);
    const body = (await response.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    const id = response.headers.get('x-request-id') as string;
    const line = await accessLine(id);
    expect(line).toMatchObject({
      level: 30,
      method: 'POST',
      url: '/v1/chat/completions',
      status: 200,
      deployment: 'chat',
      project: 'proj_log',
      principal: 'key',
      key_prefix: key.prefix,
      prompt_tokens: body.usage.prompt_tokens,
      completion_tokens: body.usage.completion_tokens,
    });
    expect(line.cost_usd).toBeCloseTo((body.usage.prompt_tokens * 1 + body.usage.completion_tokens * 2) / 1_000_000, 9);
    expect(line.ms).toBeGreaterThan(0);
    expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(lines)).not.toContain(key.key);
    expect(lines.filter((entry) => entry.reqId === id && entry.msg === 'request')).toHaveLength(1);
  });

  it('is written for a refused request too, with its status', async () => {
    const response = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [] }),
    });
    expect(response.status).toBe(401);
    expect(await accessLine(response.headers.get('x-request-id') as string)).toMatchObject({ status: 401, url: '/v1/chat/completions' });
  });
});

describe('x-request-id', () => {
  it('keeps a valid caller id on the response, in the logs and in the usage record', async () => {
    const response = await chat({ 'x-request-id': 'client-7f3a:retry.1' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('client-7f3a:retry.1');
    const line = await accessLine('client-7f3a:retry.1');
    // The usage record carries it too, made unique: a caller reusing its id must not merge records.
    expect(line.usage_id).toMatch(/^client-7f3a:retry\.1\+[0-9a-f-]{36}$/);
    await expect.poll(async () => (await service.governance.storage.usage.get(line.usage_id))?.projectId).toBe('proj_log');

    const again = await chat({ 'x-request-id': 'client-7f3a:retry.1' });
    expect(again.headers.get('x-request-id')).toBe('client-7f3a:retry.1');
    await expect.poll(() => lines.filter((entry) => entry.msg === 'request' && entry.reqId === 'client-7f3a:retry.1').length).toBe(2);
    const ids = lines.filter((entry) => entry.msg === 'request' && entry.reqId === 'client-7f3a:retry.1').map((entry) => entry.usage_id);
    expect(new Set(ids).size).toBe(2);
  });

  it('replaces an invalid one with its own', async () => {
    for (const invalid of ['has space', 'x'.repeat(129), 'semi;colon', 'a/b', '{"json":1}']) {
      const response = await chat({ 'x-request-id': invalid });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('traceparent', () => {
  it('continues the caller’s trace to the upstream with a new parent id, and passes tracestate along', async () => {
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const before = upstream.requests.length;
    const response = await chat({ traceparent: caller, tracestate: 'vendor=abc' }, true);
    expect(response.status).toBe(200);
    await response.text();
    const sent = upstream.requests.slice(before).find((request) => request.path.endsWith('/chat/completions'));
    const traceparent = String(sent?.headers.traceparent);
    expect(traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect(traceparent).not.toBe(caller);
    expect(sent?.headers.tracestate).toBe('vendor=abc');
    expect((await accessLine(response.headers.get('x-request-id') as string)).trace_id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('starts a new trace when the caller sends none or a malformed one', async () => {
    for (const header of [undefined, '00-00000000000000000000000000000000-00f067aa0ba902b7-01', 'garbage']) {
      const before = upstream.requests.length;
      const response = await chat(header ? { traceparent: header, tracestate: 'vendor=abc' } : {});
      expect(response.status).toBe(200);
      const sent = upstream.requests.slice(before).find((request) => request.path.endsWith('/chat/completions'));
      expect(String(sent?.headers.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      expect(String(sent?.headers.traceparent)).not.toContain('00000000000000000000000000000000');
      expect(sent?.headers.tracestate).toBeUndefined();
    }
  });
});
