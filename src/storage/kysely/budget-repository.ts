import type { Kysely, Selectable } from 'kysely';
import type { Budget, BudgetRepository, BudgetScope } from '../storage.js';
import { toNullableNumber, toNumber, type BudgetsTable, type Database } from './database.js';

export class KyselyBudgetRepository implements BudgetRepository {
  private readonly db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  async get(scope: BudgetScope, scopeId: string): Promise<Budget | undefined> {
    const row = await this.db.selectFrom('budgets').selectAll().where('scope', '=', scope).where('scope_id', '=', scopeId).executeTakeFirst();
    return row && toBudget(row);
  }

  async list(): Promise<Budget[]> {
    const rows = await this.db.selectFrom('budgets').selectAll().orderBy('scope').orderBy('scope_id').execute();
    return rows.map(toBudget);
  }

  async set(budget: Budget): Promise<void> {
    await this.db
      .insertInto('budgets')
      .values({
        scope: budget.scope,
        scope_id: budget.scopeId,
        monthly_limit: budget.monthlyLimit,
        daily_limit: budget.dailyLimit,
        updated_at: budget.updatedAt,
      })
      .onConflict((oc) =>
        oc.columns(['scope', 'scope_id']).doUpdateSet((eb) => ({
          monthly_limit: eb.ref('excluded.monthly_limit'),
          daily_limit: eb.ref('excluded.daily_limit'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute();
  }

  async remove(scope: BudgetScope, scopeId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('budgets').where('scope', '=', scope).where('scope_id', '=', scopeId).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }
}

function toBudget(row: Selectable<BudgetsTable>): Budget {
  return {
    scope: row.scope as BudgetScope,
    scopeId: row.scope_id,
    monthlyLimit: toNullableNumber(row.monthly_limit),
    dailyLimit: toNullableNumber(row.daily_limit),
    updatedAt: toNumber(row.updated_at),
  };
}
