import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { MASTER_KEY, startCerulean, type RunningCerulean } from '../helpers/cerulean.js';

/**
 * Streams never lie: once bytes reached the caller, a stream cut mid-way, a malformed chunk or a
 * body that ends without saying it is complete ends in the API's error event, never `[DONE]`;
 * before the first byte, a failing target is failed over.
 */
let upstream: FaultUpstream;
let cerulean: RunningCerulean;

beforeAll(async () => {
  upstream = await startFaultUpstream();
  cerulean = await startCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
deployments:
  chat: { provider: up, model: only }
  pair:
    strategy: priority
    targets:
      - { provider: up, model: first }
      - { provider: up, model: second, priority: 1 }
content_safety:
  deployments: { chat: none, pair: none }
`);
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

beforeEach(() => {
  for (const model of ['only', 'first', 'second']) upstream.setFallback({ kind: 'ok' }, model);
});

async function stream(model: string): Promise<{ status: number; events: string[]; headers: Headers }> {
  const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'Tell me something' }] }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, events: text.split('\n\n').filter((event) => event !== '') };
}

describe('streams that never lie', () => {
  it('a whole stream ends in [DONE]', async () => {
    const { status, events } = await stream('chat');
    expect(status).toBe(200);
    expect(events.at(-1)).toBe('data: [DONE]');
  });

  for (const fault of [
    { kind: 'reset_during', afterChunks: 3 },
    { kind: 'malformed', afterChunks: 2 },
    { kind: 'no_terminator', afterChunks: 4 },
  ] as const) {
    it(`a stream broken after its first bytes (${fault.kind}) ends in an error event, not [DONE]`, async () => {
      upstream.script([fault], 'only');
      const { status, events } = await stream('chat');
      expect(status).toBe(200);
      expect(events.some((event) => event.includes('"content"'))).toBe(true);
      expect(events).not.toContain('data: [DONE]');
      const last = JSON.parse(events.at(-1)?.replace(/^data: /, '') ?? '{}') as { error?: { code?: string } };
      expect(last.error?.code).toBe('upstream_unreachable');
    });
  }

  it('a target failing before the first byte is failed over: the caller sees one whole stream', async () => {
    upstream.script([{ kind: 'reset_before' }], 'first');
    const { status, events, headers } = await stream('pair');
    expect(status).toBe(200);
    expect(headers.get('x-cerulean-target')).toBe('up/second');
    expect(events.at(-1)).toBe('data: [DONE]');
  });
});
