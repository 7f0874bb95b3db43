import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { runCli, startServe, type CliResult } from '../helpers/cli-process.js';

/** The admin subcommands, run as the built `cerulean` command: against the storage directly, and against a server. */
/** Runs `cerulean ARGS` in `cwd` with PATH and `env` only. */
const cerulean = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCli(args, { cwd, env });

let upstream: OpenAIFixture;
let dir: string;

beforeAll(async () => {
  upstream = await startOpenAIFixture();
  dir = mkdtempSync(join(tmpdir(), 'cerulean-admin-cli-'));
  writeFileSync(
    join(dir, 'cerulean.yaml'),
    `server: { port: 0 }\nlogging: { level: warn }\nproviders:\n  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }\ndeployments:\n  chat: { provider: up, model: gpt-4o-mini }\n  embed: { provider: up, model: e }\n`,
  );
});

afterAll(async () => {
  await upstream?.close();
});

describe('cerulean admin commands', () => {
  it('migrates, creates tenancy and prints a new key as the last line', async () => {
    const migrated = await cerulean(['migrate'], dir);
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toMatch(/applied|up to date/);
    expect((await cerulean(['migrate'], dir)).stdout).toMatch(/^up to date/);
    expect((await cerulean(['organizations', 'create', '--name', 'Acme', '--id', 'org_acme'], dir)).code).toBe(0);
    expect((await cerulean(['projects', 'create', '--organization', 'org_acme', '--name', 'Search', '--id', 'proj_s'], dir)).code).toBe(0);
    const created = await cerulean(['keys', 'create', '--project', 'proj_s', '--deployments', 'chat', '--expires', '30d'], dir);
    expect(created.code).toBe(0);
    const lines = created.stdout.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^cer-[A-Za-z0-9_-]{43}$/);
    expect(created.stdout).toContain('deployments: ["chat"]');

    const listed = await cerulean(['keys', 'list', '--project', 'proj_s'], dir);
    expect(listed.stdout.split('\n')[0]).toMatch(/^id\s+projectId\s+name\s+prefix/);
    expect(listed.stdout).not.toContain(lines.at(-1));
  });

  it('reports bad input clearly with a non-zero exit', async () => {
    const bad = await cerulean(['keys', 'create', '--project', 'proj_s', '--expires', 'soon'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('expires');
    const unknown = await cerulean(['keys', 'destroy'], dir);
    expect(unknown.code).toBe(2);
    const missing = await cerulean(['projects', 'get', '--project', 'nope'], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No project "nope"');
  });

  it('talks to a running server, prints usage as a table and CSV, and verifies the audit chain', async () => {
    const server = await startServe(['serve'], { cwd: dir, env: { CERULEAN_MASTER_KEY: 'mk' } });
    const url = server.url;
    try {
      const env = { CERULEAN_URL: url, CERULEAN_ADMIN_KEY: 'mk' };
      const created = await cerulean(['keys', 'create', '--project', 'proj_s'], dir, env);
      expect(created.code).toBe(0);
      const key = created.stdout.trim().split('\n').at(-1) as string;
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0 });
      for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: `hi ${i}` }] });
      await expect
        .poll(async () => (await cerulean(['usage', '--group_by', 'project,deployment'], dir, env)).stdout, { timeout: 5_000 })
        .toMatch(/proj_s\s+chat\s+3\s/);
      const table = await cerulean(['usage', '--group_by', 'project,deployment'], dir, env);
      expect(table.stdout.split('\n')[0]).toMatch(/^project\s+deployment\s+requests\s+prompt_tokens/);
      const csv = await cerulean(['usage', '--group_by', 'deployment', '--format', 'csv'], dir, env);
      expect(csv.stdout.split('\r\n')[0]).toBe('deployment,requests,prompt_tokens,cached_tokens,completion_tokens,cost_usd,errors');
      const byApi = await cerulean(['usage', '--group_by', 'api', '--api', 'chat', '--format', 'csv'], dir, env);
      expect(byApi.stdout.split('\r\n').slice(0, 2)).toEqual([
        'api,requests,prompt_tokens,cached_tokens,completion_tokens,cost_usd,errors',
        expect.stringMatching(/^chat,3,/),
      ]);
      // `cerulean me` names the credential it runs with: here the project's own key.
      const me = await cerulean(['me'], dir, { CERULEAN_URL: url, CERULEAN_ADMIN_KEY: key });
      expect(me.code).toBe(0);
      expect(me.stdout).toMatch(/^kind: key$/m);
      expect(me.stdout).toMatch(/^project: proj_s$/m);
      expect(me.stdout).toMatch(/^project\s+proj_s\s*$/m);
      const verified = await cerulean(['audit', 'verify'], dir, env);
      expect(verified.code).toBe(0);
      expect(verified.stdout).toContain('ok: true');
      const wrongKey = await cerulean(['projects', 'list'], dir, { CERULEAN_URL: url, CERULEAN_ADMIN_KEY: 'nope' });
      expect(wrongKey.code).toBe(1);
      expect(wrongKey.stderr).toMatch(/^401/);
    } finally {
      await server.stop();
    }
  });
});
