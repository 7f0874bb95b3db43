import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type TracingLog } from '../../src/observability/tracing.js';
import { startOtlpReceiver, type OtlpReceiver } from '../fixtures/otlp-receiver.js';

/** The exporter's side of tracing: export failures told once, never with the export headers; sampling of new traces. */
let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});

afterAll(async () => {
  await receiver?.close();
});

function capture(): TracingLog & { lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> } {
  const lines: Array<{ level: string; fields: Record<string, unknown>; message: string }> = [];
  return {
    lines,
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    info: (fields, message) => lines.push({ level: 'info', fields, message }),
  };
}

const options = (endpoint: string, extra: { sample_ratio?: number } = {}) => ({
  endpoint: `${endpoint}/v1/traces`,
  headers: { authorization: 'Bearer do-not-log-me' },
  sample_ratio: extra.sample_ratio ?? 1,
  resource_attributes: {},
  export_timeout_ms: 1_000,
});

describe('trace export', () => {
  it('logs failing exports once, without the headers, and once more when they work again', async () => {
    const log = capture();
    const tracing = startTracing(options(receiver.url), log, 'test');
    receiver.answer(400);
    try {
      for (let i = 0; i < 3; i += 1) {
        tracing.tracer.startSpan(`failing ${i}`).end();
        await tracing.flush();
      }
      expect(log.lines.map((line) => line.level)).toEqual(['warn']);
      expect(log.lines[0].message).toContain('trace export failed');
      expect(log.lines[0].fields.endpoint).toBe(`${receiver.url}/v1/traces`);
      expect(JSON.stringify(log.lines)).not.toContain('do-not-log-me');

      receiver.answer(200);
      tracing.tracer.startSpan('working').end();
      await tracing.flush();
      expect(log.lines.map((line) => line.level)).toEqual(['warn', 'info']);
      expect(receiver.spans.map((span) => span.name)).toContain('working');
      expect(receiver.exports.at(-1)?.authorization).toBe('Bearer do-not-log-me');
    } finally {
      receiver.answer(200);
      await tracing.shutdown();
    }
  });

  it('takes the endpoint, headers and service name from the standard OTEL_* variables when the configuration leaves them out', async () => {
    const names = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_SERVICE_NAME'] as const;
    const saved = names.map((name) => process.env[name]);
    Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=blue', OTEL_SERVICE_NAME: 'gateway-eu' });
    try {
      const tracing = startTracing({ headers: {}, sample_ratio: 1, resource_attributes: {}, export_timeout_ms: 1_000 }, capture(), 'test');
      tracing.tracer.startSpan('from the environment').end();
      await tracing.shutdown();
    } finally {
      names.forEach((name, index) => {
        if (saved[index] === undefined) delete process.env[name];
        else process.env[name] = saved[index];
      });
    }
    const span = receiver.spans.find((received) => received.name === 'from the environment');
    expect(span?.resource['service.name']).toBe('gateway-eu');
    expect(receiver.exports.at(-1)?.['x-tenant']).toBe('blue');
  });

  it('records new traces at the sample ratio: none at 0', async () => {
    const tracing = startTracing(options(receiver.url, { sample_ratio: 0 }), capture(), 'test');
    const span = tracing.tracer.startSpan('never kept');
    expect(span.isRecording()).toBe(false);
    span.end();
    await tracing.shutdown();
    expect(receiver.spans.map((received) => received.name)).not.toContain('never kept');
  });
});
