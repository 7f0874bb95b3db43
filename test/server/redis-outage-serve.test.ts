import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { startServe, type Serving } from '../helpers/cli-process.js';
import { startCuttableProxy, type CuttableProxy } from '../helpers/cuttable-proxy.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';

/** A real `cerulean serve` (the built command) whose Redis goes away and comes back. */

const MASTER = 'outage-master-key';
let upstream: OpenAIFixture;
let redis: PrivateRedis;
let proxy: CuttableProxy;
let replica: Serving | undefined;

beforeAll(async () => {
  upstream = await startOpenAIFixture();
  redis = await startPrivateRedis(26502);
  proxy = await startCuttableProxy(26512, { host: '127.0.0.1', port: redis.port });
});

afterAll(async () => {
  replica?.kill();
  await proxy?.close();
  await redis?.stop();
  await upstream?.close();
});

it('answers 503 with retry-after at once, logs the outage as JSON lines, and prints no ioredis traces', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cerulean-redis-outage-'));
  writeFileSync(
    join(dir, 'c.yaml'),
    `
server: { host: 127.0.0.1, port: 0 }
data_dir: ./state
logging: { level: info }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
redis: { url: "redis://127.0.0.1:${proxy.port}" }
`,
  );
  replica = await startServe(['serve', '--config', 'c.yaml', '--port', '0'], { cwd: dir, env: { CERULEAN_MASTER_KEY: MASTER } });
  const admin = async (method: string, path: string, body: unknown): Promise<any> => {
    const response = await fetch(`${replica!.url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(response.status).toBeLessThan(300);
    return response.json();
  };
  await admin('POST', '/organizations', { name: 'Acme', id: 'org_acme' });
  await admin('POST', '/projects', { organization: 'org_acme', name: 'Quota', id: 'proj_quota' });
  await admin('PUT', '/projects/proj_quota/quotas/chat', { tpm: 100_000 });
  const { key } = (await admin('POST', '/projects/proj_quota/keys', {})) as { key: string };
  const chat = async (): Promise<{ status: number; retryAfter: string | null; ms: number }> => {
    const started = performance.now();
    const response = await fetch(`${replica!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }),
    });
    await response.arrayBuffer();
    return { status: response.status, retryAfter: response.headers.get('retry-after'), ms: performance.now() - started };
  };
  expect((await chat()).status).toBe(200);

  await proxy.cut();
  for (let i = 0; i < 3; i++) {
    const refused = await chat();
    expect(refused.status).toBe(503);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.ms).toBeLessThan(1_000);
  }
  // Several reconnect attempts fail while the proxy is cut.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await proxy.restore();
  await expect.poll(async () => (await chat()).status, { timeout: 10_000, interval: 100 }).toBe(200);

  expect(await replica.stop()).toBe(0);
  const output = replica.output();
  expect(output).not.toContain('[ioredis]');
  const lines = output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string; redis?: { on_outage: string } });
  const outage = lines.filter((line) => line.msg.startsWith('redis unreachable'));
  expect(outage).toHaveLength(1);
  expect(outage[0].redis).toMatchObject({ on_outage: 'fail_closed' });
  expect(lines.filter((line) => line.msg.startsWith('redis reachable again'))).toHaveLength(1);
}, 30_000);
