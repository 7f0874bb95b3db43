import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { UsageRecord } from '../storage.js';
import type { Database } from '../kysely/database.js';
import type { DialectTraits } from '../kysely/dialect-traits.js';
import { KyselyUsageRepository } from '../kysely/usage-repository.js';
import { prepareUsageInsert, type UsageInsert } from './usage-insert.js';
import type { ThreadedUsageWriter } from './usage-writer.js';

/**
 * Usage on SQLite: inserts through prepared statements (usage-insert.ts), committed by a writer
 * thread when one is given (a database file), else on this connection. Queries are the shared
 * Kysely ones.
 */
export class SqliteUsageRepository extends KyselyUsageRepository {
  private readonly database: SqliteDatabase.Database;
  private readonly writer: ThreadedUsageWriter | undefined;
  private insert: UsageInsert | undefined;

  constructor(db: Kysely<Database>, traits: DialectTraits, database: SqliteDatabase.Database, writer?: ThreadedUsageWriter) {
    super(db, traits);
    this.database = database;
    this.writer = writer;
  }

  override async insertBatch(records: readonly UsageRecord[]): Promise<number> {
    if (records.length === 0) return 0;
    if (this.writer) return this.writer.insert(records);
    // Prepared on first use (the tables exist only once migrations ran), and taken through Kysely
    // so that no Kysely transaction on the same connection is open meanwhile.
    return this.db.connection().execute(async () => (this.insert ??= prepareUsageInsert(this.database))(records));
  }

  override async close(): Promise<void> {
    await this.writer?.close();
  }
}
