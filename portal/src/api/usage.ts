/** The usage API's rows (`GET /admin/v1/usage`) and what the Overview and Usage pages make of them. */

export const USAGE_GROUPS = ['project', 'key', 'deployment', 'model', 'day'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageRow {
  readonly project?: string;
  readonly key?: string | null;
  readonly deployment?: string;
  readonly model?: string;
  readonly day?: string;
  readonly requests: number;
  readonly prompt_tokens: number;
  readonly cached_tokens: number;
  readonly completion_tokens: number;
  readonly cost_usd: number;
  readonly errors: number;
}

export interface UsageFilter {
  /** Epoch ms, inclusive. */
  readonly from?: number;
  /** Epoch ms, exclusive. */
  readonly to?: number;
  readonly project?: string;
  readonly key?: string;
  readonly deployment?: string;
  readonly model?: string;
  /** Read the rollups of this bucket size instead of the raw records (whole buckets by their start). */
  readonly bucket?: RollupBucket;
}

export type RollupBucket = 'minute' | 'hour' | 'day';

/** The path and query of a usage call: only the filters given, groups in the order chosen. */
export function usagePath(filter: UsageFilter, groups: readonly UsageGroup[]): string {
  const query = new URLSearchParams();
  if (filter.from !== undefined) query.set('from', String(filter.from));
  if (filter.to !== undefined) query.set('to', String(filter.to));
  for (const name of ['project', 'key', 'deployment', 'model'] as const) {
    const value = filter[name]?.trim();
    if (value) query.set(name, value);
  }
  if (groups.length > 0) query.set('group_by', groups.join(','));
  if (filter.bucket) query.set('bucket', filter.bucket);
  const text = query.toString();
  return text ? `/usage?${text}` : '/usage';
}

export const RANGES = { day: 86_400_000, week: 7 * 86_400_000, month: 30 * 86_400_000 } as const;
export type RangeName = keyof typeof RANGES;

/**
 * The rollups that cover a range: minutes for the last day, hours for the week, days for the month
 * (so the range starts at the first whole bucket after `now` minus the range: at most one bucket
 * less than the range, and the current bucket counted so far).
 */
export const RANGE_BUCKETS: Readonly<Record<RangeName, RollupBucket>> = { day: 'minute', week: 'hour', month: 'day' };

/** The last day, week or month up to `now`, read from the rollups that cover it. */
export function rangeFilter(range: RangeName, now: number): { from: number; bucket: RollupBucket } {
  return { from: now - RANGES[range], bucket: RANGE_BUCKETS[range] };
}

export function tokensOf(row: UsageRow): number {
  return row.prompt_tokens + row.completion_tokens;
}

/** Share of requests answered with an error (0 to 1); 0 where there were none. */
export function errorRate(row: Pick<UsageRow, 'requests' | 'errors'>): number {
  return row.requests === 0 ? 0 : row.errors / row.requests;
}

/** What a row is a sum of, in words: its groups' values, or "All" when ungrouped. */
export function rowLabel(row: UsageRow, groups: readonly UsageGroup[]): string {
  if (groups.length === 0) return 'All';
  return groups.map((group) => (group === 'key' && (row.key === null || row.key === undefined) ? 'no key' : String(row[group] ?? ''))).join(' · ');
}

/** The sum of many rows (the totals line). */
export function totalOf(rows: readonly UsageRow[]): UsageRow {
  return rows.reduce<UsageRow>(
    (sum, row) => ({
      requests: sum.requests + row.requests,
      prompt_tokens: sum.prompt_tokens + row.prompt_tokens,
      cached_tokens: sum.cached_tokens + row.cached_tokens,
      completion_tokens: sum.completion_tokens + row.completion_tokens,
      cost_usd: sum.cost_usd + row.cost_usd,
      errors: sum.errors + row.errors,
    }),
    { requests: 0, prompt_tokens: 0, cached_tokens: 0, completion_tokens: 0, cost_usd: 0, errors: 0 },
  );
}

export const USAGE_MEASURES = ['requests', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'cost_usd', 'errors'] as const;

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV of the rows shown, with the columns the API's own export has: the groups, then the sums. */
export function usageCsv(rows: readonly UsageRow[], groups: readonly UsageGroup[]): string {
  const columns = [...groups, ...USAGE_MEASURES];
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((column) => csvCell(row[column as keyof UsageRow])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
