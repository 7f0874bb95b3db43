import type SqliteDatabase from 'better-sqlite3';
import type { UsageRecord } from '../storage.js';
import { compare, roundUsage, sumIntoRollups, toUsageRow, type RollupRow } from '../kysely/usage-repository.js';

const RECORD_COLUMNS = Object.keys(
  toUsageRow(
    roundUsage({
      requestId: '',
      at: 0,
      api: '',
      organizationId: '',
      projectId: '',
      keyId: null,
      endUser: null,
      deployment: '',
      provider: '',
      model: '',
      region: '',
      promptTokens: 0,
      cachedTokens: 0,
      completionTokens: 0,
      images: 0,
      cost: 0,
      status: 0,
      latencyMs: 0,
      timeToFirstTokenMs: null,
      streamed: false,
      filtered: false,
      estimated: false,
      attempts: 0,
      targetsTried: [],
      attemptErrors: [],
    }),
  ),
);
const ROLLUP_KEY = ['bucket', 'bucket_start', 'project_id', 'key_id', 'deployment', 'model', 'api'];
const ROLLUP_SUMS = ['requests', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'cost', 'errors'];

/** Inserts a batch of usage records in one transaction; returns how many were new. */
export type UsageInsert = (records: readonly UsageRecord[]) => number;

/**
 * Usage inserts on SQLite through two prepared statements kept for the life of the connection,
 * run row by row inside one immediate transaction. (A multi-row statement would change its text
 * with the row count, and SQLite would compile it anew for every batch.) A row whose request id
 * exists is skipped, and only new rows are added to the minute, hour and day rollups, so a batch
 * replayed after a crash changes nothing. Prepare only once the tables exist (after migrations).
 */
export function prepareUsageInsert(database: SqliteDatabase.Database): UsageInsert {
  const insertRecord = database.prepare(
    `insert into usage_records (${RECORD_COLUMNS.join(', ')}) values (${RECORD_COLUMNS.map((c) => `@${c}`).join(', ')}) on conflict (request_id) do nothing`,
  );
  const rollupColumns = [...ROLLUP_KEY, 'organization_id', ...ROLLUP_SUMS];
  const upsertRollup = database.prepare(
    `insert into usage_rollups (${rollupColumns.join(', ')}) values (${rollupColumns.map((c) => `@${c}`).join(', ')}) ` +
      `on conflict (${ROLLUP_KEY.join(', ')}) do update set ${ROLLUP_SUMS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')}`,
  );
  const insertAll = database.transaction((records: readonly UsageRecord[]) => {
    const inserted: UsageRecord[] = [];
    for (const record of records) if (insertRecord.run(toUsageRow(record)).changes === 1) inserted.push(record);
    for (const rollup of sumIntoRollups(inserted) as RollupRow[]) upsertRollup.run(rollup);
    return inserted.length;
  });
  return (records) => {
    const byId = new Map<string, UsageRecord>();
    for (const record of records) if (!byId.has(record.requestId)) byId.set(record.requestId, roundUsage(record));
    if (byId.size === 0) return 0;
    // Rows in request id order, so concurrent writers (other processes) take index pages in one order.
    return insertAll.immediate([...byId.values()].sort((a, b) => compare(a.requestId, b.requestId)));
  };
}
