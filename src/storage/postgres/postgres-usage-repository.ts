import { sql, type Insertable, type Transaction } from 'kysely';
import type { Database, UsageRecordsTable } from '../kysely/database.js';
import { KyselyUsageRepository } from '../kysely/usage-repository.js';

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
] as const satisfies ReadonlyArray<readonly [keyof UsageRecordsTable, string]>;

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
 * Usage on PostgreSQL: a batch of records goes in as one statement with one array parameter per
 * column (`INSERT ... SELECT * FROM unnest($1::text[], ...)`), whatever its size: 20 parameters
 * instead of 20 per record, so neither the query builder nor the server handles thousands of
 * placeholders. Queries and rollups are the shared Kysely ones.
 */
export class PostgresUsageRepository extends KyselyUsageRepository {
  protected override async insertRecords(trx: Transaction<Database>, rows: readonly Insertable<UsageRecordsTable>[]): Promise<Set<string>> {
    const arrays = COLUMNS.map(([name, type]) => sql`${arrayLiteral(rows, name, type === 'text')}::${sql.raw(type)}[]`);
    const { rows: returned } = await sql<{ request_id: string }>`
      insert into usage_records (${INSERT_COLUMNS})
      select * from unnest(${sql.join(arrays)})
      on conflict (request_id) do nothing
      returning request_id`.execute(trx);
    return new Set(returned.map((row) => row.request_id));
  }
}
