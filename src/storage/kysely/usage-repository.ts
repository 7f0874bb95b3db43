import { sql, type Insertable, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { BudgetScope, RollupBucket, UsageAttemptError, UsageFilter, UsageGroup, UsageRecord, UsageRepository, UsageRow } from '../storage.js';
import { toBoolean, toFlag, toNumber, type Database, type UsageRecordsTable, type UsageRollupsTable } from './database.js';
import type { DialectTraits } from './dialect-traits.js';

const DAY_MS = 86_400_000;
const BUCKET_MS: Readonly<Record<RollupBucket, number>> = { minute: 60_000, hour: 3_600_000, day: DAY_MS };
const BUCKETS = Object.keys(BUCKET_MS) as RollupBucket[];

/** Where a usage query reads from: raw records, or one bucket of the rollups. */
interface UsageSource {
  readonly table: 'usage_records' | 'usage_rollups';
  readonly time: 'at' | 'bucket_start';
  readonly groups: Readonly<Record<UsageGroup, RawBuilder<unknown>>>;
  /** Sums, by their column alias. */
  readonly sums: Readonly<Record<string, RawBuilder<unknown>>>;
  /** Conditions every query on this source carries (the bucket, for rollups). */
  readonly scope: readonly RawBuilder<unknown>[];
}

const RECORDS_SOURCE: UsageSource = {
  table: 'usage_records',
  time: 'at',
  groups: {
    project: sql.ref('project_id'),
    key: sql.ref('key_id'),
    deployment: sql.ref('deployment'),
    model: sql.ref('model'),
    api: sql.ref('api'),
    // Integer division gives the UTC day number on both databases; formatted to YYYY-MM-DD in JS.
    // The divisor is a literal, not a parameter, so SELECT and GROUP BY stay the same expression.
    day: sql`${sql.ref('at')} / ${sql.lit(DAY_MS)}`,
  },
  sums: {
    requests: sql`count(*)`,
    prompt_tokens: sql`coalesce(sum(prompt_tokens), 0)`,
    cached_tokens: sql`coalesce(sum(cached_tokens), 0)`,
    completion_tokens: sql`coalesce(sum(completion_tokens), 0)`,
    cost: sql`coalesce(sum(cost), 0)`,
    // Requests answered with an error status (refusals by Cerulean included).
    errors: sql`coalesce(sum(case when status >= 400 then 1 else 0 end), 0)`,
  },
  scope: [],
};

function rollupSource(bucket: RollupBucket): UsageSource {
  return {
    table: 'usage_rollups',
    time: 'bucket_start',
    groups: {
      project: sql.ref('project_id'),
      key: sql`nullif(key_id, '')`,
      deployment: sql.ref('deployment'),
      model: sql.ref('model'),
      api: sql.ref('api'),
      day: sql`${sql.ref('bucket_start')} / ${sql.lit(DAY_MS)}`,
    },
    sums: {
      requests: sql`coalesce(sum(requests), 0)`,
      prompt_tokens: sql`coalesce(sum(prompt_tokens), 0)`,
      cached_tokens: sql`coalesce(sum(cached_tokens), 0)`,
      completion_tokens: sql`coalesce(sum(completion_tokens), 0)`,
      cost: sql`coalesce(sum(cost), 0)`,
      errors: sql`coalesce(sum(errors), 0)`,
    },
    scope: [sql`bucket = ${bucket}`],
  };
}

/** The usage queries, written once over Kysely; the dialects add how a batch is written. */
export abstract class KyselyUsageRepository implements UsageRepository {
  protected readonly db: Kysely<Database>;
  protected readonly traits: DialectTraits;
  constructor(db: Kysely<Database>, traits: DialectTraits) {
    this.db = db;
    this.traits = traits;
  }

  /** Releases what the repository holds beside the shared connection (a dialect's writer thread). */
  async close(): Promise<void> {}

  /**
   * Stores a batch idempotently (see UsageRepository.insertBatch); each dialect writes it its own
   * way (SQLite: prepared statements on a writer thread; PostgreSQL: one unnest insert).
   */
  abstract insertBatch(records: readonly UsageRecord[]): Promise<number>;

  async get(requestId: string): Promise<UsageRecord | undefined> {
    const row = await this.db.selectFrom('usage_records').selectAll().where('request_id', '=', requestId).executeTakeFirst();
    return row && toUsageRecord(row);
  }

  /** Filters: `from` inclusive, `to` exclusive, on the record time. */
  async query(filter: UsageFilter, groupBy: readonly UsageGroup[]): Promise<UsageRow[]> {
    return this.sum(RECORDS_SOURCE, filter, groupBy);
  }

  /**
   * Same sums from a rollup bucket; `from`/`to` select buckets by their start (inclusive/exclusive),
   * so align them to the bucket size to get whole buckets. Every group works on every bucket, but
   * `day` over minute buckets reads 1,440 times more rows than over day buckets.
   */
  async rollups(bucket: RollupBucket, filter: UsageFilter, groupBy: readonly UsageGroup[]): Promise<UsageRow[]> {
    return this.sum(rollupSource(bucket), filter, groupBy);
  }

  async spendSince(scope: BudgetScope, scopeId: string, since: number): Promise<number> {
    const row = await this.db
      .selectFrom('usage_records')
      .select(sql<number | string>`coalesce(sum(cost), 0)`.as('spent'))
      .where(scope === 'project' ? 'project_id' : 'key_id', '=', scopeId)
      .where('at', '>=', since)
      .executeTakeFirstOrThrow();
    return toNumber(row.spent);
  }

  private async sum(source: UsageSource, filter: UsageFilter, groupBy: readonly UsageGroup[]): Promise<UsageRow[]> {
    const groups = [...new Set(groupBy)];
    const groupExpressions = groups.map((group) => source.groups[group]);
    const conditions = [...source.scope, ...filterConditions(source, filter)];
    const selections = [
      ...groups.map((group) => sql`${source.groups[group]} as ${sql.id(group)}`),
      ...Object.entries(source.sums).map(([alias, expression]) => sql`${expression} as ${sql.id(alias)}`),
    ];
    const where = conditions.length > 0 ? sql`where ${sql.join(conditions, sql` and `)}` : sql``;
    // `x is null` first in each sort key: SQLite sorts nulls first, PostgreSQL last; this puts them last on both.
    const ordering = groupExpressions.map((expression) => sql`${expression} is null, ${expression}`);
    const grouping = groups.length > 0 ? sql`group by ${sql.join(groupExpressions)} order by ${sql.join(ordering)}` : sql``;
    const { rows } = await sql<Record<string, unknown>>`select ${sql.join(selections)} from ${sql.table(source.table)} ${where} ${grouping}`.execute(this.db);
    return rows.map((row) => toUsageSums(row, groups));
  }
}

function filterConditions(source: UsageSource, filter: UsageFilter): RawBuilder<unknown>[] {
  const conditions: RawBuilder<unknown>[] = [];
  const time = sql.ref(source.time);
  if (filter.from !== undefined) conditions.push(sql`${time} >= ${filter.from}`);
  if (filter.to !== undefined) conditions.push(sql`${time} < ${filter.to}`);
  if (filter.organizationId !== undefined) conditions.push(sql`organization_id = ${filter.organizationId}`);
  if (filter.projectId !== undefined) conditions.push(sql`project_id = ${filter.projectId}`);
  if (filter.keyId !== undefined) conditions.push(sql`key_id = ${filter.keyId}`);
  if (filter.deployment !== undefined) conditions.push(sql`deployment = ${filter.deployment}`);
  if (filter.model !== undefined) conditions.push(sql`model = ${filter.model}`);
  if (filter.api !== undefined) conditions.push(sql`api = ${filter.api}`);
  return conditions;
}

function toUsageSums(row: Record<string, unknown>, groups: readonly UsageGroup[]): UsageRow {
  const result: UsageRow = {
    requests: readInteger(row.requests),
    promptTokens: readInteger(row.prompt_tokens),
    cachedTokens: readInteger(row.cached_tokens),
    completionTokens: readInteger(row.completion_tokens),
    cost: readInteger(row.cost),
    ...(row.errors === undefined ? {} : { errors: readInteger(row.errors) }),
  };
  for (const group of groups) {
    const value = row[group];
    if (group === 'day') result.day = new Date(readInteger(value) * DAY_MS).toISOString().slice(0, 10);
    else if (group === 'key') result.key = value === null ? null : String(value);
    else result[group] = String(value);
  }
  return result;
}

function readInteger(value: unknown): number {
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'bigint') return toNumber(value);
  throw new TypeError(`Expected an integer from the database, got ${String(value)}`);
}

