import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { runCli, startServe } from '../helpers/cli-process.js';

/** These tests run the built command (`npm test` builds first) as a real process. */

/** The raw SSE text, and the content its chunks carried. */
async function readStream(response: Response): Promise<{ raw: string; content: string }> {
  const raw = await response.text();
  let content = '';
  for (const line of raw.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    content += JSON.parse(line.slice(6)).choices?.[0]?.delta?.content ?? '';
  }
  return { raw, content };
}

let upstream: OpenAIFixture;
beforeAll(async () => {
  upstream = await startOpenAIFixture({ chunkDelayMs: 100 });
});
afterAll(async () => {
  await upstream?.close();
});

const config = (deployments: string): string => `
server: { host: 127.0.0.1, port: 8080, shutdown_grace_ms: 10000 }
data_dir: ./state
logging: { level: warn }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
${deployments}
`;

describe('cerulean serve', () => {
  it('generates a master key once, stores only its hash, and picks a free port with --port 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cerulean-cli-'));
    writeFileSync(join(dir, 'c.yaml'), config('  chat: { provider: up, model: m }'));
    const first = await startServe(['serve', '--config', 'c.yaml', '--port', '0'], { cwd: dir });
    const key = /^\s+(cer-master-\S+)$/m.exec(first.stdout())?.[1];
    expect(key).toBeDefined();
    expect(first.url).not.toMatch(/:8080$/);
    const hash = readFileSync(join(dir, 'state', 'master-key.sha256'), 'utf8');
    expect(hash).toMatch(/^[0-9a-f]{64}\n$/);
    expect(hash).not.toContain(key as string);
    const models = await fetch(`${first.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } });
    expect(models.status).toBe(200);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startServe(['serve', '--config', 'c.yaml', '--port', '0'], { cwd: dir });
    expect(second.stdout()).not.toContain('cer-master-');
    const again = await fetch(`${second.url}/v1/models`, { headers: { 'api-key': key as string } });
    expect(again.status).toBe(200);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('reloads on SIGHUP without dropping an in-flight stream, and keeps running on a bad reload', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cerulean-cli-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, config('  chat: { provider: up, model: slow-stream }'));
    const server = await startServe(['serve', '--config', file, '--port', '0'], { cwd: dir, env: { CERULEAN_MASTER_KEY: 'k1' } });
    const headers = { authorization: 'Bearer k1', 'content-type': 'application/json' };
    const inFlight = fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    }).then(readStream);
    await new Promise((resolve) => setTimeout(resolve, 200));
    writeFileSync(file, config('  chat: { provider: up, model: slow-stream }\n  added: { provider: up, model: m }'));
    server.child.kill('SIGHUP');
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${server.url}/v1/models`, { headers })).json()) as { data: Array<{ id: string }> }).data
            .map((m: { id: string }) => m.id)
            .sort(),
        { timeout: 5_000 },
      )
      .toEqual(['added', 'chat']);
    const { raw, content } = await inFlight;
    expect(content).toBe('Hello from the fixture upstream, one word at a time.');
    expect(raw.trimEnd().endsWith('data: [DONE]')).toBe(true);

    writeFileSync(file, config('  broken: { provider: nowhere, model: m }'));
    server.child.kill('SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const still = (await (await fetch(`${server.url}/v1/models`, { headers })).json()) as { data: unknown[] };
    expect(still.data).toHaveLength(2);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('finishes in-flight streams on SIGTERM, then exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cerulean-cli-'));
    writeFileSync(join(dir, 'c.yaml'), config('  chat: { provider: up, model: slow-stream }'));
    const server = await startServe(['serve', '--config', 'c.yaml', '--port', '0'], { cwd: dir, env: { CERULEAN_MASTER_KEY: 'k1' } });
    const inFlight = fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer k1', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream: true }),
    }).then(readStream);
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill('SIGTERM');
    const { raw, content } = await inFlight;
    expect(content).toBe('Hello from the fixture upstream, one word at a time.');
    expect(raw.trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await server.exited).toBe(0);
  });

  it('starts on the shipped example with no provider key set; its deployments answer 503 naming the variable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cerulean-cli-'));
    const server = await startServe(['serve', '--port', '0'], { cwd: dir, env: { CERULEAN_MASTER_KEY: 'k1' } });
    expect(server.stdout()).toContain('cerulean.example.yaml');
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer k1', 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('OPENAI_API_KEY');
    // State lives in SQLite under ./data; the key came from the environment, so no key hash was written.
    expect(existsSync(join(dir, 'data', 'cerulean.db'))).toBe(true);
    expect(existsSync(join(dir, 'data', 'master-key.sha256'))).toBe(false);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('refuses an invalid configuration with the path and the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cerulean-cli-'));
    writeFileSync(join(dir, 'bad.yaml'), 'providers: { openai-east: { type: openai, api_key: k } }\ndeployments: { chat: { provider: opnai, model: m } }\n');
    const result = await runCli(['serve', '--config', 'bad.yaml'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('deployments.chat.provider: unknown provider "opnai"');
    const checked = await runCli(['check', '--config', 'bad.yaml'], { cwd: dir });
    expect(checked.code).toBe(1);
  });
});
