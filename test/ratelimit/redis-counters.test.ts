import { randomBytes } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBudgetStore } from '../../src/governance/budget/redis-budget-store.js';
import { RedisCounters } from '../../src/ratelimit/redis/redis-counters.js';
import { RedisRateLimitStore } from '../../src/ratelimit/redis/redis-rate-limit-store.js';
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from './redis-test-support.js';
import { redisAvailable } from '../helpers/services.js';

/**
 * The counter primitive under both Redis stores: the quota takes and budget reservations made in
 * one turn of the event loop on one connection go to Redis as one script call, and on Redis
 * Cluster as one call per hash tag (a script may only touch one slot).
 */
const prefixes: string[] = [];
afterAll(async () => {
  if (!redisAvailable) return;
  const admin = new Redis(TEST_REDIS_URL);
  for (const prefix of prefixes) await deleteKeys(admin, prefix);
  await admin.quit();
});

describe.skipIf(!redisAvailable)('RedisCounters', () => {
  it('sends the quota takes and budget reservations of one turn as one script call', async () => {
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    const ratePrefix = testKeyPrefix();
    const budgetPrefix = `{cerulean-budget}:test-${randomBytes(6).toString('hex')}:`;
    prefixes.push(ratePrefix, budgetPrefix);
    const rates = new RedisRateLimitStore(connection, { keyPrefix: ratePrefix });
    const budgets = new RedisBudgetStore(connection, budgetPrefix);
    // The first use loads the script into Redis (EVALSHA, NOSCRIPT, EVAL): done before counting.
    await rates.take([{ key: 'warm-up', limit: 1, cost: 0, windowMs: 60_000 }]);
    const scripts: number[] = [];
    const send = connection.sendCommand.bind(connection);
    connection.sendCommand = ((command: { name: string; args: unknown[] }) => {
      if (command.name === 'evalsha' || command.name === 'eval') scripts.push(Number(command.args[1]));
      return send(command as never);
    }) as typeof connection.sendCommand;

    const now = Date.now();
    const [take, reservation, secondTake] = await Promise.all([
      rates.take([{ key: 'tokens', limit: 100, cost: 60, windowMs: 60_000 }], now),
      budgets.reserve([{ key: 'project:p:m', limit: 1_000 }], 400, 60_000),
      rates.take([{ key: 'tokens', limit: 100, cost: 60, windowMs: 60_000 }], now),
    ]);
    // One script call carrying three keys: the two takes (same window) and the reservation.
    expect(scripts).toEqual([3]);
    expect(take.allowed).toBe(true);
    expect(reservation).toEqual({ allowed: true, blockedBy: -1, spent: [400] });
    expect(secondTake).toMatchObject({ allowed: false, remaining: [40] });
    expect(RedisCounters.on(connection)).toBe(RedisCounters.on(connection));

    await rates.close();
    await budgets.close();
    await connection.quit();
  });

  it('on Redis Cluster sends one call per hash tag and puts every answer back in its place', async () => {
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true });
    const counters = RedisCounters.on(cluster);
    const calls: string[][] = [];
    // Stands in for the script: records each call's keys; answers every add as admitted with its key count.
    (cluster as unknown as Record<string, unknown>).ceruleanCountersAdd = async (numberOfKeys: number, ...rest: Array<string | number>) => {
      const keys = rest.slice(0, numberOfKeys) as string[];
      calls.push(keys);
      const args = rest.slice(numberOfKeys);
      const replies: number[][] = [];
      let a = 1;
      for (let c = 0; c < Number(args[0]); c++) {
        const n = Number(args[a]);
        replies.push([1, ...Array.from({ length: n }, () => c)]);
        a += 1 + 3 * n;
      }
      return replies;
    };
    const entry = (key: string) => ({ key, limit: 10, cost: 1, ttlMs: 1_000 });
    const results = await Promise.all([counters.add([entry('{a}:x'), entry('{a}:y')]), counters.add([entry('{b}:x')]), counters.add([entry('{a}:z')])]);
    expect(calls).toEqual([['{a}:x', '{a}:y', '{a}:z'], ['{b}:x']]);
    // Answers land with their own calls: the first and third went out together, the second alone.
    expect(results.map((r) => r.before)).toEqual([[0, 0], [0], [1]]);
    cluster.disconnect();
  });
});
