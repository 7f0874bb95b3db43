import type { FallbackCause } from '../config/schema.js';
import {
  DeadlineExceededError,
  ResidencyUnavailableError,
  TargetsAtCapacityError,
  UpstreamStatusError,
  UpstreamTimeoutError,
  UpstreamUnreachableError,
} from '../errors/catalogue.js';
import type { JsonObject } from '../providers/provider.js';
import { ClientAbortedError } from '../providers/upstream-client.js';
import type { Outcome } from '../routing/target-health.js';
import type { TargetQuota } from '../routing/target-quota.js';
import type { ProviderCall } from './call-provider.js';
import type { AttemptOutcome, TargetObserver } from '../observability/metrics.js';
import type { InferenceContext } from './context.js';
import type { DeploymentTable, PlannedAttempt, Route } from './pick-target.js';

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
  /** What the target's health records; never `stream_broken`, which only a stream already under way can meet (see observeStream). */
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
 * until one answers, before any byte reached the caller, all within the deployment's overall
 * deadline: each attempt's timeouts are cut to what is left of it, and once it is spent no attempt
 * starts and the caller gets a DeadlineExceededError naming the attempts made.
 *
 * Each attempt is told to its target's health (breaker, cooldown, latency); a stream's attempt is
 * told once the stream ends, as a success or, broken after its first bytes, as `stream_broken`.
 * `context.route` ends on the target that answered, so the meter and `x-ms-region` name it;
 * `context.targetsTried` lists every target tried and `context.attemptErrors` why the failed ones
 * failed (for the usage record). `observer` (the per-target metrics) hears of each attempt once
 * its health has been told, so the breaker state it reads is the one the outcome left.
 *
 * `quota` counts the attempts at targets that declare their own `tpm`/`rpm`: a target whose window
 * is full is skipped untried (as a 429 would move on), a failed attempt's reservation is given back,
 * and the answering one's is left on `context.targetReservation` for the meter to settle. When
 * every target was skipped the request is refused with `TargetsAtCapacityError`.
 */
export function failover(table: () => DeploymentTable, observer?: TargetObserver, quota?: TargetQuota): (next: ProviderCall) => ProviderCall {
  return (next) => async (context, picked) => {
    const current = table();
    const routes = current.routesOf(context.deployment);
    const plan = current.plan(context.deployment, context.operation, Date.now(), context.residency, context.spillover);
    if (plan.length === 0) {
      // Residency: nothing the pin allows is a refusal, never a target outside it.
      if (context.residency !== undefined) throw new ResidencyUnavailableError(context.deployment, context.residency, context.projectId ?? '');
      plan.push({ route: picked });
    }
    const deadlineMs = routes?.deadlineMs;
    if (deadlineMs !== undefined) context.deadlineAt = Date.now() + deadlineMs;
    context.failoverPossible = plan.length > 1;
    let failure: { error: unknown; failure: Failure } | undefined;
    let atCapacityForMs = Infinity;
    for (const attempt of plan) {
      if (!mayTry(attempt, failure?.failure)) continue;
      if (context.deadlineAt !== undefined && Date.now() >= context.deadlineAt) {
        throw new DeadlineExceededError(context.deployment, deadlineMs as number, context.targetsTried?.length ?? 0, failure?.error);
      }
      const { route } = attempt;
      if (attempt.via?.spillover && context.spilledOver === undefined && failure) {
        const status = failure.error instanceof UpstreamStatusError ? failure.error.upstreamStatus : (failure.error as { status?: number } | undefined)?.status;
        context.spilledOver = { from: context.deployment, to: attempt.via.deployment, error: status ?? (failure.failure === AT_CAPACITY ? 429 : 503) };
      }
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
        const failedOver = context.targetsTried.length > 1;
        if (result.kind === 'stream') return { ...result, chunks: observeStream(context, route, result.chunks, latencyMs, failedOver, observer) };
        route.health.end({ ok: true, latencyMs }, Date.now());
        if (observer) {
          observer.attempt(route, 'ok', latencyMs);
          if (failedOver) observer.failedOver(context.deployment);
        }
        return result;
      } catch (error) {
        admitted?.reservation.refund();
        if (error instanceof UpstreamTimeoutError && error.phase === 'deadline') {
          // The request's time ran out, not the target's: its health is not told of a failure.
          route.health.abandon(Date.now());
          observer?.attempt(route, 'deadline', undefined);
          (context.attemptErrors ??= []).push({ target: route.id, cause: 'deadline', status: null });
          throw new DeadlineExceededError(context.deployment, deadlineMs as number, context.targetsTried.length, error);
        }
        if (error instanceof ClientAbortedError || context.signal.aborted) {
          route.health.end({ ok: true, latencyMs: Date.now() - started }, Date.now());
          throw error;
        }
        const classified = classify(error);
        if (classified.outcome) route.health.end(classified.outcome, Date.now());
        else route.health.end({ ok: true, latencyMs: Date.now() - started }, Date.now());
        // An attempt the caller abandoned (above) says nothing about the target and is not counted.
        const cause = classified.outcome ? classified.outcome.cause : 'caller_error';
        observer?.attempt(route, cause, undefined);
        (context.attemptErrors ??= []).push({ target: route.id, cause, status: error instanceof UpstreamStatusError ? error.upstreamStatus : null });
        if (classified.cause === null) throw error;
        failure = { error, failure: classified };
      }
    }
    throw failure?.error ?? new TargetsAtCapacityError(context.deployment, atCapacityForMs);
  };
}

/**
 * A stream relayed from the target that answered, telling its health and the metrics how it ended:
 * a success once it ended (or the caller or the output filter stopped reading), `stream_broken`
 * when it failed after its first bytes (cut, stalled, malformed): too late to fail over, so the
 * error reaches the caller as the API's error event.
 */
async function* observeStream(
  context: InferenceContext,
  route: Route,
  chunks: AsyncIterable<JsonObject>,
  latencyMs: number,
  failedOver: boolean,
  observer: TargetObserver | undefined,
): AsyncGenerator<JsonObject> {
  let broken: unknown;
  let deadline = false;
  try {
    yield* chunks;
  } catch (error) {
    // The request's own deadline ending the stream says nothing about the target, as a caller that went away does not.
    deadline = error instanceof UpstreamTimeoutError && error.phase === 'deadline';
    if (!deadline && !(error instanceof ClientAbortedError) && !context.signal.aborted) broken = error;
    throw error;
  } finally {
    if (deadline) route.health.abandon(Date.now());
    else if (broken === undefined) route.health.end({ ok: true, latencyMs }, Date.now());
    else {
      route.health.end({ ok: false, cause: 'stream_broken' }, Date.now());
      (context.attemptErrors ??= []).push({ target: route.id, cause: 'stream_broken', status: null });
    }
    if (observer) {
      observer.attempt(route, deadline ? 'deadline' : broken === undefined ? 'ok' : 'stream_broken', broken === undefined && !deadline ? latencyMs : undefined);
      if (failedOver) observer.failedOver(context.deployment);
    }
  }
}

/** Whether the next planned attempt may take the request after `failure` (none yet: the first always may). */
function mayTry(attempt: PlannedAttempt, failure: Failure | undefined): boolean {
  if (!failure) return true;
  if (attempt.via) return failure.cause !== null && attempt.via.on.has(failure.cause);
  return failure.nextTarget;
}