/**
 * Rounds the numbers of a record to integers on the way in: latencies measured with
 * `performance.now()` carry fractions, which SQLite would store as REAL (and sum as such) while
 * PostgreSQL refuses them for an integer column, failing the whole batch. Rounding keeps both
 * databases identical; a cost loses at most half a micro-dollar.
 */
export function roundUsage(record: UsageRecord): UsageRecord {
  const round = Math.round;
  return {
    ...record,
    at: round(record.at),
    promptTokens: round(record.promptTokens),
    cachedTokens: round(record.cachedTokens),
    completionTokens: round(record.completionTokens),
    images: round(record.images),
    cost: round(record.cost),
    status: round(record.status),
    latencyMs: round(record.latencyMs),
    timeToFirstTokenMs: record.timeToFirstTokenMs === null ? null : round(record.timeToFirstTokenMs),
  };
}

export function toUsageRow(record: UsageRecord): Insertable<UsageRecordsTable> {
  return {
    request_id: record.requestId,
    at: record.at,
    api: record.api,
    organization_id: record.organizationId,
    project_id: record.projectId,
    key_id: record.keyId,
    end_user: record.endUser,
    deployment: record.deployment,
    provider: record.provider,
    model: record.model,
    region: record.region,
    prompt_tokens: record.promptTokens,
    cached_tokens: record.cachedTokens,
    completion_tokens: record.completionTokens,
    images: record.images,
    cost: record.cost,
    status: record.status,
    latency_ms: record.latencyMs,
    time_to_first_token_ms: record.timeToFirstTokenMs,
    streamed: toFlag(record.streamed),
    filtered: toFlag(record.filtered),
    estimated: toFlag(record.estimated),
    attempts: record.attempts,
    targets_tried: record.targetsTried.length === 0 ? null : JSON.stringify(record.targetsTried),
    attempt_errors: record.attemptErrors.length === 0 ? null : JSON.stringify(record.attemptErrors),
  };
}

