import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { estimateRequestTokens, TOKEN_WINDOW_MS } from '../../src/ratelimit/quota-admission.js';
import { windowStartOf } from '../../src/ratelimit/rate-limit-store.js';
import { openStorage } from '../../src/storage/open-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { postgresAvailable, POSTGRES_URL, redisAvailable, REDIS_URL } from '../helpers/services.js';
import { dropSchema } from '../storage/storage-test-support.js';
import { startFixedUsageUpstream, type FixedUsageUpstream } from './fixed-usage-upstream.js';
import { BUILT_MAIN, startReplica, type Replica } from './replica-process.js';

/**
 * Three `cerulean serve` processes behind no load balancer, sharing one PostgreSQL schema (fresh
 * per run, dropped afterwards) and one Redis, as several replicas of one deployment would. The
 * test talks to each replica directly and checks what only holds if they really share state:
 *
 * 1. a project quota holds for all replicas together (one Redis window, not one per replica);
 * 2. a key revoked through one replica is refused by the others within a second (change feed);
 * 3. usage recorded by every replica lands in the one database once they have shut down.
 *
 * Redis is shared with whatever else runs and its key prefix is not configurable, so nothing is
 * flushed: the deployment and project names are random per run, which makes every counter key
 * this run touches its own (and those are deleted afterwards).
 */

/** The cluster needs both; without them the suite is skipped (and the run says so). */
const servicesAnswer = postgresAvailable && redisAvailable;
const MASTER_KEY = `cer-master-cluster-${randomBytes(12).toString('hex')}`;

const run = randomBytes(4).toString('hex');
const SCHEMA = `cerulean_cluster_${run}`;
const DEPLOYMENT = `chat_${run}`;
/** The upstream model: picks the tokenizer of the admission estimate (o200k for gpt-4o*). */
const MODEL = 'gpt-4o-mini';
const ORG = `org_cluster_${run}`;
const LOAD_PROJECT = `proj_load_${run}`;
const PROBE_PROJECT = `proj_probe_${run}`;

/**
 * The quota under test. Its request window is TPM / 1,000 = 300 per 10 s, well above the ~100
 * requests the token window admits, so the token window is the one that binds.
 */
const LOAD_TPM = 300_000;
/** The probe project's quota: only there so probes show x-ratelimit headers; never binds. */
const PROBE_TPM = 10_000_000;
const MAX_TOKENS = 2_900;
const CHAT_BODY = { model: DEPLOYMENT, messages: [{ role: 'user', content: 'Say hello to the cluster.' }], max_tokens: MAX_TOKENS };
/** What admission reserves for CHAT_BODY: prompt tokens (OpenAI's recipe) + max_tokens. Checked against the headers below. */
const ESTIMATE = estimateRequestTokens('chat', CHAT_BODY, MODEL);
const PROMPT_TOKENS = ESTIMATE - MAX_TOKENS;

const REPLICAS = 3;
const WORKERS_PER_REPLICA = 30;
/** Each load worker stops after this many 429s (or at LOAD_DEADLINE_MS): keeps knocking after the window is full, boundedly. */
const REFUSALS_PER_WORKER = 3;
const REFUSAL_PAUSE_MS = 100;
const LOAD_DEADLINE_MS = 10_000;
/** Start the load only when at least this much of the current 60 s window is left. */
const WINDOW_MARGIN_MS = 15_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One inference call the test made, as the caller saw it. */
interface Sent {
  requestId: string;
  status: number;
  replica: string;
  keyId: string;
  projectId: string;
}

let upstream: FixedUsageUpstream | undefined;
const replicas: Replica[] = [];
const workDirs: string[] = [];
/** Every inference call made through any replica, in order of completion. */
const sent: Sent[] = [];
const keys: Record<'load' | 'probe', { id: string; key: string; projectId: string }> = {} as never;
let revokedKeyId: string | undefined;

function schemaUrl(): string {
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', SCHEMA);
  return url.toString();
}

