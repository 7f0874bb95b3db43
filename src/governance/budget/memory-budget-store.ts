import type { BudgetCounter, BudgetStore, ReserveResult } from './budget-store.js';

/** Budget counters in this process; entries expire with their period. */
export class MemoryBudgetStore implements BudgetStore {
  private readonly counters = new Map<string, { value: number; expiresAt: number }>();

  private valueOf(key: string, now: number): number {
    const entry = this.counters.get(key);
    if (!entry) return 0;
    if (entry.expiresAt <= now) {
      this.counters.delete(key);
      return 0;
    }
    return entry.value;
  }

  async reserve(counters: readonly BudgetCounter[], amount: number, ttlMs: number): Promise<ReserveResult> {
    const now = Date.now();
    const values = counters.map((counter) => this.valueOf(counter.key, now));
    const blockedBy = counters.findIndex((counter, index) => values[index] + amount > counter.limit);
    if (blockedBy >= 0) return { allowed: false, blockedBy, spent: values };
    counters.forEach((counter, index) => {
      const existing = this.counters.get(counter.key);
      this.counters.set(counter.key, { value: values[index] + amount, expiresAt: existing?.expiresAt ?? now + ttlMs });
    });
    return { allowed: true, blockedBy: -1, spent: values.map((value) => value + amount) };
  }

  async settle(keys: readonly string[], delta: number): Promise<void> {
    for (const key of keys) {
      const entry = this.counters.get(key);
      if (entry) entry.value = Math.max(0, entry.value + delta);
    }
  }

  async seed(key: string, amount: number, ttlMs: number): Promise<void> {
    if (!this.counters.has(key)) this.counters.set(key, { value: amount, expiresAt: Date.now() + ttlMs });
  }

  async read(keys: readonly string[]): Promise<Array<number | undefined>> {
    const now = Date.now();
    return keys.map((key) => {
      const entry = this.counters.get(key);
      return entry && entry.expiresAt > now ? entry.value : undefined;
    });
  }

  /** Forgets every counter (the local counters of a Redis outage start afresh with the next one). */
  clear(): void {
    this.counters.clear();
  }

  async close(): Promise<void> {
    this.clear();
  }
}
