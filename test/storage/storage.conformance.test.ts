import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { once } from 'node:events';
import { join, relative } from 'node:path';
import { Worker } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditHash } from '../../src/storage/kysely/audit-chain.js';
import { openStorage, type StorageNotice } from '../../src/storage/open-storage.js';
import { AUDIT_LOCK_CLASS } from '../../src/storage/postgres/postgres-storage.js';
import { RESYNC_TOPIC, type AuditInput, type MigrationResult, type Storage, type UsageRecord } from '../../src/storage/storage.js';
import { dropSchema, keyRecord, POSTGRES_URL, T0, uniqueSchema } from './storage-test-support.js';
import { postgresAvailable } from '../helpers/services.js';

/**
 * One conformance suite for every Storage implementation: each test gets a fresh database (a new
 * SQLite file, or a new PostgreSQL schema dropped afterwards) and must pass unchanged on both.
 * PostgreSQL is never skipped: without a server the suite fails.
 */

const ZERO_HASH = '0'.repeat(64);
const HOUR = 3_600_000;
const DAY = 86_400_000;

type Dialect = 'sqlite' | 'postgres';

/** A database for one test, plus raw access to it for tampering as someone with database access would. */
interface Harness {
  readonly url: string;
  /** Unique to this harness (the PostgreSQL schema and application_name). */
  readonly tag: string;
  /** Runs one SQL statement outside the storage (literals inline: it must read the same on both). */
  raw(statement: string): Promise<Record<string, unknown>[]>;
  /** Makes the database skip `count` audit seq values, as rolled-back appends do on PostgreSQL. */
  skipAuditSeq(count: number): Promise<void>;
  /** From another connection (and thread), takes what audit appends lock and holds it for `ms`. */
  holdAuditLock(ms: number): Promise<{ released: Promise<unknown> }>;
  dispose(): Promise<void>;
}

