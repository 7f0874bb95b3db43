import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_OPERATIONS } from '../../src/admin/admin-operations.js';
import { flagsOf } from '../../src/cli/operation-flags.js';
import { runCli, startServe, type CliResult } from '../helpers/cli-process.js';

/**
 * The admin commands as an operator meets them, run as the built `cerulean` command: every
 * operation's parameters are flags (`--key` included), each command has `--help`, times read as
 * local ISO dates, errors name the flag in plain words, and `audit verify --head` catches what the
 * chain alone cannot.
 */
const MASTER = 'cli-flags-master-key';

/** Runs `cerulean ARGS` in the test directory, times read in UTC unless `env` sets TZ. */
const cerulean = (args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCli(args, { cwd: dir, env: { TZ: 'UTC', ...env } });

async function ok(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const result = await cerulean(args, env);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cerulean-cli-flags-'));
  writeFileSync(
    join(dir, 'cerulean.yaml'),
    `server: { port: 0 }\nlogging: { level: warn }\nproviders:\n  up: { type: openai-compatible, base_url: "http://127.0.0.1:9/v1" }\ndeployments:\n  chat: { provider: up, model: m }\n  embed: { provider: up, model: e }\n`,
  );
  // Admin commands work on an existing database only; migrate creates it.
  await cerulean(['migrate']);
  await ok(['organizations', 'create', '--name', 'Acme', '--id', 'org_acme']);
  await ok(['projects', 'create', '--organization', 'org_acme', '--name', 'Search', '--id', 'proj_s']);
});

describe('help', () => {
  it('answers --help on the whole CLI, an area, a command and the service commands', async () => {
    const overall = await ok(['help']);
    expect(overall).toContain('keys revoke');
    expect(overall).toContain('--admin-key');
    expect(await ok(['keys', '--help'])).toMatch(/cerulean keys create[\s\S]*cerulean keys revoke/);
    const revoke = await ok(['keys', 'revoke', '--help']);
    expect(revoke).toMatch(/^Usage: cerulean keys revoke --key TEXT/);
    expect(revoke).toMatch(/--key TEXT\s+required: key id/);
    expect(revoke).toContain('--json');
    expect(await ok(['help', 'quotas', 'set'])).toMatch(/--tpm INTEGER\s+required: tokens per minute/);
    expect(await ok(['deployments', 'update', '--help'])).toMatch(/--gated \[true\|false\]/);
    for (const command of ['serve', 'check', 'migrate']) expect(await ok([command, '--help'])).toMatch(/^Usage: cerulean <command>/);
  });

  it('has a flag for every parameter of every operation, path parameters required', () => {
    for (const operation of ADMIN_OPERATIONS) {
      const flags = new Map(flagsOf(operation).map((flag) => [flag.name, flag]));
      for (const [, name] of operation.path.matchAll(/:([a-z_]+)/g))
        expect(flags.get(name), `${operation.id} --${name}`).toMatchObject({ required: true, location: 'path' });
      for (const flag of flags.values()) expect(flag.description, `${operation.id} --${flag.name}`).toBeTruthy();
    }
  });
});

