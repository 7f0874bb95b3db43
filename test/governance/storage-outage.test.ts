import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/master-key.js';
import { parseConfig } from '../../src/config/load.js';
import { startService, type Service } from '../../src/service/service.js';
import { openStorage } from '../../src/storage/open-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { callJson } from '../helpers/call-json.js';
import { MASTER_KEY } from '../helpers/cerulean.js';

/**
 * A storage that starts failing: a real SQLite storage behind a switch that makes every
 * repository call, migration and publish reject as a refused connection would.
 */
class SwitchableStorage {
  failing = false;
  calls = 0;
  readonly storage: Storage;

  constructor(inner: Storage) {
    const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const wrap = <T extends object>(target: T): T =>
      new Proxy(target, {
        get: (object, property, receiver) => {
          const value = Reflect.get(object, property, receiver) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            if (this.failing && property !== 'close' && property !== 'subscribe') {
              this.calls += 1;
              return Promise.reject(refused());
            }
            return (value as (...a: unknown[]) => unknown).apply(object, args);
          };
        },
      });
    this.storage = new Proxy(inner, {
      get: (object, property, receiver) => {
        const value = Reflect.get(object, property, receiver) as unknown;
        if (property === 'migrate') return () => (this.failing ? Promise.reject(refused()) : object.migrate());
        if (typeof value === 'object' && value !== null) return wrap(value);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(object) : value;
      },
    });
  }
}

let upstream: OpenAIFixture;
const services: Service[] = [];

beforeAll(async () => {
  upstream = await startOpenAIFixture();
});

afterAll(async () => {
  for (const service of services) await service.close().catch(() => undefined);
  await upstream?.close();
});

async function start(dataDir: string, switchable: SwitchableStorage, refreshIntervalMs = 200): Promise<{ url: string; service: Service }> {
  const config = parseConfig(
    `data_dir: ${JSON.stringify(dataDir)}
storage: { refresh_interval_ms: ${refreshIntervalMs} }
usage: { flush_interval_ms: 100 }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
`,
    'test.yaml',
    {},
  );
  const service = await startService(config, { masterHash: hashKey(MASTER_KEY), version: 'test', storage: switchable.storage });
  services.push(service);
  return { url: await service.server.listen('127.0.0.1', 0), service };
}

const chat = (url: string, key: string) => callJson(url, 'POST', '/v1/chat/completions', key, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] });

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function provision(url: string): Promise<string> {
  expect((await callJson(url, 'POST', '/admin/v1/organizations', MASTER_KEY, { name: 'Acme', id: 'org_a' })).status).toBe(201);
  expect((await callJson(url, 'POST', '/admin/v1/projects', MASTER_KEY, { organization: 'org_a', name: 'P', id: 'proj_a' })).status).toBe(201);
  // Priced, with a budget: admission reserves spend, whose counters are seeded from the ledger.
  expect((await callJson(url, 'PATCH', '/admin/v1/deployments/chat', MASTER_KEY, { input_per_million: 1, output_per_million: 2 })).status).toBe(200);
  expect((await callJson(url, 'PUT', '/admin/v1/budgets/project/proj_a', MASTER_KEY, { monthly_usd: 100 })).status).toBe(200);
  const created = await callJson(url, 'POST', '/admin/v1/projects/proj_a/keys', MASTER_KEY, { name: 'k' });
  expect(created.status).toBe(201);
  return created.body.key as string;
}

