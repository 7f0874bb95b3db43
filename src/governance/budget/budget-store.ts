/**
 * Spend counters for budgets, in integer micro-dollars, one per scope and calendar period
 * (`…:m:2026-11`, `…:d:2026-11-22`). `reserve` is all-or-nothing across the counters it is given,
 * so one request either reserves against its project's and its key's month and day at once, or
 * against none. Implementations: memory (one node) and Redis (replicas share one count).
 */
export interface BudgetCounter {
  readonly key: string;
  /** Micro-dollars the period may spend. */
  readonly limit: number;
}

export interface ReserveResult {
  readonly allowed: boolean;
  /** When refused: the index of the counter that had no room. */
  readonly blockedBy: number;
  /** Per counter: what it holds after the call (spent and reserved). */
  readonly spent: readonly number[];
}

export interface BudgetStore {
  /** Adds `amount` to every counter if each stays within its limit; otherwise adds nothing. */
  reserve(counters: readonly BudgetCounter[], amount: number, ttlMs: number): Promise<ReserveResult>;
  /** Adds `delta` (may be negative: a reservation settled below its worst case) to each counter. */
  settle(keys: readonly string[], delta: number): Promise<void>;
  /** Sets a counter to `amount` unless it already exists (first replica to start seeds it from the ledger). */
  seed(key: string, amount: number, ttlMs: number): Promise<void>;
  /** What each counter holds now (spent and reserved); undefined for one that does not exist (never seeded, or expired). */
  read(keys: readonly string[]): Promise<Array<number | undefined>>;
  close(): Promise<void>;
}
