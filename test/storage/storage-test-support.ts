import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
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
    ...overrides,
  };
}
