import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetStore } from '../../src/governance/budget/budget-store.js';
import { MemoryBudgetStore } from '../../src/governance/budget/memory-budget-store.js';
import { RedisBudgetStore } from '../../src/governance/budget/redis-budget-store.js';
import { deleteKeys, TEST_REDIS_URL } from '../ratelimit/redis-test-support.js';
import { redisAvailable } from '../helpers/services.js';

/**
 * One behaviour for the budget counters in memory (one node) and in Redis (several replicas), the
 * latter against the Redis the machine runs: all-or-nothing reservations, settlements that never
 * go below zero nor recreate an expired counter, and concurrent settlements that add up.
 */
const DAY = 86_400_000;
let admin: Redis;
const prefixes: string[] = [];

beforeAll(() => {
  if (redisAvailable) admin = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  if (!redisAvailable) return;
  for (const prefix of prefixes) await deleteKeys(admin, prefix);
  await admin.quit();
});

const stores: Array<{ name: string; create: () => BudgetStore }> = [
  { name: 'memory', create: () => new MemoryBudgetStore() },
  {
    name: 'redis',
    create: () => {
      const prefix = `{cerulean-budget}:test-${randomBytes(6).toString('hex')}:`;
      prefixes.push(prefix);
      return new RedisBudgetStore(TEST_REDIS_URL, prefix);
    },
  },
];

describe.each(stores.filter(({ name }) => name !== 'redis' || redisAvailable))('budget store: $name', ({ create }) => {
  let store: BudgetStore;
  afterEach(async () => {
    await store.close();
  });

  it('reserves on every counter or on none', async () => {
    store = create();
    const counters = [
      { key: 'project:p:m', limit: 1_000 },
      { key: 'key:k:d', limit: 300 },
    ];
    expect(await store.reserve(counters, 200, DAY)).toEqual({ allowed: true, blockedBy: -1, spent: [200, 200] });
    const refused = await store.reserve(counters, 200, DAY);
    expect(refused.allowed).toBe(false);
    expect(refused.blockedBy).toBe(1);
    // Nothing of the refused reservation was kept, on either counter.
    expect(await store.reserve(counters, 100, DAY)).toEqual({ allowed: true, blockedBy: -1, spent: [300, 300] });
  });

  it('concurrent reservations never overspend, and each is judged after the ones before it', async () => {
    store = create();
    const month = { key: 'project:p:m', limit: 1_000 };
    const day = { key: 'key:k:d', limit: 250 };
    const results = await Promise.all([...Array.from({ length: 30 }, () => store.reserve([month], 40, DAY)), store.reserve([month, day], 1, DAY)]);
    // 25 x 40 fill the month exactly; the other five and the reservation after them find no room.
    expect(results.slice(0, 25).every((r) => r.allowed)).toBe(true);
    expect(results[24].spent).toEqual([1_000]);
    expect(results.slice(25, 30).every((r) => !r.allowed && r.blockedBy === 0)).toBe(true);
    expect(results[30]).toMatchObject({ allowed: false, blockedBy: 0 });
    expect((await store.reserve([day], 250, DAY)).allowed).toBe(true);
  });

  it('settles to the actual cost, never below zero, and concurrent settlements add up', async () => {
    store = create();
    const counter = [{ key: 'project:p:m', limit: 10_000 }];
    for (let i = 0; i < 20; i++) await store.reserve(counter, 100, DAY);
    // Twenty requests finish at once, each having used 40 of its 100.
    await Promise.all(Array.from({ length: 20 }, () => store.settle(['project:p:m'], -60)));
    expect((await store.reserve(counter, 0, DAY)).spent).toEqual([800]);
    await store.settle(['project:p:m'], -5_000);
    expect((await store.reserve(counter, 0, DAY)).spent).toEqual([0]);
  });

  it('a settlement never recreates a counter that is not there', async () => {
    store = create();
    await store.settle(['project:gone:m'], 50);
    expect((await store.reserve([{ key: 'project:gone:m', limit: 100 }], 0, DAY)).spent).toEqual([0]);
  });

  it('seeds a counter once, from the ledger', async () => {
    store = create();
    await store.seed('project:p:d', 700, DAY);
    await store.seed('project:p:d', 5, DAY);
    const refused = await store.reserve([{ key: 'project:p:d', limit: 1_000 }], 400, DAY);
    expect(refused).toMatchObject({ allowed: false, blockedBy: 0 });
    expect(refused.spent).toEqual([700]);
  });
});
