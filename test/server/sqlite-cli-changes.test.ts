import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth/master-key.js';
import { loadConfig } from '../../src/config/load.js';
import { startService, type Service } from '../../src/service/service.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { BUILT_MAIN, runCli, type CliResult } from '../helpers/cli-process.js';

/**
 * The CLI changing the SQLite file of a running server (another process on the same file): the
 * server sees each change within a second, not at its next periodic reload (a minute).
 */

/** Runs `cerulean ARGS` in `cwd` with PATH only. */
const run = (args: string[], cwd: string): Promise<CliResult> => runCli(args, { cwd });

let upstream: OpenAIFixture;
let dir: string;
let service: Service;
let url: string;

beforeAll(async () => {
  if (!existsSync(BUILT_MAIN)) throw new Error('dist/ is missing: run `npm run build` (npm test does) before this test');
  upstream = await startOpenAIFixture();
  dir = mkdtempSync(join(tmpdir(), 'cerulean-sqlite-cli-'));
  writeFileSync(
    join(dir, 'cerulean.yaml'),
    `data_dir: ${JSON.stringify(join(dir, 'data'))}\nlogging: { level: warn }\nproviders:\n  up: { type: openai-compatible, base_url: "${upstream.url}/v1" }\ndeployments:\n  chat: { provider: up, model: gpt-4o-mini }\n`,
  );
  expect((await run(['migrate'], dir)).code).toBe(0);
  // The server in this process, the CLI in children: two processes on one file.
  service = await startService(loadConfig(join(dir, 'cerulean.yaml')), { masterHash: hashKey(MASTER_KEY), version: 'test' });
  url = await service.server.listen('127.0.0.1', 0);
  expect((await run(['organizations', 'create', '--name', 'Acme', '--id', 'org_c'], dir)).code).toBe(0);
  expect((await run(['projects', 'create', '--organization', 'org_c', '--name', 'P', '--id', 'proj_c'], dir)).code).toBe(0);
});

afterAll(async () => {
  await service?.close();
  await upstream?.close();
});

async function chat(key: string): Promise<number> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Milliseconds until `chat(key)` answers `status` (polled every 20 ms), or throws after 5 s. */
async function msUntil(key: string, status: number): Promise<number> {
  const started = Date.now();
  while ((await chat(key)) !== status) {
    if (Date.now() - started > 5_000) throw new Error(`still not ${status} after 5 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

describe('the CLI beside a running server on one SQLite file', () => {
  it('a key the CLI creates is accepted, and one it revokes refused, within a second', async () => {
    const created = await run(['keys', 'create', '--project', 'proj_c'], dir);
    expect(created.code).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1) as string;
    expect(await msUntil(key, 200)).toBeLessThan(1_000);

    const id = /^id: (\S+)$/m.exec(created.stdout)?.[1];
    expect(id).toBeDefined();
    // Revoked by another process: the CLI on the same file.
    const revoked = await run(['keys', 'revoke', '--key', id as string], dir);
    expect(revoked.stderr).toBe('');
    expect(revoked.code).toBe(0);
    expect(await msUntil(key, 401)).toBeLessThan(1_000);
  });

  it('says so when there is no configuration or no database, instead of creating an empty one; uses the shipped example where serve would', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cerulean-sqlite-cli-empty-'));
    const noConfig = await run(['projects', 'list'], empty);
    expect(noConfig.code).toBe(1);
    expect(noConfig.stderr).toMatch(/No configuration found/);
    expect(noConfig.stdout).toBe('');
    expect(readdirSync(empty)).toEqual([]);

    // Beside a server started with the shipped example (state in ./data), it works as serve does.
    expect((await run(['migrate'], empty)).code).toBe(0);
    const beside = await run(['projects', 'list'], empty);
    expect(beside.code).toBe(0);
    expect(beside.stdout).toBe('(none)\n');

    writeFileSync(join(empty, 'cerulean.yaml'), `data_dir: ./state\n`);
    const noDatabase = await run(['projects', 'list'], empty);
    expect(noDatabase.code).toBe(1);
    expect(noDatabase.stderr).toMatch(/No database at .*cerulean\.db/);
    expect(noDatabase.stdout).not.toContain('(none)');
    expect(existsSync(join(empty, 'state'))).toBe(false);
  });
});
