import type { Counter, Histogram } from 'prom-client';
import { GEN_AI_OPERATION, GEN_AI_PROVIDER } from '../observability/gen-ai.js';
import type { Metrics } from '../observability/metrics.js';
import type { InferenceContext } from './context.js';

/** Stage "meter": told once about every finished request, stream or not, success or failure. */
export interface Meter {
  /** May return a promise that settles once the record is durable; the response's last bytes wait for it. */
  record(context: InferenceContext, finishedAt: number): void | Promise<void> | undefined;
  /** Whether a record could be kept now; when false the request is refused before its upstream is called. */
  ready?(): boolean;
}

/** Label value for requests that named no configured deployment: caller-chosen names must not become label sets. */
export const UNKNOWN_DEPLOYMENT = '(unknown)';

/** A deployment's metric children, bound to their labels once (prom-client hashes label objects per call otherwise). */
type CounterChild = Counter.Internal;
type HistogramChild = Histogram.Internal<string>;
interface DeploymentSeries {
  readonly requests: Map<string, CounterChild>;
  readonly timeToResponse: { streaming: HistogramChild; 'non-streaming': HistogramChild };
  readonly timeToFirstToken: HistogramChild;
  readonly promptTokens: CounterChild;
  readonly completionTokens: CounterChild;
  readonly tokensPerSecond: HistogramChild;
}

/** The GenAI series of one (deployment, provider, operation, answering model). */
interface GenAiSeries {
  readonly inputTokens: HistogramChild;
  readonly outputTokens: HistogramChild;
  readonly timeToFirstToken: HistogramChild;
  /** By `error_type`: '' for success, else the HTTP status. */
  readonly duration: Map<string, HistogramChild>;
  readonly labels: Record<'gen_ai_operation_name' | 'gen_ai_provider_name' | 'gen_ai_request_model' | 'gen_ai_response_model', string>;
}

/** Distinct answering models kept as label values per deployment; past this they count as `(other)`. */
const RESPONSE_MODELS_PER_DEPLOYMENT = 16;

/**
 * Feeds the Prometheus metrics: requests, tokens, time to response, time to first token, tokens/s,
 * and OpenTelemetry's GenAI metrics (token usage, operation duration, time to first token).
 */
export class MetricsMeter implements Meter {
  private readonly metrics: Metrics;
  private readonly isDeployment: (name: string) => boolean;
  private readonly series = new Map<string, DeploymentSeries>();
  private readonly genAi = new Map<string, GenAiSeries>();
  /** Per deployment, the answering models seen so far (the upstream names them: bounded here). */
  private readonly responseModels = new Map<string, Set<string>>();

  /** `isDeployment` tells the configured deployment names (the table in force) from anything else. */
  constructor(metrics: Metrics, isDeployment: (name: string) => boolean) {
    this.metrics = metrics;
    this.isDeployment = isDeployment;
  }

  private seriesOf(deployment: string): DeploymentSeries {
    let series = this.series.get(deployment);
    if (!series) {
      const { metrics } = this;
      series = {
        requests: new Map(),
        timeToResponse: {
          streaming: metrics.timeToResponse.labels({ deployment, stream: 'streaming' }),
          'non-streaming': metrics.timeToResponse.labels({ deployment, stream: 'non-streaming' }),
        },
        timeToFirstToken: metrics.timeToFirstToken.labels({ deployment }),
        promptTokens: metrics.tokens.labels({ deployment, kind: 'prompt' }),
        completionTokens: metrics.tokens.labels({ deployment, kind: 'completion' }),
        tokensPerSecond: metrics.tokensPerSecond.labels({ deployment }),
      };
      this.series.set(deployment, series);
    }
    return series;
  }

  record(context: InferenceContext, finishedAt: number): void {
    // Only deployments of the configuration (a bounded set) become label values.
    const deployment = context.route || this.isDeployment(context.deployment) ? context.deployment : UNKNOWN_DEPLOYMENT;
    const series = this.seriesOf(deployment);
    const stream = context.stream ? 'streaming' : 'non-streaming';
    const status = String(context.status ?? 0);
    const requestKey = `${status} ${context.operation} ${stream}`;
    let requests = series.requests.get(requestKey);
    if (!requests) {
      requests = this.metrics.requests.labels({ deployment, status, operation: context.operation, stream });
      series.requests.set(requestKey, requests);
    }
    requests.inc();
    series.timeToResponse[stream].observe((finishedAt - context.startedAt) / 1000);
    if (context.firstTokenAt !== undefined) series.timeToFirstToken.observe((context.firstTokenAt - context.startedAt) / 1000);
    const usage = context.usage;
    if (usage) {
      if (usage.prompt_tokens > 0) series.promptTokens.inc(usage.prompt_tokens);
      if (usage.completion_tokens > 0) {
        series.completionTokens.inc(usage.completion_tokens);
        const generationSeconds = (finishedAt - (context.firstTokenAt ?? context.startedAt)) / 1000;
        if (generationSeconds > 0) series.tokensPerSecond.observe(usage.completion_tokens / generationSeconds);
      }
    }
    // The GenAI metrics are about a model's work: requests that reached a deployment's target.
    if (context.route) this.recordGenAi(context, deployment, finishedAt);
  }

  private recordGenAi(context: InferenceContext, deployment: string, finishedAt: number): void {
    const route = context.route as NonNullable<InferenceContext['route']>;
    const responseModel = this.responseModelLabel(deployment, context.responseModel);
    const key = `${deployment}\u0000${route.provider.type}\u0000${context.operation}\u0000${responseModel}`;
    let series = this.genAi.get(key);
    if (!series) {
      const labels = {
        gen_ai_operation_name: GEN_AI_OPERATION[context.operation],
        gen_ai_provider_name: GEN_AI_PROVIDER[route.provider.type],
        gen_ai_request_model: deployment,
        gen_ai_response_model: responseModel,
      };
      const { metrics } = this;
      series = {
        inputTokens: metrics.genAiTokenUsage.labels({ ...labels, gen_ai_token_type: 'input' }),
        outputTokens: metrics.genAiTokenUsage.labels({ ...labels, gen_ai_token_type: 'output' }),
        timeToFirstToken: metrics.genAiTimeToFirstToken.labels(labels),
        duration: new Map(),
        labels,
      };
      this.genAi.set(key, series);
    }
    const status = context.status ?? 0;
    const errorType = status >= 400 ? String(status) : '';
    let duration = series.duration.get(errorType);
    if (!duration) {
      duration = this.metrics.genAiOperationDuration.labels({ ...series.labels, error_type: errorType });
      series.duration.set(errorType, duration);
    }
    duration.observe((finishedAt - context.startedAt) / 1000);
    if (context.firstTokenAt !== undefined) series.timeToFirstToken.observe((context.firstTokenAt - context.startedAt) / 1000);
    const usage = context.usage;
    if (usage) {
      series.inputTokens.observe(usage.prompt_tokens);
      series.outputTokens.observe(usage.completion_tokens);
    }
  }

  /** The answering model as a label value: the first few per deployment by name, later ones `(other)`, none ''. */
  private responseModelLabel(deployment: string, model: string | undefined): string {
    if (model === undefined) return '';
    let seen = this.responseModels.get(deployment);
    if (!seen) this.responseModels.set(deployment, (seen = new Set()));
    if (seen.has(model)) return model;
    if (seen.size >= RESPONSE_MODELS_PER_DEPLOYMENT) return '(other)';
    seen.add(model);
    return model;
  }
}
