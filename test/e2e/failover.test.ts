import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * A deployment over several targets fails over before any byte reached the caller: on connect
 * errors, 5xx and 429 to its next target, on the causes its fallbacks list to them; never on a
 * caller's mistake. The answering target is the one metered and named in the headers.
 */
let upstream: FaultUpstream;
let cerulean: GovernedCerulean;

beforeAll(async () => {
  upstream = await startFaultUpstream();
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 }, timeouts: { first_byte_ms: 500 } }
deployments:
  chat:
    strategy: priority
    targets:
      - { provider: up, model: first }
      - { provider: up, model: second, priority: 1 }
    fallbacks:
      - { deployment: long, on: [context_length] }
  long: { provider: up, model: long-context }
  pair:
    strategy: priority
    targets:
      - { provider: up, model: pair-first }
      - { provider: up, model: pair-second, priority: 1 }
content_safety:
  deployments: { chat: none, long: none, pair: none }
`);
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

beforeEach(() => {
  for (const model of ['first', 'second', 'long-context', 'pair-first', 'pair-second']) upstream.setFallback({ kind: 'ok' }, model);
});

async function ask(): Promise<{ status: number; headers: Headers; body: Record<string, any>; id: string }> {
  const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'Hello there' }] }),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, any>,
    id: response.headers.get('x-request-id') as string,
  };
}

const modelsTried = (since: number) => upstream.requests.slice(since).map((request) => request.model);

describe('failover between targets', () => {
  it('stops the running attempt, and tries no other target, when the caller goes away', async () => {
    upstream.script([{ kind: 'silent' }], 'pair-first');
    const before = upstream.requests.length;
    const gone = new AbortController();
    const call = fetch(`${cerulean.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'pair', messages: [{ role: 'user', content: 'Hello there' }] }),
      signal: gone.signal,
    });
    await expect.poll(() => modelsTried(before)).toEqual(['pair-first']);
    gone.abort();
    await expect(call).rejects.toThrow();
    // Well before the 500 ms first-byte timeout: the upstream sees its connection closed.
    await expect.poll(() => upstream.requests[before].droppedAt, { timeout: 300 }).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(modelsTried(before)).toEqual(['pair-first']);
  });

  it('answers from the first target when it is healthy: one attempt', async () => {
    const before = upstream.requests.length;
    const answer = await ask();
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cerulean-attempts')).toBe('1');
    expect(answer.headers.get('x-cerulean-target')).toBe('up/first');
    expect(modelsTried(before)).toEqual(['first']);
  });

  it('moves on to the next target on a 503, a reset and a silence, and meters the target that answered', async () => {
    for (const fault of [{ kind: 'status', status: 503 }, { kind: 'reset_before' }, { kind: 'silent' }] as const) {
      upstream.script([fault], 'first');
      const before = upstream.requests.length;
      const answer = await ask();
      expect(answer.status, fault.kind).toBe(200);
      expect(answer.headers.get('x-cerulean-attempts'), fault.kind).toBe('2');
      expect(answer.headers.get('x-cerulean-target'), fault.kind).toBe('up/second');
      expect(modelsTried(before), fault.kind).toEqual(['first', 'second']);
      await cerulean.governance.ledger.flush();
      expect((await cerulean.governance.storage.usage.get(answer.id))?.model, fault.kind).toBe('second');
    }
  });

  it('cools a target that answered 429 down for its retry-after: later requests go straight to the next', async () => {
    upstream.script([{ kind: 'status', status: 429, retryAfter: '30' }], 'first');
    const before = upstream.requests.length;
    expect((await ask()).headers.get('x-cerulean-target')).toBe('up/second');
    const next = await ask();
    expect(next.headers.get('x-cerulean-attempts')).toBe('1');
    expect(next.headers.get('x-cerulean-target')).toBe('up/second');
    expect(modelsTried(before)).toEqual(['first', 'second', 'second']);
  });

  it("never moves a caller's mistake on", async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    // A fresh deployment state: wait out nothing, the 429 above cooled `first` only.
    upstream.setFallback(
      { kind: 'status', status: 400, body: { error: { message: 'bad temperature', type: 'invalid_request_error', param: null, code: null } } },
      'second',
    );
    const before = upstream.requests.length;
    const answer = await ask();
    expect(answer.status).toBe(400);
    expect(answer.headers.get('x-cerulean-attempts')).toBe('1');
    expect(modelsTried(before)).toHaveLength(1);
  });

  it('sends a context-length refusal to the fallback that lists it, and returns the last failure when every target failed', async () => {
    upstream.setFallback({ kind: 'context_length' }, 'second');
    let before = upstream.requests.length;
    const answer = await ask();
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-cerulean-target')).toBe('up/long-context');
    expect(modelsTried(before).at(-1)).toBe('long-context');

    upstream.setFallback({ kind: 'status', status: 502 }, 'first');
    upstream.setFallback({ kind: 'status', status: 502 }, 'second');
    before = upstream.requests.length;
    const failed = await ask();
    // Both targets (the one cooling down from the 429 above as a last resort) answer 502; the
    // fallback takes context-length refusals only: the last failure is passed on as it came.
    expect(failed.status).toBe(502);
    expect(failed.headers.get('x-cerulean-attempts')).toBe('2');
    expect(modelsTried(before).sort()).toEqual(['first', 'second']);
  });
});

describe('the official SDK through a failing target', () => {
  it('never sees the failure', async () => {
    upstream.setFallback({ kind: 'status', status: 500 }, 'second');
    upstream.setFallback({ kind: 'ok' }, 'first');
    const client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
    const completion = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] });
    expect(completion.choices[0].message.content).toBeTruthy();
  });
});
