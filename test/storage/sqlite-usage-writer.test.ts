import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import SqliteDatabase from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isDataError } from '../../src/metering/usage-ledger.js';
import type { Storage, UsageRecord } from '../../src/storage/storage.js';

/**
 * The SQLite usage writer thread, as the built service runs it: storage opened from dist/ (which
 * `npm test` compiles first), so the thread's compiled entry point is found and usage batches are
 * committed from it. (Opened from the TypeScript sources, as in the conformance suite, the same
 * inserts run on the main connection.)
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST_OPEN_STORAGE = join(ROOT, 'dist', 'storage', 'open-storage.js');

type OpenStorage = typeof import('../../src/storage/open-storage.js').openStorage;

function record(requestId: string, overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    requestId,
    at: Date.UTC(2026, 0, 1, 12, 0, 0),
    api: 'chat',
    organizationId: 'org',
    projectId: 'proj',
    keyId: 'key',
    endUser: null,
    deployment: 'chat',
    provider: 'p',
    model: 'm',
    region: 'local',
    promptTokens: 10,
    cachedTokens: 2,
    completionTokens: 5,
    images: 0,
    cost: 7,
    status: 200,
    latencyMs: 3.6,
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

describe('SQLite usage writer thread (built service)', () => {
  let directory: string;
  let storage: Storage;

  beforeEach(async () => {
    expect(existsSync(DIST_OPEN_STORAGE), 'dist/ is built by `npm test` before the tests run').toBe(true);
    const { openStorage } = (await import(pathToFileURL(DIST_OPEN_STORAGE).href)) as { openStorage: OpenStorage };
    directory = await mkdtemp(join(tmpdir(), 'cerulean-usage-writer-'));
    storage = await openStorage(`sqlite:${join(directory, 'cerulean.db')}`);
    await storage.migrate();
  });

  afterEach(async () => {
    await storage.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('commits while the event loop is busy: the batch runs on another thread', async () => {
    const written = storage.usage.insertBatch(Array.from({ length: 100 }, (_, i) => record(`busy-${i}`)));
    const reader = new SqliteDatabase(join(directory, 'cerulean.db'), { readonly: true });
    try {
      // Hold the event loop synchronously; only another thread can commit meanwhile.
      const deadline = Date.now() + 5_000;
      let seen = 0;
      while (seen < 100 && Date.now() < deadline) seen = (reader.prepare('select count(*) as n from usage_records').get() as { n: number }).n;
      expect(seen).toBe(100);
    } finally {
      reader.close();
    }
    expect(await written).toBe(100);
  });

  it('commits once per request id, rollups included', async () => {
    expect(await storage.usage.insertBatch([record('a'), record('b'), record('a')])).toBe(2);
    expect(await storage.usage.insertBatch([record('b'), record('c')])).toBe(1);
    const [total] = await storage.usage.query({}, []);
    expect(total).toMatchObject({ requests: 3, promptTokens: 30, cachedTokens: 6, completionTokens: 15, cost: 21 });
    const [minute] = await storage.usage.rollups('minute', {}, []);
    expect(minute).toMatchObject({ requests: 3, promptTokens: 30 });
    // Rounded on the way in, as on the main connection.
    expect((await storage.usage.get('a'))?.latencyMs).toBe(4);
  });

  it('carries the API of each record through the thread, into records and rollups', async () => {
    expect(await storage.usage.insertBatch([record('chat-1'), record('resp-1', { api: 'responses' }), record('msg-1', { api: 'messages' })])).toBe(3);
    expect((await storage.usage.get('resp-1'))?.api).toBe('responses');
    const byApi = (await storage.usage.rollups('minute', {}, ['api'])).map((row) => [row.api, row.requests]);
    expect(byApi).toEqual([
      ['chat', 1],
      ['messages', 1],
      ['responses', 1],
    ]);
  });

  it("reports a record the database refuses with SQLite's code, so the ledger can set it apart", async () => {
    const refused = record('bad', { projectId: null as unknown as string });
    const failure = await storage.usage.insertBatch([record('ok'), refused]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as { code?: string }).code).toMatch(/^SQLITE_CONSTRAINT/);
    expect(isDataError(failure)).toBe(true);
    // The batch was one transaction: nothing of it was kept.
    expect(await storage.usage.get('ok')).toBeUndefined();
    expect(await storage.usage.insertBatch([record('ok')])).toBe(1);
  });

  it('batches committed concurrently with writes on the main connection all land', async () => {
    const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 50 }, (_, i) => record(`r${b}-${i}`)));
    const writes = batches.map((batch) => storage.usage.insertBatch(batch));
    // Meanwhile, admin writes on the main connection (they wait for the writer's lock, and it for theirs).
    for (let i = 0; i < 5; i++) await storage.organizations.create({ id: `org-${i}`, name: `org-${i}`, createdAt: Date.now() });
    expect((await Promise.all(writes)).reduce((sum, n) => sum + n, 0)).toBe(1_000);
    const [total] = await storage.usage.query({}, []);
    expect(total.requests).toBe(1_000);
  });
});
