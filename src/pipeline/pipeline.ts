import { performance } from 'node:perf_hooks';
import { MeteringUnavailableError } from '../errors/catalogue.js';
import { readUsage } from '../providers/openai/openai-provider.js';
import type { JsonObject } from '../providers/provider.js';
import type { AdmitStage } from './admit.js';
import type { FilterStage } from './filter.js';
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
  /** Absent when no content filtering is configured. */
  filter?: FilterStage;
  meters: readonly Meter[];
  onRetry?: (provider: string, reason: string) => void;
}

export class Pipeline {
  private readonly options: PipelineOptions;
  /** The meters that can tell whether they could record now, found once. */
  private readonly gates: ReadonlyArray<Required<Pick<Meter, 'ready'>>>;

  constructor(options: PipelineOptions) {
    this.options = options;
    this.gates = options.meters.filter((meter): meter is Meter & Required<Pick<Meter, 'ready'>> => meter.ready !== undefined);
  }

  async run(context: InferenceContext): Promise<PipelineResult> {
    const route = this.options.table().pick(context.deployment, context.operation);
    context.route = route;
    const { admit, filter, onRetry } = this.options;
    // An upstream's answer that could not be metered would be spent for nothing: refuse first,
    // before any quota is taken or classifier called.
    for (const gate of this.gates) if (!gate.ready()) throw new MeteringUnavailableError();
    if (admit) context.admission = await admit.admit(context);
    if (filter) await filter.checkPrompt(context);
    const result = await callProvider(context, route, (reason) => onRetry?.(route.provider.name, reason));
    if (result.kind === 'json') {
      context.usage = result.response.usage;
      if (!filter) return { kind: 'json', body: result.response.body, raw: result.response.raw };
      const body = await filter.checkResponse(context, result.response.body);
      // An annotated body differs from the upstream's bytes: those can no longer be relayed as they are.
      return { kind: 'json', body, raw: body === result.response.body ? result.response.raw : undefined };
    }
    const chunks = filter ? filter.filterStream(context, result.chunks) : result.chunks;
    return { kind: 'stream', chunks: this.relay(context, chunks) };
  }

  /**
   * Captures usage and time to first token from the stream, and hides the usage chunk (and the
   * `usage: null` fields) Cerulean asked the upstream for when the caller did not ask for them.
   * On OpenAI routes every chunk stays valid against OpenAI's chunk schema whatever the upstream
   * (an Azure upstream's extra frames): no frame without choices but the usage chunk, and a
   * `delta` on every chat choice.
   */
  private async *relay(context: InferenceContext, chunks: AsyncIterable<JsonObject>): AsyncGenerator<JsonObject> {
    const openAIChat = context.shape !== 'azure' && context.operation === 'chat';
    for await (const chunk of chunks) {
      const choices = chunk.choices as unknown[] | undefined;
      if (openAIChat) {
        if (!choices || choices.length === 0) {
          if (chunk.usage == null) continue;
        } else {
          for (const choice of choices as JsonObject[]) if (choice.delta === undefined) choice.delta = {};
        }
      }
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
  finish(context: InferenceContext): Promise<void> | undefined {
    if (context.metered) return undefined;
    context.metered = true;
    const finishedAt = performance.now();
    let durable: Array<Promise<void>> | undefined;
    for (const meter of this.options.meters) {
      const written = meter.record(context, finishedAt);
      if (written) (durable ??= []).push(written);
    }
    return durable && (durable.length === 1 ? durable[0] : Promise.all(durable).then(() => undefined));
  }
}
