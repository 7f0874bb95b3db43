import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimitStore } from '../../src/ratelimit/memory/memory-rate-limit-store.js';
import type { RateLimitStore, WindowSpec } from '../../src/ratelimit/rate-limit-store.js';
import { RedisRateLimitStore } from '../../src/ratelimit/redis/redis-rate-limit-store.js';
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from './redis-test-support.js';
import { redisAvailable } from '../helpers/services.js';

/** A minute boundary, so offsets below read as "seconds into the window". */
const MINUTE = 60_000;
const T0 = 28_333_334 * MINUTE;

const prefix = testKeyPrefix();
let admin: Redis;

beforeAll(() => {
  if (redisAvailable) admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  if (!redisAvailable) return;
  await deleteKeys(admin, prefix);
  await admin.quit();
});

const implementations: Array<{ name: string; create: () => RateLimitStore }> = [
  { name: 'memory', create: () => new MemoryRateLimitStore() },
  { name: 'redis', create: () => new RedisRateLimitStore(TEST_REDIS_URL, { keyPrefix: prefix }) },
];

describe.each(implementations.filter(({ name }) => name !== 'redis' || redisAvailable))('RateLimitStore conformance: $name', ({ create }) => {
  let store: RateLimitStore;
  let n = 0;
  /** A key no other test in this run uses (Redis keys outlive a store instance). */
  const key = (label: string): string => `${label}-${++n}-${Math.random().toString(36).slice(2, 8)}`;
  const spec = (k: string, limit: number, cost: number, windowMs = MINUTE): WindowSpec => ({ key: k, limit, cost, windowMs });
  /** What a window holds now, read through the contract: a zero-cost take reports limit - count. */
  const used = async (k: string, limit: number, now: number, windowMs = MINUTE): Promise<number> =>
    limit - (await store.take([spec(k, limit, 0, windowMs)], now)).remaining[0];

  beforeEach(() => {
    store = create();
  });
  afterEach(async () => {
    await store.close();
  });

  it('admits while the window has room and reports remaining, reset and window start', async () => {
    const k = key('basic');
    const first = await store.take([spec(k, 100, 30)], T0 + 15_000);
    expect(first).toEqual({ allowed: true, remaining: [70], resetMs: [45_000], windowStart: [T0], retryAfterMs: 0, blockedBy: -1 });
    const second = await store.take([spec(k, 100, 70)], T0 + 20_000);
    expect(second.allowed).toBe(true);
    expect(second.remaining).toEqual([0]);
    const third = await store.take([spec(k, 100, 1)], T0 + 30_000);
    expect(third).toEqual({ allowed: false, remaining: [0], resetMs: [30_000], windowStart: [T0], retryAfterMs: 30_000, blockedBy: 0 });
  });

  it('reads what each window holds now, 0 for one never written, for the window the time falls in', async () => {
    const tokens = key('read-tokens');
    const requests = key('read-requests');
    await store.take([spec(tokens, 1_000, 300), spec(requests, 10, 1, 10_000)], T0 + 5_000);
    await store.take([spec(tokens, 1_000, 200), spec(requests, 10, 1, 10_000)], T0 + 6_000);
    const windows = [
      { key: tokens, windowMs: MINUTE },
      { key: requests, windowMs: 10_000 },
      { key: key('read-never'), windowMs: MINUTE },
    ];
    expect(await store.read(windows, T0 + 7_000)).toEqual([500, 2, 0]);
    // The next 10 s window has nothing yet; the minute still holds both requests. A refused take adds nothing.
    expect((await store.take([spec(tokens, 1_000, 600)], T0 + 12_000)).allowed).toBe(false);
    expect(await store.read(windows, T0 + 12_000)).toEqual([500, 0, 0]);
    expect(await store.read(windows, T0 + MINUTE + 1)).toEqual([0, 0, 0]);
    expect(await store.read([], T0)).toEqual([]);
  });

  it('is all-or-nothing across windows: a refusal adds to none of them', async () => {
    const roomy = key('roomy');
    const full = key('full');
    await store.take([spec(full, 10, 10)], T0);
    const result = await store.take([spec(roomy, 100, 5), spec(full, 10, 1), spec(roomy + '-rpm', 5, 1, 10_000)], T0 + 1_000);
    expect(result.allowed).toBe(false);
    expect(result.blockedBy).toBe(1);
    expect(result.remaining).toEqual([100, 0, 5]);
    expect(await used(roomy, 100, T0 + 2_000)).toBe(0);
    expect(await used(roomy + '-rpm', 5, T0 + 2_000, 10_000)).toBe(0);

    const admitted = await store.take([spec(roomy, 100, 5), spec(roomy + '-rpm', 5, 1, 10_000)], T0 + 3_000);
    expect(admitted).toMatchObject({ allowed: true, remaining: [95, 4] });
  });

  it('never admits past the limit under concurrent takes', async () => {
    const k = key('race');
    const results = await Promise.all(Array.from({ length: 60 }, () => store.take([spec(k, 100, 3)], T0 + 5_000)));
    expect(results.filter((r) => r.allowed)).toHaveLength(33);
    expect(await used(k, 100, T0 + 5_000)).toBe(99);
  });

  it('judges concurrent takes over overlapping windows one after the other, in the order made', async () => {
    const a = key('order-a');
    const b = key('order-b');
    // Made in one turn of the event loop (one batch for Redis): each sees the takes before it.
    const [first, second, third, fourth] = await Promise.all([
      store.take([spec(a, 100, 60)], T0 + 1_000),
      store.take([spec(a, 100, 60), spec(b, 50, 10)], T0 + 1_000),
      store.take([spec(b, 50, 45)], T0 + 1_000),
      store.take([spec(a, 100, 40), spec(b, 50, 5)], T0 + 1_000),
    ]);
    expect(first).toMatchObject({ allowed: true, remaining: [40] });
    expect(second).toMatchObject({ allowed: false, blockedBy: 0, remaining: [40, 50] });
    expect(third).toMatchObject({ allowed: true, remaining: [5] });
    expect(fourth).toMatchObject({ allowed: true, remaining: [0, 0] });
    expect(await used(a, 100, T0 + 2_000)).toBe(100);
    expect(await used(b, 50, T0 + 2_000)).toBe(50);
  });

  it('starts each aligned window from zero', async () => {
    const k = key('rollover');
    expect((await store.take([spec(k, 10, 10)], T0 + 59_999)).allowed).toBe(true);
    expect((await store.take([spec(k, 10, 1)], T0 + 59_999)).allowed).toBe(false);
    const next = await store.take([spec(k, 10, 4)], T0 + MINUTE);
    expect(next).toMatchObject({ allowed: true, remaining: [6], windowStart: [T0 + MINUTE], resetMs: [MINUTE] });
    // A 10 s window under the same key is a counter of its own.
    expect((await store.take([spec(k, 10, 10, 10_000)], T0 + MINUTE)).allowed).toBe(true);
  });

  it('advises the wait until every blocking window has ended', async () => {
    const tokens = key('tokens');
    const requests = key('requests');
    await store.take([spec(tokens, 100, 100), spec(requests, 2, 2, 10_000)], T0 + 52_000);
    // Both block at 52.5 s and both end in 7.5 s; on a tie the first blocking spec is reported.
    const both = await store.take([spec(requests, 2, 1, 10_000), spec(tokens, 100, 1)], T0 + 52_500);
    expect(both).toMatchObject({ allowed: false, retryAfterMs: 7_500, blockedBy: 0 });

    const early = key('early');
    const early10 = key('early10');
    await store.take([spec(early, 100, 100), spec(early10, 1, 1, 10_000)], T0 + 2_000);
    const blocked = await store.take([spec(early10, 1, 1, 10_000), spec(early, 100, 1)], T0 + 3_000);
    expect(blocked).toMatchObject({ allowed: false, retryAfterMs: 57_000, blockedBy: 1, resetMs: [7_000, 57_000] });
  });

  it('refuses a cost larger than the limit outright, with a wait until the next window', async () => {
    const k = key('huge');
    const result = await store.take([spec(k, 1_000, 1_001)], T0 + 20_000);
    expect(result).toMatchObject({ allowed: false, remaining: [1_000], retryAfterMs: 40_000, blockedBy: 0 });
    expect(await used(k, 1_000, T0 + 20_000)).toBe(0);
  });

  it('adjusts the window a take landed in, up and down, never below zero', async () => {
    const k = key('adjust');
    const taken = await store.take([spec(k, 1_000, 400)], T0 + 10_000);
    await store.adjust(k, MINUTE, 250, taken.windowStart[0]);
    expect(await used(k, 1_000, T0 + 11_000)).toBe(650);
    await store.adjust(k, MINUTE, -600, taken.windowStart[0]);
    expect(await used(k, 1_000, T0 + 12_000)).toBe(50);
    await store.adjust(k, MINUTE, -10_000, taken.windowStart[0]);
    expect(await used(k, 1_000, T0 + 13_000)).toBe(0);
    expect((await store.take([spec(k, 1_000, 1_000)], T0 + 14_000)).allowed).toBe(true);
  });

  it('lets an upward correction overfill a window, which then refuses until it ends', async () => {
    const k = key('overfill');
    const taken = await store.take([spec(k, 100, 90)], T0);
    await store.adjust(k, MINUTE, 40, taken.windowStart[0]);
    const next = await store.take([spec(k, 100, 0)], T0 + 30_000);
    expect(next).toMatchObject({ allowed: false, remaining: [0], retryAfterMs: 30_000 });
  });

  it('leaves other windows alone when adjusting, and never recreates a window', async () => {
    const k = key('late');
    const old = await store.take([spec(k, 100, 60)], T0 + 50_000);
    await store.take([spec(k, 100, 30)], T0 + MINUTE + 1_000);
    await store.adjust(k, MINUTE, -60, old.windowStart[0]);
    expect(await used(k, 100, T0 + MINUTE + 2_000)).toBe(30);

    const never = key('never');
    await store.adjust(never, MINUTE, 500, T0);
    expect(await used(never, 1_000, T0 + 1)).toBe(0);
  });

  it('admits an empty take and rejects specs no store could honour', async () => {
    await expect(store.take([], T0)).resolves.toMatchObject({ allowed: true, remaining: [], retryAfterMs: 0 });
    await expect(store.take([spec(key('bad'), 10, 1.5)], T0)).rejects.toThrow(TypeError);
    await expect(store.take([spec(key('bad'), -1, 1)], T0)).rejects.toThrow(TypeError);
    await expect(store.take([spec(key('bad'), 10, 1, 0)], T0)).rejects.toThrow(TypeError);
    await expect(store.adjust(key('bad'), MINUTE, 0.5, T0)).rejects.toThrow(TypeError);
  });
});