describe('a storage that starts failing', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cerulean-outage-'));
  let key: string;

  it('keeps serving cached keys, says so in /readyz and metrics, answers admin calls 503, and catches up when storage returns', async () => {
    const switchable = new SwitchableStorage(await openStorage(`sqlite:${join(dataDir, 'cerulean.db')}`));
    const { url, service } = await start(dataDir, switchable);
    key = await provision(url);
    expect((await chat(url, key)).status).toBe(200);

    switchable.failing = true;
    // Periodic reloads (every 200 ms), key last-used flushes and usage commits (every 100 ms) now all fail.
    await until(async () => switchable.calls > 20 && !service.governance.cache.health().available, 'reloads to fail');
    for (let i = 0; i < 5; i++) expect((await chat(url, key)).status).toBe(200);
    expect((await chat(url, 'cer-unknown')).status).toBe(401);

    const ready = await callJson(url, 'GET', '/readyz', '');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'degraded', storage: { status: 'unavailable', policy: { source: 'storage' } } });
    expect(ready.body.storage.error).toContain('ECONNREFUSED');

    const admin = await callJson(url, 'GET', '/admin/v1/projects', MASTER_KEY);
    expect(admin.status).toBe(503);
    expect(admin.body.error.code).toBe('storage_unavailable');
    expect(admin.headers.get('retry-after')).toBe('5');

    const metrics = (await callJson(url, 'GET', '/metrics', '')).body as string;
    expect(metrics).toMatch(/^cerulean_storage_available 0$/m);
    expect(metrics).toMatch(/^cerulean_storage_outages_total 1$/m);
    // The five above at least (the first one too, if it was not committed before the switch).
    expect(service.governance.ledger.pending).toBeGreaterThanOrEqual(5);

    switchable.failing = false;
    await until(async () => (await callJson(url, 'GET', '/readyz', '')).body.status === 'ready', 'storage to be back');
    await until(async () => service.governance.ledger.pending === 0, 'the spooled usage to be committed');
    expect((await callJson(url, 'GET', '/admin/v1/projects', MASTER_KEY)).status).toBe(200);
    expect((await callJson(url, 'GET', '/metrics', '')).body).toMatch(/^cerulean_storage_available 1$/m);
    expect((await callJson(url, 'GET', '/readyz', '')).body).toMatchObject({ status: 'ready', storage: { status: 'ok', policy: { source: 'storage' } } });
    await service.close();
  });

  it('saves the last good policy owner-only, and a replica started while storage is away serves from it', async () => {
    const file = join(dataDir, 'policy-snapshot.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const switchable = new SwitchableStorage(await openStorage(`sqlite:${join(dataDir, 'cerulean.db')}`));
    switchable.failing = true;
    const { url } = await start(dataDir, switchable);
    expect((await chat(url, key)).status).toBe(200);
    const ready = await callJson(url, 'GET', '/readyz', '');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'degraded', storage: { status: 'unavailable', policy: { source: 'snapshot' } } });
    switchable.failing = false;
    await until(async () => (await callJson(url, 'GET', '/readyz', '')).body.status === 'ready', 'storage to be back');
  });

  it('notices an outage from a failed usage commit, long before the next periodic reload', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'cerulean-outage-'));
    const switchable = new SwitchableStorage(await openStorage(`sqlite:${join(fresh, 'cerulean.db')}`));
    const { url, service } = await start(fresh, switchable, 600_000);
    const key = await provision(url);
    expect((await chat(url, key)).status).toBe(200);
    switchable.failing = true;
    expect((await chat(url, key)).status).toBe(200);
    // The usage commit (every 100 ms) fails and has the cache check the database at once.
    await until(async () => (await callJson(url, 'GET', '/readyz', '')).body.status === 'degraded', 'readyz to say degraded');
    expect(service.governance.cache.health().available).toBe(false);
    switchable.failing = false;
  });

  it('starts without a snapshot while storage is away, not ready until storage answers', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'cerulean-outage-'));
    const seed = await openStorage(`sqlite:${join(fresh, 'cerulean.db')}`);
    await seed.close();
    const switchable = new SwitchableStorage(await openStorage(`sqlite:${join(fresh, 'cerulean.db')}`));
    switchable.failing = true;
    const { url } = await start(fresh, switchable);
    const ready = await callJson(url, 'GET', '/readyz', '');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'not_ready', storage: { status: 'unavailable', policy: { source: 'none', read_at: null } } });
    switchable.failing = false;
    // The first successful try migrates the new database, then reads it.
    await until(async () => (await callJson(url, 'GET', '/readyz', '')).status === 200, 'storage to be back');
    const key = await provision(url);
    expect((await chat(url, key)).status).toBe(200);
  });
});
