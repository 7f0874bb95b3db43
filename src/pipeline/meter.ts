import type { Metrics } from '../observability/metrics.js';
import type { InferenceContext } from './context.js';

/** Stage "meter": told once about every finished request, stream or not, success or failure. */
export interface Meter {
  /** May return a promise that settles once the record is durable; the response's last bytes wait for it. */
  record(context: InferenceContext, finishedAt: number): void | Promise<void> | undefined;
}

/** Feeds the Prometheus metrics: requests, tokens, time to response, time to first token, tokens/s. */
export class MetricsMeter implements Meter {
  private readonly metrics: Metrics;
  constructor(metrics: Metrics) {
    this.metrics = metrics;
  }

  record(context: InferenceContext, finishedAt: number): void {
    const { metrics } = this;
    const deployment = context.deployment;
    const stream = context.stream ? 'streaming' : 'non-streaming';
    metrics.requests.inc({ deployment, status: String(context.status ?? 0), operation: context.operation, stream });
    const seconds = (finishedAt - context.startedAt) / 1000;
    metrics.timeToResponse.observe({ deployment, stream }, seconds);
    if (context.firstTokenAt !== undefined) metrics.timeToFirstToken.observe({ deployment }, (context.firstTokenAt - context.startedAt) / 1000);
    const usage = context.usage;
    if (usage) {
      if (usage.prompt_tokens > 0) metrics.tokens.inc({ deployment, kind: 'prompt' }, usage.prompt_tokens);
      if (usage.completion_tokens > 0) {
        metrics.tokens.inc({ deployment, kind: 'completion' }, usage.completion_tokens);
        const generationSeconds = (finishedAt - (context.firstTokenAt ?? context.startedAt)) / 1000;
        if (generationSeconds > 0) metrics.tokensPerSecond.observe({ deployment }, usage.completion_tokens / generationSeconds);
      }
    }
  }
}
