import { describe, expect, it } from 'vitest';
import { BudgetExceededError } from '../../src/errors/catalogue.js';
import type { BudgetGuard } from '../../src/governance/budget/budget-guard.js';
import { GovernanceAdmission } from '../../src/governance/governance-admission.js';
import type { PolicyCache } from '../../src/governance/policy-cache.js';
import type { InferenceContext } from '../../src/pipeline/context.js';
import { RateLimitedError } from '../../src/errors/catalogue.js';
import type { QuotaAdmission } from '../../src/ratelimit/quota-admission.js';

/** Quota and budget are checked together; whichever refuses, the other's reservation is returned. */
const prices = { inputPerMillion: 1_000_000, cachedInputPerMillion: 0, outputPerMillion: 2_000_000, perImage: 0 };
const cache = {
  policy: () => ({ deployment: 'chat', gated: false, tpm: 1000, prices, updatedAt: 0 }),
  projectTpm: () => null,
  isApproved: () => true,
  project: () => undefined,
} as unknown as PolicyCache;

function context(): InferenceContext {
  return {
    id: 'req_1',
    deployment: 'chat',
    operation: 'chat',
    // The operation's own estimate (src/api/): a fixed 100 tokens here.
    api: { estimateTokens: () => 100, billedImages: () => 0 },
    body: { messages: [{ role: 'user', content: 'hi' }] },
    principal: { kind: 'key', id: 'key_1', organizationId: 'org_1', projectId: 'proj_1', deployments: null },
    route: { target: { deployment: 'chat', model: 'gpt-4o-mini' } },
  } as unknown as InferenceContext;
}

function harness(options: { quotaRefuses?: boolean; budgetRefuses?: boolean }) {
  const log: string[] = [];
  const quotas = {
    defaultMaxTokens: {},
    admit: async (request: { estimatedTokens?: number }) => {
      log.push(`quota take ${request.estimatedTokens}`);
      if (options.quotaRefuses) throw new RateLimitedError('full', 5, {});
      return { estimatedTokens: 100, headers: {}, settle: async (tokens: number) => void log.push(`quota settle ${tokens}`) };
    },
  } as unknown as QuotaAdmission;
  const budgets = {
    applies: () => true,
    reserve: async (_project: string, _key: string, amount: number) => {
      log.push(`budget reserve ${amount}`);
      if (options.budgetRefuses) throw new BudgetExceededError('spent');
      return { keys: ['k'], amount };
    },
    settle: async (_reservation: unknown, actual: number) => void log.push(`budget settle ${actual}`),
  } as unknown as BudgetGuard;
  return { log, admission: new GovernanceAdmission({ cache, quotas, budgets }) };
}

describe('governance admission', () => {
  it('reserves quota and worst-case budget from one estimate', async () => {
    const { log, admission } = harness({});
    const ticket = await admission.admit(context());
    // 100 tokens at the higher of $1 and $2 per million tokens: 200 micro-dollars.
    expect(log).toEqual(['quota take 100', 'budget reserve 200']);
    ticket?.settle({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 }, 11);
    await new Promise((resolve) => setImmediate(resolve));
    expect(log.slice(2)).toEqual(['quota settle 7', 'budget settle 11']);
  });

  it('gives the budget back when the quota refuses', async () => {
    const { log, admission } = harness({ quotaRefuses: true });
    await expect(admission.admit(context())).rejects.toBeInstanceOf(RateLimitedError);
    expect(log).toContain('budget settle 0');
  });

  it('gives the quota back when the budget refuses', async () => {
    const { log, admission } = harness({ budgetRefuses: true });
    await expect(admission.admit(context())).rejects.toBeInstanceOf(BudgetExceededError);
    expect(log).toContain('quota settle 0');
  });
});