async function sqliteHarness(): Promise<Harness> {
  const directory = await mkdtemp(join(tmpdir(), 'cerulean-storage-'));
  // A nested, cwd-relative path: openStorage must create the missing parent directory.
  const file = join(directory, 'nested', 'cerulean.db');
  let connection: SqliteDatabase.Database | undefined;
  const open = (): SqliteDatabase.Database => {
    connection ??= new SqliteDatabase(file);
    connection.pragma('busy_timeout = 5000');
    return connection;
  };
  return {
    url: `sqlite:${relative(process.cwd(), file)}`,
    tag: file,
    async raw(statement) {
      const prepared = open().prepare(statement);
      if (prepared.reader) return prepared.all() as Record<string, unknown>[];
      prepared.run();
      return [];
    },
    async skipAuditSeq(count) {
      open().prepare(`update sqlite_sequence set seq = seq + ${count} where name = 'audit_log'`).run();
    },
    async holdAuditLock(ms) {
      // A worker thread: better-sqlite3 waits for locks synchronously, so a holder on this thread
      // would block the event loop that the storage under test needs.
      const worker = new Worker(SQLITE_LOCK_HOLDER, { eval: true, workerData: { file, ms } });
      await once(worker, 'message');
      return { released: once(worker, 'exit') };
    },
    async dispose() {
      connection?.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

async function postgresHarness(): Promise<Harness> {
  const schema = uniqueSchema();
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('schema', schema);
  url.searchParams.set('application_name', schema);
  let client: pg.Client | undefined;
  const open = async (): Promise<pg.Client> => {
    if (client === undefined) {
      client = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
      await client.connect();
    }
    return client;
  };
  return {
    url: url.toString(),
    tag: schema,
    async raw(statement) {
      const result = await (await open()).query(statement);
      return result.rows as Record<string, unknown>[];
    },
    async skipAuditSeq(count) {
      const query = `select setval(pg_get_serial_sequence('audit_log', 'seq'), coalesce((select max(seq) from audit_log), 0) + ${count})`;
      await (await open()).query(query);
    },
    async holdAuditLock(ms) {
      const holder = new pg.Client({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}` });
      await holder.connect();
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(${AUDIT_LOCK_CLASS}, hashtext(current_schema()))`);
      const released = new Promise((resolve) => setTimeout(resolve, ms)).then(async () => {
        await holder.query('commit');
        await holder.end();
      });
      return { released };
    },
    async dispose() {
      await client?.end();
      await dropSchema(schema);
    },
  };
}

const SQLITE_LOCK_HOLDER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require('better-sqlite3');
const db = new Database(workerData.file);
db.exec('begin immediate');
parentPort.postMessage('locked');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.ms);
db.exec('commit');
db.close();
`;

const HARNESSES: Record<Dialect, () => Promise<Harness>> = { sqlite: sqliteHarness, postgres: postgresHarness };

function usage(requestId: string, overrides: Partial<UsageRecord> = {}): UsageRecord {
  return {
    requestId,
    at: T0,
    api: 'chat',
    organizationId: 'org_1',
    projectId: 'proj_a',
    keyId: 'key_1',
    endUser: null,
    deployment: 'gpt',
    provider: 'openai',
    model: 'gpt-4o',
    region: 'eastus',
    promptTokens: 10,
    cachedTokens: 0,
    completionTokens: 5,
    images: 0,
    cost: 100,
    status: 200,
    latencyMs: 120,
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

function auditInput(overrides: Partial<AuditInput> = {}): AuditInput {
  return {
    at: T0,
    actor: 'user:user_1',
    action: 'key.create',
    target: 'key:key_1',
    organizationId: 'org_1',
    projectId: 'proj_a',
    before: null,
    after: { name: 'ci' },
    source: 'api',
    ...overrides,
  };
}

/** A usage query's sums without the error count (asserted to be a number), for comparisons with literal sums. */
async function sumsOf(storage: Storage, ...query: Parameters<Storage['usage']['query']>) {
  return withoutErrors(await storage.usage.query(...query));
}

/** The same of a rollup bucket's sums. */
async function rollupSumsOf(storage: Storage, ...query: Parameters<Storage['usage']['rollups']>) {
  return withoutErrors(await storage.usage.rollups(...query));
}

function withoutErrors(rows: Awaited<ReturnType<Storage['usage']['query']>>) {
  return rows.map(({ errors, ...sums }) => {
    expect(errors).toEqual(expect.any(Number));
    return sums;
  });
}

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function uniqueId(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

describe.each(postgresAvailable ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const))('storage on %s', (dialect) => {
  let harness: Harness;
  let storage: Storage;
  let firstMigration: MigrationResult;
  const notices: StorageNotice[] = [];
  const extra: Storage[] = [];

  /** Another Storage on the same database: a second replica or process. */
  async function openAnother(): Promise<Storage> {
    const another = await openStorage(harness.url, { onNotice: (notice) => notices.push(notice) });
    extra.push(another);
    return another;
  }

  async function seedProject(id = 'proj_a', organizationId = 'org_1'): Promise<void> {
    if ((await storage.organizations.get(organizationId)) === undefined) {
      await storage.organizations.create({ id: organizationId, name: `Org ${organizationId}`, createdAt: T0 });
    }
    await storage.projects.create({ id, organizationId, name: `Project ${id}`, keyAuthEnabled: true, dataZone: null, regions: null, createdAt: T0 });
  }

  async function seedKey(id: string, projectId = 'proj_a', overrides: Partial<Parameters<Storage['keys']['create']>[0]> = {}): Promise<void> {
    await storage.keys.create(keyRecord(id, projectId, overrides));
  }

  beforeEach(async () => {
    notices.length = 0;
    harness = await HARNESSES[dialect]();
    storage = await openStorage(harness.url, { onNotice: (notice) => notices.push(notice) });
    firstMigration = await storage.migrate();
  });

  afterEach(async () => {
    for (const another of extra.splice(0)) await another.close();
    await storage.close();
    await harness.dispose();
  });

  describe('migrations', () => {
    it('applies every migration once; running again applies nothing', async () => {
      expect(storage.dialect).toBe(dialect);
      const current = '0009_rollup_errors';
      expect(firstMigration).toEqual({
        applied: [
          '0001_initial',
          '0002_content_safety',
          '0003_usage_api_and_responses',
          '0004_cache_write_price',
          '0005_usage_estimated',
          '0006_project_data_zone',
          '0007_usage_attempts',
          '0008_residency_pins',
          current,
        ],
        current,
      });
      expect(await storage.migrate()).toEqual({ applied: [], current });
      const another = await openAnother();
      expect(await another.migrate()).toEqual({ applied: [], current });
    });

    it('creates every table', async () => {
      const tables = [
        'organizations',
        'projects',
        'users',
        'role_assignments',
        'api_keys',
        'deployment_policies',
        'project_quotas',
        'budgets',
        'access_requests',
        'usage_records',
        'usage_rollups',
        'audit_log',
        'audit_anchor',
        'blocklists',
        'blocklist_terms',
        'project_filter_policies',
        'abuse_reviews',
        'abuse_samples',
        'responses',
      ];
      for (const table of tables) expect(await harness.raw(`select count(*) as n from ${table}`)).toHaveLength(1);
    });
  });

  describe('organizations and projects', () => {
    it('creates, gets and lists organizations', async () => {
      await storage.organizations.create({ id: 'org_2', name: 'Beta', createdAt: T0 + 1 });
      await storage.organizations.create({ id: 'org_1', name: 'Alpha', createdAt: T0 });
      expect(await storage.organizations.get('org_1')).toEqual({ id: 'org_1', name: 'Alpha', createdAt: T0 });
      expect(await storage.organizations.get('org_missing')).toBeUndefined();
      expect((await storage.organizations.list()).map((org) => org.id)).toEqual(['org_1', 'org_2']);
      await expect(storage.organizations.create({ id: 'org_1', name: 'Again', createdAt: T0 })).rejects.toThrow();
    });

    it('creates, lists by organization and updates projects', async () => {
      await seedProject('proj_a', 'org_1');
      await seedProject('proj_b', 'org_2');
      const project = await storage.projects.get('proj_a');
      expect(project).toEqual({
        id: 'proj_a',
        organizationId: 'org_1',
        name: 'Project proj_a',
        keyAuthEnabled: true,
        dataZone: null,
        regions: null,
        createdAt: T0,
      });
      expect((await storage.projects.list()).map((p) => p.id)).toEqual(['proj_a', 'proj_b']);
      expect((await storage.projects.list('org_2')).map((p) => p.id)).toEqual(['proj_b']);

      const updated = await storage.projects.update('proj_a', { name: 'Renamed', keyAuthEnabled: false });
      expect(updated).toMatchObject({ id: 'proj_a', name: 'Renamed', keyAuthEnabled: false });
      expect((await storage.projects.get('proj_a'))?.keyAuthEnabled).toBe(false);
      expect(await storage.projects.update('proj_a', {})).toEqual(updated);
      expect(await storage.projects.update('proj_missing', { name: 'x' })).toBeUndefined();
    });

    it("keeps a project's residency pin: a data zone and regions, each removable", async () => {
      await seedProject('proj_a', 'org_1');
      expect(await storage.projects.update('proj_a', { dataZone: 'eu', regions: ['westeurope', 'swedencentral'] })).toMatchObject({
        dataZone: 'eu',
        regions: ['westeurope', 'swedencentral'],
      });
      expect(await storage.projects.get('proj_a')).toMatchObject({ dataZone: 'eu', regions: ['westeurope', 'swedencentral'] });
      expect(await storage.projects.update('proj_a', { regions: null })).toMatchObject({ dataZone: 'eu', regions: null });
      expect(await storage.projects.update('proj_a', { dataZone: null })).toMatchObject({ dataZone: null, regions: null });
    });

    it('refuses a project of an unknown organization (foreign keys are on)', async () => {
      await expect(
        storage.projects.create({ id: 'proj_x', organizationId: 'org_missing', name: 'x', keyAuthEnabled: true, dataZone: null, regions: null, createdAt: T0 }),
      ).rejects.toThrow();
    });

    it('deletes a project with its keys, quotas, budgets, roles and access requests; usage and audit stay', async () => {
      await seedProject('proj_a');
      await seedProject('proj_b');
      await seedKey('key_a1', 'proj_a');
      await seedKey('key_a2', 'proj_a');
      await seedKey('key_b1', 'proj_b');
      await storage.users.create({ id: 'user_1', organizationId: 'org_1', email: 'a@example.com', name: null, issuer: null, subject: null, createdAt: T0 });
      await storage.roles.assign({ id: 'ra_1', userId: 'user_1', scope: 'project', scopeId: 'proj_a', role: 'admin', createdAt: T0 });
      await storage.roles.assign({ id: 'ra_2', userId: 'user_1', scope: 'organization', scopeId: 'org_1', role: 'reader', createdAt: T0 });
      await storage.roles.assign({ id: 'ra_3', userId: 'user_1', scope: 'project', scopeId: 'proj_b', role: 'user', createdAt: T0 });
      await storage.quotas.set({ projectId: 'proj_a', deployment: '*', tpm: 1000, updatedAt: T0 });
      await storage.quotas.set({ projectId: 'proj_b', deployment: '*', tpm: 2000, updatedAt: T0 });
      for (const [scope, scopeId] of [
        ['project', 'proj_a'],
        ['key', 'key_a1'],
        ['project', 'proj_b'],
        ['key', 'key_b1'],
      ] as const) {
        await storage.budgets.set({ scope, scopeId, monthlyLimit: 1_000_000, dailyLimit: null, updatedAt: T0 });
      }
      await storage.access.create({
        id: 'ar_1',
        projectId: 'proj_a',
        deployment: 'gpt',
        useCase: 'x',
        status: 'pending',
        createdAt: T0,
        decidedBy: null,
        decidedAt: null,
        reason: null,
      });
      await storage.access.create({
        id: 'ar_2',
        projectId: 'proj_b',
        deployment: 'gpt',
        useCase: 'x',
        status: 'pending',
        createdAt: T0,
        decidedBy: null,
        decidedAt: null,
        reason: null,
      });
      await storage.usage.insertBatch([usage('req_1', { projectId: 'proj_a', keyId: 'key_a1' })]);
      await storage.audit.append(auditInput({ projectId: 'proj_a' }));

      expect(await storage.projects.delete('proj_a')).toBe(true);
      expect(await storage.projects.delete('proj_a')).toBe(false);

      expect(await storage.projects.get('proj_a')).toBeUndefined();
      expect(await storage.keys.list('proj_a')).toEqual([]);
      expect(await storage.keys.get('key_a1')).toBeUndefined();
      expect(await storage.quotas.list('proj_a')).toEqual([]);
      expect((await storage.budgets.list()).map((b) => `${b.scope}:${b.scopeId}`)).toEqual(['key:key_b1', 'project:proj_b']);
      expect((await storage.roles.listForUser('user_1')).map((r) => r.id).sort()).toEqual(['ra_2', 'ra_3']);
      expect(await storage.access.list({ projectId: 'proj_a' })).toEqual([]);
      // The other project is untouched; history stays.
      expect((await storage.keys.list('proj_b')).map((k) => k.id)).toEqual(['key_b1']);
      expect(await storage.quotas.list('proj_b')).toHaveLength(1);
      expect(await storage.access.list({ projectId: 'proj_b' })).toHaveLength(1);
      expect(await storage.usage.get('req_1')).toBeDefined();
      expect(await storage.audit.list({ projectId: 'proj_a' })).toHaveLength(1);
    });
  });

  describe('users and roles', () => {
    beforeEach(async () => {
      await seedProject('proj_a', 'org_1');
      await storage.organizations.create({ id: 'org_2', name: 'Other', createdAt: T0 });
    });

    it('creates users and finds them by id, subject and email', async () => {
      const alice = {
        id: 'user_a',
        organizationId: 'org_1',
        email: 'alice@example.com',
        name: 'Alice',
        issuer: 'https://idp',
        subject: 'sub-a',
        createdAt: T0,
      };
      const bob = { id: 'user_b', organizationId: 'org_2', email: 'bob@example.com', name: null, issuer: null, subject: null, createdAt: T0 + 1 };
      await storage.users.create(alice);
      await storage.users.create(bob);
      expect(await storage.users.get('user_a')).toEqual(alice);
      expect(await storage.users.get('user_b')).toEqual(bob);
      expect(await storage.users.findBySubject('https://idp', 'sub-a')).toEqual(alice);
      expect(await storage.users.findBySubject('https://other', 'sub-a')).toBeUndefined();
      expect(await storage.users.findByEmail('org_1', 'alice@example.com')).toEqual(alice);
      expect(await storage.users.findByEmail('org_2', 'alice@example.com')).toBeUndefined();
      expect((await storage.users.list()).map((u) => u.id)).toEqual(['user_a', 'user_b']);
      expect((await storage.users.list('org_2')).map((u) => u.id)).toEqual(['user_b']);
      // One email per organization; users without a subject do not collide.
      await expect(storage.users.create({ ...alice, id: 'user_c', subject: 'sub-c' })).rejects.toThrow();
      await storage.users.create({ ...bob, id: 'user_d', email: 'dave@example.com' });
    });

    it('deletes a user together with their role assignments', async () => {
      await storage.users.create({ id: 'user_a', organizationId: 'org_1', email: 'a@example.com', name: null, issuer: null, subject: null, createdAt: T0 });
      await storage.roles.assign({ id: 'ra_1', userId: 'user_a', scope: 'organization', scopeId: 'org_1', role: 'owner', createdAt: T0 });
      expect(await storage.users.delete('user_a')).toBe(true);
      expect(await storage.users.delete('user_a')).toBe(false);
      expect(await storage.roles.listForScope('organization', 'org_1')).toEqual([]);
    });

    it('assigns one role per user and scope, replacing the previous one', async () => {
      await storage.users.create({ id: 'user_a', organizationId: 'org_1', email: 'a@example.com', name: null, issuer: null, subject: null, createdAt: T0 });
      await storage.users.create({ id: 'user_b', organizationId: 'org_1', email: 'b@example.com', name: null, issuer: null, subject: null, createdAt: T0 });
      await storage.roles.assign({ id: 'ra_1', userId: 'user_a', scope: 'project', scopeId: 'proj_a', role: 'reader', createdAt: T0 });
      await storage.roles.assign({ id: 'ra_2', userId: 'user_a', scope: 'organization', scopeId: 'org_1', role: 'user', createdAt: T0 + 1 });
      await storage.roles.assign({ id: 'ra_3', userId: 'user_b', scope: 'project', scopeId: 'proj_a', role: 'contributor', createdAt: T0 + 2 });
      await storage.roles.assign({ id: 'ra_4', userId: 'user_a', scope: 'project', scopeId: 'proj_a', role: 'admin', createdAt: T0 + 3 });

      expect(await storage.roles.listForUser('user_a')).toEqual([
        { id: 'ra_2', userId: 'user_a', scope: 'organization', scopeId: 'org_1', role: 'user', createdAt: T0 + 1 },
        { id: 'ra_4', userId: 'user_a', scope: 'project', scopeId: 'proj_a', role: 'admin', createdAt: T0 + 3 },
      ]);
      expect((await storage.roles.listForScope('project', 'proj_a')).map((r) => [r.userId, r.role])).toEqual([
        ['user_b', 'contributor'],
        ['user_a', 'admin'],
      ]);
      expect(await storage.roles.revoke('user_a', 'project', 'proj_a')).toBe(true);
      expect(await storage.roles.revoke('user_a', 'project', 'proj_a')).toBe(false);
      expect((await storage.roles.listForUser('user_a')).map((r) => r.id)).toEqual(['ra_2']);
    });
  });

  describe('api keys', () => {
    beforeEach(() => seedProject());

    it('stores keys, with deployment lists, and finds them by id, hash and project', async () => {
      await seedKey('key_1', 'proj_a', { deployments: ['gpt', 'claude'], expiresAt: T0 + DAY });
      await seedKey('key_2');
      const key = await storage.keys.get('key_1');
      expect(key).toEqual({
        id: 'key_1',
        projectId: 'proj_a',
        name: 'key key_1',
        prefix: 'cer-key_1',
        hash: createHash('sha256').update('key_1').digest('hex'),
        deployments: ['gpt', 'claude'],
        expiresAt: T0 + DAY,
        revokedAt: null,
        createdAt: T0,
        lastUsedAt: null,
        createdBy: 'user_1',
        suspendedAt: null,
        dataZone: null,
        regions: null,
      });
      expect(await storage.keys.findByHash(key!.hash)).toEqual(key);
      expect(await storage.keys.findByHash('nope')).toBeUndefined();
      expect((await storage.keys.get('key_2'))?.deployments).toBeNull();
      expect((await storage.keys.list('proj_a')).map((k) => k.id)).toEqual(['key_1', 'key_2']);
      // The hash is unique.
      await expect(seedKey('key_3', 'proj_a', { hash: key!.hash })).rejects.toThrow();
    });

    it("keeps a key's residency pin and name through updates; listActive carries them", async () => {
      await seedKey('key_pinned', 'proj_a', { dataZone: 'eu', regions: ['westeurope'] });
      expect(await storage.keys.get('key_pinned')).toMatchObject({ dataZone: 'eu', regions: ['westeurope'] });
      expect((await storage.keys.listActive(T0)).find((key) => key.id === 'key_pinned')).toMatchObject({ dataZone: 'eu', regions: ['westeurope'] });
      expect(await storage.keys.update('key_pinned', { regions: ['westeurope', 'swedencentral'], name: 'renamed' })).toMatchObject({
        name: 'renamed',
        dataZone: 'eu',
        regions: ['westeurope', 'swedencentral'],
      });
      expect(await storage.keys.update('key_pinned', { dataZone: null, regions: null })).toMatchObject({ name: 'renamed', dataZone: null, regions: null });
      expect(await storage.keys.update('key_pinned', {})).toMatchObject({ name: 'renamed' });
      expect(await storage.keys.update('key_missing', { name: 'x' })).toBeUndefined();
    });

    it('lists active keys and revokes once', async () => {
      await seedKey('key_live');
      await seedKey('key_expiring', 'proj_a', { expiresAt: T0 + 10 });
      await seedKey('key_revoked', 'proj_a', { revokedAt: T0 });
      expect((await storage.keys.listActive(T0)).map((k) => k.id)).toEqual(['key_expiring', 'key_live']);
      expect((await storage.keys.listActive(T0 + 10)).map((k) => k.id)).toEqual(['key_live']);

      expect((await storage.keys.revoke('key_live', T0 + 5))?.revokedAt).toBe(T0 + 5);
      expect((await storage.keys.revoke('key_live', T0 + 9))?.revokedAt).toBe(T0 + 5);
      expect(await storage.keys.revoke('key_missing', T0)).toBeUndefined();
      expect((await storage.keys.listActive(T0)).map((k) => k.id)).toEqual(['key_expiring']);
    });

    it('touches last-used times in batches, only ever forward', async () => {
      await seedKey('key_1');
      await seedKey('key_2', 'proj_a', { lastUsedAt: T0 + 500 });
      await seedKey('key_3');
      await storage.keys.touch([]);
      await storage.keys.touch([
        { id: 'key_1', at: T0 + 100 },
        { id: 'key_1', at: T0 + 300 },
        { id: 'key_1', at: T0 + 200 },
        { id: 'key_2', at: T0 + 400 },
        { id: 'key_missing', at: T0 },
      ]);
      expect((await storage.keys.get('key_1'))?.lastUsedAt).toBe(T0 + 300);
      expect((await storage.keys.get('key_2'))?.lastUsedAt).toBe(T0 + 500);
      expect((await storage.keys.get('key_3'))?.lastUsedAt).toBeNull();

      await storage.keys.touch([
        { id: 'key_1', at: T0 + 250 },
        { id: 'key_2', at: T0 + 600 },
      ]);
      expect((await storage.keys.get('key_1'))?.lastUsedAt).toBe(T0 + 300);
      expect((await storage.keys.get('key_2'))?.lastUsedAt).toBe(T0 + 600);
    });

    it('touches batches larger than one statement can carry', async () => {
      await seedKey('key_1');
      await seedKey('key_2');
      const batch = Array.from({ length: 15_000 }, (_, index) => ({ id: `key_ghost_${index}`, at: T0 + index }));
      batch.push({ id: 'key_1', at: T0 + 1 }, { id: 'key_2', at: T0 + 2 });
      await storage.keys.touch(batch);
      expect((await storage.keys.get('key_1'))?.lastUsedAt).toBe(T0 + 1);
      expect((await storage.keys.get('key_2'))?.lastUsedAt).toBe(T0 + 2);
    });
  });

  describe('deployment policies, quotas and budgets', () => {
    it('upserts deployment policies with and without prices', async () => {
      const prices = {
        inputPerMillion: 2_500_000,
        cachedInputPerMillion: 1_250_000,
        cacheWritePerMillion: 3_125_000,
        outputPerMillion: 10_000_000,
        perImage: 0,
      };
      await storage.deployments.upsert({ deployment: 'gpt', gated: false, tpm: null, prices, updatedAt: T0 });
      await storage.deployments.upsert({ deployment: 'claude', gated: true, tpm: 50_000, prices: null, updatedAt: T0 });
      expect(await storage.deployments.get('gpt')).toEqual({ deployment: 'gpt', gated: false, tpm: null, prices, updatedAt: T0 });
      expect(await storage.deployments.get('claude')).toEqual({ deployment: 'claude', gated: true, tpm: 50_000, prices: null, updatedAt: T0 });
      expect(await storage.deployments.get('missing')).toBeUndefined();

      await storage.deployments.upsert({ deployment: 'gpt', gated: true, tpm: 1000, prices: null, updatedAt: T0 + 1 });
      expect(await storage.deployments.list()).toEqual([
        { deployment: 'claude', gated: true, tpm: 50_000, prices: null, updatedAt: T0 },
        { deployment: 'gpt', gated: true, tpm: 1000, prices: null, updatedAt: T0 + 1 },
      ]);
    });

    it('sets, lists and removes project quotas', async () => {
      await seedProject('proj_a');
      await seedProject('proj_b');
      await storage.quotas.set({ projectId: 'proj_a', deployment: 'gpt', tpm: 1000, updatedAt: T0 });
      await storage.quotas.set({ projectId: 'proj_a', deployment: '*', tpm: 5000, updatedAt: T0 });
      await storage.quotas.set({ projectId: 'proj_b', deployment: 'gpt', tpm: 10, updatedAt: T0 });
      await storage.quotas.set({ projectId: 'proj_a', deployment: 'gpt', tpm: 2000, updatedAt: T0 + 1 });
      expect(await storage.quotas.list('proj_a')).toEqual([
        { projectId: 'proj_a', deployment: '*', tpm: 5000, updatedAt: T0 },
        { projectId: 'proj_a', deployment: 'gpt', tpm: 2000, updatedAt: T0 + 1 },
      ]);
      expect(await storage.quotas.list()).toHaveLength(3);
      expect(await storage.quotas.remove('proj_a', 'gpt')).toBe(true);
      expect(await storage.quotas.remove('proj_a', 'gpt')).toBe(false);
      expect(await storage.quotas.list('proj_a')).toHaveLength(1);
    });

    it('sets, gets, lists and removes budgets', async () => {
      await storage.budgets.set({ scope: 'project', scopeId: 'proj_a', monthlyLimit: 50_000_000, dailyLimit: null, updatedAt: T0 });
      await storage.budgets.set({ scope: 'key', scopeId: 'key_1', monthlyLimit: null, dailyLimit: 1_000_000, updatedAt: T0 });
      expect(await storage.budgets.get('project', 'proj_a')).toEqual({
        scope: 'project',
        scopeId: 'proj_a',
        monthlyLimit: 50_000_000,
        dailyLimit: null,
        updatedAt: T0,
      });
      expect(await storage.budgets.get('key', 'proj_a')).toBeUndefined();
      await storage.budgets.set({ scope: 'project', scopeId: 'proj_a', monthlyLimit: 9_000_000_000_000, dailyLimit: 1, updatedAt: T0 + 1 });
      expect(await storage.budgets.list()).toEqual([
        { scope: 'key', scopeId: 'key_1', monthlyLimit: null, dailyLimit: 1_000_000, updatedAt: T0 },
        { scope: 'project', scopeId: 'proj_a', monthlyLimit: 9_000_000_000_000, dailyLimit: 1, updatedAt: T0 + 1 },
      ]);
      expect(await storage.budgets.remove('key', 'key_1')).toBe(true);
      expect(await storage.budgets.remove('key', 'key_1')).toBe(false);
      expect(await storage.budgets.list()).toHaveLength(1);
    });
  });

  describe('access requests', () => {
    beforeEach(async () => {
      await seedProject('proj_a');
      await seedProject('proj_b');
    });

    it('creates, lists, decides and reports approved deployments', async () => {
      const base = { useCase: 'summaries', status: 'pending' as const, decidedBy: null, decidedAt: null, reason: null };
      await storage.access.create({ ...base, id: 'ar_1', projectId: 'proj_a', deployment: 'gpt', createdAt: T0 });
      await storage.access.create({ ...base, id: 'ar_2', projectId: 'proj_a', deployment: 'claude', createdAt: T0 + 1 });
      await storage.access.create({ ...base, id: 'ar_3', projectId: 'proj_a', deployment: 'gemini', createdAt: T0 + 2 });
      await storage.access.create({ ...base, id: 'ar_4', projectId: 'proj_b', deployment: 'gpt', createdAt: T0 + 3 });
      await storage.access.create({ ...base, id: 'ar_5', projectId: 'proj_a', deployment: 'gpt', createdAt: T0 + 4 });

      expect(await storage.access.get('ar_1')).toEqual({ ...base, id: 'ar_1', projectId: 'proj_a', deployment: 'gpt', createdAt: T0 });
      expect(await storage.access.get('ar_missing')).toBeUndefined();

      const approved = await storage.access.decide('ar_1', { status: 'approved', decidedBy: 'user_admin', decidedAt: T0 + 10, reason: null });
      expect(approved).toMatchObject({ id: 'ar_1', status: 'approved', decidedBy: 'user_admin', decidedAt: T0 + 10, reason: null });
      await storage.access.decide('ar_5', { status: 'approved', decidedBy: 'user_admin', decidedAt: T0 + 11, reason: null });
      await storage.access.decide('ar_2', { status: 'rejected', decidedBy: 'user_admin', decidedAt: T0 + 12, reason: 'not needed' });
      await storage.access.decide('ar_4', { status: 'approved', decidedBy: 'user_admin', decidedAt: T0 + 13, reason: null });
      expect(await storage.access.decide('ar_missing', { status: 'approved', decidedBy: 'x', decidedAt: T0, reason: null })).toBeUndefined();

      expect((await storage.access.list()).map((r) => r.id)).toEqual(['ar_1', 'ar_2', 'ar_3', 'ar_4', 'ar_5']);
      expect((await storage.access.list({ projectId: 'proj_a', status: 'approved' })).map((r) => r.id)).toEqual(['ar_1', 'ar_5']);
      expect((await storage.access.list({ deployment: 'gpt' })).map((r) => r.id)).toEqual(['ar_1', 'ar_4', 'ar_5']);
      expect((await storage.access.list({ status: 'pending' })).map((r) => r.id)).toEqual(['ar_3']);
      expect(await storage.access.get('ar_2')).toMatchObject({ status: 'rejected', reason: 'not needed' });

      expect(await storage.access.approvedDeployments('proj_a')).toEqual(['gpt']);
      expect(await storage.access.approvedDeployments('proj_b')).toEqual(['gpt']);
      expect(await storage.access.approvedDeployments('proj_missing')).toEqual([]);
    });
  });

  describe('usage', () => {
    const records: UsageRecord[] = [
      usage('req_1', { at: T0, promptTokens: 10, cachedTokens: 2, completionTokens: 5, cost: 100 }),
      usage('req_2', { at: T0 + 30_000, promptTokens: 20, completionTokens: 10, cost: 200, streamed: true, timeToFirstTokenMs: 80 }),
      usage('req_3', { at: T0 + HOUR + 60_000, keyId: null, model: 'gpt-4o-mini', promptTokens: 1, completionTokens: 1, cost: 10, endUser: 'u-42' }),
      usage('req_4', {
        at: T0 + DAY,
        organizationId: 'org_2',
        projectId: 'proj_b',
        keyId: 'key_2',
        deployment: 'claude',
        provider: 'anthropic',
        model: 'claude-sonnet',
        promptTokens: 100,
        completionTokens: 50,
        cost: 1000,
        status: 400,
        filtered: true,
      }),
    ];
    const total = { requests: 4, promptTokens: 131, cachedTokens: 2, completionTokens: 66, cost: 1310 };

    it('inserts a batch once: a replay adds nothing to records or rollups', async () => {
      expect(await storage.usage.insertBatch(records)).toBe(4);
      expect(await storage.usage.get('req_2')).toEqual(records[1]);
      expect(await storage.usage.get('req_3')).toEqual(records[2]);
      expect(await storage.usage.get('req_4')).toEqual(records[3]);
      expect(await storage.usage.get('req_missing')).toBeUndefined();

      expect(await storage.usage.insertBatch(records)).toBe(0);
      // Partly new, with a duplicate inside the batch: only the one new record counts.
      expect(await storage.usage.insertBatch([records[0], usage('req_5', { cost: 7 }), usage('req_5', { cost: 7 })])).toBe(1);
      expect(await storage.usage.insertBatch([])).toBe(0);

      const expected = { requests: 5, promptTokens: 141, cachedTokens: 2, completionTokens: 71, cost: 1317 };
      expect(await sumsOf(storage, {}, [])).toEqual([expected]);
      for (const bucket of ['minute', 'hour', 'day'] as const) expect(await rollupSumsOf(storage, bucket, {}, [])).toEqual([expected]);
    });

    it('keeps any text a caller can put in a record exactly, nulls as nulls', async () => {
      const awkward = ['NULL', '', 'a"b\\c', '{x,y}', "it's, (quoted)", 'ünïcødé 🚀', ' padded ', 'line\nbreak'];
      const stored = awkward.map((endUser, i) => usage(`req_text_${i}`, { endUser, region: endUser || 'r' }));
      stored.push(usage('req_text_null', { endUser: null, keyId: null, timeToFirstTokenMs: null }));
      expect(await storage.usage.insertBatch(stored)).toBe(stored.length);
      for (const record of stored) expect(await storage.usage.get(record.requestId)).toEqual(record);
    });

    it("keeps a request's attempts: how many, the targets tried and the failed ones' errors; none for a request that tried no target", async () => {
      const failedOver = usage('req_attempts', {
        attempts: 3,
        targetsTried: ['east/gpt-4o', 'west/gpt-4o', 'openai/gpt-4o'],
        attemptErrors: [
          { target: 'east/gpt-4o', cause: 'rate_limited', status: 429 },
          { target: 'west/gpt-4o', cause: 'timeout', status: null },
        ],
      });
      const refused = usage('req_refused', { attempts: 0, targetsTried: [], attemptErrors: [], status: 429, promptTokens: 0, completionTokens: 0, cost: 0 });
      expect(await storage.usage.insertBatch([failedOver, refused])).toBe(2);
      expect(await storage.usage.get('req_attempts')).toEqual(failedOver);
      expect(await storage.usage.get('req_refused')).toEqual(refused);
      // A refusal is an error answer in the sums; the answer after failover is not. The rollups count it too.
      expect((await storage.usage.query({}, [])).map((row) => [row.requests, row.errors])).toEqual([[2, 1]]);
      for (const bucket of ['minute', 'hour', 'day'] as const) {
        expect((await storage.usage.rollups(bucket, {}, [])).map((row) => [row.requests, row.errors])).toEqual([[2, 1]]);
      }
      // A replay counts no error twice.
      expect(await storage.usage.insertBatch([failedOver, refused, usage('req_refused_2', { status: 503, keyId: null })])).toBe(1);
      expect((await storage.usage.rollups('hour', {}, ['key'])).map((row) => [row.key, row.requests, row.errors])).toEqual([
        ['key_1', 2, 1],
        [null, 1, 1],
      ]);
    });

    it('stores fractional measurements as integers, the same on both databases', async () => {
      const measured = usage('req_fraction', { at: T0 + 0.4, latencyMs: 1209.937, timeToFirstTokenMs: 80.5, cost: 12.4 });
      expect(await storage.usage.insertBatch([measured])).toBe(1);
      expect(await storage.usage.get('req_fraction')).toEqual({ ...measured, at: T0, latencyMs: 1210, timeToFirstTokenMs: 81, cost: 12 });
      expect((await rollupSumsOf(storage, 'minute', {}, []))[0].cost).toBe(12);
    });

    it('sums raw records with filters and groups', async () => {
      expect(await sumsOf(storage, {}, [])).toEqual([{ requests: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0, cost: 0 }]);
      expect(await sumsOf(storage, {}, ['project'])).toEqual([]);
      await storage.usage.insertBatch(records);

      expect(await sumsOf(storage, {}, [])).toEqual([total]);
      expect(await sumsOf(storage, {}, ['project'])).toEqual([
        { project: 'proj_a', requests: 3, promptTokens: 31, cachedTokens: 2, completionTokens: 16, cost: 310 },
        { project: 'proj_b', requests: 1, promptTokens: 100, cachedTokens: 0, completionTokens: 50, cost: 1000 },
      ]);
      expect(await sumsOf(storage, {}, ['day'])).toEqual([
        { day: '2024-01-01', requests: 3, promptTokens: 31, cachedTokens: 2, completionTokens: 16, cost: 310 },
        { day: '2024-01-02', requests: 1, promptTokens: 100, cachedTokens: 0, completionTokens: 50, cost: 1000 },
      ]);
      expect(await sumsOf(storage, { projectId: 'proj_a' }, ['key', 'model'])).toEqual([
        { key: 'key_1', model: 'gpt-4o', requests: 2, promptTokens: 30, cachedTokens: 2, completionTokens: 15, cost: 300 },
        { key: null, model: 'gpt-4o-mini', requests: 1, promptTokens: 1, cachedTokens: 0, completionTokens: 1, cost: 10 },
      ]);
      expect(await sumsOf(storage, {}, ['deployment', 'day'])).toEqual([
        { deployment: 'claude', day: '2024-01-02', requests: 1, promptTokens: 100, cachedTokens: 0, completionTokens: 50, cost: 1000 },
        { deployment: 'gpt', day: '2024-01-01', requests: 3, promptTokens: 31, cachedTokens: 2, completionTokens: 16, cost: 310 },
      ]);

      const costOf = async (filter: Parameters<Storage['usage']['query']>[0]) => (await sumsOf(storage, filter, []))[0].cost;
      expect(await costOf({ from: T0 + 30_000 })).toBe(1210);
      expect(await costOf({ to: T0 + 30_000 })).toBe(100);
      expect(await costOf({ from: T0, to: T0 + DAY })).toBe(310);
      expect(await costOf({ organizationId: 'org_2' })).toBe(1000);
      expect(await costOf({ keyId: 'key_1' })).toBe(300);
      expect(await costOf({ deployment: 'claude' })).toBe(1000);
      expect(await costOf({ model: 'gpt-4o-mini' })).toBe(10);
      expect(await costOf({ projectId: 'proj_a', model: 'gpt-4o', from: T0 + 1 })).toBe(200);
    });

    it('sums rollups per bucket with the same filters and groups', async () => {
      await storage.usage.insertBatch(records);
      expect(await rollupSumsOf(storage, 'minute', { from: T0, to: T0 + 60_000 }, ['project'])).toEqual([
        { project: 'proj_a', requests: 2, promptTokens: 30, cachedTokens: 2, completionTokens: 15, cost: 300 },
      ]);
      expect(await rollupSumsOf(storage, 'hour', { from: T0, to: T0 + HOUR }, [])).toEqual([
        { requests: 2, promptTokens: 30, cachedTokens: 2, completionTokens: 15, cost: 300 },
      ]);
      expect(await rollupSumsOf(storage, 'hour', { projectId: 'proj_a' }, ['key'])).toEqual([
        { key: 'key_1', requests: 2, promptTokens: 30, cachedTokens: 2, completionTokens: 15, cost: 300 },
        { key: null, requests: 1, promptTokens: 1, cachedTokens: 0, completionTokens: 1, cost: 10 },
      ]);
      expect(await rollupSumsOf(storage, 'day', {}, ['day', 'project'])).toEqual(await sumsOf(storage, {}, ['day', 'project']));
      expect(await rollupSumsOf(storage, 'day', { organizationId: 'org_1' }, ['deployment', 'model'])).toEqual(
        await sumsOf(storage, { organizationId: 'org_1' }, ['deployment', 'model']),
      );
      expect(await rollupSumsOf(storage, 'minute', { keyId: 'key_2', deployment: 'claude', model: 'claude-sonnet' }, ['key'])).toEqual([
        { key: 'key_2', requests: 1, promptTokens: 100, cachedTokens: 0, completionTokens: 50, cost: 1000 },
      ]);
      // Minute, hour and day rows for the two records in the first minute, one per bucket.
      const rows = await harness.raw(
        `select bucket, requests from usage_rollups where bucket_start = ${T0} and project_id = 'proj_a' and key_id = 'key_1' order by bucket`,
      );
      expect(rows.map((row) => [row.bucket, Number(row.requests)])).toEqual([
        ['hour', 2],
        ['minute', 2],
      ]);
    });

    it('records the API each request came through, and sums, filters and rolls up by it', async () => {
      const apis = [
        usage('req_api_1', { api: 'chat', cost: 1 }),
        usage('req_api_2', { api: 'responses', cost: 10, at: T0 + 1_000 }),
        usage('req_api_3', { api: 'responses', cost: 20, at: T0 + HOUR }),
        usage('req_api_4', { api: 'messages', cost: 100, deployment: 'claude', model: 'claude-sonnet' }),
        usage('req_api_5', { api: 'embeddings', cost: 1_000, completionTokens: 0 }),
      ];
      expect(await storage.usage.insertBatch(apis)).toBe(5);
      for (const record of apis) expect(await storage.usage.get(record.requestId)).toEqual(record);

      const byApi = (await sumsOf(storage, {}, ['api'])).map((row) => [row.api, row.requests, row.cost]);
      expect(byApi).toEqual([
        ['chat', 1, 1],
        ['embeddings', 1, 1_000],
        ['messages', 1, 100],
        ['responses', 2, 30],
      ]);
      expect(await sumsOf(storage, { api: 'responses' }, [])).toEqual([{ requests: 2, promptTokens: 20, cachedTokens: 0, completionTokens: 10, cost: 30 }]);
      expect(await sumsOf(storage, { api: 'images' }, [])).toEqual([{ requests: 0, promptTokens: 0, cachedTokens: 0, completionTokens: 0, cost: 0 }]);
      expect((await sumsOf(storage, {}, ['deployment', 'api'])).map((row) => [row.deployment, row.api, row.requests])).toEqual([
        ['claude', 'messages', 1],
        ['gpt', 'chat', 1],
        ['gpt', 'embeddings', 1],
        ['gpt', 'responses', 2],
      ]);

      // Records that differ only by API land in rollup rows of their own, in every bucket.
      for (const bucket of ['minute', 'hour', 'day'] as const) {
        expect(await rollupSumsOf(storage, bucket, {}, ['api'])).toEqual(await sumsOf(storage, {}, ['api']));
        expect(await rollupSumsOf(storage, bucket, { api: 'responses' }, [])).toEqual(await sumsOf(storage, { api: 'responses' }, []));
      }
      const minuteRows = await harness.raw(
        `select api, requests from usage_rollups where bucket = 'minute' and bucket_start = ${T0} and deployment = 'gpt' order by api`,
      );
      expect(minuteRows.map((row) => [row.api, Number(row.requests)])).toEqual([
        ['chat', 1],
        ['embeddings', 1],
        ['responses', 1],
      ]);
      // A replay changes nothing, per API either.
      expect(await storage.usage.insertBatch(apis)).toBe(0);
      expect((await rollupSumsOf(storage, 'day', {}, ['api'])).map((row) => row.requests)).toEqual([1, 1, 1, 2]);
    });

    it('reports spend of a project or key since a time', async () => {
      await storage.usage.insertBatch(records);
      expect(await storage.usage.spendSince('project', 'proj_a', 0)).toBe(310);
      expect(await storage.usage.spendSince('project', 'proj_a', T0 + 1)).toBe(210);
      expect(await storage.usage.spendSince('key', 'key_2', T0)).toBe(1000);
      expect(await storage.usage.spendSince('key', 'key_2', T0 + DAY + 1)).toBe(0);
      expect(await storage.usage.spendSince('project', 'proj_missing', 0)).toBe(0);
    });

    it('inserts 5,000 records in one batch, and a replay of it changes nothing', async () => {
      const projects = ['proj_a', 'proj_b', 'proj_c'];
      const big = Array.from({ length: 5_000 }, (_, index) =>
        usage(`req_big_${index}`, {
          at: T0 + index * 1_000,
          projectId: projects[index % 3],
          keyId: index % 7 === 0 ? null : `key_${index % 5}`,
          model: index % 2 === 0 ? 'gpt-4o' : 'gpt-4o-mini',
          promptTokens: index % 100,
          completionTokens: index % 50,
          cost: index,
        }),
      );
      const started = performance.now();
      expect(await storage.usage.insertBatch(big)).toBe(5_000);
      const insertMs = performance.now() - started;
      const replayStarted = performance.now();
      expect(await storage.usage.insertBatch(big)).toBe(0);
      const replayMs = performance.now() - replayStarted;
      console.log(`[${dialect}] insertBatch of 5,000 usage records: ${insertMs.toFixed(0)} ms (replay ${replayMs.toFixed(0)} ms)`);

      const expected = {
        requests: 5_000,
        promptTokens: big.reduce((sum, r) => sum + r.promptTokens, 0),
        cachedTokens: 0,
        completionTokens: big.reduce((sum, r) => sum + r.completionTokens, 0),
        cost: (4_999 * 5_000) / 2,
      };
      expect(await sumsOf(storage, {}, [])).toEqual([expected]);
      for (const bucket of ['minute', 'hour', 'day'] as const) {
        expect(await rollupSumsOf(storage, bucket, {}, [])).toEqual([expected]);
        expect(await rollupSumsOf(storage, bucket, {}, ['project', 'key'])).toEqual(await sumsOf(storage, {}, ['project', 'key']));
      }
    });
  });

  describe('audit log', () => {
    async function appendMany(count: number, at = (index: number) => T0 + index): Promise<void> {
      for (let index = 0; index < count; index += 1) {
        await storage.audit.append(auditInput({ at: at(index), action: `action.${index + 1}`, target: `key:key_${index + 1}` }));
      }
    }

    async function forge(seq: number, prevHash: string): Promise<void> {
      const content = { ...auditInput({ action: 'key.forged', after: null, before: null }), seq };
      const hash = auditHash(prevHash, content);
      await harness.raw(
        `insert into audit_log (seq, at, actor, action, target, organization_id, project_id, before, after, source, prev_hash, hash)
         values (${seq}, ${content.at}, '${content.actor}', '${content.action}', '${content.target}', 'org_1', 'proj_a', null, null, 'api', '${prevHash}', '${hash}')`,
      );
    }

    async function hashOf(seq: number): Promise<string> {
      const [row] = await harness.raw(`select hash from audit_log where seq = ${seq}`);
      return String(row.hash);
    }

    it('chains entries by sha256 over canonical JSON, with seq from the database', async () => {
      const first = await storage.audit.append(
        auditInput({ before: null, after: { z: 1, a: [{ y: 2, b: 1 }], skipped: undefined }, organizationId: 'org_1', projectId: null, source: 'cli' }),
      );
      const canonical =
        '{"action":"key.create","actor":"user:user_1","after":{"a":[{"b":1,"y":2}],"z":1},"at":1704103200000,"before":null,' +
        `"organizationId":"org_1","projectId":null,"seq":${first.seq},"source":"cli","target":"key:key_1"}`;
      expect(first.prevHash).toBe(ZERO_HASH);
      expect(first.hash).toBe(createHash('sha256').update(`${ZERO_HASH}\n${canonical}`).digest('hex'));
      expect(first.after).toEqual({ z: 1, a: [{ y: 2, b: 1 }] });

      const second = await storage.audit.append(auditInput({ before: { name: 'ci' }, after: null }));
      expect(second.seq).toBeGreaterThan(first.seq);
      expect(second.prevHash).toBe(first.hash);
      const [stored] = await storage.audit.list({ afterSeq: first.seq });
      expect(stored).toEqual(second);
      expect(await storage.audit.verify()).toEqual({ ok: true, checked: 2, problems: [] });
    });

    it('lists with filters, in seq order, 100 at a time by default', async () => {
      await storage.audit.append(auditInput({ at: T0, actor: 'master', action: 'project.create', organizationId: 'org_1', projectId: 'proj_a' }));
      await storage.audit.append(auditInput({ at: T0 + 1, actor: 'user:user_1', action: 'key.create', organizationId: 'org_1', projectId: 'proj_a' }));
      await storage.audit.append(
        auditInput({ at: T0 + 2, actor: 'user:user_2', action: 'key.revoke', target: 'key:key_9', organizationId: 'org_2', projectId: 'proj_b' }),
      );
      await storage.audit.append(auditInput({ at: T0 + 3, actor: 'system', action: 'audit.prune', organizationId: null, projectId: null }));
      const actions = async (filter: Parameters<Storage['audit']['list']>[0]) => (await storage.audit.list(filter)).map((e) => e.action);

      expect(await actions({})).toEqual(['project.create', 'key.create', 'key.revoke', 'audit.prune']);
      expect(await actions({ organizationId: 'org_1' })).toEqual(['project.create', 'key.create']);
      expect(await actions({ projectId: 'proj_b' })).toEqual(['key.revoke']);
      expect(await actions({ actor: 'master' })).toEqual(['project.create']);
      expect(await actions({ action: 'key.create' })).toEqual(['key.create']);
      expect(await actions({ target: 'key:key_9' })).toEqual(['key.revoke']);
      expect(await actions({ from: T0 + 1, to: T0 + 3 })).toEqual(['key.create', 'key.revoke']);
      expect(await actions({ limit: 2 })).toEqual(['project.create', 'key.create']);
      const [, second] = await storage.audit.list({});
      expect(await actions({ afterSeq: second.seq, limit: 1 })).toEqual(['key.revoke']);

      await appendMany(120);
      expect(await storage.audit.list({})).toHaveLength(100);
    });

    it('detects an entry edited with raw SQL', async () => {
      await appendMany(4);
      await harness.raw(`update audit_log set action = 'key.nothing-to-see' where seq = 2`);
      const result = await storage.audit.verify();
      expect(result.ok).toBe(false);
      expect(result.checked).toBe(4);
      expect(result.problems).toEqual([{ seq: 2, problem: 'edited', detail: expect.stringContaining('entry 2') }]);
    });

    it('detects deleted entries and names the missing range', async () => {
      await appendMany(6);
      await harness.raw('delete from audit_log where seq = 2');
      await harness.raw('delete from audit_log where seq in (4, 5)');
      const result = await storage.audit.verify();
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual([
        { seq: 3, problem: 'deleted', detail: expect.stringContaining('entry 2 is missing') },
        { seq: 6, problem: 'deleted', detail: expect.stringContaining('entries 4–5 are missing') },
      ]);
    });

    it('detects the first entry deleted', async () => {
      await appendMany(3);
      await harness.raw('delete from audit_log where seq = 1');
      expect((await storage.audit.verify()).problems).toEqual([{ seq: 2, problem: 'deleted', detail: expect.stringContaining('entry 1 is missing') }]);
    });

    it('accepts a seq gap whose link is intact (a rolled-back append)', async () => {
      await appendMany(2);
      await harness.skipAuditSeq(3);
      await appendMany(2);
      const entries = await storage.audit.list({});
      expect(entries.map((e) => e.seq)).toEqual([1, 2, 6, 7]);
      expect(await storage.audit.verify()).toEqual({ ok: true, checked: 4, problems: [] });
    });

    it('detects a forged entry inserted in a seq gap, linked or not', async () => {
      await appendMany(2);
      await harness.skipAuditSeq(3);
      await appendMany(2);
      // Seq 3 claims to follow entry 2, correctly re-hashed: entry 6 still links to 2, over it.
      await forge(3, await hashOf(2));
      // Seq 4 links to nothing in particular.
      await forge(4, 'f'.repeat(64));
      const result = await storage.audit.verify();
      expect(result.ok).toBe(false);
      expect(result.problems).toEqual([
        { seq: 4, problem: 'inserted', detail: expect.any(String) },
        { seq: 3, problem: 'inserted', detail: expect.stringContaining('entry 3 is not part of the chain') },
      ]);
    });

    it('detects a forged entry appended at the end with a wrong prevHash', async () => {
      await appendMany(3);
      await forge(4, 'e'.repeat(64));
      expect((await storage.audit.verify()).problems).toEqual([{ seq: 4, problem: 'inserted', detail: expect.stringContaining('entry 4') }]);
    });

    it('detects an entry rewritten and re-hashed in the middle as a broken link', async () => {
      await appendMany(4);
      const [original] = await harness.raw('select * from audit_log where seq = 2');
      const content = { ...auditInput({ at: Number(original.at), action: 'key.rewritten', before: null, after: null }), seq: 2 };
      const hash = auditHash(String(original.prev_hash), content);
      await harness.raw(
        `update audit_log set action = 'key.rewritten', target = '${content.target}', before = null, after = null, hash = '${hash}' where seq = 2`,
      );
      expect((await storage.audit.verify()).problems).toEqual([{ seq: 3, problem: 'broken-link', detail: expect.stringContaining('entry 3') }]);
    });

    /** Rewrites entry `from` (its action) and re-hashes it and every later entry, as someone with database access could. */
    async function rehashFrom(from: number): Promise<void> {
      const rows = await harness.raw(`select * from audit_log where seq >= ${from} order by seq`);
      const [previous] = await harness.raw(`select hash from audit_log where seq < ${from} order by seq desc limit 1`);
      let prevHash = previous === undefined ? ZERO_HASH : String(previous.hash);
      for (const row of rows) {
        const seq = Number(row.seq);
        const action = seq === from ? 'key.rewritten' : String(row.action);
        const content = {
          seq,
          at: Number(row.at),
          actor: String(row.actor),
          action,
          target: String(row.target),
          organizationId: row.organization_id as string | null,
          projectId: row.project_id as string | null,
          before: row.before === null ? null : JSON.parse(String(row.before)),
          after: row.after === null ? null : JSON.parse(String(row.after)),
          source: row.source as string | null,
        };
        const hash = auditHash(prevHash, content);
        await harness.raw(`update audit_log set action = '${action}', prev_hash = '${prevHash}', hash = '${hash}' where seq = ${seq}`);
        prevHash = hash;
      }
    }

    it('exports the head: the newest entry, or the chain start when there is none', async () => {
      expect(await storage.audit.head()).toEqual({ seq: 0, hash: ZERO_HASH, at: null });
      await appendMany(3);
      expect(await storage.audit.head()).toEqual({ seq: 3, hash: await hashOf(3), at: T0 + 2 });
      const head = await storage.audit.head();
      await appendMany(2);
      // Later entries do not matter: the chain still reaches the exported head.
      expect(await storage.audit.verify({ head })).toEqual({ ok: true, checked: 5, problems: [] });
      expect(await storage.audit.verify({ head: { hash: head.hash } })).toEqual({ ok: true, checked: 5, problems: [] });
      expect((await storage.audit.verify({ head: { seq: 0, hash: ZERO_HASH } })).ok).toBe(true);
    });

    it('detects the newest entries cut off, against an exported head only', async () => {
      await appendMany(5);
      const head = await storage.audit.head();
      await harness.raw('delete from audit_log where seq in (4, 5)');
      // Without a head kept elsewhere the shorter chain is consistent: this is what the head is for.
      expect((await storage.audit.verify()).ok).toBe(true);
      expect(await storage.audit.verify({ head })).toEqual({
        ok: false,
        checked: 3,
        problems: [{ seq: 5, problem: 'head-mismatch', detail: expect.stringContaining('the log ends at entry 3, so the newest entries were cut off') }],
      });
      expect((await storage.audit.verify({ head: { hash: head.hash } })).problems).toEqual([
        { seq: 3, problem: 'head-mismatch', detail: expect.stringContaining('no entry of the chain has the exported head') },
      ]);
    });

    it('detects a chain rewritten and re-hashed from some entry on, against an exported head only', async () => {
      await appendMany(5);
      const head = await storage.audit.head();
      await rehashFrom(2);
      expect((await storage.audit.list({})).map((entry) => entry.action)).toContain('key.rewritten');
      expect((await storage.audit.verify()).ok).toBe(true);
      expect((await storage.audit.verify({ head })).problems).toEqual([
        { seq: 5, problem: 'head-mismatch', detail: expect.stringContaining('so the chain was rewritten up to it and re-hashed') },
      ]);
    });

    it('prunes old entries, anchors the chain, and keeps verifying', async () => {
      await appendMany(5, (index) => T0 + index * 1_000);
      expect(await storage.audit.prune(T0 + 2_000)).toBe(2);
      expect(await storage.audit.prune(T0 + 2_000)).toBe(0);
      expect((await storage.audit.list({})).map((e) => e.seq)).toEqual([3, 4, 5]);
      const [anchor] = await harness.raw('select seq, hash from audit_anchor');
      expect(Number(anchor.seq)).toBe(2);
      expect(await storage.audit.verify()).toEqual({ ok: true, checked: 3, problems: [] });

      const next = await storage.audit.append(auditInput({ at: T0 + 10_000 }));
      expect(next.prevHash).toBe(await hashOf(5));
      expect((await storage.audit.verify()).ok).toBe(true);

      // Everything pruned: the next entry links to the anchor.
      expect(await storage.audit.prune(T0 + 20_000)).toBe(4);
      const after = await storage.audit.append(auditInput({ at: T0 + 30_000 }));
      expect(after.seq).toBe(7);
      expect(after.prevHash).toBe(next.hash);
      expect(await storage.audit.verify()).toEqual({ ok: true, checked: 1, problems: [] });
      // A head exported before the prune can no longer be checked: that is said, not passed.
      expect((await storage.audit.verify({ head: { seq: 3, hash: 'a'.repeat(64) } })).problems).toEqual([
        { seq: 3, problem: 'head-mismatch', detail: expect.stringContaining('was pruned') },
      ]);
      expect(await storage.audit.verify({ head: { seq: 6, hash: next.hash } })).toMatchObject({ ok: true });

      // Tampering after a prune is still caught: a row forged below the anchor, the first entry deleted.
      await forge(1, ZERO_HASH);
      expect((await storage.audit.verify()).problems).toEqual([{ seq: 1, problem: 'inserted', detail: expect.stringContaining('before the chain start') }]);
      await harness.raw('delete from audit_log where seq = 1');
      await appendMany(1);
      await harness.raw('delete from audit_log where seq = 7');
      expect((await storage.audit.verify()).problems).toEqual([{ seq: 8, problem: 'deleted', detail: expect.stringContaining('entry 7 is missing') }]);
    });

    it('prunes only a prefix of the chain when times are out of order', async () => {
      await appendMany(4, (index) => [T0, T0 + 5_000, T0 + 1_000, T0 + 6_000][index]);
      expect(await storage.audit.prune(T0 + 2_000)).toBe(1);
      expect((await storage.audit.list({})).map((e) => e.seq)).toEqual([2, 3, 4]);
      expect((await storage.audit.verify()).ok).toBe(true);
    });

    it('serialises appends behind another connection holding the audit lock', async () => {
      await appendMany(1);
      // PostgreSQL: two pools appending at once. SQLite: one Storage per file and process (see
      // sqlite-storage.ts); the other process is played by a worker thread holding the write lock.
      const writers = dialect === 'postgres' ? [storage, await openAnother()] : [storage];
      const lock = await harness.holdAuditLock(300);
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 40 }, (_, index) => writers[index % writers.length].audit.append(auditInput({ at: T0 + index, action: `concurrent.${index}` }))),
      );
      expect(performance.now() - started).toBeGreaterThanOrEqual(200);
      await lock.released;

      const entries = await storage.audit.list({ limit: 1000 });
      expect(entries).toHaveLength(41);
      for (let index = 1; index < entries.length; index += 1) {
        expect(entries[index].seq).toBeGreaterThan(entries[index - 1].seq);
        expect(entries[index].prevHash).toBe(entries[index - 1].hash);
      }
      expect(await storage.audit.verify()).toEqual({ ok: true, checked: 41, problems: [] });
    });
  });

  describe('change feed', () => {
    /** Subscribes, then waits (up to a second) for the first change whose id is `id`. */
    async function expectChange(feed: Storage['changes'], id: string): Promise<{ received: Promise<[string, string]> }> {
      let resolve!: (change: [string, string]) => void;
      const received = new Promise<[string, string]>((done) => (resolve = done));
      await feed.subscribe((topic, got) => got === id && resolve([topic, got]));
      // Wrapped in an object: an async function returning a promise would wait for it.
      return { received: within(received, 1_000) };
    }

    it('delivers published changes to subscribers until they unsubscribe', async () => {
      const received: string[] = [];
      const unsubscribe = await storage.changes.subscribe((topic, id) => received.push(`${topic}:${id}`));
      const id = uniqueId('key');
      const { received: delivered } = await expectChange(storage.changes, id);
      await storage.changes.publish('key.revoked', id);
      expect(await delivered).toEqual(['key.revoked', id]);
      expect(received).toContain(`key.revoked:${id}`);

      await unsubscribe();
      const after = uniqueId('key');
      const { received: second } = await expectChange(storage.changes, after);
      await storage.changes.publish('key.revoked', after);
      await second;
      expect(received).not.toContain(`key.revoked:${after}`);
    });

    it('keeps delivering when one subscriber throws', async () => {
      await storage.changes.subscribe(() => {
        throw new Error('subscriber bug');
      });
      const id = uniqueId('user');
      const { received: delivered } = await expectChange(storage.changes, id);
      await storage.changes.publish('role.changed', id);
      expect(await delivered).toEqual(['role.changed', id]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(notices.some((notice) => notice.level === 'error' && notice.message.includes(id))).toBe(true);
    });

    if (dialect === 'postgres') {
      it('delivers to a subscriber on another Storage instance within one second', async () => {
        const replica = await openAnother();
        const id = uniqueId('policy');
        const { received: delivered } = await expectChange(replica.changes, id);
        const started = performance.now();
        await storage.changes.publish('policy.changed', id);
        expect(await delivered).toEqual(['policy.changed', id]);
        expect(performance.now() - started).toBeLessThan(1_000);
      });

      it('reconnects the listening connection after it is killed, and tells subscribers to resync', async () => {
        const received: Array<[string, string]> = [];
        await storage.changes.subscribe((topic, id) => received.push([topic, id]));
        // The harness tags this test's connections with application_name = its schema.
        const [{ killed }] = await harness.raw(
          `select count(pg_terminate_backend(pid)) as killed from pg_stat_activity
           where application_name = '${harness.tag}' and query ilike 'listen%'`,
        );
        expect(Number(killed)).toBe(1);
        await within(
          (async () => {
            while (!notices.some((notice) => notice.message === 'Change feed reconnected')) await new Promise((resolve) => setTimeout(resolve, 20));
          })(),
          5_000,
        );
        expect(notices.some((notice) => notice.level === 'warn' && notice.message.startsWith('Change feed connection lost'))).toBe(true);
        // What was published while the connection was down is gone: subscribers hear that once.
        expect(received).toEqual([[RESYNC_TOPIC, '']]);
        const id = uniqueId('key');
        const { received: delivered } = await expectChange(storage.changes, id);
        await storage.changes.publish('key.revoked', id);
        expect(await delivered).toEqual(['key.revoked', id]);
      });
    }
  });

  describe('openStorage', () => {
    it('rejects unsupported URLs', async () => {
      await expect(openStorage('mysql://localhost/db')).rejects.toThrow(/Unsupported storage URL/);
      await expect(openStorage('postgres://user:secret@localhost/db?schema=Bad-Name')).rejects.toThrow(/Invalid PostgreSQL schema/);
      await expect(openStorage('mysql://user:secret@localhost/db')).rejects.not.toThrow(/secret/);
    });

    if (dialect === 'sqlite') {
      it('opens an in-memory database and a file under new directories', async () => {
        const memory = await openStorage('sqlite::memory:');
        try {
          expect(await memory.migrate()).toEqual({
            applied: [
              '0001_initial',
              '0002_content_safety',
              '0003_usage_api_and_responses',
              '0004_cache_write_price',
              '0005_usage_estimated',
              '0006_project_data_zone',
              '0007_usage_attempts',
              '0008_residency_pins',
              '0009_rollup_errors',
            ],
            current: '0009_rollup_errors',
          });
          await memory.organizations.create({ id: 'org_m', name: 'Memory', createdAt: T0 });
          expect(await memory.organizations.list()).toHaveLength(1);
        } finally {
          await memory.close();
        }
        expect(existsSync(harness.url.slice('sqlite:'.length))).toBe(true);
        const [mode] = await harness.raw('pragma journal_mode');
        expect(mode.journal_mode).toBe('wal');
      });
    }
  });
});
