import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
  }
}
