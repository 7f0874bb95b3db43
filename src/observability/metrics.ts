import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BreakerState, TargetHealth } from '../routing/target-health.js';

/** The labels every GenAI metric carries. */
export type GenAiLabel = 'gen_ai_operation_name' | 'gen_ai_provider_name' | 'gen_ai_request_model' | 'gen_ai_response_model';

/**
 * How an attempt at a target ended, as the per-target metrics name it: `stream_broken` is a stream
 * that failed after its first bytes reached the caller; `deadline` an attempt stopped because the
 * request's overall deadline passed.
 */
export type AttemptOutcome = 'ok' | 'connect' | 'timeout' | 'status_5xx' | 'rate_limited' | 'stream_broken' | 'deadline' | 'caller_error';

/** What the per-target series need of a routing target (the pipeline's `Route` is one). */
export interface ObservedTarget {
  /** `provider/model`. */
  readonly id: string;
  /** The deployment the target belongs to. */
  readonly target: { readonly deployment: string };
  readonly health: TargetHealth;
}

/** Told about every attempt the routing stage makes, after the target's health has been told. */
export interface TargetObserver {
  /** `latencyMs`: time to first byte, for successful attempts only. */
  attempt(route: ObservedTarget, outcome: AttemptOutcome, latencyMs: number | undefined): void;
  /** A request of `deployment` was answered by a target other than the first it tried. */
  failedOver(deployment: string): void;
  /** A planned target was passed over without an attempt: its own capacity for the window is used up. */
  skipped(route: ObservedTarget, cause: SkipCause): void;
}

/** Why a target was passed over before it was tried. */
export type SkipCause = 'quota_exhausted';

