import { performance } from 'node:perf_hooks';
import { CeruleanError, MeteringUnavailableError } from '../errors/catalogue.js';
import { readUsage } from '../providers/openai/openai-provider.js';
import type { JsonObject, Usage } from '../providers/provider.js';
import { ClientAbortedError } from '../providers/upstream-client.js';
import type { AdmitStage } from './admit.js';
import type { FilterStage } from './filter.js';
import { callProvider, type ProviderCall } from './call-provider.js';
import { checkSpillover } from './check-spillover.js';
import type { InferenceContext, PipelineResult } from './context.js';
import type { SseFrame } from './inbound-api.js';
import type { Meter } from './meter.js';
import { nameModel, renamedRaw, renameModel } from './name-model.js';
import type { DeploymentTable } from './pick-target.js';

/**
 * The request pipeline after authentication (which runs at the edge, before the body is read):
 * pick a target, admit (access, quota, budget), filter the prompt, call the provider, filter the
 * output, frame the answer in the caller's API, meter.
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
  /**
   * Wraps the provider call, the one seam around it (fallback routing, caching): gets the call it
   * wraps and returns the call the pipeline makes. Absent: the provider is called directly.
   */
  wrapProviderCall?: (next: ProviderCall) => ProviderCall;
  /** Told about a metering failure that happened after the answer was on its way (logged, never thrown). */
  onMeterError?: (error: unknown) => void;
}

/** How the edge writes the answer: the pipeline decides what, the writer knows the socket. */
export interface ResponseWriter {
  /** Called once before anything is sent, answer or error: headers the route adds (region, rate limits). */
  begin(context: InferenceContext): void;
  json(body: unknown, raw: string | undefined): void;
  /**
   * Writes events as they come; `beforeEnd` runs, and is awaited, before the final bytes; an error
   * after the first event becomes `error`'s frame. Resolves once the stream is over, whatever way.
   */
  stream(
    frames: AsyncIterable<SseFrame>,
    options: { end: string | undefined; error: (error: unknown) => SseFrame; beforeEnd: () => Promise<void> | undefined },
  ): Promise<void>;
}

export class Pipeline {
  private readonly options: PipelineOptions;
  /** The meters that can tell whether they could record now, found once. */
  private readonly gates: ReadonlyArray<Required<Pick<Meter, 'ready'>>>;
  private readonly call: ProviderCall;

  constructor(options: PipelineOptions) {
    this.options = options;
    this.gates = options.meters.filter((meter): meter is Meter & Required<Pick<Meter, 'ready'>> => meter.ready !== undefined);
    const direct: ProviderCall = (context, route) => callProvider(context, route, (reason) => options.onRetry?.(route.provider.name, reason));
    this.call = options.wrapProviderCall ? options.wrapProviderCall(direct) : direct;
  }

  /**
   * The whole request, answered through `writer` and metered exactly once, whether it ended in an
   * answer, an error (rethrown for the edge to render in the route's envelope) or a caller that
   * went away.
   */
  async handle(context: InferenceContext, writer: ResponseWriter): Promise<void> {
    try {
      const result = await this.run(context);
      writer.begin(context);
      if (result.kind === 'stream') {
        const api = context.api;
        await writer.stream(api.stream(this.observe(context, result.chunks), context), {
          end: api.streamEnd,
          error: (error) => api.streamError(error, context),
          beforeEnd: () => this.finish(context),
        });
        return;
      }
      const answer = await context.api.answer(result, context);
      context.status = 200;
      await this.finish(context);
      writer.json(answer.body, answer.raw);
    } catch (error) {
      context.status = error instanceof ClientAbortedError ? 499 : error instanceof CeruleanError ? error.status : 500;
      writer.begin(context);
      await this.finish(context);
      throw error;
    } finally {
      // The caller went away mid-stream, or something unforeseen: still metered, once.
      this.finish(context)?.catch((error: unknown) => this.options.onMeterError?.(error));
    }
  }

