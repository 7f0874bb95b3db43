import { sql, type Insertable, type Transaction } from 'kysely';
import type { UsageRecord } from '../storage.js';
import type { Database, UsageRecordsTable } from '../kysely/database.js';
import { chunksForStatement } from '../kysely/dialect-traits.js';
import { compare, KyselyUsageRepository, roundUsage, sumIntoRollups, toUsageRow } from '../kysely/usage-repository.js';

/** usage_records' columns with their PostgreSQL types, in the order of the unnest below. */
const COLUMNS = [
  ['request_id', 'text'],
  ['at', 'bigint'],
  ['organization_id', 'text'],
  ['project_id', 'text'],
  ['key_id', 'text'],
  ['end_user', 'text'],
  ['deployment', 'text'],
  ['provider', 'text'],
  ['model', 'text'],
  ['region', 'text'],
  ['prompt_tokens', 'integer'],
  ['cached_tokens', 'integer'],
  ['completion_tokens', 'integer'],
  ['images', 'integer'],
  ['cost', 'bigint'],
  ['status', 'integer'],
  ['latency_ms', 'integer'],
  ['time_to_first_token_ms', 'integer'],
  ['streamed', 'integer'],
  ['filtered', 'integer'],
  ['estimated', 'integer'],
  ['api', 'text'],
  ['attempts', 'integer'],
  ['targets_tried', 'text'],
  ['attempt_errors', 'text'],
] as const satisfies ReadonlyArray<readonly [keyof UsageRecordsTable, string]>;

// Every column of usage_records must be listed above: a column added to the table and not here
// would silently be left out of every insert. This fails to compile, naming the missing column.
type UnlistedColumn = Exclude<keyof UsageRecordsTable, (typeof COLUMNS)[number][0]>;
const allColumnsListed: [UnlistedColumn] extends [never] ? true : UnlistedColumn = true;
void allColumnsListed;

const INSERT_COLUMNS = sql.join(COLUMNS.map(([name]) => sql.ref(name)));

const NEEDS_ESCAPE = /["\\]/;

/**
 * One column of `rows` as a PostgreSQL array literal (`{"a","b",NULL}` / `{1,2,NULL}`), built here
 * rather than by pg's generic array serialiser, which escapes every element with two regular
 * expressions: text is quoted, with `"` and `\` escaped only where present; numbers need no quoting.
 */
function arrayLiteral(rows: readonly Insertable<UsageRecordsTable>[], column: keyof UsageRecordsTable, text: boolean): string {
  let literal = '{';
  for (let i = 0; i < rows.length; i++) {
    if (i > 0) literal += ',';
    const value = rows[i][column];
    if (value === null || value === undefined) literal += 'NULL';
    else if (!text) literal += String(value);
    else {
      const string = String(value);
      literal += NEEDS_ESCAPE.test(string) ? `"${string.replace(/["\\]/g, '\\$&')}"` : `"${string}"`;
    }
  }
  return `${literal}}`;
}

/**
 * Usage on PostgreSQL. In one transaction: insert the records with ON CONFLICT (request_id) DO
 * NOTHING RETURNING request_id, which names exactly the new ones, then add only those to the
 * minute, hour and day rollups with additive upserts. A replayed batch (a retry after a crash, a
 * second replica flushing the same queue) therefore changes nothing.
 *
 * - The records go in as one statement with one array parameter per column
 *   (`INSERT ... SELECT * FROM unnest($1::text[], ...)`), whatever the batch size: 21 parameters
 *   instead of 21 per record, so neither the query builder nor the server handles thousands of
 *   placeholders.
 * - Rollup rows are summed in memory first, because one upsert statement may not touch the same
 *   row twice (PostgreSQL refuses it), and chunked under the parameter limit.
 * - Records and rollup rows are written in a fixed (sorted) order, so that replicas flushing
 *   overlapping batches at once lock rows in the same order and wait for each other instead of
 *   deadlocking.
 */
export class PostgresUsageRepository extends KyselyUsageRepository {
  override async insertBatch(records: readonly UsageRecord[]): Promise<number> {
    const byId = new Map<string, UsageRecord>();
    for (const record of records) if (!byId.has(record.requestId)) byId.set(record.requestId, roundUsage(record));
    if (byId.size === 0) return 0;
    const rows = [...byId.values()].sort((a, b) => compare(a.requestId, b.requestId)).map(toUsageRow);

    return this.db.transaction().execute(async (trx) => {
      const inserted = await insertRecords(trx, rows);
      if (inserted.size === 0) return 0;

      const rollups = sumIntoRollups([...byId.values()].filter((record) => inserted.has(record.requestId)));
      for (const chunk of chunksForStatement(this.traits, rollups, Object.keys(rollups[0]).length)) {
        await trx
          .insertInto('usage_rollups')
          .values(chunk)
          .onConflict((oc) =>
            oc.columns(['bucket', 'bucket_start', 'project_id', 'key_id', 'deployment', 'model', 'api']).doUpdateSet((eb) => ({
              requests: eb('usage_rollups.requests', '+', eb.ref('excluded.requests')),
              prompt_tokens: eb('usage_rollups.prompt_tokens', '+', eb.ref('excluded.prompt_tokens')),
              cached_tokens: eb('usage_rollups.cached_tokens', '+', eb.ref('excluded.cached_tokens')),
              completion_tokens: eb('usage_rollups.completion_tokens', '+', eb.ref('excluded.completion_tokens')),
              cost: eb('usage_rollups.cost', '+', eb.ref('excluded.cost')),
              errors: eb('usage_rollups.errors', '+', eb.ref('excluded.errors')),
            })),
          )
          .execute();
      }
      return inserted.size;
    });
  }
}

/** Inserts the rows not there yet and names the ones it inserted. */
async function insertRecords(trx: Transaction<Database>, rows: readonly Insertable<UsageRecordsTable>[]): Promise<Set<string>> {
  const arrays = COLUMNS.map(([name, type]) => sql`${arrayLiteral(rows, name, type === 'text')}::${sql.raw(type)}[]`);
  const { rows: returned } = await sql<{ request_id: string }>`
    insert into usage_records (${INSERT_COLUMNS})
    select * from unnest(${sql.join(arrays)})
    on conflict (request_id) do nothing
    returning request_id`.execute(trx);
  return new Set(returned.map((row) => row.request_id));
}
