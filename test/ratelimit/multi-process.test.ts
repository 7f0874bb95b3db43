import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateLimitedError } from '../../src/errors/catalogue.js';
import { QuotaAdmission } from '../../src/ratelimit/quota-admission.js';
import { RedisRateLimitStore } from '../../src/ratelimit/redis/redis-rate-limit-store.js';
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from './redis-test-support.js';
import { redisAvailable } from '../helpers/services.js';

/**
 * Three replicas (separate Node processes, each running the built limiter) share one Redis and
 * hammer one deployment at once. The deployment's TPM must hold for all of them together: the
 * bug this guards against is a per-replica check that lets limit x replicas through.
 */

const WORKER = fileURLToPath(new URL('./limiter-worker.mjs', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/ratelimit/quota-admission.js', import.meta.url));

const PROCESSES = 3;
/**
 * Large enough that filling the window takes ~4,000 admissions spread over about a second, so the
 * replicas really contend throughout (with 60,000 the first replica's first burst of 40 takes it
 * all). RPM follows from TPM (6 per 1,000), so a small TPM would bind on requests instead.
 */
const DEPLOYMENT_TPM = 6_000_000;
const PROJECT_TPM = 4_000_000;
const PROJECTS = ['alpha', 'beta'];
const RUN_MS = 2_000;

interface WorkerReport {
  admittedTokens: number;
  admittedByProject: Record<string, number>;
  admitted: number;
  refused: number;
  errors: string[];
}

type WorkerMessage = { type: 'ready' } | { type: 'done'; report: WorkerReport };

const keyPrefix = testKeyPrefix();
let admin: Redis;
const children: ChildProcess[] = [];

beforeAll(() => {
  if (redisAvailable) admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  if (!redisAvailable) return;
  for (const child of children) if (child.exitCode === null) child.kill();
  await deleteKeys(admin, keyPrefix);
  await admin.quit();
});

function nextMessage(child: ChildProcess, type: WorkerMessage['type']): Promise<WorkerMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: WorkerMessage): void => {
      if (message.type !== type) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(message);
    };
    const onExit = (code: number | null): void => reject(new Error(`limiter worker exited (${code}) before sending "${type}"`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

describe.skipIf(!redisAvailable)('QuotaAdmission across processes sharing Redis', () => {
  it('holds the deployment TPM for all replicas together, within 2% and never above', async () => {
    expect(existsSync(BUILT), 'dist/ is missing: run `npx tsc -p tsconfig.json` (npm test does) before this test').toBe(true);

    const deployment = `shared-${Math.random().toString(36).slice(2, 10)}`;
    // Every request is judged at one instant inside one 60 s (and one 10 s) window, so the whole
    // run competes for exactly one window of each kind whatever the wall clock does.
    const now = Math.floor(Date.now() / 60_000) * 60_000 + 1_000;
    for (let i = 0; i < PROCESSES; i++) {
      children.push(fork(WORKER, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
    const ready = children.map((child) => nextMessage(child, 'ready'));
    children.forEach((child, i) =>
      child.send({
        type: 'start',
        config: {
          redisUrl: TEST_REDIS_URL,
          keyPrefix,
          deployment,
          deploymentTpm: DEPLOYMENT_TPM,
          projectTpm: PROJECT_TPM,
          projects: PROJECTS,
          now,
          seed: 1_000 + i,
          concurrency: 40,
          // Estimates of ~100 to ~3,000 tokens: the token window, not the request window
          // (60 per 10 s here), is what fills up.
          minMaxTokens: 90,
          maxMaxTokens: 3_000,
          maxAttemptsPerLoop: 5_000,
          // Each admitted request then holds its loop for a simulated upstream call; a refused one
          // backs off briefly before trying again.
          upstreamMs: [20, 40],
          refusedBackoffMs: 5,
        },
      }),
    );
    await Promise.all(ready);

    const done = children.map((child) => nextMessage(child, 'done'));
    const startAt = Date.now() + 100;
    const until = startAt + RUN_MS;
    for (const child of children) child.send({ type: 'go', startAt, until });
    const reports = (await Promise.all(done)).map((message) => (message as { report: WorkerReport }).report);

    expect(reports.flatMap((report) => report.errors)).toEqual([]);
    const total = reports.reduce((sum, report) => sum + report.admittedTokens, 0);
    // Every replica both won and lost: the window was contended, not filled by one of them.
    for (const report of reports) {
      expect(report.admittedTokens).toBeGreaterThan(total * 0.1);
      expect(report.refused).toBeGreaterThan(0);
    }
    expect(total).toBeLessThanOrEqual(DEPLOYMENT_TPM);
    expect(total).toBeGreaterThanOrEqual(DEPLOYMENT_TPM * 0.98);
    for (const project of PROJECTS) {
      const projectTotal = reports.reduce((sum, report) => sum + (report.admittedByProject[project] ?? 0), 0);
      expect(projectTotal).toBeLessThanOrEqual(PROJECT_TPM);
    }

    // The shared counter holds exactly what the replicas were told they got.
    const store = new RedisRateLimitStore(TEST_REDIS_URL, { keyPrefix });
    try {
      const probe = {
        deployment,
        deploymentTpm: DEPLOYMENT_TPM,
        projectId: 'probe',
        projectTpm: null,
        operation: 'embeddings' as const,
        body: { input: [[1]] },
        model: 'text-embedding-3-small',
        now,
      };
      const remaining = await new QuotaAdmission(store).admit(probe).then(
        (admitted) => Number(admitted.headers['x-ratelimit-remaining-tokens']) + admitted.estimatedTokens,
        (error: unknown) => {
          if (!(error instanceof RateLimitedError)) throw error;
          return Number(error.headers?.['x-ratelimit-remaining-tokens']);
        },
      );
      expect(DEPLOYMENT_TPM - remaining).toBe(total);
    } finally {
      await store.close();
    }
  });
});
