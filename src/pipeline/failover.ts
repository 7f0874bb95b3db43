import type { FallbackCause } from '../config/schema.js';
import { ResidencyUnavailableError, TargetsAtCapacityError, UpstreamStatusError, UpstreamTimeoutError, UpstreamUnreachableError } from '../errors/catalogue.js';
import { ClientAbortedError } from '../providers/upstream-client.js';
import type { Outcome } from '../routing/target-health.js';
import type { TargetQuota } from '../routing/target-quota.js';
import type { ProviderCall } from './call-provider.js';
import type { AttemptOutcome, TargetObserver } from '../observability/metrics.js';
import type { DeploymentTable, PlannedAttempt } from './pick-target.js';

/**
 * Why an attempt failed, as routing sees it: whether the next target may be tried (and which
 * fallbacks take it), and what the target's health records. A caller's own mistake (a 400 other
 * than a context-length or content-filter refusal, 401/403/404 of the caller) is never moved on.
 */
interface Failure {
  /** The fallback cause it counts as, or null when the failure goes back to the caller as it is. */
  readonly cause: FallbackCause | null;
  /** Whether the deployment's own next target may take it (capacity and health failures only). */
  readonly nextTarget: boolean;
  /** What the target's health records; never `stream_broken`, which only a stream already under way can meet. */
  readonly outcome: (Extract<Outcome, { ok: false }> & { cause: AttemptOutcome }) | undefined;
}

/** A target skipped for its own capacity moves on as a 429 would: to the next target, and to fallbacks taking `rate_limited`. */
const AT_CAPACITY: Failure = { cause: 'rate_limited', nextTarget: true, outcome: undefined };

const CONTEXT_LENGTH = new Set(['context_length_exceeded', 'string_above_max_length']);

function classify(error: unknown): Failure {
  if (error instanceof UpstreamTimeoutError) return { cause: 'timeout', nextTarget: true, outcome: { ok: false, cause: 'timeout' } };
  if (error instanceof UpstreamUnreachableError) return { cause: 'unavailable', nextTarget: true, outcome: { ok: false, cause: 'connect' } };
  if (error instanceof UpstreamStatusError) {
    const status = error.upstreamStatus;
    if (status === 429) {
      const retryAfterMs = error.retryAfterSeconds === undefined ? undefined : Math.ceil(error.retryAfterSeconds * 1000);
      return { cause: 'rate_limited', nextTarget: true, outcome: { ok: false, cause: 'rate_limited', retryAfterMs } };
    }
    if (status >= 500) return { cause: 'unavailable', nextTarget: true, outcome: { ok: false, cause: 'status_5xx' } };
    // The caller's request, refused by this model: a longer context or another filter may take it, if configured.
    if (status === 400 && error.code !== null && CONTEXT_LENGTH.has(error.code)) return { cause: 'context_length', nextTarget: false, outcome: undefined };
    if (status === 400 && error.code === 'content_filter') return { cause: 'content_filter', nextTarget: false, outcome: undefined };
  }
  return { cause: null, nextTarget: false, outcome: undefined };
}

/**
 * The routing stage around the provider call: tries the request's planned targets in order (the
 * deployment's own by its strategy and their health, then its fallbacks on the causes they list)
 * until one answers, before any byte reached the caller. Each attempt is told to its target's
 * health (breaker, cooldown, latency); `context.route` ends on the target that answered, so the
 * meter and `x-ms-region` name it, and `context.targetsTried` lists every target tried.
 * `observer` (the per-target metrics) hears of each attempt once its health has been told, so the
 * breaker state it reads is the one the outcome left.
 *
 * `quota` counts the attempts at targets that declare their own `tpm`/`rpm`: a target whose window
 * is full is skipped untried (as a 429 would move on), a failed attempt's reservation is given back,
 * and the answering one's is left on `context.targetReservation` for the meter to settle. When
 * every target was skipped the request is refused with `TargetsAtCapacityError`.
 */
export function failover(table: () => DeploymentTable, observer?: TargetObserver, quota?: TargetQuota): (next: ProviderCall) => ProviderCall {
  return (next) => async (context, picked) => {
    const plan = table().plan(context.deployment, context.operation, Date.now(), context.residency);
    if (plan.length === 0) {
      // Residency: nothing the pin allows is a refusal, never a target outside it.
      if (context.residency !== undefined) throw new ResidencyUnavailableError(context.deployment, context.residency, context.projectId ?? '');
      plan.push({ route: picked });
    }
    context.failoverPossible = plan.length > 1;
    let failure: { error: unknown; failure: Failure } | undefined;
    let atCapacityForMs = Infinity;
    for (const attempt of plan) {
      if (!mayTry(attempt, failure?.failure)) continue;
      const { route } = attempt;
      const limits = quota && route.limits;
      const admitted = limits
        ? await quota.admit(limits, () => context.api.estimateTokens(context.body, route.target.model, quota.defaultMaxTokens))
        : undefined;
      if (admitted?.ok === false) {
        observer?.skipped(route, 'quota_exhausted');
        atCapacityForMs = Math.min(atCapacityForMs, admitted.retryAfterMs);
        failure ??= { error: undefined, failure: AT_CAPACITY };
        continue;
      }
      (context.targetsTried ??= []).push(route.id);
      context.route = route;
      const started = Date.now();
      route.health.begin(started);
      try {
        const result = await next(context, route);
        if (admitted) context.targetReservation = admitted.reservation;
        const latencyMs = Date.now() - started;
        route.health.end({ ok: true, latencyMs }, Date.now());
        if (observer) {
          observer.attempt(route, 'ok', latencyMs);
          if (context.targetsTried.length > 1) observer.failedOver(context.deployment);
        }
        return result;
      } catch (error) {
        admitted?.reservation.refund();
        if (error instanceof ClientAbortedError || context.signal.aborted) {
          route.health.end({ ok: true, latencyMs: Date.now() - started }, Date.now());
          throw error;
        }
        const classified = classify(error);
        if (classified.outcome) route.health.end(classified.outcome, Date.now());
        else route.health.end({ ok: true, latencyMs: Date.now() - started }, Date.now());
        // An attempt the caller abandoned (above) says nothing about the target and is not counted.
        observer?.attempt(route, classified.outcome ? classified.outcome.cause : 'caller_error', undefined);
        if (classified.cause === null) throw error;
        failure = { error, failure: classified };
      }
    }
    throw failure?.error ?? new TargetsAtCapacityError(context.deployment, atCapacityForMs);
  };
}

/** Whether the next planned attempt may take the request after `failure` (none yet: the first always may). */
function mayTry(attempt: PlannedAttempt, failure: Failure | undefined): boolean {
  if (!failure) return true;
  if (attempt.via) return failure.cause !== null && attempt.via.on.has(failure.cause);
  return failure.nextTarget;
}