/**
 * The service's Prometheus metrics, one registry per server instance (so tests can run several).
 * Names follow Azure OpenAI's metric set: requests, processed prompt and generated completion
 * tokens, time to response, time to first token and tokens per second, by deployment.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<'deployment' | 'status' | 'operation' | 'stream'>;
  readonly tokens: Counter<'deployment' | 'kind'>;
  readonly timeToResponse: Histogram<'deployment' | 'stream'>;
  readonly timeToFirstToken: Histogram<'deployment'>;
  readonly tokensPerSecond: Histogram<'deployment'>;
  readonly upstreamRetries: Counter<'provider' | 'reason'>;
  readonly targetRequests: Counter<'deployment' | 'target' | 'outcome'>;
  readonly targetBreakerState: Gauge<'deployment' | 'target'>;
  readonly targetCooldown: Gauge<'deployment' | 'target'>;
  readonly failovers: Counter<'deployment'>;
  readonly targetLatency: Histogram<'deployment' | 'target'>;
  readonly targetSkips: Counter<'deployment' | 'target' | 'cause'>;
  /** OpenTelemetry's GenAI metrics (`gen_ai.client.token.usage`, ...), in Prometheus' spelling. */
  readonly genAiTokenUsage: Histogram<GenAiLabel | 'gen_ai_token_type'>;
  readonly genAiOperationDuration: Histogram<GenAiLabel | 'error_type'>;
  readonly genAiTimeToFirstToken: Histogram<GenAiLabel>;
  /** Every target attempted so far, its label children bound once; the breaker gauge is re-read from their health on each scrape. */
  private readonly targets = new Map<string, TargetSeries>();
  private readonly failoverChildren = new Map<string, Counter.Internal>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'cerulean_process_' });
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'cerulean_requests_total',
      help: 'Inference requests by deployment, operation, stream type and HTTP status.',
      labelNames: ['deployment', 'status', 'operation', 'stream'],
      registers,
    });
    this.tokens = new Counter({
      name: 'cerulean_tokens_total',
      help: 'Tokens processed, by deployment and kind (prompt, completion).',
      labelNames: ['deployment', 'kind'],
      registers,
    });
    this.timeToResponse = new Histogram({
      name: 'cerulean_time_to_response_seconds',
      help: 'Time from request arrival to the complete response (last byte for streams).',
      labelNames: ['deployment', 'stream'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.timeToFirstToken = new Histogram({
      name: 'cerulean_time_to_first_token_seconds',
      help: 'Time from request arrival to the first streamed token.',
      labelNames: ['deployment'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.tokensPerSecond = new Histogram({
      name: 'cerulean_tokens_per_second',
      help: 'Generated completion tokens per second of generation time.',
      labelNames: ['deployment'],
      buckets: [1, 5, 10, 25, 50, 100, 200, 500, 1000],
      registers,
    });
    this.upstreamRetries = new Counter({
      name: 'cerulean_upstream_retries_total',
      help: 'Upstream attempts retried, by provider and reason (status or error code).',
      labelNames: ['provider', 'reason'],
      registers,
    });
    this.targetRequests = new Counter({
      name: 'cerulean_target_requests_total',
      help: 'Attempts at each target of a deployment, by outcome (ok, connect, timeout, status_5xx, rate_limited, stream_broken, deadline, caller_error).',
      labelNames: ['deployment', 'target', 'outcome'],
      registers,
    });
    const targets = this.targets;
    this.targetBreakerState = new Gauge({
      name: 'cerulean_target_breaker_state',
      help: "State of each target's circuit breaker on this replica: 0 closed, 1 half-open, 2 open.",
      labelNames: ['deployment', 'target'],
      registers,
      // An open breaker turns half-open with time alone, without an attempt to report it: read it again at scrape time.
      collect() {
        const now = Date.now();
        for (const series of targets.values()) series.breaker.set(BREAKER_VALUE[series.health.state(now)]);
      },
    });
    this.targetCooldown = new Gauge({
      name: 'cerulean_target_cooldown_seconds',
      help: 'Seconds left of the cooldown each target is in on this replica (after a 429, its retry-after; learnt from another replica too); 0 when none.',
      labelNames: ['deployment', 'target'],
      registers,
      // A cooldown lapses with time alone: read it again at scrape time.
      collect() {
        const now = Date.now();
        for (const series of targets.values()) series.cooldown.set(cooldownLeft(series.health, now));
      },
    });
    this.failovers = new Counter({
      name: 'cerulean_failovers_total',
      help: 'Requests answered by a target other than the first one tried, by the deployment asked for.',
      labelNames: ['deployment'],
      registers,
    });
    this.targetSkips = new Counter({
      name: 'cerulean_target_skips_total',
      help: 'Targets passed over without an attempt, by cause (quota_exhausted: its own tpm/rpm window was full).',
      labelNames: ['deployment', 'target', 'cause'],
      registers,
    });
    this.targetLatency = new Histogram({
      name: 'cerulean_target_latency_seconds',
      help: 'Time to first byte of successful attempts, by deployment and target.',
      labelNames: ['deployment', 'target'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    // https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-metrics/: names, units and bucket
    // boundaries as the conventions give them; dots become underscores and the unit a suffix
    // (`{token}` is an annotation, not a unit, so it adds none), as OpenTelemetry's Prometheus export does.
    const genAiLabels: GenAiLabel[] = ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model'];
    this.genAiTokenUsage = new Histogram({
      name: 'gen_ai_client_token_usage',
      help: 'Tokens used per inference request, by token type (input, output), operation, provider, requested deployment and answering model.',
      labelNames: [...genAiLabels, 'gen_ai_token_type'],
      buckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
      registers,
    });
    this.genAiOperationDuration = new Histogram({
      name: 'gen_ai_client_operation_duration_seconds',
      help: 'Duration of inference requests, from arrival to the last byte; `error_type` is the HTTP status of the ones that failed.',
      labelNames: [...genAiLabels, 'error_type'],
      buckets: [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
      registers,
    });
    this.genAiTimeToFirstToken = new Histogram({
      name: 'gen_ai_server_time_to_first_token_seconds',
      help: 'Time from arrival to the first token relayed, of streamed inference requests.',
      labelNames: genAiLabels,
      buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
      registers,
    });
  }

  /** Feeds the per-target series from the routing stage (`failover(table, metrics.failoverObserver())`). */
  failoverObserver(): TargetObserver {
    return {
      attempt: (route, outcome, latencyMs) => {
        const series = this.targetSeries(route);
        series.requests[outcome].inc();
        if (latencyMs !== undefined) series.latency.observe(latencyMs / 1000);
        const now = Date.now();
        series.breaker.set(BREAKER_VALUE[route.health.state(now)]);
        series.cooldown.set(cooldownLeft(route.health, now));
      },
      failedOver: (deployment) => {
        let child = this.failoverChildren.get(deployment);
        if (!child) {
          child = this.failovers.labels({ deployment });
          this.failoverChildren.set(deployment, child);
        }
        child.inc();
      },
      skipped: (route, cause) => {
        const series = this.targetSeries(route);
        series.skips[cause].inc();
      },
    };
  }

  private targetSeries(route: ObservedTarget): TargetSeries {
    // The target's own deployment: a fallback's targets are counted under the fallback, where their health lives.
    const deployment = route.target.deployment;
    const key = `${deployment}\u0000${route.id}`;
    let series = this.targets.get(key);
    if (!series) {
      const labels = { deployment, target: route.id };
      const requests = {} as Record<AttemptOutcome, Counter.Internal>;
      for (const outcome of ATTEMPT_OUTCOMES) requests[outcome] = this.targetRequests.labels({ ...labels, outcome });
      const skips = { quota_exhausted: this.targetSkips.labels({ ...labels, cause: 'quota_exhausted' }) };
      series = {
        requests,
        skips,
        latency: this.targetLatency.labels(labels),
        breaker: this.targetBreakerState.labels(labels),
        cooldown: this.targetCooldown.labels(labels),
        health: route.health,
      };
      this.targets.set(key, series);
    }
    // A reload that dropped the target and added it again gave it a fresh health: follow the one in use.
    series.health = route.health;
    return series;
  }
}

interface TargetSeries {
  readonly requests: Record<AttemptOutcome, Counter.Internal>;
  readonly skips: Record<SkipCause, Counter.Internal>;
  readonly latency: Histogram.Internal<string>;
  readonly breaker: Gauge.Internal<string>;
  readonly cooldown: Gauge.Internal<string>;
  health: TargetHealth;
}

/** Seconds until `health`'s cooldown ends, 0 when it is not cooling down. */
function cooldownLeft(health: TargetHealth, now: number): number {
  health.state(now); // lets a lapsed cooldown go
  const until = health.coolingUntil();
  return until === undefined ? 0 : Math.max(0, (until - now) / 1000);
}

const ATTEMPT_OUTCOMES: readonly AttemptOutcome[] = ['ok', 'connect', 'timeout', 'status_5xx', 'rate_limited', 'stream_broken', 'deadline', 'caller_error'];

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };
