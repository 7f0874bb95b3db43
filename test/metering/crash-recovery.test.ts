import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageSpool } from '../../src/metering/usage-spool.js';
import { openStorage } from '../../src/storage/open-storage.js';
import type { UsageRecord } from '../../src/storage/storage.js';
import { hash, startMeteredUpstream, type BilledResponse, type MeteredUpstream } from './metered-upstream.js';

/**
 * Acceptance: 10,000 mixed requests (streaming, errors, disconnects), a kill -9 mid-load and a
 * restart: the recorded token totals equal exactly what the upstream counted for completed requests.
 *
 * Cerulean runs as a real process (the built `bin/cerulean.js`; `npm test` builds first), SQLite
 * under a temporary data_dir, the master key calling deployments (its usage has an empty project).
 */
const BIN = fileURLToPath(new URL('../../bin/cerulean.js', import.meta.url));
const MASTER = 'cer-master-crash-recovery-0123456789';
const TOTAL = 10_000;
const CONCURRENCY = 32;
const KILL_AFTER = 4_000;
const SLOW_CHUNK_DELAY_MS = 20;

type Kind = 'json' | 'stream-usage' | 'stream' | 'fail-json' | 'fail-stream' | 'abort' | 'slow-stream';
type Outcome =
  /** 200 and the whole body (JSON), or the stream's `data: [DONE]`. */
  | 'complete'
  /** A whole error response (the upstream's 500 passed on). */
  | 'error-response'
  /** The client left mid-stream on purpose. */
  | 'aborted'
  /** The connection failed (the kill). */
  | 'failed'
  /** The stream ended without [DONE], or any other status. */
  | 'incomplete';

interface Attempt {
  n: number;
  tag: string;
  kind: Kind;
  generation: number;
  outcome?: Outcome;
  status?: number;
  requestId?: string;
  responseId?: string;
  /** Usage the client itself saw (JSON body, or the usage chunk it asked for). */
  usage?: { prompt: number; completion: number };
  /** Whether any chunk the client received carried a `usage` field. */
  sawUsageField?: boolean;
  finishedAt?: number;
  error?: string;
}

interface Running {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output: () => string;
}

const children = new Set<ChildProcess>();
/** A client pool with timeouts, so that a request that hangs fails the test with a reason instead of its timeout. */
const newPool = (url: string): Pool => new Pool(url, { connections: CONCURRENCY, pipelining: 1, headersTimeout: 30_000, bodyTimeout: 30_000 });
const pools = new Set<Pool>();
let upstream: MeteredUpstream | undefined;
let root: string;

function startServer(configPath: string): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'serve', '--config', configPath, '--port', '0'], {
    env: { PATH: process.env.PATH, CERULEAN_MASTER_KEY: MASTER },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  // Only the tail is kept (warn-level lines for every upstream 500 would otherwise pile up).
  const keep = (data: Buffer): void => {
    out = (out + data.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? (signal ? -1 : null));
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 20 s; output: ${out}`)), 20_000);
    const check = (): void => {
      const match = /Cerulean listening on (http:\/\/\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', check);
        resolve({ child, url: match[1], exited, output: () => out });
      }
    };
    child.stdout?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before listening; output: ${out}`));
    });
  });
}

function kindOf(n: number): Kind {
  const r = hash(`kind:${n}`) % 100;
  if (r < 36) return 'json';
  if (r < 56) return 'stream-usage';
  if (r < 71) return 'stream';
  if (r < 78) return 'fail-json';
  if (r < 82) return 'fail-stream';
  if (r < 92) return 'abort';
  return 'slow-stream';
}