function toUsageRecord(row: Selectable<UsageRecordsTable>): UsageRecord {
  return {
    requestId: row.request_id,
    at: toNumber(row.at),
    api: row.api,
    organizationId: row.organization_id,
    projectId: row.project_id,
    keyId: row.key_id,
    endUser: row.end_user,
    deployment: row.deployment,
    provider: row.provider,
    model: row.model,
    region: row.region,
    promptTokens: row.prompt_tokens,
    cachedTokens: row.cached_tokens,
    completionTokens: row.completion_tokens,
    images: row.images,
    cost: toNumber(row.cost),
    status: row.status,
    latencyMs: row.latency_ms,
    timeToFirstTokenMs: row.time_to_first_token_ms,
    streamed: toBoolean(row.streamed),
    filtered: toBoolean(row.filtered),
    estimated: toBoolean(row.estimated),
    attempts: row.attempts,
    targetsTried: row.targets_tried === null ? [] : (JSON.parse(row.targets_tried) as string[]),
    attemptErrors: row.attempt_errors === null ? [] : (JSON.parse(row.attempt_errors) as UsageAttemptError[]),
  };
}

/** A usage_rollups row as written: numbers, not the driver's read types. */
export type RollupRow = {
  [K in keyof UsageRollupsTable]: K extends 'bucket_start' | 'requests' | 'prompt_tokens' | 'cached_tokens' | 'completion_tokens' | 'cost' | 'errors'
    ? number
    : string;
};

/** The minute, hour and day rollup rows of `records`, summed per rollup key. */
export function sumIntoRollups(records: readonly UsageRecord[]): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  for (const record of records) {
    for (const bucket of BUCKETS) {
      const size = BUCKET_MS[bucket];
      const bucketStart = Math.floor(record.at / size) * size;
      const keyId = record.keyId ?? '';
      const id = JSON.stringify([bucket, bucketStart, record.projectId, keyId, record.deployment, record.model, record.api]);
      const row = rows.get(id);
      if (row === undefined) {
        rows.set(id, {
          bucket,
          bucket_start: bucketStart,
          project_id: record.projectId,
          key_id: keyId,
          deployment: record.deployment,
          model: record.model,
          api: record.api,
          organization_id: record.organizationId,
          requests: 1,
          prompt_tokens: record.promptTokens,
          cached_tokens: record.cachedTokens,
          completion_tokens: record.completionTokens,
          cost: record.cost,
          errors: record.status >= 400 ? 1 : 0,
        });
      } else {
        row.requests += 1;
        row.prompt_tokens += record.promptTokens;
        row.cached_tokens += record.cachedTokens;
        row.completion_tokens += record.completionTokens;
        row.cost += record.cost;
        if (record.status >= 400) row.errors += 1;
      }
    }
  }
  return [...rows.entries()].sort(([a], [b]) => compare(a, b)).map(([, row]) => row);
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
