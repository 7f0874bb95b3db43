import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../../src/storage/kysely/database.js';
import type { ApiKey } from '../../src/storage/storage.js';
import { POSTGRES_URL } from '../helpers/service-urls.js';

export { POSTGRES_URL };

/**
 * What the storage suites share: the PostgreSQL they run against (skipped when it does not answer:
 * test/helpers/services.ts), a fresh schema per test and its removal, and the key rows they seed.
 */
export const T0 = Date.UTC(2024, 0, 1, 10, 0, 0);

/** A schema name no other test uses. */
export function uniqueSchema(): string {
  return `cerulean_test_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await admin.end();
  }
}

/** An API key row whose hash is the SHA-256 of its id. */
export function keyRecord(id: string, projectId = 'proj_a', overrides: Partial<ApiKey> = {}): ApiKey {
  return {
    id,
    projectId,
    name: `key ${id}`,
    prefix: `cer-${id}`,
    hash: createHash('sha256').update(id).digest('hex'),
    deployments: null,
    expiresAt: null,
    revokedAt: null,
    createdAt: T0,
    lastUsedAt: null,
    createdBy: 'user_1',
    dataZone: null,
    regions: null,
    ...overrides,
  };
}

/** A database for one test: its storage URL, a Kysely on it (for migrating part of the way), and how to remove it. */
export interface Place {
  url: string;
  kysely(): Kysely<Database>;
  dispose(): Promise<void>;
}

/** A fresh SQLite file (in a new temporary directory named after `prefix`) or PostgreSQL schema per call. */
export function placesFor(prefix: string): Record<'sqlite' | 'postgres', () => Promise<Place>> {
  return {
    async sqlite() {
      const directory = await mkdtemp(join(tmpdir(), `cerulean-${prefix}-`));
      const file = join(directory, 'cerulean.db');
      return {
        url: `sqlite:${file}`,
        kysely: () => new Kysely<Database>({ dialect: new SqliteDialect({ database: new SqliteDatabase(file) }) }),
        dispose: () => rm(directory, { recursive: true, force: true }),
      };
    },
    async postgres() {
      const schema = uniqueSchema();
      const url = new URL(POSTGRES_URL);
      url.searchParams.set('schema', schema);
      return {
        url: url.toString(),
        kysely: () => {
          const pool = new pg.Pool({ connectionString: POSTGRES_URL, options: `-c search_path=${schema}`, max: 2 });
          return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
        },
        dispose: () => dropSchema(schema),
      };
    },
  };
}
