import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * One deadline bounds a request across all its attempts; each attempt keeps its own timeouts, cut
 * to what is left. A stream that stalls once it began ends in the API's error event after its idle
 * timeout (never [DONE]), counts as `stream_broken`, and is metered as what it delivered; a silence
 * before the first byte is a first-byte timeout, which fails over.
 */
let upstream: FaultUpstream;
let cerulean: GovernedCerulean;
const MODELS = ['one', 'two', 'three', 'only', 'first', 'second'];

beforeAll(async () => {
  upstream = await startFaultUpstream();
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 }, timeouts: { first_byte_ms: 300, idle_ms: 250 } }
  patient: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 }, timeouts: { first_byte_ms: 5000 } }
routing:
  deadline_ms: 5000
deployments:
  three:
    deadline_ms: 700
    strategy: priority
    targets:
      - { provider: up, model: one }
      - { provider: up, model: two, priority: 1 }
      - { provider: up, model: three, priority: 2 }
  chat: { provider: up, model: only }
  slow: { provider: patient, model: only }
  pair:
    strategy: priority
    targets:
      - { provider: up, model: first }
      - { provider: up, model: second, priority: 1 }
content_safety:
  deployments: { three: none, chat: none, slow: none, pair: none }
`);
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

beforeEach(() => {
  for (const model of MODELS) upstream.setFallback({ kind: 'ok' }, model);
});

const openai = (): OpenAI => new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });

async function metricsText(): Promise<string> {
  return (await fetch(`${cerulean.url}/metrics`)).text();
}

function counter(text: string, labels: string): number {
  const line = text.split('\n').find((entry) => entry.startsWith(`cerulean_target_requests_total{${labels}}`));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('one deadline across attempts', () => {
  it('three silent targets (first byte 300 ms) under a 700 ms deadline: 504 after ~700 ms, the third attempt aborted', async () => {
    for (const model of ['one', 'two', 'three']) upstream.setFallback({ kind: 'silent' }, model);
    const before = upstream.requests.length;
    const started = Date.now();
    const error = await openai()
      .chat.completions.create({ model: 'three', messages: [{ role: 'user', content: 'Hello' }] })
      .catch((caught: unknown) => caught);
    const elapsed = Date.now() - started;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    const apiError = error as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(504);
    expect(apiError.code).toBe('deadline_exceeded');
    expect(apiError.message).toContain('after 3 attempts');
    expect(apiError.headers?.get('x-cerulean-attempts')).toBe('3');
    expect(elapsed).toBeGreaterThanOrEqual(690);
    expect(elapsed).toBeLessThan(895);
    const tried = upstream.requests.slice(before);
    expect(tried.map((request) => request.model)).toEqual(['one', 'two', 'three']);
    // The third arrived at ~600 ms and was dropped at the deadline, ~100 ms later, not at its own 300 ms.
    const third = tried[2];
    expect(third.droppedAt).toBeDefined();
    expect((third.droppedAt as number) - third.at).toBeLessThan(200);
    expect((third.droppedAt as number) - started).toBeGreaterThanOrEqual(690);

    // The usage record keeps the attempts; nothing was charged.
    await cerulean.governance.ledger.flush();
    const record = await cerulean.governance.storage.usage.get(apiError.headers?.get('x-request-id') as string);
    expect(record?.status).toBe(504);
    expect(record?.attempts).toBe(3);
    expect(record?.targetsTried).toEqual(['up/one', 'up/two', 'up/three']);
    expect(record?.attemptErrors.map((failure) => failure.cause)).toEqual(['timeout', 'timeout', 'deadline']);
    expect(record?.promptTokens).toBe(0);
    expect(record?.cost).toBe(0);
    const metrics = await metricsText();
    expect(counter(metrics, 'deployment="three",target="up/three",outcome="deadline"')).toBe(1);
  });

  it('a deployment without its own deadline uses routing.deadline_ms; a healthy answer is untouched by it', async () => {
    const completion = await openai().chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hello' }] });
    expect(completion.choices[0].message.content).toBeTruthy();
  });
});

describe('stalls', () => {
  it('a stream that stalls past idle_ms (not first_byte_ms) ends in an error event, never [DONE], and is metered as delivered', async () => {
    // `patient` waits 5 s for a first byte but has no idle timeout of its own: its stalls would be waited out.
    upstream.script([{ kind: 'stall', afterChunks: 3, stallMs: 3000 }], 'only');
    const started = Date.now();
    const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'Tell me something' }] }),
    });
    const text = await response.text();
    const elapsed = Date.now() - started;
    expect(response.status).toBe(200);
    const events = text.split('\n\n').filter((event) => event !== '');
    expect(events).not.toContain('data: [DONE]');
    const last = JSON.parse(events.at(-1)?.replace(/^data: /, '') ?? '{}') as { error?: { code?: string; message?: string } };
    expect(last.error?.code).toBe('upstream_timeout');
    expect(last.error?.message).toContain('stalled');
    // Well before the stall's end (the first estimate of a stream's usage loads the tokenizer, which takes a while).
    expect(elapsed).toBeLessThan(2500);
    expect(events.filter((event) => event.includes('"content":"')).length).toBeGreaterThanOrEqual(3);

    await cerulean.governance.ledger.flush();
    const record = await cerulean.governance.storage.usage.get(response.headers.get('x-request-id') as string);
    expect(record?.estimated).toBe(true);
    expect(record?.completionTokens).toBeGreaterThan(0);
    expect(record?.attemptErrors).toEqual([{ target: 'up/only', cause: 'stream_broken', status: null }]);
    expect(counter(await metricsText(), 'deployment="chat",target="up/only",outcome="stream_broken"')).toBe(1);
  });

  it('the official SDK sees the stall as an error, in the Anthropic Messages shape too', async () => {
    upstream.script([{ kind: 'stall', afterChunks: 2, stallMs: 2000 }], 'only');
    const stream = await openai().chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    const received: string[] = [];
    const failure = await (async () => {
      for await (const chunk of stream) received.push(chunk.choices[0]?.delta?.content ?? '');
    })().catch((caught: unknown) => caught);
    expect(failure).toBeInstanceOf(Error);
    expect(received.join('')).not.toBe('');

    upstream.script([{ kind: 'stall', afterChunks: 2, stallMs: 2000 }], 'only');
    const anthropic = new Anthropic({ baseURL: cerulean.url, apiKey: MASTER_KEY, maxRetries: 0 });
    const messages = await anthropic.messages.create({ model: 'chat', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    const types: string[] = [];
    const anthropicFailure = await (async () => {
      for await (const event of messages) types.push(event.type);
    })().catch((caught: unknown) => caught);
    expect(anthropicFailure).toBeInstanceOf(Error);
    expect(types).toContain('content_block_delta');
    expect(types).not.toContain('message_stop');
  });

  it('a stalled Responses stream ends in its error event, never response.completed', async () => {
    upstream.script([{ kind: 'stall', afterChunks: 2, stallMs: 2000 }], 'only');
    const stream = await openai().responses.create({ model: 'chat', stream: true, input: 'Hi' });
    const types: string[] = [];
    const failure = await (async () => {
      for await (const event of stream) types.push(event.type);
    })().catch((caught: unknown) => caught);
    expect(types).toContain('response.output_text.delta');
    expect(types).not.toContain('response.completed');
    // The SDK raises the `error` event, or the stream ends in `response.failed`.
    expect(failure instanceof Error || types.includes('response.failed')).toBe(true);
  });

  it('a provider without idle_ms waits out a stall shorter than its first_byte_ms', async () => {
    upstream.script([{ kind: 'stall', afterChunks: 2, stallMs: 400 }], 'only');
    const stream = await openai().chat.completions.create({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from the fault upstream, one word at a time.');
  });

  it('a silence before the first byte is a first-byte timeout and fails over: the caller gets one whole stream', async () => {
    upstream.script([{ kind: 'slow_first_byte', delayMs: 2000 }], 'first');
    const before = upstream.requests.length;
    const started = Date.now();
    const response = await openai()
      .chat.completions.create({ model: 'pair', stream: true, messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    let text = '';
    for await (const chunk of response.data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from the fault upstream, one word at a time.');
    expect(response.response.headers.get('x-cerulean-target')).toBe('up/second');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(upstream.requests.slice(before).map((request) => request.model)).toEqual(['first', 'second']);
    await cerulean.governance.ledger.flush();
    const record = await cerulean.governance.storage.usage.get(response.response.headers.get('x-request-id') as string);
    expect(record?.attemptErrors).toEqual([{ target: 'up/first', cause: 'timeout', status: null }]);
  });
});
