import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { runCli, startServe, type Serving } from '../helpers/cli-process.js';
import { dropSchema, POSTGRES_URL, uniqueSchema } from '../storage/storage-test-support.js';

/**
 * Configuration mistakes fail closed and loudly, as an operator meets them: `cerulean check`,
 * `serve` and SIGHUP reloads of the built command run as a real process (`npm test` builds first).
 */
/** The JSON log lines a running server has written so far. */
function logLines(running: Serving): Array<Record<string, any>> {
  return running
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, any>);
}

let upstream: OpenAIFixture;
beforeAll(async () => {
  upstream = await startOpenAIFixture();
});
afterAll(async () => {
  await upstream?.close();
});

const config = (extra = '', deployments = '  chat: { provider: up, model: m }'): string => `
server: { host: 127.0.0.1, port: 8080 }
data_dir: ./state
logging: { level: info }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }
deployments:
${deployments}
${extra}
`;

const MISSPELT_POLICY = `content_safety:
  policies: { strict: { prompt: { hate: low } } }
  deployments: { chat: strcit }`;
const MISSPELT_CLASSIFIER = `content_safety:
  policies: { strict: { classifiers: [lokal] } }
  deployments: { chat: strict }`;

describe('content-safety references', () => {
  it('check and serve refuse a misspelt policy or classifier, naming the path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cerulean-cfg-'));
    writeFileSync(join(dir, 'policy.yaml'), config(MISSPELT_POLICY));
    writeFileSync(join(dir, 'classifier.yaml'), config(MISSPELT_CLASSIFIER));
    const checked = await runCli(['check', '--config', 'policy.yaml'], { cwd: dir });
    expect(checked.code).toBe(1);
    expect(checked.stderr).toContain('content_safety.deployments.chat: unknown policy "strcit"');
    const classifier = await runCli(['check', '--config', 'classifier.yaml'], { cwd: dir });
    expect(classifier.code).toBe(1);
    expect(classifier.stderr).toContain('content_safety.policies.strict.classifiers.0: unknown classifier "lokal"');
    const served = await runCli(['serve', '--config', 'policy.yaml', '--port', '0'], { cwd: dir, env: { CERULEAN_MASTER_KEY: 'k1' } });
    expect(served.code).toBe(1);
    expect(served.stderr).toContain('content_safety.deployments.chat: unknown policy "strcit"');
    expect(served.stdout).not.toContain('listening');
  });
});

describe('a project choice the configuration no longer has', () => {
  it('is named in a warning on reload, and the project’s requests fail closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cerulean-cfg-'));
    const file = join(dir, 'c.yaml');
    const withPolicy = (name: string): string => config(`content_safety: { policies: { ${name}: { prompt: { hate: low } } } }`);
    writeFileSync(file, withPolicy('strict'));
    const server = await startServe(['serve', '--config', file, '--port', '0'], { cwd: dir, env: { CERULEAN_MASTER_KEY: 'k1' } });
    const admin = async (method: string, path: string, body?: unknown): Promise<any> => {
      const response = await fetch(`${server.url}/admin/v1${path}`, {
        method,
        headers: { authorization: 'Bearer k1', 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      expect(response.status).toBeLessThan(300);
      return response.json();
    };
    try {
      await admin('POST', '/organizations', { name: 'Acme', id: 'org_c' });
      await admin('POST', '/projects', { organization: 'org_c', name: 'P', id: 'proj_c' });
      const key = await admin('POST', '/projects/proj_c/keys', { name: 'k' });
      await admin('PUT', '/projects/proj_c/content-filters/chat', { policy: 'strict' });
      writeFileSync(file, withPolicy('renamed'));
      // Reloads are idempotent: send them until the cache holds the choice and the warning appears.
      await expect
        .poll(
          () => {
            server.child.kill('SIGHUP');
            return logLines(server).find((line) => line.msg?.startsWith('projects use content-filter policies that are not configured'));
          },
          { timeout: 5_000, interval: 200 },
        )
        .toMatchObject({ level: 40, choices: [{ projectId: 'proj_c', deployment: 'chat', policy: 'strict' }] });
      const chat = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(chat.status).toBe(503);
      expect(((await chat.json()) as { error: { code: string } }).error.code).toBe('filter_policy_unavailable');
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  });
});

describe('cerulean check', () => {
  it('warns about unset ${VAR} references and says what a reload cannot apply, and still passes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cerulean-cfg-'));
    writeFileSync(
      join(dir, 'c.yaml'),
      config().replace('server: { host: 127.0.0.1, port: 8080 }', 'server: { host: 127.0.0.1, port: 8080, region: "${CERULEAN_TEST_REGION}" }'),
    );
    const checked = await runCli(['check', '--config', 'c.yaml'], { cwd: dir });
    expect(checked.code).toBe(0);
    expect(checked.stderr).toContain('warning: server.region: ${CERULEAN_TEST_REGION} is not set');
    expect(checked.stdout).toMatch(/ok \(1 providers, 1 deployments\)/);
    expect(checked.stdout).toMatch(/need a restart/);
    for (const section of ['server', 'storage', 'redis', 'auth', 'logging']) expect(checked.stdout).toContain(section);

    const set = await runCli(['check', '--config', 'c.yaml'], { cwd: dir, env: { CERULEAN_TEST_REGION: 'eu' } });
    expect(set.code).toBe(0);
    expect(set.stderr).toBe('');
  });
});