async function admin<T = Record<string, unknown>>(replica: Replica, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${replica.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${MASTER_KEY}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status >= 300) throw new Error(`${replica.name}: ${method} ${path} -> ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** One chat completion through a replica; every call is recorded in `sent`. */
async function chat(replica: Replica, key: { id: string; key: string; projectId: string }): Promise<{ status: number; headers: Headers; body: unknown }> {
  const response = await fetch(`${replica.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(CHAT_BODY),
  });
  const text = await response.text();
  const requestId = response.headers.get('x-request-id') ?? '';
  sent.push({ requestId, status: response.status, replica: replica.name, keyId: key.id, projectId: key.projectId });
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the failure message
  }
  return { status: response.status, headers: response.headers, body };
}

/** Polls `probe` every `everyMs` until it returns true; returns the elapsed ms, or throws after `timeoutMs`. */
async function pollUntil(probe: () => Promise<boolean>, what: string, timeoutMs: number, everyMs = 50): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Distinct warnings and errors the replicas logged (pino JSON lines), for failure messages. */
function loggedProblems(): string {
  const seen = new Set<string>();
  for (const replica of replicas) {
    for (const line of replica.output().split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
        if ((entry.level ?? 0) >= 40) seen.add(`${replica.name}: ${entry.msg ?? ''}${entry.err?.message ? ` (${entry.err.message})` : ''}`);
      } catch {
        // not a log line
      }
    }
  }
  return seen.size === 0 ? 'none' : [...seen].join('\n');
}

