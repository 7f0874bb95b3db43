import type { IncomingHttpHeaders } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type TextMapGetter, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { CeruleanError, UpstreamStatusError } from '../errors/catalogue.js';
import { GEN_AI_OPERATION, GEN_AI_PROVIDER } from '../observability/gen-ai.js';
import type { JsonObject, Operation } from '../providers/provider.js';
import type { ProviderCall } from './call-provider.js';
import type { InferenceContext } from './context.js';
import type { Meter } from './meter.js';
import type { Route } from './pick-target.js';

const propagator = new W3CTraceContextPropagator();

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headers[key],
};

const headerSetter = {
  set(carrier: Record<string, string>, key: string, value: string) {
    carrier[key] = value;
  },
};

/**
 * The request's spans, with the OpenTelemetry GenAI semantic conventions' names and attributes
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-spans/): one SERVER span per
 * inference request, `{gen_ai.operation.name} {deployment}`, the caller's valid `traceparent` its
 * parent; one CLIENT span per upstream attempt, `{gen_ai.operation.name} {model}`, its child, whose
 * own context is the `traceparent` the upstream receives, so the upstream continues the same trace.
 * Token usage, the answering model and finish reasons are recorded; prompt and completion content
 * never are. An attempt's span ends when its answer does (a stream's last chunk); the request's at
 * metering. Only built when tracing is configured: without it nothing here runs.
 */
export class TraceSpans {
  constructor(private readonly tracer: Tracer) {}

  /**
   * The request's span, the child of the caller's `traceparent` (a malformed one is ignored),
   * starting at `startedAt` (`performance.now()` at arrival).
   */
  start(headers: IncomingHttpHeaders, deployment: string, operation: Operation, requestId: string, api: string, startedAt: number): Span {
    const parent = headers.traceparent === undefined ? ROOT_CONTEXT : propagator.extract(ROOT_CONTEXT, headers, headerGetter);
    const name = GEN_AI_OPERATION[operation];
    return this.tracer.startSpan(
      `${name} ${deployment}`,
      {
        kind: SpanKind.SERVER,
        startTime: startedAt,
        attributes: {
          'gen_ai.operation.name': name,
          'gen_ai.request.model': deployment,
          'cerulean.deployment': deployment,
          'cerulean.api': api,
          'cerulean.request_id': requestId,
        },
      },
      parent,
    );
  }

  /**
   * Wraps the provider call of one attempt (inside the routing stage, so once per target tried):
   * its span, the `traceparent` sent upstream, and how it ended.
   */
  attempts(next: ProviderCall): ProviderCall {
    return async (context, route) => {
      const parent = context.span;
      if (parent === undefined) return next(context, route);
      const span = this.tracer.startSpan(
        `${GEN_AI_OPERATION[context.operation]} ${route.target.model}`,
        attemptStart(context, route),
        trace.setSpan(ROOT_CONTEXT, parent),
      );
      const headers: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, headerSetter);
      context.traceHeaders = headers;
      let result;
      try {
        result = await next(context, route);
      } catch (error) {
        failed(span, error);
        span.end();
        throw error;
      }
      span.setAttribute('http.response.status_code', result.status);
      if (result.kind === 'json') {
        const body = result.response.body;
        if (typeof body.model === 'string') span.setAttribute('gen_ai.response.model', body.model);
        const reasons = finishReasons(body.choices, undefined);
        if (reasons) {
          span.setAttribute('gen_ai.response.finish_reasons', reasons);
          parent.setAttribute('gen_ai.response.finish_reasons', reasons);
        }
        const usage = result.response.usage;
        if (usage) span.setAttributes({ 'gen_ai.usage.input_tokens': usage.prompt_tokens, 'gen_ai.usage.output_tokens': usage.completion_tokens });
        span.end();
        return result;
      }
      return { kind: 'stream', status: result.status, chunks: followStream(span, parent, result.chunks) };
    };
  }

  /** Stage "meter" for the request's span: what the request came to, then its end. */
  readonly meter: Meter = {
    record(context: InferenceContext, finishedAt: number) {
      const span = context.span;
      if (span === undefined) return;
      const attributes: Attributes = {};
      const route = context.route;
      if (route) {
        attributes['gen_ai.provider.name'] = GEN_AI_PROVIDER[route.provider.type];
        attributes['gen_ai.system'] = GEN_AI_PROVIDER[route.provider.type];
      }
      if (context.responseModel !== undefined) attributes['gen_ai.response.model'] = context.responseModel;
      const usage = context.usage;
      if (usage) {
        attributes['gen_ai.usage.input_tokens'] = usage.prompt_tokens;
        attributes['gen_ai.usage.output_tokens'] = usage.completion_tokens;
        if (context.usageEstimated) attributes['cerulean.usage_estimated'] = true;
      }
      if (context.projectId !== undefined) attributes['cerulean.project'] = context.projectId;
      const tried = context.targetsTried;
      attributes['cerulean.attempts'] = tried?.length ?? 0;
      if (tried && tried.length > 0) attributes['cerulean.target'] = tried[tried.length - 1];
      if (context.filtered) attributes['cerulean.filtered'] = true;
      const status = context.status ?? 0;
      attributes['http.response.status_code'] = status;
      if (status >= 400) attributes['error.type'] = String(status);
      span.setAttributes(attributes);
      // A server span is an error when the server failed (5xx), not when it refused a caller (4xx):
      // OpenTelemetry's HTTP conventions; 499 (the caller went away) is neither.
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: String(status) });
      span.end(finishedAt);
    },
  };
}

