import { CeruleanError, InvalidRequestError, PermissionError } from '../errors/catalogue.js';
import type { Principal } from '../pipeline/authenticate.js';
import type { AdmissionTicket, AdmitStage } from '../pipeline/admit.js';
import type { InferenceContext } from '../pipeline/context.js';
import type { Usage } from '../providers/provider.js';
import type { QuotaAdmission } from '../ratelimit/quota-admission.js';
import { can } from './access-control.js';
import type { BudgetGuard } from './budget/budget-guard.js';
import type { PolicyCache } from './policy-cache.js';

export interface GovernanceAdmissionOptions {
  cache: PolicyCache;
  quotas: QuotaAdmission;
  budgets: BudgetGuard;
  /** Refuses subjects that abuse monitoring throttled or suspended. */
  abuse?: { gate(context: InferenceContext): Promise<void> };
  /** Reports settle failures (a store that went away); they never fail the request. */
  onError?: (error: unknown) => void;
}

interface Caller {
  readonly organizationId: string | undefined;
  readonly projectId: string | undefined;
  readonly keyId: string | undefined;
}

function applyHint(deployment: string, project: string): string {
  return (
    `Deployment "${deployment}" is limited access and project "${project}" is not approved for it. ` +
    `Apply with \`cerulean access apply --project ${project} --deployment ${deployment} --use_case "..."\` ` +
    `(or POST /admin/v1/projects/${project}/access-requests); an operator reviews each application.`
  );
}

/**
 * The admit stage with governance on: which project pays, whether this principal may call this
 * deployment (key scope, role, limited access), then the TPM/RPM quota of the deployment and of the
 * project, then the budget. Reads only the in-memory policy cache and the counter stores.
 */
export class GovernanceAdmission implements AdmitStage {
  private readonly options: GovernanceAdmissionOptions;

  constructor(options: GovernanceAdmissionOptions) {
    this.options = options;
  }

  /**
   * Who pays for a call of `deployment` by `principal`, or the refusal: the key's deployment scope,
   * the token caller's project and role. Limited access is checked separately (after abuse gating).
   */
  private caller(principal: Principal, deployment: string, projectHint: string | undefined): Caller | CeruleanError {
    switch (principal.kind) {
      case 'key':
        if (principal.deployments && !principal.deployments.has(deployment)) {
          return new PermissionError(`This API key may not call deployment "${deployment}".`, 'deployment_not_allowed');
        }
        return { organizationId: principal.organizationId, projectId: principal.projectId, keyId: principal.id };
      case 'user': {
        if (!projectHint)
          return new InvalidRequestError(
            'Token callers name the project to charge in the x-cerulean-project header.',
            'x-cerulean-project',
            'project_required',
          );
        const project = this.options.cache.project(projectHint);
        if (!project || !can(principal, 'inference', { organizationId: project.organizationId, projectId: project.id })) {
          return new PermissionError(`The caller may not call deployments for project "${projectHint}".`);
        }
        return { organizationId: project.organizationId, projectId: project.id, keyId: undefined };
      }
      case 'master':
        return { organizationId: undefined, projectId: undefined, keyId: undefined };
    }
  }

  private gatedFor(projectId: string | undefined, deployment: string): boolean {
    const { cache } = this.options;
    return cache.policy(deployment)?.gated === true && projectId !== undefined && !cache.isApproved(projectId, deployment);
  }

  mayUse(principal: Principal, deployment: string, projectHint: string | undefined): boolean {
    const caller = this.caller(principal, deployment, projectHint);
    return !(caller instanceof CeruleanError) && !this.gatedFor(caller.projectId, deployment);
  }

  projectOf(principal: Principal, projectHint: string | undefined): string | undefined {
    if (principal.kind === 'key') return principal.projectId;
    if (principal.kind === 'master') return undefined;
    // A token caller: the project it names, if it may call models there (the same check as admit's).
    const caller = this.caller(principal, '', projectHint);
    if (caller instanceof CeruleanError) throw caller;
    return caller.projectId;
  }

  async admit(context: InferenceContext): Promise<AdmissionTicket | undefined> {
    const { cache, quotas, budgets } = this.options;
    const { principal, deployment } = context;
    const route = context.route;
    if (!route) throw new Error('admit runs after a target was picked');

    const caller = this.caller(principal, deployment, context.projectHint);
    if (caller instanceof CeruleanError) throw caller;
    const { organizationId, projectId, keyId } = caller;
    context.organizationId = organizationId;
    context.projectId = projectId;
    // Built once per policy snapshot: a key's pin on its principal, a token caller's from its project.
    const residency = principal.kind === 'key' ? principal.residency : projectId === undefined ? undefined : cache.projectPin(projectId);
    if (residency) context.residency = residency;
    await this.options.abuse?.gate(context);

    const policy = cache.policy(deployment);
    if (this.gatedFor(projectId, deployment)) {
      throw new PermissionError(applyHint(deployment, projectId as string), 'limited_access');
    }

    const deploymentTpm = policy?.tpm ?? null;
    const projectTpm = projectId === undefined ? null : cache.projectTpm(projectId, deployment);
    const prices = budgets.applies(projectId, keyId) ? policy?.prices : undefined;
    const estimatedTokens =
      deploymentTpm !== null || projectTpm !== null || prices ? context.api.estimateTokens(context.body, route.target.model, quotas.defaultMaxTokens) : 0;
    let worstCase = 0;
    if (prices) {
      const images = context.api.billedImages(context.body);
      worstCase = Math.ceil((estimatedTokens * Math.max(prices.inputPerMillion, prices.outputPerMillion)) / 1_000_000 + images * prices.perImage);
    }
    // Quota and budget are checked at once (with Redis: two scripts in flight together, not one after
    // the other); whichever refuses, the other's reservation is given back.
    const [quotaOutcome, budgetOutcome] = await Promise.allSettled([
      quotas.admit({
        deployment,
        deploymentTpm,
        projectId: projectId ?? '',
        projectTpm,
        operation: context.operation,
        body: context.body,
        model: route.target.model,
        apiVersion: context.apiVersion,
        estimatedTokens,
      }),
      prices ? budgets.reserve(projectId, keyId, worstCase) : Promise.resolve(undefined),
    ]);
    const onError = this.options.onError ?? (() => {});
    if (quotaOutcome.status === 'rejected' || budgetOutcome.status === 'rejected') {
      // Giving back may fail too (Redis went away): the caller gets the refusal, not that failure.
      if (quotaOutcome.status === 'fulfilled') await quotaOutcome.value.settle(0).catch(onError);
      if (budgetOutcome.status === 'fulfilled' && budgetOutcome.value) await budgets.settle(budgetOutcome.value, 0).catch(onError);
      throw quotaOutcome.status === 'rejected' ? quotaOutcome.reason : (budgetOutcome as PromiseRejectedResult).reason;
    }
    const quota = quotaOutcome.value;
    const reservation = budgetOutcome.value;

    let settled = false;
    return {
      headers: quota.headers,
      settle: (usage: Usage | undefined, cost: number) => {
        if (settled) return;
        settled = true;
        quota.settle(usage ? usage.total_tokens : 0).catch(onError);
        if (reservation) budgets.settle(reservation, cost).catch(onError);
      },
    };
  }
}
