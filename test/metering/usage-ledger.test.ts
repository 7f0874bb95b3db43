import { appendFileSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageLedger } from '../../src/metering/usage-ledger.js';
import { UsageSpool } from '../../src/metering/usage-spool.js';
import { openStorage } from '../../src/storage/open-storage.js';
import type { RollupBucket, Storage, UsageFilter, UsageGroup, UsageRecord, UsageRepository, UsageRow } from '../../src/storage/storage.js';

/** Far beyond any test: the ledger's own timer never fires, so every commit here is an explicit flush. */
const NO_TIMER = 3_600_000;

function usage(id: string, overrides: Partial<UsageRecord> = {}): UsageRecord {
  const n = Number(/\d+$/.exec(id)?.[0] ?? 1);
  return {
    requestId: id,
    at: 1_700_000_000_000 + n * 1_000,
    api: 'chat',
    organizationId: 'org_1',
    projectId: 'proj_1',
    keyId: 'key_1',
    endUser: null,
    deployment: 'chat',
    provider: 'up',
    model: 'gpt-test',
    region: 'local',
    promptTokens: 10 + n,
    cachedTokens: 0,
    completionTokens: 100 + n,
    images: 0,
    cost: 0,
    status: 200,
    latencyMs: 12,
    timeToFirstTokenMs: null,
    streamed: false,
    filtered: false,
    estimated: false,
    attempts: 1,
    targetsTried: ['up/model'],
    attemptErrors: [],
    ...overrides,
  };
}

