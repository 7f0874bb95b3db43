import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type { UsageRecord } from '../storage.js';
import type { Database } from '../kysely/database.js';
import type { DialectTraits } from '../kysely/dialect-traits.js';
import { compare, KyselyUsageRepository, roundUsage, sumIntoRollups, toUsageRow, type RollupRow } from '../kysely/usage-repository.js';

const RECORD_COLUMNS = Object.keys(toUsageRow(roundUsage({
  requestId: '', at: 0, organizationId: '', projectId: '', keyId: null, endUser: null, deployment: '', provider: '', model: '', region: '',
  promptTokens: 0, cachedTokens: 0, completionTokens: 0, images: 0, cost: 0, status: 0, latencyMs: 0, timeToFirstTokenMs: null, streamed: false, filtered: false,
})));
const ROLLUP_KEY = ['bucket', 'bucket_start', 'project_id', 'key_id', 'deployment', 'model'];
const ROLLUP_SUMS = ['requests', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'cost'];

/**
 * Usage inserts on SQLite through two prepared statements kept for the life of the connection,
 * run row by row inside one transaction. The shared Kysely implementation builds one multi-row
 * statement per batch, which SQLite must compile anew each time (the text changes with the row
 * count): on a synchronous driver that compile time is spent on the event loop. Same semantics:
 * a row whose request id exists is skipped, and only new rows are added to the rollups.
 */
export class SqliteUsageRepository extends KyselyUsageRepository {
  private readonly database: SqliteDatabase.Database;
  private insertAll: ((rows: ReadonlyArray<{ record: UsageRecord; row: Record<string, unknown> }>) => number) | undefined;

  constructor(db: Kysely<Database>, traits: DialectTraits, database: SqliteDatabase.Database) {
    super(db, traits);
    this.database = database;
  }

  /** Prepared on first use: the tables exist only once migrations ran. */
  private prepare(): NonNullable<SqliteUsageRepository['insertAll']> {
    const database = this.database;
    const insertRecord = database.prepare(
      `insert into usage_records (${RECORD_COLUMNS.join(', ')}) values (${RECORD_COLUMNS.map((c) => `@${c}`).join(', ')}) on conflict (request_id) do nothing`,
    );
    const rollupColumns = [...ROLLUP_KEY, 'organization_id', ...ROLLUP_SUMS];
    const upsertRollup = database.prepare(
      `insert into usage_rollups (${rollupColumns.join(', ')}) values (${rollupColumns.map((c) => `@${c}`).join(', ')}) ` +
        `on conflict (${ROLLUP_KEY.join(', ')}) do update set ${ROLLUP_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
    );
    return database.transaction((rows: ReadonlyArray<{ record: UsageRecord; row: Record<string, unknown> }>) => {
      const inserted: UsageRecord[] = [];
      for (const { record, row } of rows) if (insertRecord.run(row).changes === 1) inserted.push(record);
      for (const rollup of sumIntoRollups(inserted) as RollupRow[]) upsertRollup.run(rollup);
      return inserted.length;
    });
  }

  override async insertBatch(records: readonly UsageRecord[]): Promise<number> {
    const byId = new Map<string, UsageRecord>();
    for (const record of records) if (!byId.has(record.requestId)) byId.set(record.requestId, roundUsage(record));
    if (byId.size === 0) return 0;
    const rows = [...byId.values()].sort((a, b) => compare(a.requestId, b.requestId)).map((record) => ({ record, row: toUsageRow(record) as Record<string, unknown> }));
    // Taken through Kysely so no Kysely transaction on the same connection is open meanwhile.
    return this.db.connection().execute(async () => (this.insertAll ??= this.prepare())(rows));
  }
}