/** Sends one request and classifies what the client saw. Never throws. */
async function send(pool: Pool, attempt: Attempt): Promise<void> {
  const { kind, n } = attempt;
  const model = kind.startsWith('fail') ? 'fail' : kind === 'abort' || kind === 'slow-stream' ? 'slow' : 'ok';
  const stream = kind !== 'json' && kind !== 'fail-json';
  const includeUsage = kind === 'stream-usage' || (kind === 'slow-stream' && n % 2 === 0) || (kind === 'abort' && n % 2 === 0);
  const payload = {
    model,
    messages: [{ role: 'user', content: `request ${n} ${'x'.repeat(n % 40)}` }],
    user: attempt.tag,
    ...(stream ? { stream: true } : {}),
    ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
  };
  const controller = new AbortController();
  let leaving = false;
  try {
    const response = await pool.request({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' },
      body: JSON.stringify(payload),
      signal: controller.signal,
    });
    attempt.status = response.statusCode;
    const requestId = response.headers['x-request-id'];
    if (typeof requestId === 'string') attempt.requestId = requestId;
    const type = String(response.headers['content-type'] ?? '');
    if (response.statusCode !== 200 || !type.includes('text/event-stream')) {
      const text = await response.body.text();
      if (response.statusCode === 200) {
        const json = JSON.parse(text) as { id?: string; usage?: { prompt_tokens: number; completion_tokens: number } };
        attempt.responseId = json.id;
        if (json.usage) attempt.usage = { prompt: json.usage.prompt_tokens, completion: json.usage.completion_tokens };
        attempt.outcome = !stream && json.id && json.usage ? 'complete' : 'incomplete';
      } else {
        attempt.outcome = response.statusCode >= 500 && (JSON.parse(text) as { error?: unknown }).error ? 'error-response' : 'incomplete';
      }
      return;
    }
    let buffer = '';
    let done = false;
    attempt.sawUsageField = false;
    for await (const bytes of response.body) {
      buffer += (bytes as Buffer).toString('utf8');
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (!event.startsWith('data: ')) continue;
        const data = event.slice(6);
        if (data === '[DONE]') {
          done = true;
          continue;
        }
        const chunk = JSON.parse(data) as { id?: string; usage?: { prompt_tokens: number; completion_tokens: number } | null };
        if (chunk.id) attempt.responseId = chunk.id;
        if ('usage' in chunk) attempt.sawUsageField = true;
        if (chunk.usage) attempt.usage = { prompt: chunk.usage.prompt_tokens, completion: chunk.usage.completion_tokens };
      }
      if (kind === 'abort' && attempt.responseId && !done) {
        leaving = true;
        controller.abort();
        break;
      }
    }
    attempt.outcome = leaving ? 'aborted' : done ? 'complete' : 'incomplete';
  } catch (error) {
    attempt.outcome = leaving ? 'aborted' : 'failed';
    if (!leaving) attempt.error = String((error as Error)?.message ?? error);
  } finally {
    attempt.finishedAt = Date.now();
  }
}