const ids = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${i + 1}`);

/**
 * The repository under test, with its successful insertBatch calls recorded. `down` makes every call
 * fail as an outage does; `refuses` makes calls fail, with a data error, whose batch holds a record the
 * database will never take.
 */
class InstrumentedRepository implements UsageRepository {
  readonly batches: number[] = [];
  down = false;
  refuses: (record: UsageRecord) => boolean = () => false;
  attempts = 0;
  constructor(private readonly inner: UsageRepository) {}

  async insertBatch(records: readonly UsageRecord[]): Promise<number> {
    this.attempts += 1;
    if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    // PostgreSQL's SQLSTATE for a value its column cannot hold (class 22: data exception).
    if (records.some(this.refuses)) throw Object.assign(new Error('value out of range for type integer'), { code: '22003' });
    this.batches.push(records.length);
    return this.inner.insertBatch(records);
  }
  get(requestId: string): Promise<UsageRecord | undefined> {
    return this.inner.get(requestId);
  }
  query(filter: UsageFilter, groupBy: readonly UsageGroup[]): Promise<UsageRow[]> {
    return this.inner.query(filter, groupBy);
  }
  rollups(bucket: RollupBucket, filter: UsageFilter, groupBy: readonly UsageGroup[]): Promise<UsageRow[]> {
    return this.inner.rollups(bucket, filter, groupBy);
  }
  spendSince(...args: Parameters<UsageRepository['spendSince']>): Promise<number> {
    return this.inner.spendSince(...args);
  }
}

let storage: Storage;
let dir: string;

beforeEach(async () => {
  storage = await openStorage('sqlite::memory:');
  await storage.migrate();
  dir = mkdtempSync(join(tmpdir(), 'cerulean-spool-'));
});

afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const segments = (): string[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.jsonl'))
    .sort();
const spooledIds = (): string[] =>
  segments().flatMap((name) =>
    readFileSync(join(dir, name), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as UsageRecord).requestId),
  );

async function totals(): Promise<{ requests: number; promptTokens: number; completionTokens: number }> {
  const [row] = await storage.usage.query({}, []);
  const [rolled] = await storage.usage.rollups('minute', {}, []);
  // Raw records and rollups must agree, or a replay was counted twice in one of them.
  expect({ requests: rolled?.requests ?? 0, promptTokens: rolled?.promptTokens ?? 0, completionTokens: rolled?.completionTokens ?? 0 }).toEqual({
    requests: row?.requests ?? 0,
    promptTokens: row?.promptTokens ?? 0,
    completionTokens: row?.completionTokens ?? 0,
  });
  return { requests: row?.requests ?? 0, promptTokens: row?.promptTokens ?? 0, completionTokens: row?.completionTokens ?? 0 };
}

const expectedTotals = (records: UsageRecord[]) => ({
  requests: records.length,
  promptTokens: records.reduce((sum, r) => sum + r.promptTokens, 0),
  completionTokens: records.reduce((sum, r) => sum + r.completionTokens, 0),
});

describe('UsageSpool + UsageLedger', () => {
  it('journals each record to the spool before record() resolves, in one write per turn, and commits it to storage only on flush', async () => {
    const repository = new InstrumentedRepository(storage.usage);
    const ledger = new UsageLedger(repository, new UsageSpool(dir), { flushIntervalMs: NO_TIMER });
    expect(await ledger.start()).toBe(0);

    const records = ids('req', 5).map((id) => usage(id));
    const written = records.map((record) => ledger.record(record));
    // Grouped: nothing is written until the turn ends; every promise settles with that one write.
    expect(spooledIds()).toEqual([]);
    await Promise.all(written);
    // Journaled (one line each, in the order recorded), not yet in storage.
    expect(segments()).toHaveLength(1);
    expect(spooledIds()).toEqual(records.map((r) => r.requestId));
    expect(ledger.pending).toBe(5);
    expect(await storage.usage.get('req-1')).toBeUndefined();
    expect(repository.attempts).toBe(0);

    await ledger.flush();
    expect(ledger.pending).toBe(0);
    expect(ledger.committed).toBe(5);
    expect(segments()).toEqual([]);
    for (const record of records) expect(await storage.usage.get(record.requestId)).toEqual(record);
    expect(await totals()).toEqual(expectedTotals(records));

    // The next records go to a fresh segment.
    await ledger.record(usage('req-6'));
    expect(segments()).toHaveLength(1);
    expect(spooledIds()).toEqual(['req-6']);
    await ledger.close();
    expect(segments()).toEqual([]);
    expect(await storage.usage.get('req-6')).toBeDefined();
  });

  it('commits in batches of at most maxBatch, starting a commit as soon as a batch is full', async () => {
    const repository = new InstrumentedRepository(storage.usage);
    const ledger = new UsageLedger(repository, new UsageSpool(dir), { flushIntervalMs: NO_TIMER, maxBatch: 4 });
    await ledger.start();
    const records = ids('req', 10).map((id) => usage(id));
    for (const record of records.slice(0, 4)) ledger.record(record);
    // The fourth record filled a batch: a commit is under way without anyone calling flush.
    await expect.poll(() => ledger.committed).toBe(4);
    for (const record of records.slice(4)) ledger.record(record);
    await ledger.flush();
    expect(ledger.committed).toBe(10);
    expect(Math.max(...repository.batches)).toBeLessThanOrEqual(4);
    expect(repository.batches.reduce((a, b) => a + b, 0)).toBe(10);
    expect(segments()).toEqual([]);
    expect(await totals()).toEqual(expectedTotals(records));
    await ledger.close();
  });

  it('keeps the segments while storage is down and commits them once it is back, without loss or duplication', async () => {
    const repository = new InstrumentedRepository(storage.usage);
    const errors: unknown[] = [];
    const ledger = new UsageLedger(repository, new UsageSpool(dir), { flushIntervalMs: NO_TIMER, onError: (error) => errors.push(error) });
    await ledger.start();

    const first = ids('a', 4).map((id) => usage(id));
    const second = ids('b', 2).map((id) => usage(id));
    repository.down = true;
    for (const record of first) ledger.record(record);
    await ledger.flush(); // fails
    // The second flush seals another segment behind the first; it fails again.
    for (const record of second) ledger.record(record);
    await ledger.flush();
    expect(errors).toHaveLength(2);
    expect(segments()).toHaveLength(2);
    expect(spooledIds()).toEqual([...first, ...second].map((r) => r.requestId));
    expect(ledger.pending).toBe(6);
    expect(await totals()).toEqual({ requests: 0, promptTokens: 0, completionTokens: 0 });
    await ledger.flush();
    expect(errors).toHaveLength(3);
    expect(segments()).toHaveLength(2);

    // The storage is back: everything arrives once, oldest segment first, and nothing was quarantined.
    repository.down = false;
    await ledger.flush();
    expect(errors).toHaveLength(3);
    expect(ledger.pending).toBe(0);
    expect(ledger.committed).toBe(6);
    expect(segments()).toEqual([]);
    // No rejected/ folder: nothing was quarantined (the `.next` files are the spool's open spares).
    expect(readdirSync(dir).filter((name) => !name.endsWith('.next'))).toEqual(['.lock']);
    expect(await totals()).toEqual(expectedTotals([...first, ...second]));
    await ledger.close();
  });

  it('retries a segment whose commit failed half-way (first batch in, then an outage) without counting the first batch twice', async () => {
    // A segment of 5 records left by a process that committed in larger batches...
    const spool = new UsageSpool(dir);
    const earlier = new UsageLedger(storage.usage, spool, { flushIntervalMs: NO_TIMER });
    const records = ids('c', 5).map((id) => usage(id));
    for (const record of records) earlier.record(record);
    spool.close();

    // ...replayed in batches of 3; the database goes away after the first.
    const repository = new InstrumentedRepository(storage.usage);
    const original = repository.insertBatch.bind(repository);
    let outage = true;
    let calls = 0;
    repository.insertBatch = async (batch) => {
      calls += 1;
      if (calls >= 2 && outage) throw new Error('connection lost mid-segment');
      return original(batch);
    };
    const errors: unknown[] = [];
    const ledger = new UsageLedger(repository, new UsageSpool(dir), { flushIntervalMs: NO_TIMER, maxBatch: 3, onError: (error) => errors.push(error) });
    expect(await ledger.start()).toBe(5);
    expect(errors).toHaveLength(1);
    expect(segments()).toHaveLength(1);
    expect(ledger.pending).toBe(5);
    expect((await totals()).requests).toBe(3);

    outage = false;
    await ledger.flush();
    expect(errors).toHaveLength(1);
    expect(segments()).toEqual([]);
    expect(ledger.committed).toBe(5);
    expect(await totals()).toEqual(expectedTotals(records));
    await ledger.close();
  });

  it('moves a record storage refuses to rejected/ and commits the others, instead of blocking behind it', async () => {
    const repository = new InstrumentedRepository(storage.usage);
    repository.refuses = (record) => record.requestId === 'poison-1';
    const errors: unknown[] = [];
    const ledger = new UsageLedger(repository, new UsageSpool(dir), { flushIntervalMs: NO_TIMER, onError: (error) => errors.push(error) });
    await ledger.start();
    const good = ['a-1', 'a-2', 'a-3'].map((id) => usage(id));
    ledger.record(good[0]);
    ledger.record(usage('poison-1'));
    ledger.record(good[1]);
    await ledger.flush();
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(segments()).toEqual([]);
    expect(ledger.pending).toBe(0);
    const rejected = readdirSync(join(dir, 'rejected'));
    expect(rejected).toHaveLength(1);
    const quarantined = readFileSync(join(dir, 'rejected', rejected[0]), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as UsageRecord).requestId);
    expect(quarantined).toEqual(['poison-1']);
    expect(await totals()).toEqual(expectedTotals(good.slice(0, 2)));

    // The ledger keeps going, and a restart does not replay what was quarantined.
    ledger.record(good[2]);
    await ledger.close();
    expect(await totals()).toEqual(expectedTotals(good));
    const restarted = new UsageLedger(storage.usage, new UsageSpool(dir), { flushIntervalMs: NO_TIMER });
    expect(await restarted.start()).toBe(0);
    await restarted.close();
  });

  it('close keeps what it could not commit for the next start', async () => {
    const repository = new InstrumentedRepository(storage.usage);
    const ledger = new UsageLedger(repository, new UsageSpool(dir), { flushIntervalMs: NO_TIMER, onError: () => {} });
    await ledger.start();
    const records = ids('req', 3).map((id) => usage(id));
    for (const record of records) ledger.record(record);
    repository.down = true;
    await ledger.close();
    expect(spooledIds()).toEqual(records.map((r) => r.requestId));

    const next = new UsageLedger(storage.usage, new UsageSpool(dir), { flushIntervalMs: NO_TIMER });
    expect(await next.start()).toBe(3);
    expect(segments()).toEqual([]);
    expect(await totals()).toEqual(expectedTotals(records));
    await next.close();
  });

  it('replays exactly once what a crashed ledger left in the spool, and a second replay changes nothing', async () => {
    // Process 1: commits a first lot, journals a second lot, then "dies" (no close, no flush; the
    // kernel closes its file descriptors).
    const spool1 = new UsageSpool(dir);
    const crashed = new UsageLedger(storage.usage, spool1, { flushIntervalMs: NO_TIMER });
    await crashed.start();
    const committed = ids('a', 3).map((id) => usage(id));
    const journaled = ids('b', 4).map((id) => usage(id, { status: 499, completionTokens: 0 }));
    for (const record of committed) crashed.record(record);
    await crashed.flush();
    for (const record of journaled) crashed.record(record);
    spool1.close();
    expect(spooledIds()).toEqual(journaled.map((r) => r.requestId));
    expect(await totals()).toEqual(expectedTotals(committed));

    // A segment that was committed but not yet deleted when the process died (the crash came between
    // insertBatch and unlink) is replayed too; storage must take it as already known.
    const leftover = join(dir, '000000000000001-000001-1.jsonl');
    writeFileSync(leftover, committed.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const keep = join(tmpdir(), `cerulean-spool-copy-${process.pid}-${Date.now()}.jsonl`);
    const replayedSegment = segments().find((name) => !leftover.endsWith(name)) as string;
    copyFileSync(join(dir, replayedSegment), keep);

    // Process 2 starts on the same spool.
    const repository = new InstrumentedRepository(storage.usage);
    const restarted = new UsageLedger(repository, new UsageSpool(dir), { flushIntervalMs: NO_TIMER });
    expect(await restarted.start()).toBe(7);
    expect(restarted.committed).toBe(4);
    expect(segments()).toEqual([]);
    for (const record of [...committed, ...journaled]) expect(await storage.usage.get(record.requestId)).toEqual(record);
    const all = [...committed, ...journaled];
    expect(await totals()).toEqual(expectedTotals(all));

    // Process 2 dies too before deleting anything, and process 3 replays the same segment again.
    copyFileSync(keep, join(dir, replayedSegment));
    rmSync(keep);
    const third = new UsageLedger(storage.usage, new UsageSpool(dir), { flushIntervalMs: NO_TIMER });
    expect(await third.start()).toBe(4);
    expect(third.committed).toBe(0);
    expect(segments()).toEqual([]);
    expect(await totals()).toEqual(expectedTotals(all));

    // And the same record recorded twice in a live ledger counts once.
    third.record(usage('c-1'));
    third.record(usage('c-1'));
    await third.close();
    expect(third.committed).toBe(1);
    expect(await totals()).toEqual(expectedTotals([...all, usage('c-1')]));
    await restarted.close();
  });

  it('skips a torn last line (a write cut short by the crash) and replays the rest', async () => {
    const spool = new UsageSpool(dir);
    const crashed = new UsageLedger(storage.usage, spool, { flushIntervalMs: NO_TIMER });
    await crashed.start();
    const records = ids('req', 3).map((id) => usage(id));
    for (const record of records) crashed.record(record);
    spool.close();
    const [segment] = segments();
    const torn = JSON.stringify(usage('req-4'));
    appendFileSync(join(dir, segment), torn.slice(0, torn.length / 2));

    const recovered = new UsageSpool(dir).recover();
    expect(recovered).toHaveLength(1);
    expect(recovered[0].records.map((r) => r.requestId)).toEqual(['req-1', 'req-2', 'req-3']);

    const restarted = new UsageLedger(storage.usage, new UsageSpool(dir), { flushIntervalMs: NO_TIMER });
    expect(await restarted.start()).toBe(3);
    expect(segments()).toEqual([]);
    expect(await storage.usage.get('req-4')).toBeUndefined();
    expect(await totals()).toEqual(expectedTotals(records));
    await restarted.close();
  });

  it('replays records journalled before usage named its API as chat usage, and keeps the API of newer ones', async () => {
    // A segment left by a process from before the api field: its lines have no `api`.
    const { api: _none, ...old } = usage('old-1');
    const newer = usage('new-1', { api: 'responses' });
    writeFileSync(join(dir, '000000000000001-000001-1.jsonl'), `${JSON.stringify(old)}\n${JSON.stringify(newer)}\n`);

    const recovered = new UsageSpool(dir).recover();
    expect(recovered[0].records.map((r) => [r.requestId, r.api])).toEqual([
      ['old-1', 'chat'],
      ['new-1', 'responses'],
    ]);

    const restarted = new UsageLedger(storage.usage, new UsageSpool(dir), { flushIntervalMs: NO_TIMER });
    expect(await restarted.start()).toBe(2);
    expect(await storage.usage.get('old-1')).toEqual({ ...old, api: 'chat' });
    expect(await storage.usage.get('new-1')).toEqual(newer);
    expect((await storage.usage.query({}, ['api'])).map((row) => [row.api, row.requests])).toEqual([
      ['chat', 1],
      ['responses', 1],
    ]);
    await restarted.close();
  });

  it('replays several segments oldest first', async () => {
    // A process whose storage was down throughout: three sealed segments, then an active one.
    const spool = new UsageSpool(dir);
    const original = storage.usage.insertBatch.bind(storage.usage);
    const failing = new InstrumentedRepository(storage.usage);
    failing.down = true;
    const stuck = new UsageLedger(failing, spool, { flushIntervalMs: NO_TIMER, onError: () => {} });
    const all: UsageRecord[] = [];
    for (let segment = 0; segment < 4; segment++) {
      for (const id of ids(`s${segment}`, 2)) {
        const record = usage(id);
        all.push(record);
        stuck.record(record);
      }
      if (segment < 3) await stuck.flush();
    }
    spool.close();
    expect(segments()).toHaveLength(4);
    expect(spooledIds()).toEqual(all.map((r) => r.requestId));

    const seen: string[] = [];
    const repository = new InstrumentedRepository(storage.usage);
    repository.insertBatch = async (records) => {
      seen.push(...records.map((r) => r.requestId));
      return original(records);
    };
    const restarted = new UsageLedger(repository, new UsageSpool(dir), { flushIntervalMs: NO_TIMER });
    expect(await restarted.start()).toBe(8);
    expect(seen).toEqual(all.map((r) => r.requestId));
    expect(await totals()).toEqual(expectedTotals(all));
    await restarted.close();
  });
});

describe('usage spool ownership', () => {
  it('refuses a spool directory another live process holds, and takes over a stale lock', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const owned = mkdtempSync(join(tmpdir(), 'cerulean-spool-lock-'));
    writeFileSync(join(owned, '.lock'), String(process.ppid));
    expect(() => new UsageSpool(owned)).toThrow(/in use by process/);
    writeFileSync(join(owned, '.lock'), '999999999');
    const spool = new UsageSpool(owned);
    expect(readFileSync(join(owned, '.lock'), 'utf8')).toBe(String(process.pid));
    spool.close();
    expect(readdirSync(owned)).toEqual([]);
  });
});
