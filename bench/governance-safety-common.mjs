// Shared helpers for bench/governance.mjs and bench/safety.mjs (the governance and content-safety
// benchmarks; see docs/benchmarks-governance-safety.md). The load generators, process handling and
// statistics come from bench/lib (shared with bench/run.mjs); this file adds what those two scripts
// need on top: waiting for other benchmarks to finish, temp dirs, machine facts, the admin API.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { backgroundLoad } from './lib/processes.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export const log = (tag, message) => process.stderr.write(`[${tag} ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
export const fmt = (value, digits = 3) => (value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits));

/** Temp dirs removed on exit, whatever the exit path (the servers are killed by lib/processes.mjs). */
const tempDirs = new Set();
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
export function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** A hard bound on the whole run, and Ctrl-C / kill handled through process.exit (children die too). */
export function installWatchdog(tag, seconds) {
  const timer = setTimeout(() => {
    log(tag, `watchdog fired after ${seconds} s; giving up`);
    process.exit(2);
  }, seconds * 1000);
  timer.unref();
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
}

function othersRunning() {
  // The bracket keeps pgrep from matching a shell whose own command line holds the pattern.
  for (const pattern of ['bench/[r]un.mjs', '[v]itest']) {
    try {
      const out = execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim();
      if (out) return `${pattern.replace(/[[\]]/g, '')} (pid ${out.split('\n').join(', ')})`;
    } catch {
      // pgrep exits 1 when nothing matches
    }
  }
  return null;
}

/**
 * Waits until no other benchmark (bench/run.mjs) and no test run (vitest) has been running for 20 s,
 * polling every 10 s, at most `maxWaitS` seconds; then measures how busy the machine is for a second.
 * Returns { waitedS, othersAtStart, backgroundCores }.
 */
export async function waitForQuiet(tag, maxWaitS) {
  const started = Date.now();
  let quietSince = null;
  let announced = false;
  while (Date.now() - started < maxWaitS * 1000) {
    const others = othersRunning();
    if (others) {
      quietSince = null;
      if (!announced) log(tag, `waiting for ${others} to finish (polling every 10 s, at most ${maxWaitS} s)`);
      announced = true;
    } else {
      quietSince ??= Date.now();
      if (Date.now() - quietSince >= 20_000) break;
    }
    await sleep(10_000);
  }
  const watch = backgroundLoad([]);
  await sleep(1000);
  const backgroundCores = watch.stop().foreignCores;
  return { waitedS: Math.round((Date.now() - started) / 1000), othersAtStart: othersRunning(), backgroundCores };
}

export function machine() {
  let commit = process.env.CERULEAN_BENCH_COMMIT || null;
  if (!commit) {
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
      const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
      if (dirty) commit += ' (src modified)';
    } catch {
      // not a git checkout
    }
  }
  const list = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${release()}`,
    cpus: list.length,
    cpuModel: list[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    commit,
  };
}

/** One admin API call with the master key; throws unless 2xx. */
export async function admin(baseUrl, masterKey, method, path, body) {
  const response = await request(`${baseUrl}/admin/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${masterKey}` },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await response.body.text();
  if (response.statusCode < 200 || response.statusCode >= 300) throw new Error(`${method} ${path}: ${response.statusCode} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

export function okCount(statuses) {
  return Object.entries(statuses).reduce((sum, [code, n]) => (Number(code) >= 200 && Number(code) < 300 ? sum + n : sum), 0);
}