function attemptStart(context: InferenceContext, route: Route): { kind: SpanKind; attributes: Attributes } {
  const provider = GEN_AI_PROVIDER[route.provider.type];
  const attributes: Attributes = {
    'gen_ai.operation.name': GEN_AI_OPERATION[context.operation],
    'gen_ai.provider.name': provider,
    'gen_ai.system': provider,
    'gen_ai.request.model': route.target.model,
    'cerulean.deployment': route.target.deployment,
    'cerulean.target': route.id,
    'cerulean.provider': route.provider.name,
    'cerulean.region': route.region,
  };
  const origin = originOf(route.provider.origin);
  if (origin) {
    attributes['server.address'] = origin.address;
    attributes['server.port'] = origin.port;
  }
  return { kind: SpanKind.CLIENT, attributes };
}

const origins = new Map<string, { address: string; port: number } | null>();

/** `server.address` and `server.port` of a provider's origin, parsed once per origin. */
function originOf(origin: string): { address: string; port: number } | null {
  let parsed = origins.get(origin);
  if (parsed === undefined) {
    try {
      const url = new URL(origin);
      const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
      parsed = { address: url.hostname.replace(/^\[|\]$/g, ''), port };
    } catch {
      parsed = null;
    }
    origins.set(origin, parsed);
  }
  return parsed;
}

/**
 * Marks an attempt failed: `error.type` is the upstream's status for a status error, else the
 * error's catalogue code (`upstream_unreachable`, `upstream_timeout`, ...). The message is left
 * out: an upstream's error text may quote the request.
 */
function failed(span: Span, error: unknown): void {
  let type: string;
  if (error instanceof UpstreamStatusError && error.upstreamStatus !== undefined) {
    type = String(error.upstreamStatus);
    span.setAttribute('http.response.status_code', error.upstreamStatus);
  } else if (error instanceof CeruleanError && error.code !== null) type = error.code;
  else type = error instanceof Error ? error.name : '_OTHER';
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/** The non-null `finish_reason`s of chat-shaped choices, added to `into`. */
function finishReasons(choices: unknown, into: string[] | undefined): string[] | undefined {
  if (!Array.isArray(choices)) return into;
  for (const choice of choices as Array<{ finish_reason?: unknown } | null>) {
    const reason = choice?.finish_reason;
    if (typeof reason === 'string') (into ??= []).push(reason);
  }
  return into;
}

/** The attempt's stream, relayed as it is; its span ends with it (finished, broken, or abandoned by the caller). */
async function* followStream(span: Span, parent: Span, chunks: AsyncIterable<JsonObject>): AsyncGenerator<JsonObject> {
  let reasons: string[] | undefined;
  let model: string | undefined;
  try {
    for await (const chunk of chunks) {
      if (model === undefined && typeof chunk.model === 'string') model = chunk.model;
      reasons = finishReasons(chunk.choices, reasons);
      if (chunk.usage != null && typeof chunk.usage === 'object') {
        const usage = chunk.usage as { prompt_tokens?: unknown; completion_tokens?: unknown };
        if (typeof usage.prompt_tokens === 'number') span.setAttribute('gen_ai.usage.input_tokens', usage.prompt_tokens);
        if (typeof usage.completion_tokens === 'number') span.setAttribute('gen_ai.usage.output_tokens', usage.completion_tokens);
      }
      yield chunk;
    }
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    if (model !== undefined) span.setAttribute('gen_ai.response.model', model);
    if (reasons) {
      span.setAttribute('gen_ai.response.finish_reasons', reasons);
      parent.setAttribute('gen_ai.response.finish_reasons', reasons);
    }
    span.end();
  }
}
