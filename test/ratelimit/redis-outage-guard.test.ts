import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AbuseMonitoringConfig } from '../../src/config/schema.js';
import type { InferenceContext } from '../../src/pipeline/context.js';
import { AbuseMonitor } from '../../src/safety/abuse/abuse-monitor.js';
import { MemoryAbuseCounterStore } from '../../src/safety/abuse/abuse-counter-store.js';
import { FailoverAbuseCounterStore } from '../../src/safety/abuse/failover-abuse-counter-store.js';
import { RedisAbuseCounterStore } from '../../src/safety/abuse/redis-abuse-counter-store.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { CountersUnavailableError, RateLimitedError } from '../../src/errors/catalogue.js';
import { openCounterConnection, RedisOutageGuard, type OutageLogger } from '../../src/ratelimit/redis/redis-outage-guard.js';
import { startCuttableProxy, type CuttableProxy } from '../helpers/cuttable-proxy.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';

/** The outage guard on real connections to a private redis-server behind a proxy the test cuts. */

let redis: PrivateRedis;
let proxy: CuttableProxy;

beforeAll(async () => {
  redis = await startPrivateRedis(26503);
  proxy = await startCuttableProxy(26513, { host: '127.0.0.1', port: redis.port });
});

afterAll(async () => {
  await proxy?.close();
  await redis?.stop();
});

interface Line {
  level: 'error' | 'warn' | 'info';
  object: Record<string, unknown>;
  message: string;
}

function recorder(): { logger: OutageLogger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: Line['level']) => (object: Record<string, unknown>, message: string) => void lines.push({ level, object, message });
  return { lines, logger: { error: at('error'), warn: at('warn'), info: at('info') } };
}

