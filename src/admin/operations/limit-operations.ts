import { z } from 'zod';
import { ledgerConsumption, type BudgetPeriodUse } from '../../governance/budget/budget-guard.js';
import { requestsPerWindow } from '../../ratelimit/quota-admission.js';
import type { ApiKey, Budget, ProjectQuota } from '../../storage/storage.js';
import { defineOperation, fromMicros, idString, type AdminContext } from '../admin-operation.js';
import { projectFor } from './tenancy-operations.js';

/** One period of a budget as the API shows it, in USD. */
function periodOut(use: BudgetPeriodUse): Record<string, unknown> {
  return {
    period: use.period,
    since: new Date(use.start).toISOString(),
    limit_usd: fromMicros(use.limit),
    spent_usd: fromMicros(use.spent),
    remaining_usd: fromMicros(Math.max(0, use.limit - use.spent)),
    source: use.source,
  };
}

/** A budget's current periods: the live counters where a server runs, else the ledger. */
async function consumptionOf(context: AdminContext, budget: Budget): Promise<BudgetPeriodUse[]> {
  return context.budgetUse ? context.budgetUse(budget, context.now) : ledgerConsumption(context.storage.usage, budget, context.now);
}

/**
 * A quota with its use in the current windows: tokens this minute (in-flight requests at their
 * estimate until settled) and requests in this 10 s window (RPM is enforced as a sixth of it per
 * 10 s). `used` is null where no server runs (the CLI) or its counters cannot be read now.
 */
async function quotaOut(context: AdminContext, projectId: string, quota: ProjectQuota): Promise<Record<string, unknown>> {
  const requestsPer10s = requestsPerWindow(quota.tpm);
  let used: { tokens_this_minute: number; requests_this_10s: number } | null = null;
  if (context.quotaUse) {
    const use = await context.quotaUse(projectId, quota.deployment, context.now).catch(() => undefined);
    if (use) used = { tokens_this_minute: use.tokens, requests_this_10s: use.requests };
  }
  return { deployment: quota.deployment, tpm: quota.tpm, rpm: requestsPer10s * 6, requests_per_10s: requestsPer10s, used };
}

async function budgetOut(context: AdminContext, budget: Budget, key?: ApiKey): Promise<Record<string, unknown>> {
  return {
    scope: budget.scope,
    id: budget.scopeId,
    ...(key ? { name: key.name, prefix: key.prefix, revoked: key.revokedAt !== null } : {}),
    periods: (await consumptionOf(context, budget)).map(periodOut),
  };
}

export const limitOperations = [
  defineOperation({
    id: 'limits.show',
    method: 'GET',
    path: '/projects/:project/limits',
    summary:
      "A project's limits with their current consumption: TPM quotas per deployment with the tokens and requests of the current windows, and the spend limits of the project and of each of its keys with what this month and day have spent (live counters, in-flight requests at their worst case).",
    input: z.strictObject({ project: idString.describe('project id') }),
    table: { field: 'budgets', columns: ['scope', 'id', 'name'] },
    async run(context, input) {
      const project = await projectFor(context, input.project, 'usage:read');
      const [quotas, keys, projectBudget] = await Promise.all([
        context.storage.quotas.list(project.id),
        context.storage.keys.list(project.id),
        context.storage.budgets.get('project', project.id),
      ]);
      const keyBudgets = await Promise.all(keys.map(async (key) => ({ key, budget: await context.storage.budgets.get('key', key.id) })));
      const budgets = [
        ...(projectBudget ? [await budgetOut(context, projectBudget)] : []),
        ...(await Promise.all(keyBudgets.flatMap(({ key, budget }) => (budget ? [budgetOut(context, budget, key)] : [])))),
      ];
      return {
        project: project.id,
        quotas: await Promise.all(quotas.map((quota) => quotaOut(context, project.id, quota))),
        budgets,
      };
    },
  }),
];