/** Deletes this run's rate-limit counters (they would expire within two minutes anyway). */
async function deleteCounters(): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    for (const project of [LOAD_PROJECT, PROBE_PROJECT]) {
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', `{cerulean}:rl:p:*:${project}:*`, 'COUNT', 1000);
        cursor = next;
        if (found.length > 0) await redis.del(...found);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

beforeAll(async () => {
  if (!servicesAnswer) return;
  if (!existsSync(BUILT_MAIN)) throw new Error('dist/ is missing: run `npx tsc -p tsconfig.json` (npm test does) before this test');
  upstream = await startFixedUsageUpstream({ prompt: PROMPT_TOKENS, completion: MAX_TOKENS });

  const yaml = (dataDir: string): string => `
server: { host: 127.0.0.1, port: 8080, shutdown_grace_ms: 10000 }
data_dir: ${JSON.stringify(dataDir)}
logging: { level: warn }
storage: { url: ${JSON.stringify(schemaUrl())} }
redis: { url: ${JSON.stringify(REDIS_URL)} }
usage: { flush_interval_ms: 250 }
providers:
  up: { type: openai-compatible, base_url: ${JSON.stringify(`${upstream?.url}/v1`)} }
deployments:
  ${DEPLOYMENT}: { provider: up, model: ${MODEL} }
`;
  // Started together, as replicas of one deployment would be: they race to create the schema and
  // apply the migrations, which storage must tolerate.
  const starting = Array.from({ length: REPLICAS }, (_, i) => {
    const dir = mkdtempSync(join(tmpdir(), `cerulean-cluster-${i + 1}-`));
    workDirs.push(dir);
    mkdirSync(join(dir, 'state'));
    writeFileSync(join(dir, 'cerulean.yaml'), yaml(join(dir, 'state')));
    return startReplica(`replica ${i + 1}`, 'cerulean.yaml', { cwd: dir, env: { CERULEAN_MASTER_KEY: MASTER_KEY } });
  });
  const settled = await Promise.allSettled(starting);
  for (const result of settled) if (result.status === 'fulfilled') replicas.push(result.value);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;

  // Everything is written through replica 1. The probe project's quota is written last, so a
  // replica that answers a probe-key request with the probe quota's headers has a snapshot taken
  // after every earlier write (the keys query saw the probe key, the quotas query the probe
  // quota), hence knows the load key and the load quota too.
  const [first] = replicas;
  await admin(first, 'POST', '/organizations', { name: 'Cluster test', id: ORG });
  await admin(first, 'POST', '/projects', { organization: ORG, name: 'Load', id: LOAD_PROJECT });
  const load = await admin<{ id: string; key: string }>(first, 'POST', `/projects/${LOAD_PROJECT}/keys`, { name: 'load' });
  keys.load = { id: load.id, key: load.key, projectId: LOAD_PROJECT };
  await admin(first, 'PUT', `/projects/${LOAD_PROJECT}/quotas/${DEPLOYMENT}`, { tpm: LOAD_TPM });
  await admin(first, 'POST', '/projects', { organization: ORG, name: 'Probe', id: PROBE_PROJECT });
  const probe = await admin<{ id: string; key: string }>(first, 'POST', `/projects/${PROBE_PROJECT}/keys`, { name: 'probe' });
  keys.probe = { id: probe.id, key: probe.key, projectId: PROBE_PROJECT };
  await admin(first, 'PUT', `/projects/${PROBE_PROJECT}/quotas/${DEPLOYMENT}`, { tpm: PROBE_TPM });

  let firstTaken: number | undefined;
  for (const replica of replicas) {
    await pollUntil(
      async () => {
        const { status, headers } = await chat(replica, keys.probe);
        if (status !== 200 || headers.get('x-ratelimit-limit-tokens') !== String(PROBE_TPM)) return false;
        firstTaken ??= PROBE_TPM - Number(headers.get('x-ratelimit-remaining-tokens'));
        return true;
      },
      `${replica.name} to load the new key and quotas`,
      10_000,
    );
  }
  // The first admitted probe was the first take of a fresh counter: what it took is the estimate.
  // This pins ESTIMATE (computed here from the same function) to what the replicas really reserve.
  expect(firstTaken).toBe(ESTIMATE);
}, 60_000);

afterAll(async () => {
  if (!servicesAnswer) return;
  for (const replica of replicas) replica.kill();
  await Promise.all(replicas.map((replica) => replica.exited));
  await upstream?.close();
  await dropSchema(SCHEMA);
  await deleteCounters().catch(() => undefined);
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe.skipIf(!servicesAnswer)('three replicas sharing PostgreSQL and Redis', () => {
  /**
   * Design. The upstream reports usage equal to the admission estimate, so each request's settle
   * corrects the window by 0: the project's token window only ever grows, by ESTIMATE per admitted
   * request. Identical requests then make the outcome exact, whatever the interleaving across
   * replicas: exactly floor(LOAD_TPM / ESTIMATE) admissions, admitted tokens within one estimate
   * (< 1%, hence within 2%) of the limit and never above it. Had usage been smaller than the
   * estimate, settles would free room and legitimately admit more than LOAD_TPM of estimates.
   * All of it must happen inside one 60 s window (the run waits for a fresh one when needed).
   */
  it('holds a project quota for all replicas together: admitted tokens within 2% of the limit, never above', async () => {
    const left = TOKEN_WINDOW_MS - (Date.now() % TOKEN_WINDOW_MS);
    if (left < WINDOW_MARGIN_MS) await sleep(left + 200);
    const startedAt = Date.now();
    const deadline = performance.now() + LOAD_DEADLINE_MS;

    const admitted: Array<{ replica: string; remaining: number }> = [];
    const refused: Array<{ replica: string; body: unknown; remaining: number }> = [];
    const unexpected: Array<{ replica: string; status: number; body: unknown }> = [];
    const worker = async (replica: Replica): Promise<void> => {
      let refusals = 0;
      while (refusals < REFUSALS_PER_WORKER && performance.now() < deadline) {
        const { status, headers, body } = await chat(replica, keys.load);
        const remaining = Number(headers.get('x-ratelimit-remaining-tokens'));
        if (status === 200) {
          admitted.push({ replica: replica.name, remaining });
        } else if (status === 429) {
          refused.push({ replica: replica.name, body, remaining });
          refusals += 1;
          await sleep(REFUSAL_PAUSE_MS);
        } else {
          unexpected.push({ replica: replica.name, status, body });
          return;
        }
      }
    };
    await Promise.all(replicas.flatMap((replica) => Array.from({ length: WORKERS_PER_REPLICA }, () => worker(replica))));
    const endedAt = Date.now();

    expect(unexpected).toEqual([]);
    expect(windowStartOf(endedAt, TOKEN_WINDOW_MS), 'the load must fit in one 60 s window').toBe(windowStartOf(startedAt, TOKEN_WINDOW_MS));

    const expectedAdmissions = Math.floor(LOAD_TPM / ESTIMATE);
    const admittedTokens = admitted.length * ESTIMATE;
    const perReplica = Object.fromEntries(replicas.map((replica) => [replica.name, admitted.filter((a) => a.replica === replica.name).length]));
    console.info(
      `[cluster] quota: ${admitted.length} admitted x ${ESTIMATE} tokens = ${admittedTokens} of ${LOAD_TPM} ` +
        `(${((100 * admittedTokens) / LOAD_TPM).toFixed(2)}%), ${refused.length} refused, per replica ${JSON.stringify(perReplica)}, ${endedAt - startedAt} ms`,
    );

    expect(admittedTokens).toBeLessThanOrEqual(LOAD_TPM);
    expect(admittedTokens).toBeGreaterThanOrEqual(LOAD_TPM * 0.98);
    expect(admitted.length).toBe(expectedAdmissions);
    // Every replica took part in filling the window.
    for (const replica of replicas) expect(perReplica[replica.name], replica.name).toBeGreaterThan(0);
    // Takes were serialised in Redis across replicas: each admission saw a distinct counter, so
    // the remaining-tokens headers are exactly LOAD_TPM - k x ESTIMATE for k = 1..n.
    expect(admitted.map((a) => a.remaining).sort((a, b) => b - a)).toEqual(Array.from({ length: expectedAdmissions }, (_, k) => LOAD_TPM - (k + 1) * ESTIMATE));
    // Every refusal was the token window's (not the request window's), with too little left for one more.
    expect(refused.length).toBeGreaterThan(0);
    for (const refusal of refused) {
      expect(JSON.stringify(refusal.body)).toContain('on tokens per min (TPM)');
      expect(refusal.remaining).toBeLessThan(ESTIMATE);
    }

    // The shared counter itself: one key for the project's window, holding exactly the admitted estimates.
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      const scope = `p:${LOAD_PROJECT.length}:${LOAD_PROJECT}:${DEPLOYMENT}`;
      const counter = await redis.get(`{cerulean}:rl:${scope}:tokens:${TOKEN_WINDOW_MS}:${windowStartOf(startedAt, TOKEN_WINDOW_MS)}`);
      expect(Number(counter)).toBe(admittedTokens);
    } finally {
      redis.disconnect();
    }
  }, 45_000);

  it('refuses a key revoked through replica 1 on replicas 2 and 3 within a second', async () => {
    const [first, second, third] = replicas;
    const created = await admin<{ id: string; key: string }>(first, 'POST', `/projects/${PROBE_PROJECT}/keys`, { name: 'to-revoke' });
    const key = { id: created.id, key: created.key, projectId: PROBE_PROJECT };
    revokedKeyId = key.id;
    for (const replica of [second, third]) {
      await pollUntil(async () => (await chat(replica, key)).status === 200, `${replica.name} to accept the new key`, 5_000);
    }

    const revokeSent = performance.now();
    await admin(first, 'POST', `/keys/${key.id}/revoke`);
    const revoked = performance.now();

    const refusedAfter = new Map<string, number>();
    const lastAcceptedAt = new Map<string, number>();
    await pollUntil(
      async () => {
        await Promise.all(
          [second, third]
            .filter((replica) => !refusedAfter.has(replica.name))
            .map(async (replica) => {
              const asked = performance.now();
              const { status } = await chat(replica, key);
              if (status === 401) refusedAfter.set(replica.name, performance.now() - revoked);
              else if (status === 200) lastAcceptedAt.set(replica.name, asked - revoked);
              else throw new Error(`${replica.name}: unexpected ${status} while waiting for the revocation`);
            }),
        );
        return refusedAfter.size === 2;
      },
      'replicas 2 and 3 to refuse the revoked key',
      3_000,
    );
    console.info(
      `[cluster] revocation: refused after ${[...refusedAfter].map(([name, ms]) => `${name} ${ms.toFixed(1)} ms`).join(', ')} ` +
        `(measured from the revoke response; the revoke call itself took ${(revoked - revokeSent).toFixed(1)} ms; ` +
        `last acceptance asked at ${JSON.stringify(Object.fromEntries([...lastAcceptedAt].map(([name, ms]) => [name, Number(ms.toFixed(1))])))} ms)`,
    );
    for (const [name, ms] of refusedAfter) expect(ms, name).toBeLessThan(1_000);
    // And it stays refused everywhere, replica 1 included.
    for (const replica of replicas) expect((await chat(replica, key)).status, replica.name).toBe(401);
  });

  it('lands the usage of every replica in the one PostgreSQL after they shut down', async () => {
    expect(sent.length).toBeGreaterThan(0);
    const codes = await Promise.all(replicas.map((replica) => replica.stop()));
    expect(codes, replicas.map((replica) => replica.output()).join('\n---\n')).toEqual(replicas.map(() => 0));

    // A request is metered once it passed authentication and picked its target: the 200s and the
    // quota's 429s. A 401 (unknown or revoked key) never reaches the pipeline, so has no record.
    const metered = sent.filter((call) => call.status !== 401);
    expect(sent.every((call) => call.requestId !== '')).toBe(true);
    expect(sent.every((call) => [200, 401, 429].includes(call.status))).toBe(true);
    expect(new Set(metered.map((call) => call.requestId)).size).toBe(metered.length);
    for (const replica of replicas)
      expect(
        metered.some((call) => call.replica === replica.name),
        replica.name,
      ).toBe(true);

    let storage: Storage | undefined;
    try {
      storage = await openStorage(schemaUrl());
      const [total] = await storage.usage.query({}, []);
      expect(total?.requests ?? 0, `usage records in PostgreSQL; problems the replicas logged:\n${loggedProblems()}`).toBe(metered.length);
      const byProject = await storage.usage.query({}, ['project']);
      const count = (project: string): number => byProject.find((row) => row.project === project)?.requests ?? 0;
      expect(count(LOAD_PROJECT)).toBe(metered.filter((call) => call.projectId === LOAD_PROJECT).length);
      expect(count(PROBE_PROJECT)).toBe(metered.filter((call) => call.projectId === PROBE_PROJECT).length);

      const missing: string[] = [];
      const wrong: string[] = [];
      for (const call of metered) {
        const record = await storage.usage.get(call.requestId);
        if (!record) {
          missing.push(`${call.replica} ${call.status} ${call.requestId}`);
          continue;
        }
        const tokens = call.status === 200 ? [PROMPT_TOKENS, MAX_TOKENS] : [0, 0];
        if (
          record.status !== call.status ||
          record.keyId !== call.keyId ||
          record.projectId !== call.projectId ||
          record.organizationId !== ORG ||
          record.deployment !== DEPLOYMENT ||
          record.promptTokens !== tokens[0] ||
          record.completionTokens !== tokens[1]
        ) {
          wrong.push(`${call.replica} ${call.status} ${call.requestId}: ${JSON.stringify(record)}`);
        }
      }
      expect(missing).toEqual([]);
      expect(wrong).toEqual([]);
      // And the upstream answered exactly the admitted calls.
      expect(upstream?.answered).toBe(metered.filter((call) => call.status === 200).length);
      console.info(
        `[cluster] usage: ${metered.length} records (${metered.filter((c) => c.status === 200).length} x 200, ${metered.filter((c) => c.status === 429).length} x 429) ` +
          `from ${replicas.length} replicas, all in schema ${SCHEMA}; revoked key ${revokedKeyId}`,
      );
    } finally {
      await storage?.close();
    }
  }, 30_000);
});