function guarded(policy: 'fail_closed' | 'fail_open') {
  const connection = openCounterConnection(`redis://127.0.0.1:${proxy.port}`, { commandTimeoutMs: 250 });
  const { logger, lines } = recorder();
  const guard = new RedisOutageGuard(connection, { policy, logger });
  return {
    connection,
    guard,
    lines,
    async close() {
      guard.close();
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}

describe('RedisOutageGuard', () => {
  it('passes refusals through, and counts only failures to reach Redis as an outage', async () => {
    const { connection, guard, lines, close } = guarded('fail_closed');
    try {
      expect(await guard.ready(5_000)).toBe(true);
      expect(
        await guard.run(
          () => connection.incr('{cerulean}:guard-test'),
          async () => -1,
        ),
      ).toBeGreaterThan(0);
      const refusal = new RateLimitedError('full', 5);
      await expect(
        guard.run(
          () => Promise.reject(refusal),
          async () => 0,
        ),
      ).rejects.toBe(refusal);
      expect(guard.up).toBe(true);
      expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    } finally {
      await close();
    }
  });

  it('logs each outage once however many reconnects fail, refuses (fail_closed) or goes local (fail_open), and logs the end', async () => {
    const closed = guarded('fail_closed');
    const open = guarded('fail_open');
    try {
      expect(await closed.guard.ready(5_000)).toBe(true);
      expect(await open.guard.ready(5_000)).toBe(true);
      // The second replica to announce itself sees the first's different policy.
      await expect.poll(() => open.lines.filter((line) => line.level === 'warn').length).toBe(1);
      expect(open.lines.find((line) => line.level === 'warn')?.message).toMatch(/different redis\.on_outage/);

      await proxy.cut();
      await expect.poll(() => closed.guard.up).toBe(false);
      let local = 0;
      for (let i = 0; i < 3; i++) {
        await expect(
          closed.guard.run(
            () => closed.connection.incr('{cerulean}:guard-test'),
            async () => 0,
          ),
        ).rejects.toBeInstanceOf(CountersUnavailableError);
        expect(
          await open.guard.run(
            () => open.connection.incr('{cerulean}:guard-test'),
            async () => ++local,
          ),
        ).toBe(i + 1);
      }
      // ioredis retries every 50, 100, 150 … ms: several attempts fail in this second.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      for (const { lines, guard } of [closed, open]) {
        const errors = lines.filter((line) => line.level === 'error');
        expect(errors).toHaveLength(1);
        expect(errors[0].object.redis).toEqual({ on_outage: guard.policy });
        expect(errors[0].message).toMatch(/^redis unreachable/);
      }
      expect(closed.guard.outages).toBe(1);

      await proxy.restore();
      expect(await closed.guard.ready(5_000)).toBe(true);
      expect(await open.guard.ready(5_000)).toBe(true);
      await expect.poll(() => closed.guard.up && open.guard.up).toBe(true);
      const ends = [closed, open].map(({ lines }) => lines.filter((line) => line.level === 'info'));
      expect(ends[0]).toHaveLength(1);
      expect(ends[0][0].object.redis).toMatchObject({ on_outage: 'fail_closed', refused: 3 });
      expect(ends[1][0].object.redis).toMatchObject({ on_outage: 'fail_open', admitted_locally: 3 });
      expect((ends[0][0].object.redis as { down_ms: number }).down_ms).toBeGreaterThan(0);
      expect(
        await closed.guard.run(
          () => closed.connection.incr('{cerulean}:guard-test'),
          async () => -1,
        ),
      ).toBeGreaterThan(0);
    } finally {
      await proxy.restore();
      await closed.close();
      await open.close();
    }
  }, 20_000);
});

describe('abuse throttles through the guard', () => {
  const abuseConfig: AbuseMonitoringConfig = {
    window_minutes: 15,
    long_window_hours: 24,
    flag_threshold: 3,
    block_threshold: 2,
    suspend_threshold: 4,
    actions: ['throttle'],
    webhook_url: undefined,
    webhook_timeout_ms: 2_000,
    throttle_minutes: 5,
    sample_retention_days: 30,
  };
  const context = {
    id: 'req_1',
    deployment: 'chat',
    principal: { kind: 'key', id: 'key_throttled', organizationId: 'org_1', projectId: 'proj_a', deployments: null },
    projectId: 'proj_a',
    organizationId: 'org_1',
    body: {},
  } as unknown as InferenceContext;

  it('a throttle is still a 429 while Redis answers; while it is away the gate refuses with 503 (fail_closed) or passes (fail_open)', async () => {
    const storage = await openStorage(`sqlite:${join(mkdtempSync(join(tmpdir(), 'cerulean-abuse-outage-')), 'c.db')}`);
    await storage.migrate();
    const replicas = (['fail_closed', 'fail_open'] as const).map((policy) => {
      const replica = guarded(policy);
      const store = new FailoverAbuseCounterStore(
        new RedisAbuseCounterStore(replica.connection, { keyPrefix: '{cerulean-abuse}:outage-test:' }),
        new MemoryAbuseCounterStore(),
        replica.guard,
      );
      return { ...replica, store, monitor: new AbuseMonitor({ config: abuseConfig, storage, store }) };
    });
    const [closed, open] = replicas;
    try {
      for (const { guard } of replicas) expect(await guard.ready(5_000)).toBe(true);
      const subject = closed.monitor.subjectsOf(context)[0].key;
      await closed.store.throttle(subject, Date.now() + 60_000, Date.now());
      for (const { monitor } of replicas) await expect(monitor.gate(context)).rejects.toMatchObject({ status: 429, code: 'abuse_throttled' });

      await proxy.cut();
      await expect.poll(() => closed.guard.up || open.guard.up).toBe(false);
      await expect(closed.monitor.gate(context)).rejects.toBeInstanceOf(CountersUnavailableError);
      await expect(open.monitor.gate(context)).resolves.toBeUndefined();
    } finally {
      await proxy.restore();
      for (const replica of replicas) {
        await replica.monitor.close();
        await replica.close();
      }
      await storage.close();
    }
  }, 20_000);
});
