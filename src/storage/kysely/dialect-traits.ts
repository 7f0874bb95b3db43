import type { Kysely, Transaction } from 'kysely';
import type { Database } from './database.js';

/**
 * What the shared Kysely repositories need to know about the database underneath. Each dialect
 * folder supplies one of these; the shared code reads the flags and never branches on a dialect
 * name (the Kysely `supportsReturning` pattern).
 */
export interface DialectTraits {
  readonly name: 'sqlite' | 'postgres';
  /**
   * Most bound parameters one statement may carry (SQLite's SQLITE_MAX_VARIABLE_NUMBER is 32766
   * since 3.32, the PostgreSQL protocol allows 65535). Bulk writes are chunked to stay under it.
   */
  readonly maxParameters: number;
  /**
   * Column type of `audit_log.seq`: the database assigns it and never reuses a value.
   * SQLite needs `integer primary key autoincrement` (plain rowids may be reused after deleting the
   * last row); PostgreSQL uses `bigserial`.
   */
  readonly auditSequence: 'integer-autoincrement' | 'bigserial';
  /**
   * The schema Kysely's migration bookkeeping tables belong in, or undefined where schemas do not
   * apply. It must be explicit on PostgreSQL: the Migrator looks for its tables across every schema
   * of the database, so a `kysely_migration` table in another schema would make it skip creating one.
   */
  migrationSchema(db: Kysely<Database>): Promise<string | undefined>;
  /**
   * Serialises writers of the audit chain, across processes, until `trx` ends. Called first thing
   * in the transaction, before the chain head is read.
   */
  lockAuditChain(trx: Transaction<Database>): Promise<void>;
}

/**
 * Splits `items` into runs that fit one statement when each item binds `parametersPerItem`
 * parameters (plus `fixedParameters` bound once per statement).
 */
export function chunksForStatement<T>(traits: DialectTraits, items: readonly T[], parametersPerItem: number, fixedParameters = 0): T[][] {
  const size = Math.max(1, Math.floor((traits.maxParameters - fixedParameters) / parametersPerItem));
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  return chunks;
}
