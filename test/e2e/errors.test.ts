import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY, startCerulean, type RunningCerulean } from '../helpers/cerulean.js';

let upstream: OpenAIFixture;
let cerulean: RunningCerulean;

const AZURE_401 =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.';

beforeAll(async () => {
  upstream = await startOpenAIFixture({ apiKey: 'sk-upstream-secret', slowMs: 1_500, chunkDelayMs: 100 });
  cerulean = await startCerulean(
    `
server: { body_limit: 4096 }
providers:
  up:
    type: openai
    api_key: sk-upstream-secret
    base_url: "${upstream.url}/v1"
    retry: { max_attempts: 2, base_delay_ms: 1, max_delay_ms: 200 }
    timeouts: { first_byte_ms: 300 }
  patient:
    type: openai
    api_key: sk-upstream-secret
    base_url: "${upstream.url}/v1"
  tight:
    type: openai
    api_key: sk-upstream-secret
    base_url: "${upstream.url}/v1"
    timeouts: { total_ms: 400 }
  dead:
    type: openai-compatible
    base_url: "http://127.0.0.1:1/v1"
    retry: { max_attempts: 2, base_delay_ms: 1 }
  nokey: { type: openai, api_key: "\${MISSING_OPENAI_KEY}" }
  claude: { type: anthropic, api_key: x, base_url: "http://127.0.0.1:1" }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
  limited: { provider: up, model: fail-429 }
  unpaid: { provider: up, model: no-quota }
  broken: { provider: up, model: fail-500 }
  flaky: { provider: up, model: flaky-503 }
  slow: { provider: up, model: slow-first-byte }
  slowstream: { provider: up, model: slow-stream }
  tightstream: { provider: tight, model: slow-stream }
  echo: { provider: up, model: bad-key-echo }
  dropped: { provider: up, model: drop }
  truncated: { provider: up, model: truncated }
  nostream: { provider: up, model: no-stream }
  slowpatient: { provider: patient, model: slow-first-byte }
  gone: { provider: dead, model: m }
  unset: { provider: nokey, model: gpt-4o }
  claude: { provider: claude, model: claude-sonnet-4-5 }
`,
    {},
  );
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

const chatBody = (model: string, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

async function call(path: string, init: RequestInit & { key?: string | null; azure?: boolean } = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(init.headers as Record<string, string>) };
  const key = init.key === undefined ? MASTER_KEY : init.key;
  if (key !== null) {
    if (init.azure) headers['api-key'] = key;
    else headers.authorization = `Bearer ${key}`;
  }
  const response = await fetch(cerulean.url + path, { method: init.method ?? 'POST', body: init.body, headers });
  const text = await response.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep text
  }
  return { status: response.status, headers: response.headers, body };
}

function expectOpenAIError(body: any, type: string): void {
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error.type).toBe(type);
  expect(typeof body.error.message).toBe('string');
}