describe('SIGHUP reload', () => {
  it('logs at once what changed and what needs a restart; a bad file is refused with its path while the running one keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cerulean-cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, config());
    const server = await startServe(['serve', '--config', file, '--port', '0'], { cwd: dir, env: { CERULEAN_MASTER_KEY: 'k1' } });
    const headers = { authorization: 'Bearer k1' };
    const models = async (): Promise<string[]> =>
      ((await (await fetch(`${server.url}/v1/models`, { headers })).json()) as { data: Array<{ id: string }> }).data.map((model) => model.id).sort();
    try {
      // A few access lines sit in the buffer; the reload line must not wait for 4 KiB more.
      expect(await models()).toEqual(['chat']);
      writeFileSync(
        file,
        config('', '  chat: { provider: up, model: m }\n  added: { provider: up, model: m }')
          .replace('port: 8080', 'port: 8081')
          .replace('level: info', 'level: debug'),
      );
      server.child.kill('SIGHUP');
      await expect
        .poll(() => logLines(server).find((line) => line.msg?.startsWith('configuration reloaded')), { timeout: 3_000, interval: 50 })
        .toMatchObject({
          level: 40,
          msg: 'configuration reloaded; server, logging changes need a restart',
          changed: ['deployments', 'server', 'logging'],
          needs_restart: ['server', 'logging'],
        });
      expect(await models()).toEqual(['added', 'chat']);

      writeFileSync(file, config(MISSPELT_CLASSIFIER));
      server.child.kill('SIGHUP');
      await expect
        .poll(() => logLines(server).find((line) => line.msg === 'configuration reload rejected; keeping the running one'), { timeout: 3_000, interval: 50 })
        .toMatchObject({ level: 50, problems: ['content_safety.policies.strict.classifiers.0: unknown classifier "lokal" (expected one of "local")'] });
      expect(await models()).toEqual(['added', 'chat']);
      const chat = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(chat.status).toBe(200);

      // Back to what the process started with: nothing waits for a restart any more, the plain message at info.
      writeFileSync(file, config());
      server.child.kill('SIGHUP');
      await expect
        .poll(() => logLines(server).find((line) => line.msg === 'configuration reloaded'), { timeout: 3_000, interval: 50 })
        .toMatchObject({ level: 30, changed: ['deployments', 'server', 'logging'], needs_restart: [] });
      expect(await models()).toEqual(['chat']);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  });
});

describe('master key on shared storage', () => {
  const schema = uniqueSchema();
  afterAll(async () => {
    await dropSchema(schema);
  });

  it('a replica on PostgreSQL without CERULEAN_MASTER_KEY refuses to start rather than generate its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cerulean-cfg-'));
    writeFileSync(join(dir, 'c.yaml'), config(`storage: { url: "${POSTGRES_URL}?schema=${schema}" }`));
    const refused = await runCli(['serve', '--config', 'c.yaml', '--port', '0'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('CERULEAN_MASTER_KEY');
    expect(refused.stdout).not.toContain('cer-master-');
    expect(existsSync(join(dir, 'state', 'master-key.sha256'))).toBe(false);

    const server = await startServe(['serve', '--config', 'c.yaml', '--port', '0'], { cwd: dir, env: { CERULEAN_MASTER_KEY: 'shared-key' } });
    try {
      expect((await fetch(`${server.url}/admin/v1/organizations`, { headers: { authorization: 'Bearer shared-key' } })).status).toBe(200);
    } finally {
      server.child.kill('SIGTERM');
    }
    expect(await server.exited).toBe(0);
  });
});
