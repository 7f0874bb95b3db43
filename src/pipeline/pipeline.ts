import { performance } from 'node:perf_hooks';
import { readUsage } from '../providers/openai/openai-provider.js';
import type { JsonObject } from '../providers/provider.js';
import type { AdmitStage } from './admit.js';
import { callProvider } from './call-provider.js';
import type { InferenceContext, PipelineResult } from './context.js';
import type { Meter } from './meter.js';
import type { DeploymentTable } from './pick-target.js';

/**
 * The request pipeline after authentication (which runs at the edge, before the body is read):
 * pick a target, admit (access, quota, budget), call the provider, relay the answer, meter.
 */
export interface PipelineOptions {
  /** The current deployment table; read per request so a reload takes effect at once. */
  table: () => DeploymentTable;
  /** Absent when no governance is configured: every authenticated request is admitted. */
  admit?: AdmitStage;
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
    if (this.options.admit) context.admission = await this.options.admit.admit(context);
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

  /**
   * Stage "meter": runs once per request, just before the last byte of the response is written
   * (or when the caller went away), so that what the caller received is always metered.
   */
  finish(context: InferenceContext): void {
    if (context.metered) return;
    context.metered = true;
    const finishedAt = performance.now();
    for (const meter of this.options.meters) meter.record(context, finishedAt);
  }
}
