import { performance } from 'node:perf_hooks';
import { readUsage } from '../providers/openai/openai-provider.js';
import type { JsonObject } from '../providers/provider.js';
import { callProvider } from './call-provider.js';
import type { InferenceContext, PipelineResult } from './context.js';
import type { Meter } from './meter.js';
import type { DeploymentTable } from './pick-target.js';

/**
 * The request pipeline after authentication (which runs at the edge, before the body is read):
 * pick a target, call the provider, relay the answer, meter. Admission against quotas and the
 * prompt and output filters plug in between these stages as further stage lists.
 */
export interface PipelineOptions {
  /** The current deployment table; read per request so a reload takes effect at once. */
  table: () => DeploymentTable;
  meters: readonly Meter[];
  onRetry?: (provider: string, reason: string) => void;
}

export class Pipeline {
  private readonly options: PipelineOptions;

  constructor(options: PipelineOptions) {
    this.options = options;
  }

  async run(context: InferenceContext): Promise<PipelineResult> {
    const route = this.options.table().pick(context.deployment, context.operation);
    context.route = route;
    const onRetry = this.options.onRetry;
    const result = await callProvider(context, route, (reason) => onRetry?.(route.provider.name, reason));
    if (result.kind === 'json') {
      context.usage = result.response.usage;
      return { kind: 'json', body: result.response.body, raw: result.response.raw };
    }
    return { kind: 'stream', chunks: this.relay(context, result.chunks) };
  }

  /**
   * Captures usage and time to first token from the stream, and hides the usage chunk (and the
   * `usage: null` fields) Cerulean asked the upstream for when the caller did not ask for them.
   */
  private async *relay(context: InferenceContext, chunks: AsyncIterable<JsonObject>): AsyncGenerator<JsonObject> {
    for await (const chunk of chunks) {
      const choices = chunk.choices as unknown[] | undefined;
      if (chunk.usage != null) {
        const usage = readUsage(chunk.usage);
        if (usage) context.usage = usage;
        if (!context.includeUsage) {
          if (!choices || choices.length === 0) continue;
          delete chunk.usage;
        }
      } else if (!context.includeUsage && 'usage' in chunk) {
        delete chunk.usage;
      }
      if (context.firstTokenAt === undefined && choices && choices.length > 0) context.firstTokenAt = performance.now();
      yield chunk;
    }
  }

  /** Stage "meter": called once per request when the response is complete or abandoned. */
  finish(context: InferenceContext): void {
    const finishedAt = performance.now();
    for (const meter of this.options.meters) meter.record(context, finishedAt);
  }
}
