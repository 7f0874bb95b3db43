import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { callJson, type JsonReply } from '../helpers/call-json.js';
import { dropSchema } from '../storage/storage-test-support.js';
import { BUILT_MAIN, startReplica, type Replica } from './replica-process.js';

/**
 * Real `cerulean serve` processes on PostgreSQL reached through a TCP proxy in this process, which
 * the test cuts (every connection dropped, new ones refused) and restores: the database going away
 * during periodic reloads must not end a replica, and a replica must start while it is away.
 */

const POSTGRES_URL = process.env.CERULEAN_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PROXY_PORT = 25411;
const MASTER_KEY = `cer-master-outage-${randomBytes(12).toString('hex')}`;
const SCHEMA = `cerulean_outage_${randomBytes(4).toString('hex')}`;

/** A TCP proxy to PostgreSQL that can be cut and restored on the same port. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly target: { host: string; port: number };

  constructor(target: { host: string; port: number }) {
    this.target = target;
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(PROXY_PORT, '127.0.0.1', resolve));
    this.server = server;
  }

  /** Refuses new connections and drops every open one, as a database host going away would. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

const target = new URL(POSTGRES_URL);
const proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
let upstream: OpenAIFixture;
const replicas: Replica[] = [];
const dirs: string[] = [];

function proxiedUrl(): string {
  const url = new URL(POSTGRES_URL);
  url.hostname = '127.0.0.1';
  url.port = String(PROXY_PORT);
  url.searchParams.set('schema', SCHEMA);
  return url.toString();
}

/** A working directory with a cerulean.yaml whose data_dir is `dataDir` (default: its own). */
function workDir(dataDir?: string): { dir: string; dataDir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cerulean-pg-outage-'));
  dirs.push(dir);
  const data = dataDir ?? join(dir, 'state');
  writeFileSync(
    join(dir, 'cerulean.yaml'),
    `server: { host: 127.0.0.1, port: 0, shutdown_grace_ms: 2000 }
data_dir: ${JSON.stringify(data)}
logging: { level: info }
storage: { url: ${JSON.stringify(proxiedUrl())}, refresh_interval_ms: 300 }
usage: { flush_interval_ms: 200 }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
`,
  );
  return { dir, dataDir: data };
}

async function serve(name: string, dir: string): Promise<Replica> {
  const replica = await startReplica(name, 'cerulean.yaml', { cwd: dir, env: { CERULEAN_MASTER_KEY: MASTER_KEY } });
  replicas.push(replica);
  return replica;
}

const call = (replica: Replica, method: string, path: string, key: string, body?: unknown): Promise<JsonReply> =>
  callJson(replica.url, method, path, key, body);

const chat = (replica: Replica, key: string) =>
  call(replica, 'POST', '/v1/chat/completions', key, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
const readyz = (replica: Replica) => call(replica, 'GET', '/readyz', '');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await probe())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The pino lines a replica wrote with this message. */
function logged(replica: Replica, message: string): Array<Record<string, unknown>> {
  return replica
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => typeof entry.msg === 'string' && entry.msg.startsWith(message));
}

beforeAll(async () => {
  if (!existsSync(BUILT_MAIN)) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test');
  upstream = await startOpenAIFixture();
  await proxy.open();
});

afterAll(async () => {
  for (const replica of replicas) replica.kill();
  await Promise.all(replicas.map((replica) => replica.exited));
  await proxy.cut();
  await upstream?.close();
  await dropSchema(SCHEMA);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('PostgreSQL going away under running replicas', () => {
  it('keeps replicas serving through periodic reloads, lets them start, and catches up when it returns', async () => {
    const first = workDir();
    const a = await serve('replica a', first.dir);
    expect((await call(a, 'POST', '/admin/v1/organizations', MASTER_KEY, { name: 'O', id: 'org_o' })).status).toBe(201);
    expect((await call(a, 'POST', '/admin/v1/projects', MASTER_KEY, { organization: 'org_o', name: 'P', id: 'proj_o' })).status).toBe(201);
    const created = await call(a, 'POST', '/admin/v1/projects/proj_o/keys', MASTER_KEY, { name: 'k' });
    const key = created.body.key as string;
    await until(async () => (await chat(a, key)).status === 200, 'the key to be accepted');
    // The snapshot file is written after a reload that saw the key.
    await until(async () => existsSync(join(first.dataDir, 'policy-snapshot.json')), 'the policy snapshot');

    await proxy.cut();
    // Ten periodic reloads' worth of outage.
    await sleep(3_000);
    expect(a.child.exitCode, a.output()).toBeNull();
    let served = 1;
    for (let i = 0; i < 3; i++) {
      expect((await chat(a, key)).status).toBe(200);
      served += 1;
    }
    const degraded = await readyz(a);
    expect(degraded.status).toBe(200);
    expect(degraded.body).toMatchObject({ status: 'degraded', storage: { status: 'unavailable', policy: { source: 'storage' } } });
    const refused = await call(a, 'GET', '/admin/v1/projects', MASTER_KEY);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('storage_unavailable');
    expect(refused.headers.get('retry-after')).toBe('5');

    // A replica starting now: with no snapshot it waits (not ready) instead of exiting; one on the
    // same data directory (a restart) serves from the snapshot.
    const fresh = await serve('replica b', workDir().dir);
    const notReady = await readyz(fresh);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ status: 'not_ready', storage: { status: 'unavailable', policy: { source: 'none' } } });
    expect(await a.stop()).toBe(0);
    // One line for the outage however many reloads failed; nothing unhandled. (Read after the
    // stop: the log is written in batches until then.)
    expect(logged(a, 'storage unreachable:')).toHaveLength(1);
    expect(a.output()).not.toMatch(/unhandled/i);
    const restarted = await serve('replica a again', workDir(first.dataDir).dir);
    expect((await chat(restarted, key)).status).toBe(200);
    served += 1;
    expect((await readyz(restarted)).body).toMatchObject({ status: 'degraded', storage: { policy: { source: 'snapshot' } } });

    await proxy.open();
    for (const replica of [fresh, restarted]) {
      await until(async () => (await readyz(replica)).body.status === 'ready', `${replica.name} to see the database again`);
      expect(replica.child.exitCode).toBeNull();
    }
    expect((await chat(fresh, key)).status).toBe(200);
    served += 1;
    expect((await call(fresh, 'GET', '/admin/v1/projects', MASTER_KEY)).status).toBe(200);

    // Usage served during the outage was spooled and is committed now: the restarted replica
    // replays what the stopped one left.
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await until(async () => {
        const { rows } = await client.query<{ count: string }>(`select count(*) as count from "${SCHEMA}".usage_records`);
        return Number(rows[0].count) === served;
      }, `${served} usage records`);
    } finally {
      await client.end();
    }
    expect(await restarted.stop()).toBe(0);
    expect(logged(restarted, 'storage unreachable at start: serving the policy snapshot')).toHaveLength(1);
    expect(logged(restarted, 'storage reachable again')).toHaveLength(1);
    expect(restarted.output()).not.toMatch(/unhandled/i);
  }, 60_000);
});
