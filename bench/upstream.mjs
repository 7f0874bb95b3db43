#!/usr/bin/env node
// A fast OpenAI-compatible upstream fixture for the benchmark.
//
//   node bench/upstream.mjs [--port 0] [--chunks 20] [--chunk-delay-ms 2] [--chunk-chars 0] [--fail-status 0]
//
// POST /v1/chat/completions answers a fixed, small chat.completion with usage. With `"stream": true`
// it answers server-sent events: one role chunk carrying the first content token, then the other
// content chunks `--chunk-delay-ms` apart, a finish chunk, a usage chunk when
// `stream_options.include_usage` is true, and `data: [DONE]`. GET /stats counts the chat requests
// answered (and the characters of content one stream carries). `--chunk-chars N` makes each
// streamed content chunk N characters of benign English prose instead of a short token, so a
// stream can be long enough for a buffered content filter's check windows to show. Keep-alive is
// on. `--fail-status S` (S >= 400) makes it a failing upstream: every chat request, counted the same
// way, is answered status S with an OpenAI-shaped error, for the routing benchmark's failover run.
// Prints
// `upstream listening on http://127.0.0.1:PORT` once bound.
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    chunks: { type: 'string', default: '20' },
    'chunk-delay-ms': { type: 'string', default: '2' },
    'chunk-chars': { type: 'string', default: '0' },
    'fail-status': { type: 'string', default: '0' },
  },
});
const CHUNKS = Math.max(1, Math.min(1000, Number(values.chunks)));
const CHUNK_DELAY_MS = Math.max(0, Math.min(1000, Number(values['chunk-delay-ms'])));
const CHUNK_CHARS = Math.max(0, Math.min(10_000, Number(values['chunk-chars'])));
const FAIL_STATUS = Number(values['fail-status']) >= 400 && Number(values['fail-status']) <= 599 ? Number(values['fail-status']) : 0;
const PROSE =
  'The library opens at nine in the morning and closes at six in the evening. Visitors can borrow up to ten books at a time, ' +
  'and the reading room on the second floor is quiet and well lit. Our volunteers organise a weekly book club where members ' +
  'discuss novels, history and science. Coffee is available in the lobby, and the garden behind the building has benches. ';

/** Chunk i's text: a short token, or CHUNK_CHARS characters of the prose continuing where chunk i-1 stopped. */
function text(i) {
  if (CHUNK_CHARS === 0) return `tok${i} `;
  let out = '';
  let at = (i * CHUNK_CHARS) % PROSE.length;
  while (out.length < CHUNK_CHARS) {
    out += PROSE.slice(at, at + CHUNK_CHARS - out.length);
    at = 0;
  }
  return out;
}
const MODEL = 'fixture-model';
const CONTENT = 'Hello! How can I help you today?';

const COMPLETION = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-fixture',
    object: 'chat.completion',
    created: 1_700_000_000,
    model: MODEL,
    system_fingerprint: 'fp_fixture',
    choices: [{ index: 0, message: { role: 'assistant', content: CONTENT, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
  }),
);

function chunk(delta, finishReason = null, usage) {
  const body = {
    id: 'chatcmpl-fixture-stream',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: MODEL,
    system_fingerprint: 'fp_fixture',
    choices: usage ? [] : [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
  if (usage) body.usage = usage;
  return `data: ${JSON.stringify(body)}\n\n`;
}

// Pre-rendered stream events: event 0 carries the role and the first text; events 1..CHUNKS-1 one text each.
const CONTENT_EVENTS = Array.from({ length: CHUNKS }, (_, i) => chunk(i === 0 ? { role: 'assistant', content: text(i) } : { content: text(i) }));
const STREAM_CHARS = Array.from({ length: CHUNKS }, (_, i) => text(i).length).reduce((a, b) => a + b, 0);
const FINISH_EVENT = chunk({}, 'stop');
const USAGE_EVENT = chunk(null, null, { prompt_tokens: 12, completion_tokens: CHUNKS, total_tokens: 12 + CHUNKS });

function sendJson(res, status, payload) {
  const body = Buffer.from(JSON.stringify(payload));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
}

function stream(req, res, includeUsage) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let next = 0;
  let timer;
  res.on('close', () => clearTimeout(timer));
  const write = () => {
    if (res.destroyed) return;
    res.write(CONTENT_EVENTS[next++]);
    if (next < CHUNKS) {
      timer = setTimeout(write, CHUNK_DELAY_MS);
      return;
    }
    res.write(FINISH_EVENT);
    if (includeUsage) res.write(USAGE_EVENT);
    res.end('data: [DONE]\n\n');
  };
  write();
}

let chatRequests = 0;

const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 66_000, requestTimeout: 0 }, (req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    // Lets the harness check a gateway's 2xx count against what actually reached the upstream.
    req.resume();
    sendJson(res, 200, { chat_requests: chatRequests, stream_chars: STREAM_CHARS });
    return;
  }
  const pieces = [];
  req.on('data', (piece) => pieces.push(piece));
  req.on('end', () => {
    if (req.method !== 'POST' || !req.url.startsWith('/v1/chat/completions')) {
      sendJson(res, 404, { error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } });
      return;
    }
    let body;
    try {
      body = JSON.parse(Buffer.concat(pieces).toString('utf8'));
    } catch {
      sendJson(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error' } });
      return;
    }
    chatRequests++;
    if (FAIL_STATUS) {
      sendJson(res, FAIL_STATUS, { error: { message: 'fixture upstream failing on purpose', type: 'server_error', param: null, code: null } });
      return;
    }
    if (body.stream === true) {
      stream(req, res, body.stream_options?.include_usage === true);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': COMPLETION.length });
    res.end(COMPLETION);
  });
});
server.maxRequestsPerSocket = 0;
server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  process.stdout.write(`upstream listening on http://${values.host}:${port}\n`);
});
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
