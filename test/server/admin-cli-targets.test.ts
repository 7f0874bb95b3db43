import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { runCli, startServe, type CliResult, type Serving } from '../helpers/cli-process.js';

/**
 * `cerulean targets`: a deployment's targets and their live health as a table (or the API's JSON),
 * and draining and restoring a target, run as the built command against a running server (health
 * lives in the server, not in the database), with the deployment and target as plain arguments.
 */
const MASTER = 'cli-targets-master-key';

let upstream: FaultUpstream;
let dir: string;
let server: Serving;

const cerulean = (args: string[], env: NodeJS.ProcessEnv = { CERULEAN_URL: server.url, CERULEAN_ADMIN_KEY: MASTER }): Promise<CliResult> =>
  runCli(args, { cwd: dir, env: { TZ: 'UTC', ...env } });

async function ok(args: string[]): Promise<string> {
  const result = await cerulean(args);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout;
}

/** The table's rows (after the header and its rule), each split into its cells. */
function rows(stdout: string): string[][] {
  const lines = stdout.trimEnd().split('\n');
  const header = lines.findIndex((line) => line.startsWith('id '));
  return lines.slice(header + 2).map((line) => line.split(/\s{2,}/));
}

/** Which target answers a chat request now. */
async function answeredBy(): Promise<string | null> {
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: MASTER, maxRetries: 0 });
  const { response } = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
  return response.headers.get('x-cerulean-target');
}

beforeAll(async () => {
  upstream = await startFaultUpstream();
  dir = mkdtempSync(join(tmpdir(), 'cerulean-cli-targets-'));
  writeFileSync(
    join(dir, 'cerulean.yaml'),
    `server: { port: 0 }
logging: { level: warn }
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", region: westeurope, data_zone: eu }
deployments:
  chat:
    strategy: priority
    targets:
      - { provider: up, model: first, capacity: provisioned }
      - { provider: up, model: second, priority: 1, capacity: standard }
    fallbacks:
      - { deployment: long, on: [context_length] }
  long: { provider: up, model: long-context }
content_safety:
  deployments: { chat: none, long: none }
`,
  );
  await runCli(['migrate'], { cwd: dir });
  server = await startServe(['serve'], { cwd: dir, env: { CERULEAN_MASTER_KEY: MASTER } });
});

afterAll(async () => {
  await server?.stop();
  await upstream?.close();
});

describe('cerulean targets', () => {
  it('prints the deployment, its strategy and fallbacks, and its targets as a table', async () => {
    const stdout = await ok(['targets', 'chat']);
    expect(stdout).toContain('deployment: chat\n');
    expect(stdout).toContain('\nstrategy: priority\n');
    expect(stdout).toMatch(/fallbacks:\n {2}- deployment: long, on: \["context_length"\]/);
    const lines = stdout.split('\n');
    expect(lines.find((line) => line.startsWith('id '))?.split(/\s+/)).toEqual([
      'id',
      'region',
      'zone',
      'weight',
      'priority',
      'capacity',
      'state',
      'cooling_until',
      'outstanding',
      'latency_ewma_ms',
      'failures',
      'requests',
      'drained',
    ]);
    expect(rows(stdout)).toEqual([
      ['up/first', 'westeurope', 'eu', '1', '0', 'provisioned', 'closed', '0', '0', '0', 'false'],
      ['up/second', 'westeurope', 'eu', '1', '1', 'standard', 'closed', '0', '0', '0', 'false'],
    ]);
    // The verb spelt out, and the deployment as a flag, are the same command.
    expect(await ok(['targets', 'list', 'chat'])).toBe(stdout);
    expect(await ok(['targets', 'list', '--deployment', 'chat'])).toBe(stdout);
  });

  it("prints the API's JSON with --json, live health included", async () => {
    upstream.script([{ kind: 'status', status: 429, retryAfter: '30' }], 'first');
    expect(await answeredBy()).toBe('up/second');
    const result = JSON.parse(await ok(['targets', 'chat', '--json'])) as { deployment: string; targets: Array<Record<string, unknown>> };
    expect(result.deployment).toBe('chat');
    expect(result.targets.map((target) => target.id)).toEqual(['up/first', 'up/second']);
    expect(Date.parse(result.targets[0].cooling_until as string)).toBeGreaterThan(Date.now() + 20_000);
    expect(result.targets[1]).toMatchObject({ state: 'closed', requests: 1, failures: 0, drained: false });
    // The table shows the same cooldown, as a time.
    expect(rows(await ok(['targets', 'chat']))[0][7]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it('drains a target (requests go to the others) and restores it', async () => {
    // A fresh cooldown-free state for `first`: its 429's 30 s are still running, so drain `second` instead.
    const drained = await ok(['targets', 'drain', 'chat', 'up/second']);
    expect(drained).toContain('id: up/second');
    expect(drained).toContain('drained: true');
    expect(rows(await ok(['targets', 'chat'])).map((row) => [row[0], row.at(-1)])).toEqual([
      ['up/first', 'false'],
      ['up/second', 'true'],
    ]);
    // Only `first` is in rotation (cooling down, so taken as the last resort it is).
    const before = upstream.requests.length;
    expect(await answeredBy()).toBe('up/first');
    expect(upstream.requests.slice(before).map((request) => request.model)).toEqual(['first']);

    const restored = await ok(['targets', 'restore', 'chat', 'up/second']);
    expect(restored).toContain('drained: false');
    expect(await answeredBy()).toBe('up/second');

    // Audited as the operation it was.
    const audit = JSON.parse(await ok(['audit', 'list', '--action', 'targets.drain', '--json'])) as { data: Array<Record<string, unknown>> };
    expect(audit.data[0]).toMatchObject({ target: 'deployment:chat', after: { target: 'up/second', drained: true } });
  });

  it('says what is wrong, with a non-zero exit', async () => {
    const unknownTarget = await cerulean(['targets', 'drain', 'chat', 'up/nope']);
    expect(unknownTarget.code).toBe(1);
    expect(unknownTarget.stderr).toMatch(/^404: .*up\/nope/);
    const unknownDeployment = await cerulean(['targets', 'nope']);
    expect(unknownDeployment.code).toBe(1);
    expect(unknownDeployment.stderr).toMatch(/^404: .*nope/);
    const extra = await cerulean(['targets', 'drain', 'chat', 'up/first', 'up/second']);
    expect(extra.code).toBe(1);
    expect(extra.stderr).toContain('Unexpected argument "up/second": it takes DEPLOYMENT TARGET');
    const twice = await cerulean(['targets', 'drain', 'chat', 'up/first', '--deployment', 'chat']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('--deployment is given twice');
    const missing = await cerulean(['targets', 'drain', 'chat']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('--target');
    // Health lives in the running server: without --url the command says where to run it.
    const local = await cerulean(['targets', 'chat'], {});
    expect(local.code).toBe(1);
    expect(local.stderr).toContain('run this against a server (--url URL or CERULEAN_URL)');
  });

  it('shows the arguments in its help', async () => {
    expect((await ok(['targets', 'drain', '--help'])).split('\n')[0]).toBe('Usage: cerulean targets drain DEPLOYMENT TARGET [--json]');
    expect((await ok(['targets', '--help'])).split('\n')[0]).toBe('Commands of targets:');
  });
});
