import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryRateLimitStore } from '../../src/ratelimit/memory/memory-rate-limit-store.js';
import type { RateLimitStore } from '../../src/ratelimit/rate-limit-store.js';
import { RedisRateLimitStore } from '../../src/ratelimit/redis/redis-rate-limit-store.js';
import { openCounterConnection, RedisOutageGuard } from '../../src/ratelimit/redis/redis-outage-guard.js';
import { TARGET_WINDOW_MS, TargetQuota, targetLimits, type TargetAdmission, type TargetReservation } from '../../src/routing/target-quota.js';
import { redisAvailable } from '../helpers/services.js';
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from '../ratelimit/redis-test-support.js';

/** A minute boundary, so offsets below read as "ms into the window". */
const T0 = 28_333_334 * TARGET_WINDOW_MS;
/** A port of this suite's own range where nothing listens: a Redis that is down. */
const DOWN_REDIS_URL = 'redis://127.0.0.1:6396';

const prefix = testKeyPrefix();
let admin: Redis | undefined;

beforeAll(() => {
  if (redisAvailable) admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  if (!admin) return;
  await deleteKeys(admin, prefix);
  await admin.quit();
});

function reservationOf(admission: TargetAdmission): TargetReservation {
  if (!admission.ok) throw new Error(`expected an admitted attempt, got a skip for ${admission.retryAfterMs} ms`);
  return admission.reservation;
}

let n = 0;
/** Limits of an upstream no other test in this run uses (Redis keys outlive a store). */
const limitsOf = (declared: { tpm?: number; rpm?: number }) => targetLimits('up', `model-${++n}-${Math.random().toString(36).slice(2, 8)}`, declared)!;

const stores: Array<{ name: string; create: () => RateLimitStore }> = [
  { name: 'memory', create: () => new MemoryRateLimitStore() },
  { name: 'redis', create: () => new RedisRateLimitStore(TEST_REDIS_URL, { keyPrefix: prefix, adjustDelayMs: 1 }) },
];

describe('targetLimits', () => {
  it('is undefined for a target that declares no capacity, so routing never counts it', () => {
    expect(targetLimits('up', 'm', {})).toBeUndefined();
  });

  it('names the windows by provider and model: every deployment naming the upstream shares them', () => {
    const one = targetLimits('up', 'm', { rpm: 5 });
    expect(one).toEqual({ tpm: null, rpm: 5, tokensKey: 't:2:up:m:tokens', requestsKey: 't:2:up:m:requests' });
    expect(targetLimits('up', 'm', { rpm: 5 })).toEqual(one);
    // Length prefixes: a provider name containing the separator cannot pass for another upstream.
    expect(targetLimits('u', 'p:m', { rpm: 5 })?.requestsKey).not.toBe(one?.requestsKey);
  });
});

