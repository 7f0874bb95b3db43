import { BudgetExceededError } from '../../errors/catalogue.js';
import type { OutageGuard } from '../../ratelimit/outage-guard.js';
import type { Budget, BudgetScope, UsageRepository } from '../../storage/storage.js';
import type { PolicyCache } from '../policy-cache.js';
import type { BudgetCounter, BudgetStore, ReserveResult } from './budget-store.js';
import type { MemoryBudgetStore } from './memory-budget-store.js';
import { isStorageUnavailable } from '../../storage/storage-availability.js';

const DAY_MS = 86_400_000;

/** The UTC day and month a moment falls in, as counter key parts and period starts. */
interface Periods {
  readonly dayStart: number;
  readonly monthStart: number;
  /** YYYY-MM-DD and YYYY-MM. */
  readonly day: string;
  readonly month: string;
}

// Every request reserves against its budgets: the periods are worked out once per UTC day, not per request.
let lastPeriods: Periods | undefined;

function periodsAt(now: number): Periods {
  const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
  if (lastPeriods?.dayStart === dayStart) return lastPeriods;
  const date = new Date(dayStart);
  const day = date.toISOString().slice(0, 10);
  lastPeriods = { dayStart, monthStart: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1), day, month: day.slice(0, 7) };
  return lastPeriods;
}

/** Counter keys and limits of one budget at `now`: month and/or day. */
function countersOf(budget: Budget, now: number): Array<BudgetCounter & { start: number; period: 'month' | 'day' }> {
  const periods = periodsAt(now);
  const out: Array<BudgetCounter & { start: number; period: 'month' | 'day' }> = [];
  if (budget.monthlyLimit !== null)
    out.push({ key: `${budget.scope}:${budget.scopeId}:m:${periods.month}`, limit: budget.monthlyLimit, start: periods.monthStart, period: 'month' });
  if (budget.dailyLimit !== null)
    out.push({ key: `${budget.scope}:${budget.scopeId}:d:${periods.day}`, limit: budget.dailyLimit, start: periods.dayStart, period: 'day' });
  return out;
}

/** One period of a budget: its limit and what has been spent in it, in micro-dollars. */
export interface BudgetPeriodUse {
  readonly period: 'month' | 'day';
  /** When the period began (UTC midnight, or the 1st of the month). */
  readonly start: number;
  readonly limit: number;
  readonly spent: number;
  /**
   * `counter`: the live counter requests reserve against (requests in flight included at their
   * worst case); `ledger`: the recorded spend, where no counter is held (the CLI, a budget not yet
   * used this period, the counter store away).
   */
  readonly source: 'counter' | 'ledger';
}

/** A budget's periods with the spend the ledger has recorded in each. */
export async function ledgerConsumption(usage: UsageRepository, budget: Budget, now = Date.now()): Promise<BudgetPeriodUse[]> {
  return Promise.all(
    countersOf(budget, now).map(async (counter) => ({
      period: counter.period,
      start: counter.start,
      limit: counter.limit,
      spent: await usage.spendSince(budget.scope, budget.scopeId, counter.start),
      source: 'ledger' as const,
    })),
  );
}

/** Counters live a little longer than the longest period, then expire by themselves. */
const COUNTER_TTL_MS = 33 * DAY_MS;

export interface Reservation {
  readonly keys: readonly string[];
  readonly amount: number;
  /** The store the reservation was taken in (the local one during a Redis outage under fail_open). */
  readonly store: BudgetStore;
}

/** A counter store and the counter keys seeded in it from the ledger. */
interface SeededStore<Store extends BudgetStore = BudgetStore> {
  readonly store: Store;
  readonly seeded: Set<string>;
}

/**
 * Budgets, enforced before forwarding: the request's worst-case cost is reserved against every
 * budget that applies (project and key, month and day) in one all-or-nothing step, and settled to
 * the actual cost afterwards. Concurrent requests therefore cannot together spend past a limit:
 * each one needs room for its own worst case before it is forwarded. (The worst case rests on the
 * admission estimate of prompt tokens; an upstream that bills more prompt tokens than estimated
 * can overshoot by that difference on the requests in flight.) Counters start from the ledger's
 * spend for the period, seeded once per period.
 */
export class BudgetGuard {
  private readonly shared: SeededStore;
  private readonly cache: PolicyCache;
  private readonly usage: UsageRepository;
  private readonly outage: { readonly guard: OutageGuard; readonly local: SeededStore<MemoryBudgetStore> } | undefined;
  /** The outage the local counters were seeded for: each outage starts them afresh from the ledger. */
  private localOutage = -1;

