import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openCounterConnection } from '../../src/ratelimit/redis/redis-outage-guard.js';
import { RedisHealthStore } from '../../src/routing/redis/redis-health-store.js';
import { MemoryHealthStore, type SharedHealthStore, type SharedHealthUpdate } from '../../src/routing/shared-health-store.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { redisAvailable, REDIS_URL } from '../helpers/services.js';
import { deleteKeys } from '../ratelimit/redis-test-support.js';

/**
 * The shared health store's contract, on this replica's memory and on the real Redis (a key
 * prefix of its own per test), then what only Redis does: announce each update to the other
 * replicas within milliseconds, never back to its sender, and survive an outage.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `probe` holds, failing after `timeoutMs`. */
async function until(probe: () => boolean, what: string, timeoutMs = 3_000): Promise<void> {
  const started = Date.now();
  while (!probe()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const connections: Redis[] = [];
const stores: SharedHealthStore[] = [];
const prefixes: string[] = [];
let admin: Redis | undefined;

function newPrefix(): string {
  const prefix = `{cerulean}:test-${randomBytes(6).toString('hex')}:health:`;
  prefixes.push(prefix);
  return prefix;
}

/** A store on its own counter connection, as a replica has (`url` defaults to the shared Redis). */
function redisStore(prefix: string, url = REDIS_URL): RedisHealthStore {
  const connection = openCounterConnection(url, { commandTimeoutMs: 500 });
  connection.on('error', () => {});
  connections.push(connection);
  const store = new RedisHealthStore(connection, { keyPrefix: prefix });
  stores.push(store);
  return store;
}

async function ready(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') await new Promise((resolve) => connection.once('ready', resolve));
}

beforeAll(() => {
  if (redisAvailable) admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const connection of connections.splice(0)) connection.disconnect();
});

afterAll(async () => {
  if (admin) {
    for (const prefix of prefixes) await deleteKeys(admin, prefix);
    await admin.quit();
  }
});

const implementations: Array<{ name: string; skip: boolean; make(): Promise<SharedHealthStore> }> = [
  { name: 'memory', skip: false, make: async () => new MemoryHealthStore() },
  {
    name: 'redis',
    skip: !redisAvailable,
    make: async () => {
      const store = redisStore(newPrefix());
      await ready(connections[connections.length - 1]);
      return store;
    },
  },
];

for (const implementation of implementations) {
  describe.skipIf(implementation.skip)(`shared health store contract (${implementation.name})`, () => {
    it('reads back open breakers and cooldowns with the time left, lengthened but never shortened', async () => {
      const store = await implementation.make();
      expect(await store.publish({ kind: 'open', deployment: 'chat', target: 'up/a', forMs: 20_000 })).toBe(true);
      expect(await store.publish({ kind: 'cooldown', deployment: 'chat', target: 'up/b', forMs: 10_000 })).toBe(true);
      // Shorter: the longer end stands. Longer: it moves later.
      await store.publish({ kind: 'open', deployment: 'chat', target: 'up/a', forMs: 1_000 });
      await store.publish({ kind: 'cooldown', deployment: 'chat', target: 'up/b', forMs: 15_000 });
      const snapshot = await store.read();
      expect(snapshot?.open).toEqual([{ deployment: 'chat', target: 'up/a', forMs: expect.any(Number) }]);
      expect(snapshot?.open[0].forMs).toBeGreaterThan(19_000);
      expect(snapshot?.open[0].forMs).toBeLessThanOrEqual(20_000);
      expect(snapshot?.cooling).toEqual([{ deployment: 'chat', target: 'up/b', forMs: expect.any(Number) }]);
      expect(snapshot?.cooling[0].forMs).toBeGreaterThan(14_000);
      expect(snapshot?.drained).toEqual([]);
    });

    it('leaves out what has lapsed', async () => {
      const store = await implementation.make();
      await store.publish({ kind: 'cooldown', deployment: 'chat', target: 'up/a', forMs: 40 });
      await store.publish({ kind: 'open', deployment: 'chat', target: 'up/b', forMs: 40 });
      await store.publish({ kind: 'open', deployment: 'chat', target: 'up/c', forMs: 60_000 });
      await sleep(80);
      const snapshot = await store.read();
      expect(snapshot?.cooling).toEqual([]);
      expect(snapshot?.open.map((entry) => entry.target)).toEqual(['up/c']);
    });

    it('keeps drains until restored, per deployment and target, whatever characters the names hold', async () => {
      const store = await implementation.make();
      await store.publish({ kind: 'drain', deployment: 'chat', target: 'up/a', drained: true });
      await store.publish({ kind: 'drain', deployment: 'odd "name"\n', target: 'up/a:b', drained: true });
      await store.publish({ kind: 'drain', deployment: 'other', target: 'up/a', drained: true });
      await store.publish({ kind: 'drain', deployment: 'other', target: 'up/a', drained: false });
      const drained = (await store.read())?.drained ?? [];
      expect([...drained].sort((a, b) => a.deployment.localeCompare(b.deployment))).toEqual([
        { deployment: 'chat', target: 'up/a' },
        { deployment: 'odd "name"\n', target: 'up/a:b' },
      ]);
    });
  });
}

describe.skipIf(!redisAvailable)('RedisHealthStore between replicas', () => {
  it('announces each update to the other replicas within milliseconds and never back to its sender', async () => {
    const prefix = newPrefix();
    const a = redisStore(prefix);
    const b = redisStore(prefix);
    const heardByA: SharedHealthUpdate[] = [];
    const heardByB: SharedHealthUpdate[] = [];
    const gapsB: number[] = [];
    await a.subscribe(
      (update) => heardByA.push(update),
      () => {},
    );
    await b.subscribe(
      (update) => heardByB.push(update),
      () => gapsB.push(Date.now()),
    );
    await until(() => a.state() === 'shared' && b.state() === 'shared', 'both subscribed');
    // Subscribing is a gap: what was published before is only in the keys.
    expect(gapsB.length).toBe(1);

    const sent = Date.now();
    expect(await a.publish({ kind: 'cooldown', deployment: 'chat', target: 'up/a', forMs: 30_000 })).toBe(true);
    await a.publish({ kind: 'open', deployment: 'chat', target: 'up/b', forMs: 5_000 });
    await a.publish({ kind: 'drain', deployment: 'chat', target: 'up/c', drained: true });
    await until(() => heardByB.length === 3, 'B hearing three updates', 1_000);
    expect(Date.now() - sent).toBeLessThan(500);
    expect(heardByB[0]).toMatchObject({ kind: 'cooldown', deployment: 'chat', target: 'up/a' });
    expect((heardByB[0] as { forMs: number }).forMs).toBeGreaterThan(29_000);
    expect(heardByB[1]).toMatchObject({ kind: 'open', deployment: 'chat', target: 'up/b' });
    expect(heardByB[2]).toEqual({ kind: 'drain', deployment: 'chat', target: 'up/c', drained: true });
    // A shorter cooldown is announced with what is really left (the longer one).
    await a.publish({ kind: 'cooldown', deployment: 'chat', target: 'up/a', forMs: 1_000 });
    await until(() => heardByB.length === 4, 'B hearing the fourth update', 1_000);
    expect((heardByB[3] as { forMs: number }).forMs).toBeGreaterThan(28_000);
    await sleep(50);
    expect(heardByA).toEqual([]);
  });

  it('expires its sorted sets with their latest end', async () => {
    const prefix = newPrefix();
    const store = redisStore(prefix);
    await ready(connections[0]);
    await store.publish({ kind: 'cooldown', deployment: 'chat', target: 'up/a', forMs: 2_000 });
    await store.publish({ kind: 'cooldown', deployment: 'chat', target: 'up/b', forMs: 9_000 });
    const ttl = await (admin as Redis).pttl(`${prefix}cool`);
    expect(ttl).toBeGreaterThan(8_000);
    expect(ttl).toBeLessThanOrEqual(9_000);
    await store.publish({ kind: 'drain', deployment: 'chat', target: 'up/a', drained: true });
    expect(await (admin as Redis).pttl(`${prefix}drained`)).toBe(-1);
  });
});

describe.skipIf(!redisAvailable)('RedisHealthStore through an outage', () => {
  let redis: PrivateRedis | undefined;
  afterAll(async () => {
    await redis?.stop();
  });

  it('fails at once while Redis is away, then resubscribes and says updates may have been missed', async () => {
    const port = 6391;
    redis = await startPrivateRedis(port);
    const prefix = newPrefix();
    const store = redisStore(prefix, redis.url);
    const other = redisStore(prefix, redis.url);
    let gaps = 0;
    const heard: SharedHealthUpdate[] = [];
    await store.subscribe(
      () => {},
      () => gaps++,
    );
    await other.subscribe(
      (update) => heard.push(update),
      () => {},
    );
    await until(() => store.state() === 'shared' && other.state() === 'shared' && gaps === 1, 'subscribed');

    await redis.stop();
    await until(() => store.state() === 'unreachable', 'the outage noticed');
    const started = Date.now();
    expect(await store.publish({ kind: 'cooldown', deployment: 'chat', target: 'up/a', forMs: 10_000 })).toBe(false);
    expect(await store.publish({ kind: 'drain', deployment: 'chat', target: 'up/a', drained: true })).toBe(false);
    expect(await store.read()).toBeUndefined();
    // Refused at once, not after a timeout: the connection does not queue while disconnected.
    expect(Date.now() - started).toBeLessThan(100);

    redis = await startPrivateRedis(port);
    await until(() => store.state() === 'shared' && other.state() === 'shared', 'reconnected', 10_000);
    expect(gaps).toBe(2);
    expect(await store.publish({ kind: 'drain', deployment: 'chat', target: 'up/a', drained: true })).toBe(true);
    await until(() => heard.length === 1, 'the other replica hearing the drain after the outage');
  }, 30_000);

  it('starts without Redis and shares once it answers', async () => {
    const port = 6392;
    const prefix = newPrefix();
    const store = redisStore(prefix, `redis://127.0.0.1:${port}`);
    let gaps = 0;
    const started = Date.now();
    await store.subscribe(
      () => {},
      () => gaps++,
    );
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(store.state()).toBe('unreachable');
    expect(await store.read()).toBeUndefined();
    const late = await startPrivateRedis(port);
    try {
      await until(() => store.state() === 'shared' && gaps === 1, 'sharing once Redis answers', 10_000);
      expect(await store.read()).toEqual({ open: [], cooling: [], drained: [] });
    } finally {
      await late.stop();
    }
  }, 30_000);
});
