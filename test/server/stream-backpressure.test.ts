import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * A caller that stops reading a stream must stop the upstream too: Cerulean reads the upstream's
 * body only as fast as the caller takes the relayed events, so what one stalled stream holds is
 * bounded by socket and stream buffers, not by the length of the answer.
 */
const TOTAL_BYTES = 64 * 1024 * 1024;
/** What may sit in kernel socket buffers and stream buffers on both hops, with room to spare. */
const BOUND = 16 * 1024 * 1024;
/** A long answer, relayed whole to a caller that reads. */
const LONG_BYTES = 8 * 1024 * 1024;

let upstream: Server;
let upstreamUrl: string;
/** Bytes the upstream managed to hand to its socket, per stream (by request order). */
const sent: number[] = [];
let cerulean: GovernedCerulean;
const sockets: Socket[] = [];

beforeAll(async () => {
  upstream = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const slot = sent.push(0) - 1;
    const model = (JSON.parse(body) as { model: string }).model;
    const limit = model === 'long' ? LONG_BYTES : TOTAL_BYTES;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: unknown): string =>
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
    // Model `tools`: a few words, then tool-call arguments without end (deltas with no text).
    const text = 'The quick brown fox jumps over the lazy dog near the river bank. '.repeat(16);
    const frame = model === 'tools' ? chunk({ tool_calls: [{ index: 0, function: { arguments: 'x'.repeat(1000) } }] }) : chunk({ content: text });
    if (model === 'tools') res.write(chunk({ role: 'assistant', content: 'Calling a tool.' }));
    let closed = false;
    let wake: (() => void) | undefined;
    res.on('close', () => {
      closed = true;
      wake?.();
    });
    res.on('drain', () => wake?.());
    while (sent[slot] < limit && !closed) {
      sent[slot] += frame.length;
      if (!res.write(frame)) await new Promise<void>((resolve) => (wake = resolve));
    }
    if (!closed) res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstreamUrl}/v1", retry: { max_attempts: 1 } }
deployments:
  chat: { provider: up, model: m }
  chat-async: { provider: up, model: m }
  chat-off: { provider: up, model: m }
  tools: { provider: up, model: tools }
  long: { provider: up, model: long }
  long-async: { provider: up, model: long }
content_safety:
  policies:
    default: { classifiers: [local] }
    async: { classifiers: [local], stream_mode: async }
  deployments:
    chat-async: async
    chat-off: none
    long-async: async
`);
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await cerulean?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** Opens a stream with a raw socket that never reads what comes back. */
function stalledStream(model: string): Socket {
  const { port } = new URL(cerulean.url);
  const body = JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'Tell me a long story.' }] });
  const socket = connect(Number(port), '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => {});
  socket.write(
    `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${MASTER_KEY}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.pause();
  return socket;
}

/**
 * What the upstream had sent once it stopped (no progress over three samples 200 ms apart), or
 * undefined if it was still sending after 10 s or passed the bound. Timers and the upstream share
 * this event loop, so a loaded machine slows both alike and cannot fake a standstill.
 */
async function standstill(slot: number): Promise<number | undefined> {
  let last = -1;
  let still = 0;
  for (let i = 0; i < 50; i++) {
    await sleep(200);
    const count = sent[slot] ?? 0;
    if (count >= BOUND) return undefined;
    still = count === last ? still + 1 : 0;
    if (still === 3) return count;
    last = count;
  }
  return undefined;
}

describe('a caller that stops reading a stream', () => {
  for (const [label, model] of [
    ['filtered, buffered mode', 'chat'],
    ['filtered, async mode', 'chat-async'],
    ['unfiltered', 'chat-off'],
    ['filtered, buffered mode, tool-call deltas after a few words', 'tools'],
  ] as const) {
    it(`stops the upstream too (${label})`, async () => {
      const slot = sent.length;
      const socket = stalledStream(model);
      const count = await standstill(slot);
      socket.destroy();
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThan(BOUND);
    }, 20_000);
  }
});

describe('a long filtered stream', () => {
  for (const [label, model] of [
    ['buffered mode', 'long'],
    ['async mode', 'long-async'],
  ] as const) {
    // The filter keeps only the text it has not judged yet (plus the overlap of the next check):
    // holding the whole answer made every check copy it, quadratic in the answer's length.
    it(`is relayed whole, the filter holding only its check window (${label})`, async () => {
      const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'Tell me a long story.' }] }),
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      const content = text
        .split('\n\n')
        .filter((line) => line.startsWith('data: {'))
        .map((line) => JSON.parse(line.slice(6)).choices[0]?.delta?.content ?? '')
        .join('');
      expect(content.length).toBeGreaterThan(LONG_BYTES * 0.8);
    }, 20_000);
  }
});