describe('flags', () => {
  it('revokes a key by --key, locally and on a server with --admin-key', async () => {
    const created = JSON.parse(await ok(['keys', 'create', '--project', 'proj_s', '--deployments', 'chat', '--deployments', 'embed', '--json']));
    expect(created.deployments).toEqual(['chat', 'embed']);
    const revoked = await ok(['keys', 'revoke', '--key', created.id]);
    expect(revoked).toContain(`id: ${created.id}`);
    expect(revoked).toMatch(/revokedAt: \d{4}-/);

    const server = await startServe(['serve'], { cwd: dir, env: { CERULEAN_MASTER_KEY: MASTER } });
    const url = server.url;
    try {
      const second = JSON.parse(await ok(['keys', 'create', '--project', 'proj_s', '--json', '--url', url, '--admin-key', MASTER]));
      expect(await ok(['keys', 'revoke', '--key', second.id, '--url', url, '--admin-key', MASTER])).toContain(`id: ${second.id}`);
      const again = await cerulean(['keys', 'revoke', '--key', second.id, '--url', url, '--admin-key', MASTER]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/^409: .*already revoked/);
      const badNumber = await cerulean(['quotas', 'set', '--project', 'proj_s', '--deployment', 'chat', '--tpm', 'lots', '--url', url, '--admin-key', MASTER]);
      expect(badNumber.stderr).toBe('400: --tpm: expected a number\n');
    } finally {
      await server.stop();
    }
  });

  it("pins a key to a data zone and regions, within its project's pin, and clears a pin with an empty value", async () => {
    await ok(['projects', 'create', '--organization', 'org_acme', '--name', 'Pinned', '--id', 'proj_pin', '--data-zone', 'eu']);
    const created = JSON.parse(await ok(['keys', 'create', '--project', 'proj_pin', '--data-zone', 'eu', '--regions', 'westeurope,swedencentral', '--json']));
    expect(created).toMatchObject({ dataZone: 'eu', regions: ['westeurope', 'swedencentral'] });
    expect(JSON.parse(await ok(['keys', 'update', '--key', created.id, '--regions', '', '--json']))).toMatchObject({ dataZone: 'eu', regions: null });
    const widened = await cerulean(['keys', 'create', '--project', 'proj_pin', '--data-zone', 'us']);
    expect(widened.code).toBe(1);
    expect(widened.stderr).toContain(`The key's data zone "us" contradicts the project's data zone "eu" (project "proj_pin")`);
  });

  it('reads booleans bare, negated or spelt out, and says which flag is unknown', async () => {
    expect(await ok(['projects', 'update', '--project', 'proj_s', '--no-key-auth'])).toContain('keyAuthEnabled: false');
    expect(await ok(['projects', 'update', '--project', 'proj_s', '--key_auth'])).toContain('keyAuthEnabled: true');
    expect(await ok(['projects', 'update', '--project', 'proj_s', '--key-auth', 'false'])).toContain('keyAuthEnabled: false');
    const unknown = await cerulean(['keys', 'list', '--project', 'proj_s', '--key', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Unknown option --key for "cerulean keys list" (the admin credential is --admin-key)');
  });

  it('names the flag in plain words when a value is wrong or missing', async () => {
    const bad = await cerulean(['quotas', 'set', '--project', 'proj_s', '--deployment', 'chat', '--tpm', 'lots']);
    expect(bad).toMatchObject({ code: 1, stderr: '--tpm: expected a number\n' });
    const missing = await cerulean(['users', 'create', '--organization', 'org_acme', '--email', 'not-an-address']);
    expect(missing.stderr).toBe('--email: expected an e-mail address\n');
    const choice = await cerulean(['budgets', 'get', '--scope', 'team', '--id', 'x']);
    expect(choice.stderr).toBe('--scope: expected one of project, key\n');
    const required = await cerulean(['roles', 'assign', '--user', 'u', '--scope', 'project', '--scope_id', 'proj_s']);
    expect(required.stderr).toBe('--role: is required\n');
  });
});

describe('output', () => {
  it("shows times as ISO 8601 in the viewer's zone; --json keeps the API's epoch milliseconds", async () => {
    const json = JSON.parse(await ok(['keys', 'list', '--project', 'proj_s', '--json']));
    const createdAt = json.data[0].createdAt as number;
    expect(typeof createdAt).toBe('number');
    const kolkata = await ok(['keys', 'list', '--project', 'proj_s'], { TZ: 'Asia/Kolkata' });
    const shifted = new Date(createdAt + 330 * 60_000).toISOString().slice(0, 19);
    expect(kolkata).toContain(`${shifted}+05:30`);
    expect(kolkata).not.toContain(String(createdAt));
    expect(await ok(['projects', 'get', '--project', 'proj_s'], { TZ: 'UTC' })).toContain(
      `createdAt: ${new Date(json.data[0].createdAt).toISOString().slice(0, 10)}`,
    );
    const audit = await ok(['audit', 'list', '--limit', '1'], { TZ: 'America/Sao_Paulo' });
    expect(audit).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-03:00/);
  });
});

describe('audit head', () => {
  afterAll(() => undefined);

  it('exports the head; verify --head fails when the newest entries are cut off', async () => {
    const head = JSON.parse(await ok(['audit', 'head', '--json']));
    expect(head).toMatchObject({ seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(head.head).toBe(`${head.seq}:${head.hash}`);
    expect(await ok(['audit', 'head'])).toContain(`head: ${head.head}`);
    expect(await ok(['audit', 'verify', '--head', head.head])).toContain('ok: true');

    const db = new SqliteDatabase(join(dir, 'data', 'cerulean.db'));
    try {
      db.prepare('delete from audit_log where seq >= ?').run(head.seq - 1);
    } finally {
      db.close();
    }
    // The shorter chain is consistent in itself: only the exported head shows the cut.
    expect((await cerulean(['audit', 'verify'])).code).toBe(0);
    const cut = await cerulean(['audit', 'verify', '--head', head.head]);
    expect(cut.code).toBe(3);
    expect(cut.stdout).toContain('ok: false');
    expect(cut.stdout).toContain(`problem: head-mismatch, detail: the exported head (entry ${head.seq}`);
    expect(cut.stdout).toContain('the newest entries were cut off');
    const malformed = await cerulean(['audit', 'verify', '--head', 'latest']);
    expect(malformed.stderr).toBe('--head: expected SEQ:HASH or HASH, as `audit head` prints it\n');
  });
});
