import OpenAI from 'openai';
import { trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_TEXT, startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../fixtures/otlp-receiver.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * OpenTelemetry traces through Cerulean, exported over OTLP/HTTP to an in-process receiver: one
 * SERVER span per request (the caller's `traceparent` its parent), one CLIENT span per attempt
 * (its context the `traceparent` the upstream gets), GenAI attributes, never content.
 */
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;
const PROMPT = 'Tell me something about lighthouses';

let upstream: FaultUpstream;
let receiver: OtlpReceiver;

const config = (receiverUrl: string, traces = '') => `
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
deployments:
  chat:
    strategy: priority
    targets:
      - { provider: up, model: first }
      - { provider: up, model: second, priority: 1 }
content_safety:
  deployments: { chat: none }
telemetry:
  traces:
    enabled: true
    endpoint: "${receiverUrl}/v1/traces"
    headers: { authorization: "Bearer \${OTLP_TOKEN}" }
    service_name: cerulean-test
    resource_attributes: { deployment.environment.name: test }
    ${traces}
`;

beforeAll(async () => {
  upstream = await startFaultUpstream();
  receiver = await startOtlpReceiver();
});

afterAll(async () => {
  await upstream?.close();
  await receiver?.close();
});

beforeEach(() => {
  for (const model of ['first', 'second']) upstream.setFallback({ kind: 'ok' }, model);
});

/** A caller's W3C trace context: a fresh trace id and parent span id, sampled unless said otherwise. */
function callerContext(sampled = true): { traceId: string; parentId: string; traceparent: string } {
  const hex = (bytes: number) =>
    Array.from({ length: bytes }, () =>
      Math.floor(Math.random() * 256 + 256)
        .toString(16)
        .slice(1),
    ).join('');
  const traceId = hex(16);
  const parentId = hex(8);
  return { traceId, parentId, traceparent: `00-${traceId}-${parentId}-${sampled ? '01' : '00'}` };
}

const ofTrace = (traceId: string): ReceivedSpan[] => receiver.spans.filter((span) => span.traceId === traceId);

describe('traces of requests', () => {
  let cerulean: GovernedCerulean;
  let client: OpenAI;

  beforeAll(async () => {
    cerulean = await startGovernedCerulean(config(receiver.url), { OTLP_TOKEN: 'otlp-secret-token' });
    client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  });

  afterAll(async () => {
    await cerulean?.close();
  });

  it('gives a failed-over request one span and each attempt its own child span, in the caller’s trace, and the upstream each attempt’s context', async () => {
    const caller = callerContext();
    upstream.script([{ kind: 'status', status: 503 }], 'first');
    const before = upstream.requests.length;
    const completion = await client.chat.completions.create(
      { model: 'chat', messages: [{ role: 'user', content: PROMPT }] },
      { headers: { traceparent: caller.traceparent, tracestate: 'vendor=abc' } },
    );
    expect(completion.choices[0].message.content).toBe(DEFAULT_TEXT);
    await cerulean.tracing?.flush();

    const spans = ofTrace(caller.traceId);
    expect(spans).toHaveLength(3);
    const request = spans.find((span) => span.kind === SERVER) as ReceivedSpan;
    const attempts = spans
      .filter((span) => span.kind === CLIENT)
      .sort((a, b) => String(a.attributes['cerulean.target']).localeCompare(String(b.attributes['cerulean.target'])));
    expect(request.name).toBe('chat chat');
    expect(request.parentSpanId).toBe(caller.parentId);
    expect(attempts.map((span) => span.name)).toEqual(['chat first', 'chat second']);
    for (const attempt of attempts) {
      expect(attempt.parentSpanId).toBe(request.spanId);
      expect(attempt.start).toBeGreaterThanOrEqual(request.start);
      expect(attempt.end).toBeLessThanOrEqual(request.end);
    }
    expect(attempts[1].start).toBeGreaterThanOrEqual(attempts[0].end);
    expect(Math.abs(request.end - Date.now())).toBeLessThan(5_000);

    // The upstream continued the trace from each attempt's own span.
    const sent = upstream.requests.slice(before);
    expect(sent.map((request) => request.model)).toEqual(['first', 'second']);
    expect(sent.map((request) => request.traceparent)).toEqual(attempts.map((attempt) => `00-${caller.traceId}-${attempt.spanId}-01`));

    const [failed, answered] = attempts;
    const port = Number(new URL(upstream.url).port);
    expect(failed.status.code).toBe(ERROR);
    expect(failed.attributes).toMatchObject({
      'error.type': '503',
      'http.response.status_code': 503,
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai_compatible',
      'gen_ai.request.model': 'first',
      'server.address': '127.0.0.1',
      'server.port': port,
      'cerulean.target': 'up/first',
      'cerulean.provider': 'up',
      'cerulean.deployment': 'chat',
    });
    const usage = completion.usage as NonNullable<typeof completion.usage>;
    expect(answered.status.code).toBe(0);
    expect(answered.attributes['error.type']).toBeUndefined();
    expect(answered.attributes).toMatchObject({
      'http.response.status_code': 200,
      'gen_ai.request.model': 'second',
      'gen_ai.response.model': 'second',
      'gen_ai.usage.input_tokens': usage.prompt_tokens,
      'gen_ai.usage.output_tokens': usage.completion_tokens,
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(request.status.code).toBe(0);
    expect(request.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai_compatible',
      'gen_ai.system': 'openai_compatible',
      'gen_ai.request.model': 'chat',
      'gen_ai.response.model': 'second',
      'gen_ai.usage.input_tokens': usage.prompt_tokens,
      'gen_ai.usage.output_tokens': usage.completion_tokens,
      'gen_ai.response.finish_reasons': ['stop'],
      'cerulean.deployment': 'chat',
      'cerulean.attempts': 2,
      'cerulean.target': 'up/second',
      'http.response.status_code': 200,
    });
    expect(request.resource).toMatchObject({ 'service.name': 'cerulean-test', 'deployment.environment.name': 'test' });
    expect(receiver.exports.at(-1)?.authorization).toBe('Bearer otlp-secret-token');

    // Neither the prompt nor the completion is recorded anywhere.
    const recorded = JSON.stringify(spans.map((span) => span.attributes));
    expect(recorded).not.toContain('lighthouses');
    expect(recorded).not.toContain('fault upstream');
  });

  it('ends a stream’s spans when the stream ends, and marks a stream cut mid-way as an error on both', async () => {
    const caller = callerContext();
    const stream = await client.chat.completions.create(
      { model: 'chat', messages: [{ role: 'user', content: PROMPT }], stream: true, stream_options: { include_usage: true } },
      { headers: { traceparent: caller.traceparent } },
    );
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe(DEFAULT_TEXT);

    const cut = callerContext();
    upstream.script([{ kind: 'reset_during', afterChunks: 2 }], 'first');
    const broken = await client.chat.completions.create(
      { model: 'chat', messages: [{ role: 'user', content: PROMPT }], stream: true },
      { headers: { traceparent: cut.traceparent } },
    );
    await expect(async () => {
      for await (const _chunk of broken) void _chunk;
    }).rejects.toThrow();
    await cerulean.tracing?.flush();

    const [request, attempt] = [SERVER, CLIENT].map((kind) => ofTrace(caller.traceId).find((span) => span.kind === kind) as ReceivedSpan);
    expect(request.attributes).toMatchObject({ 'gen_ai.response.model': 'first', 'gen_ai.response.finish_reasons': ['stop'], 'cerulean.attempts': 1 });
    expect(request.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(attempt.attributes).toMatchObject({ 'gen_ai.response.model': 'first', 'http.response.status_code': 200 });
    expect(attempt.attributes['gen_ai.usage.output_tokens']).toBe(request.attributes['gen_ai.usage.output_tokens']);

    const [cutRequest, cutAttempt] = [SERVER, CLIENT].map((kind) => ofTrace(cut.traceId).find((span) => span.kind === kind) as ReceivedSpan);
    expect(cutAttempt.status.code).toBe(ERROR);
    expect(cutAttempt.attributes['error.type']).toBe('upstream_unreachable');
    expect(cutRequest.status.code).toBe(ERROR);
    expect(cutRequest.attributes).toMatchObject({ 'error.type': '502', 'http.response.status_code': 502, 'cerulean.usage_estimated': true });
  });

  it('starts a trace for a caller without one, and records nothing for a caller that sampled its trace out', async () => {
    const before = upstream.requests.length;
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: PROMPT }] });
    const unsampled = callerContext(false);
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: PROMPT }] }, { headers: { traceparent: unsampled.traceparent } });
    await cerulean.tracing?.flush();

    const [fresh, continued] = upstream.requests.slice(before).map((request) => String(request.traceparent));
    const freshTrace = fresh.split('-')[1];
    const spans = ofTrace(freshTrace);
    expect(spans.map((span) => span.kind).sort()).toEqual([SERVER, CLIENT]);
    expect(spans.find((span) => span.kind === SERVER)?.parentSpanId).toBe('');
    expect(fresh).toBe(`00-${freshTrace}-${spans.find((span) => span.kind === CLIENT)?.spanId}-01`);

    // Not sampled: the upstream still continues the caller's trace (flags 00, a new parent id); nothing is exported.
    expect(continued).toMatch(new RegExp(`^00-${unsampled.traceId}-[0-9a-f]{16}-00$`));
    expect(continued).not.toContain(unsampled.parentId);
    expect(ofTrace(unsampled.traceId)).toEqual([]);
  });
});