beforeAll(() => {
  if (!existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))) {
    throw new Error('dist/ is missing: build first (npx tsc -p tsconfig.json)');
  }
  root = mkdtempSync(join(tmpdir(), 'cerulean-crash-'));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await Promise.all([...pools].map((pool) => pool.destroy().catch(() => {})));
  await upstream?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('usage metering across kill -9', () => {
  it('records exactly the tokens the upstream billed, for 10,000 mixed requests with a kill -9 and a restart', async () => {
    const started = Date.now();
    upstream = await startMeteredUpstream({ slowChunkDelayMs: SLOW_CHUNK_DELAY_MS });
    const fixture = upstream;
    const dataDir = join(root, 'data');
    const spoolDir = join(dataDir, 'spool');
    const dbPath = join(dataDir, 'cerulean.db');
    const configPath = join(root, 'cerulean.yaml');
    writeFileSync(
      configPath,
      `server: { host: 127.0.0.1, port: 0, shutdown_grace_ms: 5000 }
data_dir: ${JSON.stringify(dataDir)}
logging: { level: warn }
# Longer than the default: at the kill, hundreds of acknowledged records are in the spool only.
usage: { flush_interval_ms: 2000 }
providers:
  up: { type: openai-compatible, base_url: "${fixture.url}/v1", retry: { max_attempts: 1 }, max_connections: 64 }
deployments:
  ok: { provider: up, model: ok }
  slow: { provider: up, model: slow }
  fail: { provider: up, model: fail }
`,
    );

    let server = await startServer(configPath);
    let pool = newPool(server.url);
    pools.add(pool);
    let generation = 1;
    const attempts: Attempt[] = [];
    let next = 0;
    let finished = 0;
    let killedAt = 0;
    let restartGate: Promise<void> | undefined;
    /** What the spool and the database held right after the kill, before the restart. */
    let atKill: { spooled: Map<string, UsageRecord>; committed: Set<string>; segments: number } | undefined;
    let firstServerExit: number | null | undefined;
    const timings: Record<string, number> = {};

    const killAndRestart = async (): Promise<void> => {
      const victim = server;
      const oldPool = pool;
      killedAt = Date.now();
      victim.child.kill('SIGKILL');
      firstServerExit = await victim.exited;
      timings.firstPhaseMs = killedAt - started;
      await oldPool.destroy().catch(() => {});
      pools.delete(oldPool);
      // Snapshot: what was journaled and what was committed when the process died.
      const spooled = new Map<string, UsageRecord>();
      const inspection = new UsageSpool(spoolDir);
      const recovered = inspection.recover();
      inspection.close(); // releases the spool's lock for the restarted server
      for (const segment of recovered) for (const record of segment.records) spooled.set(record.requestId, record);
      const db = new SqliteDatabase(dbPath);
      const committed = new Set((db.prepare('select request_id from usage_records').all() as Array<{ request_id: string }>).map((row) => row.request_id));
      db.close();
      atKill = { spooled, committed, segments: recovered.length };
      const restartBegan = Date.now();
      server = await startServer(configPath);
      timings.restartMs = Date.now() - restartBegan;
      pool = newPool(server.url);
      pools.add(pool);
      generation = 2;
    };

    const worker = async (): Promise<void> => {
      for (;;) {
        if (restartGate) await restartGate;
        if (next >= TOTAL) return;
        const n = next++;
        const attempt: Attempt = { n, tag: `t${n}`, kind: kindOf(n), generation };
        attempts.push(attempt);
        await send(pool, attempt);
        finished += 1;
        if (finished >= KILL_AFTER && !restartGate) restartGate = killAndRestart();
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, () => worker()));
    timings.loadMs = Date.now() - started;

    // SIGTERM: in-flight requests finish, then the ledger commits what is left and the spool empties.
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    await pool.close();
    pools.delete(pool);

    expect(attempts).toHaveLength(TOTAL);
    expect(firstServerExit).toBe(-1);
    expect(atKill).toBeDefined();
    const snapshot = atKill as NonNullable<typeof atKill>;

    // ---- Read the ledger -------------------------------------------------------------------
    const storage = await openStorage(`sqlite:${dbPath}`);
    try {
      // Every record, whatever its request id: also those of requests whose response never reached the
      // client (in flight at the kill), which the client cannot name. The repository API offers only
      // get-by-id and sums, so the rows are listed with one plain query (read-only use of the schema).
      const db = new SqliteDatabase(dbPath, { readonly: true });
      const rows = db.prepare('select request_id from usage_records').all() as Array<{ request_id: string }>;
      db.close();
      const byRequestId = new Map<string, UsageRecord>();
      for (const row of rows) {
        const record = await storage.usage.get(row.request_id);
        expect(record, row.request_id).toBeDefined();
        // Every request went to the chat API, and the meter names it.
        expect(record?.api, row.request_id).toBe('chat');
        byRequestId.set(row.request_id, record as UsageRecord);
      }
      const byTag = new Map<string, UsageRecord[]>();
      for (const record of byRequestId.values()) {
        const list = byTag.get(record.endUser ?? '') ?? [];
        list.push(record);
        byTag.set(record.endUser ?? '', list);
      }
      const billedFor = (tag: string): BilledResponse | undefined => {
        const list = fixture.byTag.get(tag) ?? [];
        // No retries (max_attempts: 1) and one attempt per tag: a tag reaches the upstream at most once.
        expect(list.length, tag).toBeLessThanOrEqual(1);
        return list[0];
      };

      const count = (outcome: Outcome): number => attempts.filter((a) => a.outcome === outcome).length;
      const summary = {
        attempts: attempts.length,
        generation1: attempts.filter((a) => a.generation === 1).length,
        complete: count('complete'),
        errorResponses: count('error-response'),
        aborted: count('aborted'),
        cutByKill: attempts.filter((a) => a.outcome === 'failed' || a.outcome === 'incomplete').length,
        ledgerRecords: rows.length,
        spooledAtKill: snapshot.spooled.size,
        segmentsAtKill: snapshot.segments,
        committedAtKill: snapshot.committed.size,
        upstreamResponses: fixture.responses.size,
        upstreamCompleted: [...fixture.responses.values()].filter((r) => r.completed).length,
        upstreamErrors: fixture.errors,
        ...timings,
      };
      console.log('crash-recovery', JSON.stringify(summary));

      // The mix really was mixed, and the kill really hit requests in flight on the first process.
      expect(summary.complete).toBeGreaterThan(7_000);
      expect(summary.errorResponses).toBeGreaterThan(500);
      expect(summary.aborted).toBeGreaterThan(500);
      expect(summary.cutByKill).toBeGreaterThan(0);
      expect(summary.cutByKill).toBeLessThanOrEqual(CONCURRENCY);
      const cutByKill = (a: Attempt): boolean =>
        a.generation === 1 && (a.finishedAt as number) >= killedAt && (a.outcome === 'failed' || a.outcome === 'incomplete');
      for (const attempt of attempts) {
        // Broken connections and cut-off streams only from the kill, on the first process; otherwise
        // every request got exactly what its kind asks for.
        if (attempt.outcome === 'failed' || attempt.outcome === 'incomplete') {
          expect(
            cutByKill(attempt),
            `${attempt.n} ${attempt.kind} (generation ${attempt.generation}): ${attempt.outcome} ${attempt.status ?? ''} ${attempt.error ?? ''}`,
          ).toBe(true);
          continue;
        }
        // A client meaning to leave after the first chunk stays to the end when its first read already
        // held the whole stream (the gateway stalled while the upstream finished, then relayed it all).
        const expected: Outcome[] =
          attempt.kind === 'fail-json' || attempt.kind === 'fail-stream'
            ? ['error-response']
            : attempt.kind === 'abort'
              ? ['aborted', 'complete']
              : ['complete'];
        expect(expected, `${attempt.n} ${attempt.kind}`).toContain(attempt.outcome);
      }

      // (a) Nothing acknowledged is lost: every request the client saw complete is in the ledger under
      // its x-request-id, with exactly the tokens the upstream billed for the response id it got.
      // This is the crash guarantee: the meter journals the record (one write(2), in the kernel's
      // page cache, which survives kill -9) before the last bytes of the response are written, so a
      // client can only have seen a complete response if its record was already journaled; the
      // restarted process replays the journal.
      const clientComplete = attempts.filter((a) => a.outcome === 'complete');
      for (const attempt of clientComplete) {
        const where = `request ${attempt.n} (${attempt.kind}, generation ${attempt.generation})`;
        expect(attempt.requestId, where).toBeDefined();
        const record = byRequestId.get(attempt.requestId as string);
        expect(record, `${where} is not in the ledger`).toBeDefined();
        const billed = fixture.responses.get(attempt.responseId as string);
        expect(billed, where).toBeDefined();
        expect(billed?.completed, where).toBe(true);
        expect(billed?.tag, where).toBe(attempt.tag);
        expect(record?.endUser, where).toBe(attempt.tag);
        expect(record?.status, where).toBe(200);
        expect({ prompt: record?.promptTokens, completion: record?.completionTokens }, where).toEqual({
          prompt: billed?.promptTokens,
          completion: billed?.completionTokens,
        });
        expect(record?.streamed, where).toBe(attempt.kind !== 'json');
        // What the client saw agrees, where it saw usage at all; it saw none where it did not ask.
        if (attempt.usage) expect(attempt.usage, where).toEqual({ prompt: billed?.promptTokens, completion: billed?.completionTokens });
        if (attempt.kind === 'json' || attempt.kind === 'stream-usage') expect(attempt.usage, where).toBeDefined();
        if (attempt.kind === 'stream') expect(attempt.sawUsageField, where).toBe(false);
      }

      // Errors are metered too, before the error is sent: 500, no tokens.
      for (const attempt of attempts.filter((a) => a.outcome === 'error-response')) {
        const record = byRequestId.get(attempt.requestId as string);
        expect(record, `error ${attempt.n}`).toBeDefined();
        expect(record).toMatchObject({ status: 500, promptTokens: 0, completionTokens: 0, endUser: attempt.tag });
      }

      // Disconnects: 499, no tokens unless the upstream had completed (it streams slowly, so it mostly
      // has not). Or 200 with the upstream's tokens: the gateway had already written the whole stream
      // and only the client had not read it yet when it left. The first process may have died before
      // noticing a disconnect just before the kill; one that happened well before it, or on the second
      // process (stopped gracefully), must be there.
      const abortStatuses = { 499: 0, 200: 0, withTokens: 0 };
      for (const attempt of attempts.filter((a) => a.outcome === 'aborted')) {
        const where = `abort ${attempt.n} (generation ${attempt.generation})`;
        const record = byRequestId.get(attempt.requestId as string);
        const mustExist = attempt.generation === 2 || (attempt.finishedAt as number) < killedAt - 2_000;
        if (mustExist) expect(record, where).toBeDefined();
        if (!record) continue;
        expect([200, 499], where).toContain(record.status);
        abortStatuses[record.status as 200 | 499] += 1;
        const billed = billedFor(attempt.tag);
        // A stream abandoned before the upstream reported usage is metered with Cerulean's estimate,
        // marked as such (a provider bills what it generated before the caller left).
        if (record.estimated) {
          expect(record.status, where).toBe(499);
          expect(record.promptTokens, where).toBeGreaterThan(0);
          continue;
        }
        if (record.status === 200 || record.promptTokens + record.completionTokens > 0) {
          abortStatuses.withTokens += 1;
          expect(billed?.completed, where).toBe(true);
          expect({ prompt: record.promptTokens, completion: record.completionTokens }, where).toEqual({
            prompt: billed?.promptTokens,
            completion: billed?.completionTokens,
          });
        }
      }
      expect(abortStatuses[499]).toBeGreaterThan(summary.aborted / 2);

      // (b) Nothing is invented: every record carrying tokens is a response the upstream completed
      // (or, marked `estimated`, a stream the caller abandoned: Cerulean's estimate, checked above),
      // with the same tokens (joined through the caller's `user` tag, which the ledger keeps as
      // endUser, so records whose request id the client never learnt are checked as well).
      // A record without tokens is an error or a disconnect, never a 200.
      const recorded = new Set<string>();
      for (const record of byRequestId.values()) {
        const tag = record.endUser as string;
        expect(tag, record.requestId).toMatch(/^t\d+$/);
        expect(byTag.get(tag), `${tag} recorded twice`).toHaveLength(1);
        if (record.promptTokens + record.completionTokens === 0) {
          expect([499, 500], `${record.requestId} (${tag}) has no tokens`).toContain(record.status);
          continue;
        }
        if (record.estimated) {
          expect(record.status, `${tag}: an estimate for a stream that was not abandoned`).toBe(499);
          continue;
        }
        const billed = billedFor(tag);
        expect(billed, `${tag}: tokens for a response the upstream never sent`).toBeDefined();
        expect(billed?.completed, `${tag}: tokens for a response the upstream did not complete`).toBe(true);
        expect({ prompt: record.promptTokens, completion: record.completionTokens }, tag).toEqual({
          prompt: billed?.promptTokens,
          completion: billed?.completionTokens,
        });
        recorded.add(billed?.id as string);
      }

      // (c) Totals. "Completed" is the upstream's view: a response is billed when the upstream has
      // finished writing it, which is the only definition a provider's invoice uses, and the only
      // one the gateway can be held to (the client's view is narrower: a client that leaves, or a
      // gateway that dies, after the upstream finished does not unbill the upstream). By (b) the
      // ledger is a subset of the completed responses with equal tokens; by (a) it contains every
      // response acknowledged to a client. The completed responses the ledger lacks can only be ones
      // that no client was told about: the upstream finished writing them but the gateway was killed
      // before it had read them to the end (the meter runs once the whole upstream answer is read),
      // or the client left before the gateway read the usage chunk. Each is checked to be one of
      // those below, so that
      //   ledger totals == upstream totals for completed requests − those never-acknowledged ones,
      // exactly; the remainder is bounded by what was in flight at the kill (plus rare late leavers).
      const completed = [...fixture.responses.values()].filter((r) => r.completed);
      const attemptByTag = new Map(attempts.map((a) => [a.tag, a]));
      const unrecorded = completed.filter((r) => !recorded.has(r.id));
      const why = { lostToKill: 0, clientLeft: 0 };
      for (const billed of unrecorded) {
        const attempt = attemptByTag.get(billed.tag) as Attempt;
        const lostToKill = cutByKill(attempt);
        const clientLeft = attempt.outcome === 'aborted';
        expect(
          lostToKill || clientLeft,
          `upstream completed ${billed.id} (${billed.tag}, ${attempt.kind}, ${attempt.outcome}) but the ledger has no tokens for it`,
        ).toBe(true);
        why[lostToKill ? 'lostToKill' : 'clientLeft'] += 1;
      }
      // At most what was in flight at the kill; a client leaving after the upstream finished is rare here.
      expect(why.lostToKill).toBeLessThanOrEqual(CONCURRENCY);
      expect(why.clientLeft).toBeLessThanOrEqual(summary.aborted / 4);
      const sum = (list: Array<{ promptTokens: number; completionTokens: number }>) => ({
        promptTokens: list.reduce((s, r) => s + r.promptTokens, 0),
        completionTokens: list.reduce((s, r) => s + r.completionTokens, 0),
      });
      const upstreamTotals = sum(completed);
      const unacknowledged = sum(unrecorded);
      const [ledgerTotals] = await storage.usage.query({}, []);
      // Cerulean's estimates for abandoned streams are its own, not the upstream's: compared apart.
      const estimated = sum([...byRequestId.values()].filter((record) => record.estimated));
      expect({
        promptTokens: ledgerTotals.promptTokens - estimated.promptTokens,
        completionTokens: ledgerTotals.completionTokens - estimated.completionTokens,
      }).toEqual({
        promptTokens: upstreamTotals.promptTokens - unacknowledged.promptTokens,
        completionTokens: upstreamTotals.completionTokens - unacknowledged.completionTokens,
      });
      // And the acknowledged part alone: the ledger holds at least everything any client received.
      const acknowledged = sum(clientComplete.map((a) => fixture.responses.get(a.responseId as string) as BilledResponse));
      expect(ledgerTotals.promptTokens).toBeGreaterThanOrEqual(acknowledged.promptTokens);
      expect(ledgerTotals.completionTokens).toBeGreaterThanOrEqual(acknowledged.completionTokens);
      console.log(
        'crash-recovery totals',
        JSON.stringify({
          upstreamTotals,
          ledger: { promptTokens: ledgerTotals.promptTokens, completionTokens: ledgerTotals.completionTokens },
          unrecordedCompleted: why,
          unacknowledged,
        }),
      );

      // (d) No request id twice: ids are unique across both processes, each request has one record,
      // and neither the replay nor the retries counted anything twice in the sums or the rollups.
      const seenIds = attempts.flatMap((a) => (a.requestId ? [a.requestId] : []));
      expect(new Set(seenIds).size).toBe(seenIds.length);
      expect(new Set(rows.map((r) => r.request_id)).size).toBe(rows.length);
      expect(byTag.size).toBe(rows.length);
      expect(ledgerTotals.requests).toBe(rows.length);
      for (const bucket of ['minute', 'hour', 'day'] as const) {
        const [rolled] = await storage.usage.rollups(bucket, {}, []);
        expect({ bucket, requests: rolled.requests, promptTokens: rolled.promptTokens, completionTokens: rolled.completionTokens }).toEqual({
          bucket,
          requests: ledgerTotals.requests,
          promptTokens: ledgerTotals.promptTokens,
          completionTokens: ledgerTotals.completionTokens,
        });
      }
      // Master-key usage belongs to no project.
      const [project] = await storage.usage.query({}, ['project']);
      expect(project.project).toBe('');

      // (e) The restart replayed the spool: records that were only journaled when the first process
      // was killed (acknowledged to clients, not yet committed) are in the ledger now, unchanged, and
      // the spool is empty after the graceful stop.
      const atRisk = [...snapshot.spooled.values()].filter((record) => !snapshot.committed.has(record.requestId));
      const acknowledgedAtRisk = atRisk.filter((record) => attemptByTag.get(record.endUser as string)?.outcome === 'complete');
      expect(atRisk.length).toBeGreaterThan(0);
      expect(acknowledgedAtRisk.length).toBeGreaterThan(0);
      for (const record of snapshot.spooled.values()) expect(byRequestId.get(record.requestId), record.requestId).toEqual(record);
      const firstProcessComplete = clientComplete.filter((a) => a.generation === 1);
      for (const attempt of firstProcessComplete) expect(byRequestId.has(attempt.requestId as string)).toBe(true);
      expect(readdirSync(spoolDir).filter((name) => name.endsWith('.jsonl'))).toEqual([]);
      console.log(
        'crash-recovery replay',
        JSON.stringify({ journaledOnlyAtKill: atRisk.length, acknowledgedJournaledOnly: acknowledgedAtRisk.length, abortRecords: abortStatuses }),
      );
    } finally {
      await storage.close();
    }
  }, 120_000);
});