describe('caller mistakes get 4xx in the route shape', () => {
  it('malformed JSON', async () => {
    const r = await call('/v1/chat/completions', { body: '{"model": "chat", ' });
    expect(r.status).toBe(400);
    expectOpenAIError(r.body, 'invalid_request_error');
    expect(r.body.error.code).toBe('invalid_json');
    const azure = await call('/openai/deployments/chat/chat/completions?api-version=2024-10-21', { body: '{', azure: true });
    expect(azure.status).toBe(400);
    expect(azure.body.error).toMatchObject({ code: 'invalid_json', type: 'invalid_request_error' });
  });

  it('missing and mistyped fields name the parameter', async () => {
    const missingModel = await call('/v1/chat/completions', { body: JSON.stringify({ messages: [] }) });
    expect(missingModel.status).toBe(400);
    expect(missingModel.body.error).toMatchObject({ param: 'model', message: "Missing required parameter: 'model'." });
    const missingMessages = await call('/v1/chat/completions', { body: JSON.stringify({ model: 'chat' }) });
    expect(missingMessages.body.error.param).toBe('messages');
    const badRole = await call('/v1/chat/completions', { body: JSON.stringify({ model: 'chat', messages: [{ role: 'robot', content: 'x' }] }) });
    expect(badRole.status).toBe(400);
    expect(badRole.body.error.param).toBe('messages[0].role');
    const badTemperature = await call('/v1/chat/completions', { body: chatBody('chat', { temperature: 'hot' }) });
    expect(badTemperature.body.error).toMatchObject({ param: 'temperature', type: 'invalid_request_error' });
    const badEncoding = await call('/v1/embeddings', { body: JSON.stringify({ model: 'chat', input: 'x', encoding_format: 'hex' }) });
    expect(badEncoding.body.error.param).toBe('encoding_format');
    const notObject = await call('/v1/embeddings', { body: '[1,2]' });
    expect(notObject.status).toBe(400);
  });

  it('oversized body gets 413', async () => {
    const r = await call('/v1/chat/completions', { body: chatBody('chat', { pad: 'x'.repeat(5000) }) });
    expect(r.status).toBe(413);
    expectOpenAIError(r.body, 'invalid_request_error');
    expect(r.body.error.message).toContain('4096');
  });

  it('wrong content type gets 415', async () => {
    const r = await call('/v1/chat/completions', { body: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(415);
  });

  it('unknown routes get 404 and wrong methods 405, in the OpenAI envelope', async () => {
    const unknown = await call('/v1/nothing-here', { body: '{}' });
    expect(unknown.status).toBe(404);
    expectOpenAIError(unknown.body, 'invalid_request_error');
    const method = await call('/v1/chat/completions', { method: 'GET' });
    expect(method.status).toBe(405);
    expectOpenAIError(method.body, 'invalid_request_error');
  });

  it('a missing or unknown deployment', async () => {
    const openai = await call('/v1/chat/completions', { body: chatBody('nope') });
    expect(openai.status).toBe(404);
    expect(openai.body.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    const azure = await call('/openai/deployments/nope/chat/completions?api-version=2024-10-21', { body: chatBody('nope'), azure: true });
    expect(azure.status).toBe(404);
    expect(azure.body).toEqual({
      error: {
        code: 'DeploymentNotFound',
        message:
          'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
      },
    });
  });

  it('a missing or unknown api-version on Azure routes is 404 Resource not found', async () => {
    for (const query of ['', '?api-version=1999-01-01']) {
      const r = await call(`/openai/deployments/chat/chat/completions${query}`, { body: chatBody('chat'), azure: true });
      expect(r.status).toBe(404);
      expect(r.body).toEqual({ error: { code: '404', message: 'Resource not found' } });
      expect(r.headers.get('apim-request-id')).toBeTruthy();
    }
  });

  it('no key or a wrong key gets 401 in the route shape', async () => {
    const none = await call('/v1/chat/completions', { body: chatBody('chat'), key: null });
    expect(none.status).toBe(401);
    expectOpenAIError(none.body, 'authentication_error');
    const wrong = await call('/v1/chat/completions', { body: chatBody('chat'), key: 'sk-wrong' });
    expect(wrong.status).toBe(401);
    const azure = await call('/openai/deployments/chat/chat/completions?api-version=2024-10-21', { body: chatBody('chat'), key: 'wrong', azure: true });
    expect(azure.status).toBe(401);
    expect(azure.body).toEqual({ error: { code: '401', message: AZURE_401 } });
    expect(azure.headers.get('x-ms-region')).toBe('local');
  });

  it('an operation the provider cannot do is a 400', async () => {
    const r = await call('/v1/embeddings', { body: JSON.stringify({ model: 'claude', input: 'x' }) });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('operation_not_supported');
  });
});

describe('upstream failures', () => {
  it('a provider without its credential answers 503 naming the variable', async () => {
    const r = await call('/v1/chat/completions', { body: chatBody('unset') });
    expect(r.status).toBe(503);
    expect(r.body.error.message).toContain('MISSING_OPENAI_KEY');
    expect(r.body.error.code).toBe('provider_not_configured');
    expect(r.headers.get('x-should-retry')).toBe('false');
  });

  it('an upstream 429 that waiting cannot cure (insufficient_quota) is neither retried nor advised to be', async () => {
    const before = upstream.requests.length;
    const r = await call('/v1/chat/completions', { body: chatBody('unpaid') });
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe('insufficient_quota');
    expect(r.headers.get('x-should-retry')).toBe('false');
    expect(r.headers.get('retry-after')).toBeNull();
    expect(upstream.requests.length - before).toBe(1);
  });

  it('429 is passed on with its retry-after when it exceeds the retry budget', async () => {
    const r = await call('/v1/chat/completions', { body: chatBody('limited') });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(r.headers.get('retry-after-ms')).toBe('1000');
    expect(r.body.error.type).toBe('rate_limit_error');
    expect(r.body.error.message).toContain('Deployment "limited" (provider "up")');
    const azure = await call('/openai/deployments/limited/chat/completions?api-version=2024-10-21', { body: chatBody('limited'), azure: true });
    expect(azure.status).toBe(429);
    expect(azure.body.error.code).toBe('429');
  });

  it('5xx is retried, then passed on', async () => {
    const before = upstream.requests.filter((r) => r.body?.model === 'fail-500').length;
    const r = await call('/v1/chat/completions', { body: chatBody('broken') });
    expect(r.status).toBe(500);
    expect(r.body.error.type).toBe('server_error');
    expect(upstream.requests.filter((q) => q.body?.model === 'fail-500').length - before).toBe(2);
  });

  it('a transient 503 is retried transparently and counted', async () => {
    const r = await call('/v1/chat/completions', { body: chatBody('flaky') });
    expect(r.status).toBe(200);
    const metrics = await (await fetch(`${cerulean.url}/metrics`)).text();
    expect(metrics).toMatch(/cerulean_upstream_retries_total\{provider="up",reason="503"\} 1/);
  });

  it('an unreachable upstream is 502 naming deployment and provider', async () => {
    const r = await call('/v1/chat/completions', { body: chatBody('gone') });
    expect(r.status).toBe(502);
    expect(r.body.error.message).toMatch(/Deployment "gone" \(provider "dead"\) is unreachable/);
    const dropped = await call('/v1/chat/completions', { body: chatBody('dropped') });
    expect(dropped.status).toBe(502);
  });

  it('an upstream that breaks off its body is 502, not retried', async () => {
    const before = upstream.requests.length;
    const r = await call('/v1/chat/completions', { body: chatBody('truncated') });
    expect(r.status).toBe(502);
    expect(r.body.error.message).toMatch(/Deployment "truncated" \(provider "up"\) broke off its response/);
    expect(upstream.requests.length).toBe(before + 1);
  });

  it('an upstream that answers a streaming request without an event stream is 502', async () => {
    const r = await call('/v1/chat/completions', { body: chatBody('nostream', { stream: true }) });
    expect(r.status).toBe(502);
    expect(r.body.error.message).toMatch(
      /Deployment "nostream" \(provider "up"\) answered a streaming request without an event stream \(content-type "application\/json/,
    );
  });

  it('a client disconnect aborts a non-streamed upstream call', async () => {
    const before = upstream.aborted;
    const slowCalls = (): number => upstream.requests.filter((request) => request.body?.model === 'slow-first-byte').length;
    const calls = slowCalls();
    const controller = new AbortController();
    const pending = fetch(`${cerulean.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}` },
      body: chatBody('slowpatient'),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await expect.poll(slowCalls, { timeout: 3_000 }).toBe(calls + 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    await expect.poll(() => upstream.aborted, { timeout: 1_000 }).toBe(before + 1);
  });

  it('a slow upstream is 504', async () => {
    const r = await call('/v1/chat/completions', { body: chatBody('slow') });
    expect(r.status).toBe(504);
    expect(r.body.error.type).toBe('timeout_error');
    expect(r.body.error.message).toContain('300 ms');
  });

  it('a stream that outlives the total timeout ends with a timeout error event, not a silent cut', async () => {
    const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}` },
      body: chatBody('tightstream', { stream: true }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    const last = text.trim().split('\n\n').at(-1) as string;
    expect(JSON.parse(last.slice(6)).error).toMatchObject({ type: 'timeout_error', code: 'upstream_timeout' });
  });

  it('a refused provider credential is 502 and the credential never appears', async () => {
    const r = await call('/v1/chat/completions', { body: chatBody('echo') });
    expect(r.status).toBe(502);
    expect(JSON.stringify(r.body)).not.toContain('sk-upstream-secret');
    expect(r.body.error.message).toContain('[redacted]');
  });

  it('a client disconnect aborts the upstream stream', async () => {
    const before = upstream.aborted;
    const controller = new AbortController();
    const response = await fetch(`${cerulean.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${MASTER_KEY}` },
      body: chatBody('slowstream', { stream: true }),
      signal: controller.signal,
    });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => upstream.aborted, { timeout: 3_000 }).toBe(before + 1);
  });
});

describe('operations endpoints and headers', () => {
  it('x-request-id on every response; apim-request-id on Azure routes', async () => {
    const ok = await call('/v1/chat/completions', { body: chatBody('chat') });
    expect(ok.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const err = await call('/v1/chat/completions', { body: '{' });
    expect(err.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(err.headers.get('apim-request-id')).toBeNull();
  });

  it('health, readiness and metrics', async () => {
    expect((await call('/healthz', { method: 'GET' })).body).toEqual({ status: 'ok' });
    expect((await call('/readyz', { method: 'GET' })).body).toMatchObject({ status: 'ready' });
    await call('/v1/chat/completions', { body: chatBody('chat') });
    const text = (await call('/metrics', { method: 'GET' })).body as string;
    expect(text).toMatch(/cerulean_requests_total\{deployment="chat",status="200",operation="chat",stream="non-streaming"\} \d+/);
    expect(text).toMatch(/cerulean_tokens_total\{deployment="chat",kind="prompt"\} \d+/);
    expect(text).toContain('cerulean_time_to_response_seconds_bucket');
    expect(text).toContain('cerulean_time_to_first_token_seconds');
    expect(text).toContain('cerulean_tokens_per_second');
  });

  it('deployment names no configuration holds never become metric labels; configured ones always do', async () => {
    const name = `made-up-${Math.random().toString(36).slice(2)}`;
    expect((await call('/v1/chat/completions', { body: chatBody(name) })).status).toBe(404);
    const text = (await call('/metrics', { method: 'GET' })).body as string;
    expect(text).not.toContain(name);
    expect(text).toMatch(/cerulean_requests_total\{deployment="\(unknown\)",status="404",operation="chat",stream="non-streaming"\} \d+/);
    // A configured deployment keeps its name even when its request fails before a target is picked.
    expect((await call('/v1/chat/completions', { body: chatBody('unset') })).status).toBe(503);
    const after = (await call('/metrics', { method: 'GET' })).body as string;
    expect(after).toMatch(/cerulean_requests_total\{deployment="unset",status="503",operation="chat",stream="non-streaming"\} \d+/);
  });
});