describe('MemoryRateLimitStore', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drops windows two window-lengths after their last write, so memory stays bounded', async () => {
    vi.useFakeTimers({ now: T0 });
    const store = new MemoryRateLimitStore({ sweepIntervalMs: 1_000 });
    for (let i = 0; i < 100; i++) await store.take([{ key: `k${i}`, limit: 10, cost: 1, windowMs: 10_000 }]);
    expect(store.size).toBe(100);
    await vi.advanceTimersByTimeAsync(19_000);
    expect(store.size).toBe(100);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(store.size).toBe(0);
    await store.close();
  });
});

describe.skipIf(!redisAvailable)('RedisRateLimitStore', () => {
  it('keeps each window in one key under the hash tag, expiring two window lengths after it was created', async () => {
    const store = new RedisRateLimitStore(TEST_REDIS_URL, { keyPrefix: prefix });
    await store.take([{ key: 'ttl', limit: 10, cost: 1, windowMs: 10_000 }], T0);
    const redisKey = `${prefix}ttl:10000:${T0}`;
    expect(await admin.get(redisKey)).toBe('1');
    const ttl = await admin.pttl(redisKey);
    expect(ttl).toBeGreaterThan(19_000);
    expect(ttl).toBeLessThanOrEqual(20_000);
    await store.adjust('ttl', 10_000, 2, T0);
    expect(await admin.pttl(redisKey)).toBeGreaterThan(19_000);
    // A refused take leaves nothing behind: not on the full window, not on the other one.
    expect(
      (
        await store.take(
          [
            { key: 'ttl-other', limit: 10, cost: 1, windowMs: 10_000 },
            { key: 'ttl', limit: 3, cost: 1, windowMs: 10_000 },
          ],
          T0,
        )
      ).allowed,
    ).toBe(false);
    expect(await admin.get(redisKey)).toBe('3');
    expect(Number((await admin.get(`${prefix}ttl-other:10000:${T0}`)) ?? '0')).toBe(0);
    expect(await admin.pttl(`${prefix}ttl-other:10000:${T0}`)).not.toBe(-1);
    await store.close();
  });

  it('uses a client it is given without closing it, and insists on a hash tag', async () => {
    const client = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    const store = new RedisRateLimitStore(client, { keyPrefix: prefix });
    expect((await store.take([{ key: 'shared-client', limit: 1, cost: 1, windowMs: 1_000 }], T0)).allowed).toBe(true);
    await store.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();
    expect(() => new RedisRateLimitStore(client, { keyPrefix: 'cerulean:rl:' })).toThrow(/hash tag/);
  });
});
