import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startCerulean, type RunningCerulean } from '../helpers/cerulean.js';

/**
 * Upstream timeouts fire when configured. undici's own header and body timeouts run on its coarse
 * timer wheel for anything over a second (ticks ~0.5 s apart), so a 1.2 s first-byte timeout used
 * to fire anywhere up to half a second late; Cerulean's timers are exact to the event loop.
 */
let upstream: Server;
const held: ServerResponse[] = [];
let cerulean: RunningCerulean;

beforeAll(async () => {
  // Never answers: the request is read and the response left open.
  upstream = createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  cerulean = await startCerulean(`
providers:
  short: { type: openai-compatible, base_url: "${url}/v1", retry: { max_attempts: 1 }, timeouts: { first_byte_ms: 300 } }
  long: { type: openai-compatible, base_url: "${url}/v1", retry: { max_attempts: 1 }, timeouts: { first_byte_ms: 1200 } }
  total: { type: openai-compatible, base_url: "${url}/v1", retry: { max_attempts: 1 }, timeouts: { first_byte_ms: 5000, total_ms: 1200 } }
deployments:
  short: { provider: short, model: m }
  long: { provider: long, model: m }
  total: { provider: total, model: m }
`);
});

afterAll(async () => {
  for (const res of held) res.destroy();
  await cerulean?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

async function timed(model: string, stream: boolean): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, stream, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.text();
  return { status: response.status, ms: performance.now() - started };
}

describe('upstream timeouts', () => {
  for (const [model, setting] of [
    ['short', 300],
    ['long', 1200],
    ['total', 1200],
  ] as const) {
    for (const stream of [false, true]) {
      const which = model === 'total' ? 'total' : 'first-byte';
      it(`a ${setting} ms ${which} timeout answers 504 after ${setting} ms, not later (${stream ? 'stream' : 'JSON'})`, async () => {
        const { status, ms } = await timed(model, stream);
        expect(status).toBe(504);
        expect(ms).toBeGreaterThanOrEqual(setting - 1);
        // Generous for a loaded machine; undici's timer took 900-1200 ms for a 300 ms setting.
        expect(ms).toBeLessThan(setting + 200);
      });
    }
  }
});
