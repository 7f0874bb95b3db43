import { z } from 'zod';
import { ConflictError, InvalidRequestError, ResourceNotFoundError } from '../../errors/catalogue.js';
import { requireAnywhere, requireOperator } from '../../governance/access-control.js';
import type { Budget, BudgetScope, DeploymentPolicy, Prices } from '../../storage/storage.js';
import { booleanFlag, defineOperation, fromMicros, idString, nonNegativeNumber, positiveInteger, toMicros, type AdminContext } from '../admin-operation.js';
import { newId, projectFor } from './tenancy-operations.js';

function requireDeployment(context: AdminContext, deployment: string, allowAll = false): void {
  if (allowAll && deployment === '*') return;
  if (!context.deployments.includes(deployment)) throw new ResourceNotFoundError('deployment', deployment);
}

/** Prices in USD per million tokens / per image, as the API shows them. */
function pricesOut(prices: Prices | null): Record<string, number> | null {
  if (!prices) return null;
  return {
    input_per_million: fromMicros(prices.inputPerMillion),
    cached_input_per_million: fromMicros(prices.cachedInputPerMillion),
    cache_write_per_million: fromMicros(prices.cacheWritePerMillion),
    output_per_million: fromMicros(prices.outputPerMillion),
    per_image: fromMicros(prices.perImage),
  };
}

function policyOut(context: AdminContext, name: string, policy: DeploymentPolicy | undefined): Record<string, unknown> {
  return {
    deployment: name,
    gated: policy?.gated ?? false,
    tpm: policy?.tpm ?? null,
    prices: pricesOut(policy?.prices ?? null),
    // What the configuration filters it with when a project chose nothing (content_safety.deployments, else default).
    content_filter: context.deploymentFilterPolicies[name] ?? 'default',
  };
}

function budgetOut(budget: Budget): Record<string, unknown> {
  return {
    scope: budget.scope,
    id: budget.scopeId,
    monthly_usd: budget.monthlyLimit === null ? null : fromMicros(budget.monthlyLimit),
    daily_usd: budget.dailyLimit === null ? null : fromMicros(budget.dailyLimit),
  };
}

/** The organization and project a budget's scope belongs to, checking `budgets:manage` (or read). */
async function budgetTarget(context: AdminContext, scope: BudgetScope, id: string, permission: 'budgets:manage' | 'usage:read') {
  if (scope === 'project') return projectFor(context, id, permission);
  const key = await context.storage.keys.get(id);
  if (!key) throw new ResourceNotFoundError('key', id);
  return projectFor(context, key.projectId, permission).catch(() => {
    throw new ResourceNotFoundError('key', id);
  });
}

