import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openCounterConnection } from '../../src/ratelimit/redis/redis-outage-guard.js';
import { HealthSharing, type HealthDirectory } from '../../src/routing/health-sharing.js';
import { RedisHealthStore } from '../../src/routing/redis/redis-health-store.js';
import { MemoryHealthStore, type SharedHealthStore } from '../../src/routing/shared-health-store.js';
import { TargetHealth, type BreakerSettings } from '../../src/routing/target-health.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { redisAvailable, REDIS_URL } from '../helpers/services.js';
import { deleteKeys } from '../ratelimit/redis-test-support.js';

/**
 * Replicas, each a HealthSharing over its own table of two targets, sharing one Redis: what one
 * learns from its own outcomes reaches the others; a drain holds everywhere and across restarts;
 * a message missed is healed by the resync; during an outage each keeps its own state.
 */

const SETTINGS: BreakerSettings = { failureThreshold: 2, failureRate: 0.5, minimumRequests: 10, windowMs: 10_000, openMs: 5_000, halfOpenProbes: 1 };
const TARGETS = ['up/a', 'up/b'];

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
async function until(probe: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  while (!probe()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface Replica {
  sharing: HealthSharing;
  health(target: string): TargetHealth;
  close(): Promise<void>;
}

const open: Replica[] = [];
const prefixes: string[] = [];

/** A replica's table: deployment `chat` with TARGETS, each health told to `sharing`. */
async function replica(store: SharedHealthStore, connection?: Redis): Promise<Replica> {
  const healths = new Map<string, TargetHealth>();
  const directory: HealthDirectory = {
    healthOf: (deployment, target) => (deployment === 'chat' ? healths.get(target) : undefined),
    forEachTarget: (visit) => healths.forEach((health, target) => visit('chat', target, health)),
  };
  const sharing = new HealthSharing(store, { directory: () => directory, resyncIntervalMs: 200 });
  for (const target of TARGETS) healths.set(target, new TargetHealth(SETTINGS, sharing.eventsFor('chat', target)));
  await sharing.start();
  const made: Replica = {
    sharing,
    health: (target) => healths.get(target) as TargetHealth,
    async close() {
      await sharing.close();
      await store.close();
      connection?.disconnect();
    },
  };
  open.push(made);
  return made;
}

async function redisReplica(prefix: string, url = REDIS_URL): Promise<Replica> {
  const connection = openCounterConnection(url, { commandTimeoutMs: 500 });
  connection.on('error', () => {});
  // As a service does at start: wait for Redis a while, start all the same.
  if (connection.status !== 'ready')
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      connection.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  return replica(new RedisHealthStore(connection, { keyPrefix: prefix }), connection);
}

function newPrefix(): string {
  const prefix = `{cerulean}:test-${randomBytes(6).toString('hex')}:health:`;
  prefixes.push(prefix);
  return prefix;
}

afterEach(async () => {
  for (const made of open.splice(0)) await made.close();
});

afterAll(async () => {
  if (!redisAvailable) return;
  const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  for (const prefix of prefixes) await deleteKeys(admin, prefix);
  await admin.quit();
});

const fail = (health: TargetHealth, cause: 'status_5xx' | 'rate_limited', retryAfterMs?: number): void => {
  const now = Date.now();
  health.begin(now);
  health.end({ ok: false, cause, retryAfterMs }, now);
};

describe('HealthSharing on one replica (memory)', () => {
  it('keeps drains in its own memory, so a resync (after a reload) keeps them', async () => {
    const one = await replica(new MemoryHealthStore());
    expect(one.sharing.sharing()).toBe('local');
    expect(await one.sharing.setDrained('chat', 'up/a', true)).toBe('local');
    expect(one.health('up/a').isDrained()).toBe(true);
    await one.sharing.resync();
    expect(one.health('up/a').isDrained()).toBe(true);
    expect(await one.sharing.setDrained('chat', 'up/a', false)).toBe('local');
    await one.sharing.resync();
    expect(one.health('up/a').isDrained()).toBe(false);
  });
});

describe.skipIf(!redisAvailable)('HealthSharing between replicas (Redis)', () => {
  it("adopts another replica's cooldown and open breaker within milliseconds, and says it was learnt", async () => {
    const prefix = newPrefix();
    const [a, b, c] = [await redisReplica(prefix), await redisReplica(prefix), await redisReplica(prefix)];
    await until(() => [a, b, c].every((each) => each.sharing.sharing() === 'shared'), 'sharing');

    fail(a.health('up/a'), 'rate_limited', 30_000);
    fail(a.health('up/b'), 'status_5xx');
    fail(a.health('up/b'), 'status_5xx');
    expect(a.health('up/b').state(Date.now())).toBe('open');
    const published = Date.now();
    await until(() => !b.health('up/a').available(Date.now()) && !c.health('up/b').available(Date.now()), 'B and C adopting', 1_000);
    // Pub/sub, not the 200 ms resync.
    expect(Date.now() - published).toBeLessThan(150);
    for (const other of [b, c]) {
      const cooling = other.health('up/a').coolingUntil() as number;
      expect(Math.abs(cooling - (a.health('up/a').coolingUntil() as number))).toBeLessThan(100);
      expect(other.health('up/b').state(Date.now())).toBe('open');
      expect(other.sharing.learnt(other.health('up/a'), Date.now())).toBe(true);
      expect(other.sharing.learnt(other.health('up/b'), Date.now())).toBe(true);
    }
    // The replica that saw it learnt it itself, also after resyncs read it back.
    await sleep(450);
    expect(a.sharing.learnt(a.health('up/a'), Date.now())).toBe(false);
    expect(a.sharing.learnt(a.health('up/b'), Date.now())).toBe(false);
  });

  it('heals a missed update with the resync: a replica started later learns what was published before', async () => {
    const prefix = newPrefix();
    const a = await redisReplica(prefix);
    fail(a.health('up/a'), 'rate_limited', 20_000);
    await a.sharing.setDrained('chat', 'up/b', true);
    const late = await redisReplica(prefix);
    // `start` reads the store before it returns: the first request already skips both.
    expect(late.health('up/a').available(Date.now())).toBe(false);
    expect(late.health('up/b').isDrained()).toBe(true);
  });

  it('drains and restores on every replica, and a restarted replica reads the drain back', async () => {
    const prefix = newPrefix();
    const [a, b] = [await redisReplica(prefix), await redisReplica(prefix)];
    await until(() => a.sharing.sharing() === 'shared' && b.sharing.sharing() === 'shared', 'sharing');
    expect(await a.sharing.setDrained('chat', 'up/a', true)).toBe('shared');
    expect(a.health('up/a').isDrained()).toBe(true);
    await until(() => b.health('up/a').isDrained(), 'B drained', 1_000);
    await b.close();
    open.splice(open.indexOf(b), 1);
    const restarted = await redisReplica(prefix);
    expect(restarted.health('up/a').isDrained()).toBe(true);
    expect(await restarted.sharing.setDrained('chat', 'up/a', false)).toBe('shared');
    await until(() => !a.health('up/a').isDrained(), 'A restored', 1_000);
  });

  it('a drain seen by no message (lost) is still applied, and one removed behind its back restored, by the resync', async () => {
    const prefix = newPrefix();
    const a = await redisReplica(prefix);
    const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      await admin.hset(`${prefix}drained`, JSON.stringify(['chat', 'up/b']), '1');
      await until(() => a.health('up/b').isDrained(), 'drained by the resync', 1_000);
      await admin.hdel(`${prefix}drained`, JSON.stringify(['chat', 'up/b']));
      await until(() => !a.health('up/b').isDrained(), 'restored by the resync', 1_000);
    } finally {
      await admin.quit();
    }
  });
});

describe.skipIf(!redisAvailable)('HealthSharing through a Redis outage', () => {
  let redis: PrivateRedis | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it('keeps each replica on its own state, and publishes the drain made meanwhile once Redis answers', async () => {
    const port = 6393;
    redis = await startPrivateRedis(port);
    const prefix = newPrefix();
    const [a, b] = [await redisReplica(prefix, redis.url), await redisReplica(prefix, redis.url)];
    await until(() => a.sharing.sharing() === 'shared' && b.sharing.sharing() === 'shared', 'sharing');

    await redis.stop();
    await until(() => a.sharing.sharing() === 'unreachable', 'the outage noticed');
    // Local state works: A's own cooldown and breaker hold on A, and B knows nothing of them.
    fail(a.health('up/a'), 'rate_limited', 30_000);
    expect(a.health('up/a').available(Date.now())).toBe(false);
    expect(b.health('up/a').available(Date.now())).toBe(true);
    const started = Date.now();
    expect(await a.sharing.setDrained('chat', 'up/b', true)).toBe('unreachable');
    expect(Date.now() - started).toBeLessThan(100);
    expect(a.health('up/b').isDrained()).toBe(true);
    expect(b.health('up/b').isDrained()).toBe(false);

    redis = await startPrivateRedis(port);
    // A's drain reaches B once both are back (the cooldown published during the outage is lost: it was A's alone).
    await until(() => b.health('up/b').isDrained(), 'B learning the drain made during the outage', 10_000);
    expect(a.health('up/b').isDrained()).toBe(true);
    // A's own subscription may come back after its commands did (the two connections reconnect on
    // their own schedules): A says `shared` once both are back, not necessarily when B first hears.
    await until(() => a.sharing.sharing() === 'shared', 'A sharing again', 10_000);
  }, 30_000);
});
