import { count } from './format.js';

/** `GET /admin/v1/projects/:project/limits`: a project's quotas, and budgets with their current spend. */

export interface BudgetPeriod {
  readonly period: 'month' | 'day';
  /** ISO time the period began (UTC). */
  readonly since: string;
  readonly limit_usd: number;
  readonly spent_usd: number;
  readonly remaining_usd: number;
  /** `counter`: live (in-flight requests at their worst case); `ledger`: recorded spend. */
  readonly source: 'counter' | 'ledger';
}

export interface BudgetUse {
  readonly scope: 'project' | 'key';
  readonly id: string;
  readonly name?: string;
  readonly prefix?: string;
  readonly revoked?: boolean;
  readonly periods: BudgetPeriod[];
}

export interface QuotaUse {
  readonly deployment: string;
  readonly tpm: number;
  readonly rpm: number;
  /** RPM is enforced per 10 s window: a sixth of it each. */
  readonly requests_per_10s: number;
  /** The current windows' use from the live counters; null where it cannot be read. */
  readonly used: { readonly tokens_this_minute: number; readonly requests_this_10s: number } | null;
}

export interface ProjectLimits {
  readonly project: string;
  readonly quotas: QuotaUse[];
  readonly budgets: BudgetUse[];
}

/** "used of limit (share%)" for a quota window, or "unknown" when the counters could not be read. */
export function windowUse(used: number | undefined, limit: number): string {
  if (used === undefined) return 'unknown';
  const share = limit <= 0 ? 1 : used / limit;
  return `${count(used)} of ${count(limit)} (${Math.round(share * 100)}%)`;
}

/** Share of a period's limit spent (0 to 1, capped); a zero limit is fully used. */
export function usedShare(period: Pick<BudgetPeriod, 'limit_usd' | 'spent_usd'>): number {
  if (period.limit_usd <= 0) return 1;
  return Math.min(1, period.spent_usd / period.limit_usd);
}

/** Whose budget, in words. */
export function budgetOwner(budget: BudgetUse): string {
  if (budget.scope === 'project') return `Project ${budget.id}`;
  return `Key ${budget.name ?? budget.id}${budget.prefix ? ` (${budget.prefix}…)` : ''}${budget.revoked ? ', revoked' : ''}`;
}