  /**
   * `outage`: when `store` is shared (Redis) and may be unreachable, the guard applying the outage
   * policy and the local store counted in under `fail_open`, seeded from the ledger per outage.
   */
  constructor(store: BudgetStore, cache: PolicyCache, usage: UsageRepository, outage?: { guard: OutageGuard; local: MemoryBudgetStore }) {
    this.shared = { store, seeded: new Set() };
    this.cache = cache;
    this.usage = usage;
    this.outage = outage && { guard: outage.guard, local: { store: outage.local, seeded: new Set() } };
  }

  /** Seeds the current period's counters of every budget from recorded spend (idempotent). */
  async seed(now = Date.now()): Promise<void> {
    await Promise.all(this.cache.budgets().map((budget) => this.seedBudget(this.shared, budget, now)));
  }

  private async seedBudget(target: SeededStore, budget: Budget, now: number): Promise<void> {
    for (const counter of countersOf(budget, now)) {
      if (target.seeded.has(counter.key)) continue;
      let spent: number;
      try {
        spent = await this.usage.spendSince(budget.scope as BudgetScope, budget.scopeId, counter.start);
      } catch (error) {
        // With the database away (a replica started during an outage, or a period beginning in one),
        // the counter goes on from what the store holds — on Redis, other replicas' seeding — rather
        // than refusing every budgeted request; seeding is tried again on the next request.
        if (isStorageUnavailable(error)) continue;
        throw error;
      }
      await target.store.seed(counter.key, spent, COUNTER_TTL_MS);
      target.seeded.add(counter.key);
    }
  }

  /** Whether any budget applies (so callers can skip estimating costs when none does). */
  applies(projectId: string | undefined, keyId: string | undefined): boolean {
    return (
      (projectId !== undefined && this.cache.budget('project', projectId) !== undefined) ||
      (keyId !== undefined && this.cache.budget('key', keyId) !== undefined)
    );
  }

  async reserve(projectId: string | undefined, keyId: string | undefined, amount: number, now = Date.now()): Promise<Reservation | undefined> {
    const budgets = [projectId && this.cache.budget('project', projectId), keyId && this.cache.budget('key', keyId)].filter((b): b is Budget => Boolean(b));
    if (budgets.length === 0) return undefined;
    const counters = budgets.flatMap((budget) => countersOf(budget, now));
    const reserveIn = async (target: SeededStore): Promise<{ store: BudgetStore; result: ReserveResult }> => {
      // A period that began after the last seeding (midnight, the 1st) starts from the ledger too.
      if (counters.some((counter) => !target.seeded.has(counter.key))) await Promise.all(budgets.map((budget) => this.seedBudget(target, budget, now)));
      return { store: target.store, result: await target.store.reserve(counters, amount, COUNTER_TTL_MS) };
    };
    const outage = this.outage;
    const { store, result } = outage
      ? await outage.guard.run(
          () => reserveIn(this.shared),
          () => reserveIn(this.freshLocal(outage)),
        )
      : await reserveIn(this.shared);
    if (!result.allowed) {
      const blocked = counters[result.blockedBy];
      const [scope, id] = blocked.key.split(':');
      throw new BudgetExceededError(
        `The ${blocked.period === 'month' ? 'monthly' : 'daily'} budget of ${scope} ${id} ($${(blocked.limit / 1_000_000).toFixed(2)}) does not cover this request (worst case $${(amount / 1_000_000).toFixed(6)}); it resets at the start of the next ${blocked.period} (UTC), or an administrator can raise it.`,
      );
    }
    return { keys: counters.map((counter) => counter.key), amount, store };
  }

  /**
   * A budget's periods with what their counters hold now, read from the shared store (one read, off
   * the request path); a counter not held there, or a store that does not answer, reads from the ledger.
   */
  async consumption(budget: Budget, now = Date.now()): Promise<BudgetPeriodUse[]> {
    const counters = countersOf(budget, now);
    const held = await this.shared.store.read(counters.map((counter) => counter.key)).catch(() => counters.map(() => undefined));
    return Promise.all(
      counters.map(async (counter, index) => {
        const value = held[index];
        return {
          period: counter.period,
          start: counter.start,
          limit: counter.limit,
          spent: value ?? (await this.usage.spendSince(budget.scope, budget.scopeId, counter.start)),
          source: value === undefined ? ('ledger' as const) : ('counter' as const),
        };
      }),
    );
  }

  /** Replaces the reservation by the actual cost. */
  async settle(reservation: Reservation, actual: number): Promise<void> {
    await reservation.store.settle(reservation.keys, actual - reservation.amount);
  }

  /**
   * The local counters, emptied when a new outage began since they were last used: what was
   * spent between two outages went to the shared counters, so only the ledger knows it.
   */
  private freshLocal(outage: { readonly guard: OutageGuard; readonly local: SeededStore<MemoryBudgetStore> }): SeededStore {
    if (this.localOutage !== outage.guard.outages) {
      this.localOutage = outage.guard.outages;
      outage.local.seeded.clear();
      outage.local.store.clear();
    }
    return outage.local;
  }
}
