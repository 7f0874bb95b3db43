import type { PolicyCache } from '../governance/policy-cache.js';
import { costOf } from '../governance/pricing.js';
import type { InferenceContext } from '../pipeline/context.js';
import type { Meter } from '../pipeline/meter.js';
import type { UsageLedger } from './usage-ledger.js';

/**
 * The meter stage's usage half: prices the request, settles its quota and budget reservations,
 * and journals one usage record. Runs once per request that reached a target, before the response
 * is completed to the caller, so an acknowledged request is always in the ledger.
 */
export class UsageMeter implements Meter {
  private readonly ledger: UsageLedger;
  private readonly cache: PolicyCache;

  constructor(ledger: UsageLedger, cache: PolicyCache) {
    this.ledger = ledger;
    this.cache = cache;
  }

  ready(): boolean {
    return this.ledger.ready();
  }

  record(context: InferenceContext, finishedAt: number): Promise<void> | undefined {
    const route = context.route;
    if (!route) return undefined;
    const usage = context.usage;
    const status = context.status ?? 0;
    const images = status === 200 ? context.api.billedImages(context.body) : 0;
    const cost = costOf(this.cache.policy(context.deployment)?.prices, usage, images);
    context.cost = cost;
    context.admission?.settle(usage, cost);
    const principal = context.principal;
    return this.ledger.record({
      requestId: context.id,
      at: context.receivedAt,
      api: context.api.name,
      organizationId: context.organizationId ?? '',
      projectId: context.projectId ?? '',
      keyId: principal.kind === 'key' ? principal.id : null,
      endUser: typeof context.body.user === 'string' ? context.body.user.slice(0, 256) : null,
      deployment: context.deployment,
      provider: route.provider.name,
      model: route.target.model,
      region: route.region,
      promptTokens: usage?.prompt_tokens ?? 0,
      cachedTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
      completionTokens: usage?.completion_tokens ?? 0,
      images,
      cost,
      status,
      latencyMs: Math.round(finishedAt - context.startedAt),
      timeToFirstTokenMs: context.firstTokenAt === undefined ? null : Math.round(context.firstTokenAt - context.startedAt),
      streamed: context.stream,
      filtered: context.filtered ?? false,
      estimated: context.usageEstimated ?? false,
      // None when the request was refused before any target was tried (admission, the prompt filter).
      attempts: context.targetsTried?.length ?? 0,
      targetsTried: context.targetsTried ?? [],
      attemptErrors: context.attemptErrors ?? [],
    });
  }
}
