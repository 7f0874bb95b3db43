import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../../src/errors/catalogue.js';
import { BudgetGuard } from '../../src/governance/budget/budget-guard.js';
import { MemoryBudgetStore } from '../../src/governance/budget/memory-budget-store.js';
import type { PolicyCache } from '../../src/governance/policy-cache.js';
import type { Budget, UsageRepository } from '../../src/storage/storage.js';

/** Budget periods are UTC days and months: a new one starts from the ledger's spend, not the last period's counter. */
function guard(budget: Pick<Budget, 'monthlyLimit' | 'dailyLimit'>): { guard: BudgetGuard; seeded: number[] } {
  const project: Budget = { scope: 'project', scopeId: 'p1', ...budget } as Budget;
  const cache = { budget: (scope: string, id: string) => (scope === 'project' && id === 'p1' ? project : undefined) } as unknown as PolicyCache;
  const seeded: number[] = [];
  const usage = {
    spendSince: async (_scope: string, _id: string, since: number) => {
      seeded.push(since);
      return 0;
    },
  } as unknown as UsageRepository;
  return { guard: new BudgetGuard(new MemoryBudgetStore(), cache, usage), seeded };
}

const at = (iso: string): number => Date.parse(iso);

describe('budget periods', () => {
  it('a daily limit starts afresh at UTC midnight', async () => {
    const { guard: budgets, seeded } = guard({ monthlyLimit: null, dailyLimit: 100 });
    await budgets.reserve('p1', undefined, 80, at('2026-03-14T23:59:59Z'));
    await expect(budgets.reserve('p1', undefined, 30, at('2026-03-14T23:59:59.500Z'))).rejects.toBeInstanceOf(BudgetExceededError);
    await budgets.reserve('p1', undefined, 80, at('2026-03-15T00:00:00Z'));
    expect(seeded).toEqual([at('2026-03-14T00:00:00Z'), at('2026-03-15T00:00:00Z')]);
  });

  it('a monthly limit spans the days of its month and starts afresh on the 1st', async () => {
    const { guard: budgets, seeded } = guard({ monthlyLimit: 150, dailyLimit: null });
    await budgets.reserve('p1', undefined, 80, at('2026-02-03T10:00:00Z'));
    await expect(budgets.reserve('p1', undefined, 80, at('2026-02-28T10:00:00Z'))).rejects.toThrow(/monthly budget of project p1/);
    await budgets.reserve('p1', undefined, 80, at('2026-03-01T00:00:00Z'));
    expect(seeded).toEqual([at('2026-02-01T00:00:00Z'), at('2026-03-01T00:00:00Z')]);
  });

  it('moments out of order (a request that started before midnight) still land in their own day', async () => {
    const { guard: budgets } = guard({ monthlyLimit: null, dailyLimit: 100 });
    await budgets.reserve('p1', undefined, 90, at('2026-05-02T00:00:01Z'));
    await budgets.reserve('p1', undefined, 90, at('2026-05-01T23:59:59Z'));
    await expect(budgets.reserve('p1', undefined, 20, at('2026-05-02T12:00:00Z'))).rejects.toBeInstanceOf(BudgetExceededError);
  });
});