describe('exporting', () => {
  it('flushes the spans of the last requests at shutdown', async () => {
    const cerulean = await startGovernedCerulean(config(receiver.url, 'export_timeout_ms: 2000'), { OTLP_TOKEN: 'x' });
    const caller = callerContext();
    const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', traceparent: caller.traceparent },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: PROMPT }] }),
    });
    expect(response.status).toBe(200);
    await cerulean.close();
    expect(ofTrace(caller.traceId)).toHaveLength(2);
  });

  it('serves on when the collector is unreachable, and shuts down within the export timeout', async () => {
    const gone = await startOtlpReceiver();
    await gone.close();
    const cerulean = await startGovernedCerulean(config(gone.url, 'export_timeout_ms: 500'), { OTLP_TOKEN: 'x' });
    const client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
    for (let i = 0; i < 3; i += 1) {
      const completion = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: PROMPT }] });
      expect(completion.choices[0].message.content).toBe(DEFAULT_TEXT);
    }
    const started = Date.now();
    await cerulean.close();
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('with tracing off', () => {
  const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  afterEach(() => {
    if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
  });

  it('builds no tracer, registers none, exports nothing (even with OTEL_EXPORTER_OTLP_ENDPOINT set) and continues the caller’s trace upstream', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    const exportsBefore = receiver.exports.length;
    const cerulean = await startGovernedCerulean(config(receiver.url).replace('enabled: true', 'enabled: false'), { OTLP_TOKEN: 'x' });
    expect(cerulean.tracing).toBeUndefined();
    // Nothing registered a provider with the API: a tracer from it records nothing.
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);

    const caller = callerContext();
    const before = upstream.requests.length;
    const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', traceparent: caller.traceparent },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: PROMPT }] }),
    });
    expect(response.status).toBe(200);
    await cerulean.close();
    expect(upstream.requests.at(before)?.traceparent).toMatch(new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`));
    expect(receiver.exports.length).toBe(exportsBefore);
  });
});
