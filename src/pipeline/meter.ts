import type { Counter, Histogram } from 'prom-client';
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

/** Feeds the Prometheus metrics: requests, tokens, time to response, time to first token, tokens/s. */
export class MetricsMeter implements Meter {
  private readonly metrics: Metrics;
  private readonly isDeployment: (name: string) => boolean;
  private readonly series = new Map<string, DeploymentSeries>();

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
  }
}
