// Load generators: open-loop fixed-rate requests, closed-loop saturation (autocannon), and
// sequential streams. All of them are bounded in request count and in time.
import autocannon from 'autocannon';
import { Pool } from 'undici';

const now = () => process.hrtime.bigint();
const us = (ns) => Number(ns) / 1000;

/**
 * Open loop: sends request i at t0 + i/rate whatever the state of earlier requests, so a stall
 * shows up as queueing in later latencies (no coordinated omission). Each latency is measured from
 * the scheduled send time to the last byte of the response; `serviceUs` from the moment the
 * request was actually handed to the client, and `lagUs` is how late the timer fired.
 */
export async function openLoop({ origin, path, headers, body, rate, durationMs, connections = 64, timeoutMs = 10_000 }) {
  const pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const total = Math.max(1, Math.round((rate * durationMs) / 1000));
  const intervalNs = 1e9 / rate;
  const latencyUs = new Float64Array(total).fill(NaN);
  const serviceUs = new Float64Array(total).fill(NaN);
  const lagUs = new Float64Array(total).fill(NaN);
  const statuses = {};
  const errors = {};
  let completed = 0;
  let scheduled = 0;
  const t0 = now() + 20_000_000n;
  const startedAt = Date.now();

  const result = await new Promise((resolve) => {
    let finished = false;
    let timer;
    const finish = (reason) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(guard);
      resolve(reason);
    };
    // Hard bound: the schedule plus one request timeout plus slack.
    const guard = setTimeout(() => finish('deadline'), durationMs + timeoutMs + 5_000);
    const fire = (index, due) => {
      const sent = now();
      lagUs[index] = us(sent - due);
      pool
        .request({ method: 'POST', path, headers, body })
        .then(async (response) => {
          await response.body.arrayBuffer();
          const end = now();
          latencyUs[index] = us(end - due);
          serviceUs[index] = us(end - sent);
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
        })
        .catch((error) => {
          const code = error?.code ?? error?.name ?? 'error';
          errors[code] = (errors[code] ?? 0) + 1;
        })
        .finally(() => {
          completed++;
          if (completed === total) finish('done');
        });
    };
    const tick = () => {
      const t = now();
      while (scheduled < total) {
        const due = t0 + BigInt(Math.round(scheduled * intervalNs));
        if (due > t) break;
        fire(scheduled++, due);
      }
      if (scheduled < total) {
        const wait = Number(t0 + BigInt(Math.round(scheduled * intervalNs)) - now()) / 1e6;
        timer = setTimeout(tick, Math.max(0, wait));
      }
    };
    tick();
  });

  await pool.destroy();
  return { total, completed, result, statuses, errors, latencyUs, serviceUs, lagUs, wallMs: Date.now() - startedAt };
}

/** Closed loop: `connections` callers each sending the next request as soon as the last one ends. */
export async function saturate({ url, headers, body, connections = 50, durationS = 10 }) {
  const result = await autocannon({
    url,
    method: 'POST',
    headers,
    body,
    connections,
    pipelining: 1,
    duration: durationS,
    timeout: 10,
  });
  const ok = result['2xx'];
  return {
    connections,
    durationS: result.duration,
    rps: ok / result.duration,
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => [code, count])),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max, mean: result.latency.average },
  };
}

/**
 * How to read one streaming protocol's events (each `data:` payload parsed as JSON, `[DONE]` left
 * as is): the text an event carries, whether it carries the usage, and whether it ends the stream.
 */
export const STREAM_PROTOCOLS = {
  chat: {
    textOf: (event) => event.choices?.[0]?.delta?.content,
    hasUsage: (event) => Boolean(event.usage),
    ends: (event) => event === '[DONE]',
  },
  responses: {
    textOf: (event) => (event.type === 'response.output_text.delta' ? event.delta : undefined),
    hasUsage: (event) => event.type === 'response.completed' && Boolean(event.response?.usage),
    ends: (event) => event.type === 'response.completed',
  },
  messages: {
    textOf: (event) => (event.type === 'content_block_delta' && event.delta?.type === 'text_delta' ? event.delta.text : undefined),
    hasUsage: (event) => event.type === 'message_delta' && Boolean(event.usage),
    ends: (event) => event.type === 'message_stop',
  },
};

/**
 * One streamed answer (`protocol`: a STREAM_PROTOCOLS entry, chat completions by default): times (µs
 * after the request was handed to the client) at which the first event of any kind arrived and at
 * which each event with non-empty text arrived, the characters of text, the end of the stream, and
 * whether usage and the protocol's final event were seen.
 */
export async function oneStream(pool, { path, headers, body, protocol = STREAM_PROTOCOLS.chat }) {
  const start = now();
  const response = await pool.request({ method: 'POST', path, headers, body });
  if (response.statusCode !== 200) {
    const text = await response.body.text();
    return { error: `status ${response.statusCode}: ${text.slice(0, 200)}` };
  }
  const contentUs = [];
  let firstEventUs = null;
  let chars = 0;
  let usage = false;
  let done = false;
  let buffer = '';
  for await (const piece of response.body) {
    const arrived = us(now() - start);
    buffer += piece.toString('utf8');
    let cut;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      for (const line of block.split('\n')) {
        if (!line.startsWith('data:')) continue;
        firstEventUs ??= arrived;
        const data = line.slice(5).trim();
        const event = data === '[DONE]' ? data : JSON.parse(data);
        if (protocol.ends(event)) done = true;
        if (typeof event !== 'object') continue;
        const content = protocol.textOf(event);
        if (typeof content === 'string' && content.length > 0) {
          contentUs.push(arrived);
          chars += content.length;
        }
        if (protocol.hasUsage(event)) usage = true;
      }
    }
  }
  return { firstEventUs, contentUs, chars, totalUs: us(now() - start), usage, done };
}

/**
 * Streams back to back on `concurrency` callers until `durationMs` has passed (each caller finishes
 * the stream it is on): how many were started, how many delivered `expectedChunks` text events,
 * usage and the final event, and the first few problems.
 */
export async function streamLoop({ origin, spec, concurrency, durationMs, expectedChunks }) {
  const pool = new Pool(origin, { connections: concurrency, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const deadline = Date.now() + durationMs;
  let streams = 0;
  let ok = 0;
  const problems = [];
  const caller = async () => {
    while (Date.now() < deadline) {
      streams++;
      try {
        const result = await oneStream(pool, spec);
        if (result.error) problems.push(result.error);
        else if (result.contentUs.length !== expectedChunks || !result.done || !result.usage)
          problems.push(`incomplete stream: ${result.contentUs.length}/${expectedChunks} text events, done=${result.done}, usage=${result.usage}`);
        else ok++;
      } catch (error) {
        problems.push(String(error.message));
      }
    }
  };
  const startedAt = Date.now();
  await Promise.all(Array.from({ length: concurrency }, caller));
  const wallMs = Date.now() - startedAt;
  await pool.destroy();
  return { streams, ok, failed: streams - ok, problems: problems.slice(0, 3), wallMs };
}
