import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, relative } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { POSTGRES_URL, REDIS_URL } from '../helpers/service-urls.js';

// Probes PostgreSQL and Redis once for the whole run. Suites that need one skip when it does not
// answer, and this prints one line per missing service naming them and how to enable them; with
// CERULEAN_REQUIRE_SERVICES=1 a missing service fails the run instead.

const PROBE_TIMEOUT_MS = 3_000;

async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: PROBE_TIMEOUT_MS });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** A bare PING on a socket: no client library, so no reconnect loop or error events to silence. */
function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) });
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

/** Test files that read the given availability flag: the suites skipped without that service. */
function suitesNeeding(root: string, flag: string): string[] {
  const files: string[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(directory, { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.test.ts') && readFileSync(path, 'utf8').includes(flag)) files.push(relative(root, path));
    }
  };
  walk(join(root, 'test'));
  return files.sort();
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

export default async function setup(project: TestProject): Promise<void> {
  const [postgres, redis] = await Promise.all([postgresAnswers(POSTGRES_URL), redisAnswers(REDIS_URL)]);
  project.provide('services', { postgres, redis });
  const root = project.config.root;
  const missing: string[] = [];
  if (!postgres) {
    missing.push(
      `PostgreSQL not answering at ${redact(POSTGRES_URL)}: skipped ${suitesNeeding(root, 'postgresAvailable').join(', ')}; start it or set CERULEAN_TEST_POSTGRES_URL`,
    );
  }
  if (!redis) {
    missing.push(
      `Redis not answering at ${redact(REDIS_URL)}: skipped ${suitesNeeding(root, 'redisAvailable').join(', ')}; start it or set CERULEAN_TEST_REDIS_URL`,
    );
  }
  if (missing.length === 0) return;
  if (process.env.CERULEAN_REQUIRE_SERVICES === '1') throw new Error(`CERULEAN_REQUIRE_SERVICES=1 and ${missing.join('\n')}`);
  for (const line of missing) process.stderr.write(`\n${line}\n`);
}