describe.each(stores.filter(({ name }) => name !== 'redis' || redisAvailable))('TargetQuota on $name', ({ name, create }) => {
  let store: RateLimitStore;
  let quota: TargetQuota;

  beforeEach(() => {
    store = create();
    quota = new TargetQuota(store);
  });
  afterEach(async () => {
    await store.close();
  });

  it('admits rpm attempts a minute, then skips the target until its window ends', async () => {
    const limits = limitsOf({ rpm: 2 });
    const estimate = (): number => {
      throw new Error('a target without tpm never needs the estimate');
    };
    expect((await quota.admit(limits, estimate, T0 + 1_000)).ok).toBe(true);
    expect((await quota.admit(limits, estimate, T0 + 2_000)).ok).toBe(true);
    expect(await quota.admit(limits, estimate, T0 + 15_000)).toEqual({ ok: false, retryAfterMs: 45_000, measure: 'requests' });
    expect(await quota.windows(limits, T0 + 15_000)).toEqual({ requests: { limit: 2, used: 2, resetMs: 45_000 } });
    // The next minute is a fresh window.
    expect((await quota.admit(limits, estimate, T0 + TARGET_WINDOW_MS)).ok).toBe(true);
  });

  it('reserves the estimate in the tokens window and skips an attempt it cannot hold, reserving nothing', async () => {
    const limits = limitsOf({ tpm: 1_000, rpm: 10 });
    reservationOf(await quota.admit(limits, () => 700, T0));
    expect(await quota.admit(limits, () => 400, T0 + 30_000)).toEqual({ ok: false, retryAfterMs: 30_000, measure: 'tokens' });
    expect(await quota.windows(limits, T0 + 30_000)).toEqual({
      tokens: { limit: 1_000, used: 700, resetMs: 30_000 },
      requests: { limit: 10, used: 1, resetMs: 30_000 },
    });
    expect((await quota.admit(limits, () => 300, T0 + 30_000)).ok).toBe(true);
  });

  it('gives a failed attempt its whole reservation back', async () => {
    const limits = limitsOf({ tpm: 1_000, rpm: 1 });
    const reservation = reservationOf(await quota.admit(limits, () => 600, T0 + 10));
    expect((await quota.admit(limits, () => 1, T0 + 20)).ok).toBe(false);
    reservation.refund();
    await expect
      .poll(async () => quota.windows(limits, T0 + 30))
      .toEqual({
        tokens: { limit: 1_000, used: 0, resetMs: TARGET_WINDOW_MS - 30 },
        requests: { limit: 1, used: 0, resetMs: TARGET_WINDOW_MS - 30 },
      });
    expect((await quota.admit(limits, () => 1_000, T0 + 40)).ok).toBe(true);
  });

  it('settles the answering attempt to the tokens it used, once; the request stays counted', async () => {
    const limits = limitsOf({ tpm: 1_000, rpm: 5 });
    const reservation = reservationOf(await quota.admit(limits, () => 800, T0));
    reservation.settle(120);
    await expect.poll(async () => (await quota.windows(limits, T0 + 1))?.tokens?.used).toBe(120);
    // A second settlement, or a refund after it, changes nothing.
    reservation.settle(5);
    reservation.refund();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await quota.windows(limits, T0 + 2)).toEqual({
      tokens: { limit: 1_000, used: 120, resetMs: TARGET_WINDOW_MS - 2 },
      requests: { limit: 5, used: 1, resetMs: TARGET_WINDOW_MS - 2 },
    });
  });

  // Two memory stores are two processes' counters: only Redis is shared.
  it.runIf(name === 'redis')('shares one window between replicas on one Redis', async () => {
    const other = create();
    try {
      const limits = limitsOf({ rpm: 3 });
      const replicas = [quota, new TargetQuota(other)];
      const admitted = await Promise.all([0, 1, 2, 3, 4].map((i) => replicas[i % 2].admit(limits, () => 0, T0 + i)));
      expect(admitted.filter((admission) => admission.ok)).toHaveLength(3);
      expect((await replicas[1].windows(limits, T0 + 10)).requests?.used).toBe(3);
    } finally {
      await other.close();
    }
  });
});

describe('TargetQuota while Redis is unreachable', () => {
  it('counts in the local store whatever redis.on_outage says, and settles there', async () => {
    const connection = openCounterConnection(DOWN_REDIS_URL, { commandTimeoutMs: 200 });
    const guard = new RedisOutageGuard(connection, { policy: 'fail_closed' });
    const shared = new RedisRateLimitStore(connection, { keyPrefix: prefix });
    const local = new MemoryRateLimitStore();
    try {
      const quota = new TargetQuota(shared, { outage: { guard, local } });
      const limits = limitsOf({ tpm: 100, rpm: 1 });
      const reservation = reservationOf(await quota.admit(limits, () => 50, T0));
      expect((await quota.admit(limits, () => 50, T0 + 1)).ok).toBe(false);
      const localQuota = new TargetQuota(local);
      expect(await localQuota.windows(limits, T0 + 2)).toEqual({
        tokens: { limit: 100, used: 50, resetMs: TARGET_WINDOW_MS - 2 },
        requests: { limit: 1, used: 1, resetMs: TARGET_WINDOW_MS - 2 },
      });
      reservation.refund();
      await expect.poll(async () => (await localQuota.windows(limits, T0 + 3)).requests?.used).toBe(0);
    } finally {
      guard.close();
      await local.close();
      connection.disconnect();
    }
  });
});
