import { spawnSync } from 'node:child_process';
import fs, { closeSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * The usage spool under faults. Its segment files are opened ahead of need, so a process out of
 * file descriptors still journals what upstreams answered; and when the spool cannot write at all,
 * no upstream is called (503 metering_unavailable), since its answer could not be metered.
 */
let upstream: OpenAIFixture;
let cerulean: GovernedCerulean;
/** One keep-alive connection, opened before descriptors run out (a new one could not be accepted). */
let client: Client;

beforeAll(async () => {
  upstream = await startOpenAIFixture({ apiKey: 'sk-fixture' });
  cerulean = await startGovernedCerulean(`
usage: { flush_interval_ms: 3600000 }
providers:
  up: { type: openai, api_key: sk-fixture, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
content_safety:
  deployments: { chat: none }
`);
  client = new Client(cerulean.url, { pipelining: 1, keepAliveTimeout: 60_000 });
});

afterAll(async () => {
  await client?.close();
  await cerulean?.close();
  await upstream?.close();
});

async function chat(): Promise<{ status: number; id: string; headers: Record<string, unknown>; body: any }> {
  const response = await client.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'Say hello.' }] }),
  });
  const body = await response.body.json();
  return { status: response.statusCode, id: String(response.headers['x-request-id']), headers: response.headers, body };
}

/** Descriptors of this process open on files under `folder`. */
function descriptorsUnder(folder: string): number[] {
  return readdirSync('/proc/self/fd')
    .map(Number)
    .filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith(folder);
      } catch {
        return false;
      }
    });
}

describe('the usage spool when the process is out of file descriptors', () => {
  it('still journals and meters answered requests across a rotation', async () => {
    const warm = await chat(); // opens the connections the rest reuses
    expect(warm.status).toBe(200);
    await cerulean.governance.ledger.flush(); // seals a segment: the next one must already be open

    // Descriptors held back for the end: restoring the limit spawns prlimit, whose pipes need
    // free slots under the lowered limit (the gaps filled below may be few or none).
    const reserve = Array.from({ length: 32 }, () => openSync('/dev/null', 'r'));
    // Lower this process's descriptor limit to what is open now and fill any gap below it.
    const open = readdirSync('/proc/self/fd').map(Number);
    const limit = Math.max(...open) + 1;
    const prlimit = spawnSync('prlimit', ['--pid', String(process.pid), '--nofile']);
    const original = /(\d+|unlimited)\s+(\d+|unlimited)\s+files/.exec(prlimit.stdout.toString())?.[1];
    expect(original, 'prlimit (util-linux) reads the open-file limit').toBeDefined();
    expect(spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${limit}:`]).status).toBe(0);
    let restored: ReturnType<typeof spawnSync> = { status: null } as ReturnType<typeof spawnSync>;
    const filler: number[] = [];
    const answered: string[] = [];
    try {
      const fill = (): void => {
        for (;;) {
          try {
            filler.push(openSync('/dev/null', 'r'));
          } catch (error) {
            expect((error as NodeJS.ErrnoException).code).toBe('EMFILE');
            return;
          }
        }
      };
      fill();
      // The sealed segment is closed on the thread pool after its fsync: take its slot too.
      await sleep(100);
      fill();
      for (let round = 0; round < 2; round++) {
        const { status, id } = await chat();
        expect(status).toBe(200);
        answered.push(id);
        // A rotation now: the first finds the spare opened before, the second finds none and
        // keeps writing to the active segment.
        await cerulean.governance.ledger.flush();
      }
    } finally {
      for (const fd of [...reserve, ...filler]) closeSync(fd);
      restored = spawnSync('prlimit', ['--pid', String(process.pid), `--nofile=${original}:`]);
    }
    expect(restored.status, `restoring the open-file limit: ${restored.error?.message ?? restored.stderr}`).toBe(0);
    await cerulean.governance.ledger.flush();
    for (const id of answered) expect(await cerulean.governance.storage.usage.get(id), id).toBeDefined();
  });
});

describe('a usage spool that cannot write', () => {
  it('answers what the upstream already answered, then refuses (503) without calling the upstream until it writes again', async () => {
    const spoolDir = join(cerulean.dataDir, 'spool');
    const broken = new Set(descriptorsUnder(spoolDir));
    expect(broken.size).toBeGreaterThan(0);
    // A disk that fails every write and open in the spool folder.
    const { writeSync, openSync: realOpen } = fs;
    const fail = (code: string): never => {
      throw Object.assign(new Error(`${code}: injected`), { code });
    };
    fs.writeSync = ((fd: number, ...rest: unknown[]) => (broken.has(fd) ? fail('EIO') : (writeSync as any)(fd, ...rest))) as typeof fs.writeSync;
    fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) =>
      String(path).startsWith(spoolDir) ? fail('EMFILE') : (realOpen as any)(path, ...rest)) as typeof fs.openSync;
    syncBuiltinESMExports();
    let first: Awaited<ReturnType<typeof chat>>;
    let refused: Awaited<ReturnType<typeof chat>>;
    let calls: number;
    try {
      // The spool learns of the failure with this write: the answer is delivered, its record kept in memory.
      first = await chat();
      expect(first.status).toBe(200);
      calls = upstream.requests.length;
      refused = await chat();
    } finally {
      fs.writeSync = writeSync;
      fs.openSync = realOpen;
      syncBuiltinESMExports();
    }
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('metering_unavailable');
    expect(refused.headers['retry-after']).toBe('1');
    expect(upstream.requests.length).toBe(calls);

    // The next rotation moves to a fresh segment; the record of the answered request is committed.
    await cerulean.governance.ledger.flush();
    expect(await cerulean.governance.storage.usage.get(first.id)).toBeDefined();
    expect((await chat()).status).toBe(200);
  });
});