  /** Stages 2-6: pick a target, metering gate, admit (and check a named spillover deployment), complete the request, filter the prompt, call, filter the output. */
  async run(context: InferenceContext): Promise<PipelineResult> {
    const table = this.options.table();
    const route = table.pick(context.deployment, context.operation);
    context.route = route;
    const { admit, filter } = this.options;
    // An upstream's answer that could not be metered would be spent for nothing: refuse first,
    // before any quota is taken or classifier called.
    for (const gate of this.gates) if (!gate.ready()) throw new MeteringUnavailableError();
    if (admit) context.admission = await admit.admit(context);
    if (context.spillover !== undefined) checkSpillover(context, table, admit);
    context.filterApplies = filter ? filter.applies(context) : false;
    if (context.api.prepare) await context.api.prepare(context);
    if (filter) await filter.checkPrompt(context);
    const result = await this.call(context, route);
    nameModel(context, table.routesOf(context.deployment));
    if (result.kind === 'json') {
      context.usage = result.response.usage;
      const model = result.response.body.model;
      if (typeof model === 'string') context.responseModel = model;
      if (context.renameModel !== undefined) {
        // The upstream's bytes name another model: changed in place where that is unambiguous, else serialized anew.
        const raw = result.response.raw;
        const upstreamModel = result.response.body.model;
        renameModel(result.response.body, context.renameModel);
        result.response.raw = raw !== undefined && typeof upstreamModel === 'string' ? renamedRaw(raw, upstreamModel, context.renameModel) : undefined;
      }
      if (!filter) return { kind: 'json', body: result.response.body, raw: result.response.raw };
      const body = await filter.checkResponse(context, result.response.body);
      // An annotated body differs from the upstream's bytes: those can no longer be relayed as they are.
      return { kind: 'json', body, raw: body === result.response.body ? result.response.raw : undefined };
    }
    const chunks = filter ? filter.filterStream(context, result.chunks) : result.chunks;
    return { kind: 'stream', chunks };
  }

  /**
   * Names the answer's model in every chunk (see name-model.ts), captures the stream's usage (the last `choices: []` chunk), the model that answered, its time to first token, and how much
   * text it carried (for the estimate when the upstream never reports usage), for the meter stage.
   */
  private async *observe(context: InferenceContext, chunks: AsyncIterable<JsonObject>): AsyncGenerator<JsonObject> {
    context.streamedChars = 0;
    const rename = context.renameModel;
    for await (const chunk of chunks) {
      if (context.responseModel === undefined && typeof chunk.model === 'string') context.responseModel = chunk.model;
      if (rename !== undefined) renameModel(chunk, rename);
      if (chunk.usage != null) {
        const usage = readUsage(chunk.usage);
        if (usage) context.usage = usage;
      }
      const choices = chunk.choices as JsonObject[] | undefined;
      if (choices && choices.length > 0) {
        if (context.firstTokenAt === undefined) context.firstTokenAt = performance.now();
        context.streamedChars += generatedChars(choices);
      }
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
    // A stream that ended before the upstream reported usage (the caller went away, the output
    // filter cut it, the upstream broke off) still cost tokens: metered as estimated, never as free.
    if (context.usage === undefined && context.streamedChars !== undefined && context.route) {
      context.usage = estimatedStreamUsage(context, context.route.target.model, context.streamedChars);
      context.usageEstimated = true;
    }
    const finishedAt = performance.now();
    let durable: Array<Promise<void>> | undefined;
    for (const meter of this.options.meters) {
      const written = meter.record(context, finishedAt);
      if (written) (durable ??= []).push(written);
    }
    return durable && (durable.length === 1 ? durable[0] : Promise.all(durable).then(() => undefined));
  }
}

/** Characters of generated text in a chunk's choices: content, reasoning and tool-call arguments. */
function generatedChars(choices: JsonObject[]): number {
  let chars = 0;
  for (const choice of choices) {
    const delta = (choice.delta ?? choice) as { content?: unknown; text?: unknown; reasoning_content?: unknown; tool_calls?: unknown };
    if (typeof delta.content === 'string') chars += delta.content.length;
    if (typeof delta.text === 'string') chars += delta.text.length;
    if (typeof delta.reasoning_content === 'string') chars += delta.reasoning_content.length;
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as Array<{ function?: { arguments?: unknown } }>) {
        if (typeof call?.function?.arguments === 'string') chars += call.function.arguments.length;
      }
    }
  }
  return chars;
}

const NO_ALLOWANCE = { chat: 0, completions: 0, embeddings: 0, images: 0 } as const;

/**
 * Usage of a stream the upstream never reported: the prompt as admission counts it (its allowance
 * for generation set to nothing) and the text relayed at about four characters a token.
 */
function estimatedStreamUsage(context: InferenceContext, model: string, streamedChars: number): Usage {
  const promptOnly = { ...context.body, max_tokens: 0, max_completion_tokens: 0, n: 1, best_of: 1 };
  const prompt = context.api.estimateTokens(promptOnly, model, NO_ALLOWANCE);
  const completion = Math.ceil(streamedChars / 4);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