export const policyOperations = [
  defineOperation({
    id: 'deployments.list',
    method: 'GET',
    path: '/deployments',
    summary: 'List configured deployments with their governance policy (gating, TPM, prices) and the content-filter policy the configuration gives each.',
    input: z.strictObject({}),
    async run(context) {
      requireAnywhere(context.principal, 'deployments:read');
      const policies = new Map((await context.storage.deployments.list()).map((policy) => [policy.deployment, policy]));
      return { data: context.deployments.map((name) => policyOut(context, name, policies.get(name))) };
    },
  }),
  defineOperation({
    id: 'deployments.update',
    method: 'PATCH',
    path: '/deployments/:deployment',
    summary: "Change a deployment's policy: gated (limited access), tpm (0 or absent = unlimited), prices in USD (service operator only).",
    input: z.strictObject({
      deployment: idString.describe('deployment name'),
      gated: booleanFlag.describe('limited access: only approved projects may call it').optional(),
      tpm: z.coerce.number().int().nonnegative().describe('tokens per minute across all callers (0: unlimited)').optional(),
      input_per_million: nonNegativeNumber.describe('USD per million prompt tokens').optional(),
      cached_input_per_million: nonNegativeNumber.describe('USD per million cached prompt tokens (default: the input price)').optional(),
      cache_write_per_million: nonNegativeNumber.describe('USD per million prompt tokens written to the prompt cache (default: the input price)').optional(),
      output_per_million: nonNegativeNumber.describe('USD per million completion tokens').optional(),
      per_image: nonNegativeNumber.describe('USD per generated image').optional(),
    }),
    async run(context, input) {
      requireOperator(context.principal);
      requireDeployment(context, input.deployment);
      const before = await context.storage.deployments.get(input.deployment);
      const priceFields = [input.input_per_million, input.cached_input_per_million, input.cache_write_per_million, input.output_per_million, input.per_image];
      const prices: Prices | null = priceFields.some((value) => value !== undefined)
        ? {
            inputPerMillion: input.input_per_million !== undefined ? toMicros(input.input_per_million) : (before?.prices?.inputPerMillion ?? 0),
            cachedInputPerMillion:
              input.cached_input_per_million !== undefined
                ? toMicros(input.cached_input_per_million)
                : (before?.prices?.cachedInputPerMillion ?? (input.input_per_million !== undefined ? toMicros(input.input_per_million) : 0)),
            cacheWritePerMillion:
              input.cache_write_per_million !== undefined
                ? toMicros(input.cache_write_per_million)
                : (before?.prices?.cacheWritePerMillion ?? (input.input_per_million !== undefined ? toMicros(input.input_per_million) : 0)),
            outputPerMillion: input.output_per_million !== undefined ? toMicros(input.output_per_million) : (before?.prices?.outputPerMillion ?? 0),
            perImage: input.per_image !== undefined ? toMicros(input.per_image) : (before?.prices?.perImage ?? 0),
          }
        : (before?.prices ?? null);
      const after: DeploymentPolicy = {
        deployment: input.deployment,
        gated: input.gated ?? before?.gated ?? false,
        tpm: input.tpm === undefined ? (before?.tpm ?? null) : input.tpm === 0 ? null : input.tpm,
        prices,
        updatedAt: context.now,
      };
      await context.storage.deployments.upsert(after);
      await context.changed('deployment', input.deployment);
      await context.audit({ target: `deployment:${input.deployment}`, organizationId: null, projectId: null, before: before ?? null, after });
      return policyOut(context, input.deployment, after);
    },
  }),
  defineOperation({
    id: 'access.apply',
    method: 'POST',
    path: '/projects/:project/access-requests',
    summary: 'Apply for limited access to a gated deployment, describing the use case.',
    status: 201,
    input: z.strictObject({
      project: idString.describe('project id'),
      deployment: idString.describe('the gated deployment'),
      use_case: z
        .string()
        .trim()
        .min(20, 'describe the use case in at least 20 characters')
        .max(5000)
        .describe('what the project will use the deployment for (20 characters or more)'),
    }),
    async run(context, input) {
      const project = await projectFor(context, input.project, 'access:apply');
      requireDeployment(context, input.deployment);
      const existing = await context.storage.access.list({ projectId: project.id, deployment: input.deployment });
      const open = existing.find((request) => request.status !== 'rejected');
      if (open)
        throw new ConflictError(`Project "${project.id}" already has a ${open.status} request (${open.id}) for "${input.deployment}".`, 'duplicate_request');
      const request = {
        id: newId('areq'),
        projectId: project.id,
        deployment: input.deployment,
        useCase: input.use_case,
        status: 'pending' as const,
        createdAt: context.now,
        decidedBy: null,
        decidedAt: null,
        reason: null,
      };
      await context.storage.access.create(request);
      await context.audit({
        target: `access-request:${request.id}`,
        organizationId: project.organizationId,
        projectId: project.id,
        before: null,
        after: request,
      });
      return request;
    },
  }),
  defineOperation({
    id: 'access.list',
    method: 'GET',
    path: '/access-requests',
    summary: 'List limited-access requests (all for the operator; a project for its members).',
    input: z.strictObject({
      project: idString.describe('project id (required unless the master key)').optional(),
      status: z.enum(['pending', 'approved', 'rejected']).describe('only requests in this state').optional(),
    }),
    async run(context, input) {
      if (context.principal.kind !== 'master') {
        requireAnywhere(context.principal, 'access:apply');
        if (!input.project) throw new InvalidRequestError('Name the project whose requests to list.', 'project');
        await projectFor(context, input.project, 'access:apply');
      }
      return { data: await context.storage.access.list({ projectId: input.project, status: input.status }) };
    },
  }),
  ...(['approve', 'reject'] as const).map((verb) =>
    defineOperation({
      id: `access.${verb}`,
      method: 'POST',
      path: `/access-requests/:request/${verb}`,
      summary: `${verb === 'approve' ? 'Approve' : 'Reject'} a limited-access request (service operator only).`,
      input: z.strictObject({
        request: idString.describe('access request id (areq_…)'),
        reason: z.string().max(2000).describe('why, recorded with the decision').optional(),
      }),
      async run(context, input) {
        requireOperator(context.principal);
        const before = await context.storage.access.get(input.request);
        if (!before) throw new ResourceNotFoundError('access request', input.request);
        if (before.status !== 'pending') throw new ConflictError(`Access request "${before.id}" was already ${before.status}.`, 'already_decided');
        const after = await context.storage.access.decide(before.id, {
          status: verb === 'approve' ? 'approved' : 'rejected',
          decidedBy: 'master',
          decidedAt: context.now,
          reason: input.reason ?? null,
        });
        const project = await context.storage.projects.get(before.projectId);
        await context.changed('access', before.projectId);
        await context.audit({
          target: `access-request:${before.id}`,
          organizationId: project?.organizationId ?? null,
          projectId: before.projectId,
          before,
          after,
        });
        return after;
      },
    }),
  ),
  defineOperation({
    id: 'quotas.list',
    method: 'GET',
    path: '/projects/:project/quotas',
    summary: "List a project's TPM quotas per deployment ('*' applies to every deployment without its own).",
    input: z.strictObject({ project: idString.describe('project id') }),
    async run(context, input) {
      await projectFor(context, input.project, 'usage:read');
      return { data: await context.storage.quotas.list(input.project) };
    },
  }),
  defineOperation({
    id: 'quotas.set',
    method: 'PUT',
    path: '/projects/:project/quotas/:deployment',
    summary: "Set a project's tokens-per-minute quota on a deployment (or '*'); RPM follows at 6 per 1,000 TPM.",
    input: z.strictObject({
      project: idString.describe('project id'),
      deployment: idString.describe("deployment name, or '*' for every deployment without its own"),
      tpm: positiveInteger.describe('tokens per minute'),
    }),
    async run(context, input) {
      const project = await projectFor(context, input.project, 'quotas:manage');
      requireDeployment(context, input.deployment, true);
      const before = (await context.storage.quotas.list(project.id)).find((quota) => quota.deployment === input.deployment) ?? null;
      const after = { projectId: project.id, deployment: input.deployment, tpm: input.tpm, updatedAt: context.now };
      await context.storage.quotas.set(after);
      await context.changed('quota', project.id);
      await context.audit({ target: `quota:${project.id}/${input.deployment}`, organizationId: project.organizationId, projectId: project.id, before, after });
      return after;
    },
  }),
  defineOperation({
    id: 'quotas.remove',
    method: 'DELETE',
    path: '/projects/:project/quotas/:deployment',
    summary: "Remove a project's quota on a deployment.",
    input: z.strictObject({ project: idString.describe('project id'), deployment: idString.describe('deployment name, or *') }),
    async run(context, input) {
      const project = await projectFor(context, input.project, 'quotas:manage');
      const before = (await context.storage.quotas.list(project.id)).find((quota) => quota.deployment === input.deployment);
      if (!before) throw new ResourceNotFoundError('quota', `${project.id}/${input.deployment}`);
      await context.storage.quotas.remove(project.id, input.deployment);
      await context.changed('quota', project.id);
      await context.audit({
        target: `quota:${project.id}/${input.deployment}`,
        organizationId: project.organizationId,
        projectId: project.id,
        before,
        after: null,
      });
      return { removed: true };
    },
  }),
  defineOperation({
    id: 'budgets.get',
    method: 'GET',
    path: '/budgets/:scope/:id',
    summary: 'Show the spend limits of a project or a key.',
    input: z.strictObject({ scope: z.enum(['project', 'key']).describe('whose limits'), id: idString.describe('project id or key id') }),
    async run(context, input) {
      await budgetTarget(context, input.scope, input.id, 'usage:read');
      const budget = await context.storage.budgets.get(input.scope, input.id);
      if (!budget) throw new ResourceNotFoundError('budget', `${input.scope}/${input.id}`);
      return budgetOut(budget);
    },
  }),
  defineOperation({
    id: 'budgets.set',
    method: 'PUT',
    path: '/budgets/:scope/:id',
    summary: 'Set monthly and/or daily spend limits (USD) for a project or a key.',
    input: z
      .object({
        scope: z.enum(['project', 'key']).describe('whose limits'),
        id: idString.describe('project id or key id'),
        monthly_usd: nonNegativeNumber.describe('spend limit per calendar month (UTC), USD').optional(),
        daily_usd: nonNegativeNumber.describe('spend limit per day (UTC), USD').optional(),
      })
      .refine((value) => value.monthly_usd !== undefined || value.daily_usd !== undefined, 'give monthly_usd, daily_usd or both'),
    async run(context, input) {
      const project = await budgetTarget(context, input.scope, input.id, 'budgets:manage');
      const before = (await context.storage.budgets.get(input.scope, input.id)) ?? null;
      const after: Budget = {
        scope: input.scope,
        scopeId: input.id,
        monthlyLimit: input.monthly_usd !== undefined ? toMicros(input.monthly_usd) : (before?.monthlyLimit ?? null),
        dailyLimit: input.daily_usd !== undefined ? toMicros(input.daily_usd) : (before?.dailyLimit ?? null),
        updatedAt: context.now,
      };
      await context.storage.budgets.set(after);
      await context.changed('budget', input.id);
      await context.audit({ target: `budget:${input.scope}/${input.id}`, organizationId: project.organizationId, projectId: project.id, before, after });
      return budgetOut(after);
    },
  }),
  defineOperation({
    id: 'budgets.remove',
    method: 'DELETE',
    path: '/budgets/:scope/:id',
    summary: 'Remove the spend limits of a project or a key.',
    input: z.strictObject({ scope: z.enum(['project', 'key']).describe('whose limits'), id: idString.describe('project id or key id') }),
    async run(context, input) {
      const project = await budgetTarget(context, input.scope, input.id, 'budgets:manage');
      const before = await context.storage.budgets.get(input.scope, input.id);
      if (!before) throw new ResourceNotFoundError('budget', `${input.scope}/${input.id}`);
      await context.storage.budgets.remove(input.scope, input.id);
      await context.changed('budget', input.id);
      await context.audit({ target: `budget:${input.scope}/${input.id}`, organizationId: project.organizationId, projectId: project.id, before, after: null });
      return { removed: true };
    },
  }),
];
