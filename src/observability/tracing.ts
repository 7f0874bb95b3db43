import type { Tracer } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';

/** What tracing is built from (the configuration's `telemetry.traces`). */
export interface TracingOptions {
  readonly endpoint?: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly sample_ratio: number;
  readonly service_name?: string;
  readonly resource_attributes: Readonly<Record<string, string>>;
  readonly export_timeout_ms: number;
}

/** Where export trouble is reported: a warning when exports start failing, a line when they work again. */
export interface TracingLog {
  warn(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
}

/** A tracer whose spans are batched and exported, and the way to flush them. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Exports what is queued; resolves within the export timeout whatever the collector does. */
  flush(): Promise<void>;
  /** Exports what is queued (bounded like `flush`) and stops; later spans are dropped. */
  shutdown(): Promise<void>;
}

/**
 * The OpenTelemetry SDK's tracer provider, kept to this service: it is not registered as the
 * process's global provider, so nothing else in the process starts spans through it, and with
 * tracing off none is built at all. Spans go through a batch processor (a bounded queue: a
 * request never waits on the collector; what does not fit is dropped) to the OTLP/HTTP exporter,
 * which sends JSON and reads the standard `OTEL_EXPORTER_OTLP_*` variables for what the
 * configuration leaves unset. Sampling is parent-based: a caller's `traceparent` decides, and new
 * traces are kept at `sample_ratio`.
 */
export function startTracing(options: TracingOptions, log: TracingLog, version: string, exporter?: SpanExporter): Tracing {
  const timeout = options.export_timeout_ms;
  const otlp =
    exporter ??
    new OTLPTraceExporter({
      url: options.endpoint,
      headers: { ...options.headers },
      timeoutMillis: timeout,
    });
  const named = options.service_name === undefined ? {} : { 'service.name': options.service_name };
  const resource = resourceFromAttributes({ 'service.name': 'cerulean', 'service.version': version })
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(resourceFromAttributes({ ...options.resource_attributes, ...named }));
  const provider = new TracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sample_ratio) }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new ReportingExporter(otlp, log, options.endpoint), exportTimeoutMillis: timeout })],
  });
  const bounded = (work: Promise<void>): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeout + 1_000);
      timer.unref();
    });
    return Promise.race([work.catch(() => undefined), late]).finally(() => clearTimeout(timer));
  };
  return {
    tracer: provider.getTracer('cerulean', version),
    flush: () => bounded(provider.forceFlush({ timeoutMillis: timeout })),
    shutdown: () => bounded(provider.shutdown()),
  };
}

/**
 * The exporter, with its failures told once: a warning when exports start failing (the collector
 * unreachable, refusing, slow) and one line when they succeed again, instead of a line per batch.
 * The lines name the endpoint and the error, never the export headers (they often hold a token).
 */
class ReportingExporter implements SpanExporter {
  private failing = false;

  constructor(
    private readonly inner: SpanExporter,
    private readonly log: TracingLog,
    private readonly endpoint: string | undefined,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code === ExportResultCode.FAILED) {
        if (!this.failing) {
          this.failing = true;
          const error = result.error?.message ?? 'unknown error';
          this.log.warn({ endpoint: this.endpoint, error, dropped_spans: spans.length }, 'trace export failed; spans are dropped until the collector answers');
        }
      } else if (this.failing) {
        this.failing = false;
        this.log.info({ endpoint: this.endpoint }, 'trace export works again');
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
