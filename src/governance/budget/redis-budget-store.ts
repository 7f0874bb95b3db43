import { Redis } from 'ioredis';
import { DeltaBatcher } from '../../ratelimit/redis/delta-batcher.js';
import type { BudgetCounter, BudgetStore, ReserveResult } from './budget-store.js';

// KEYS: counters; ARGV[1]: amount, ARGV[2]: ttl ms, ARGV[3..]: limits. Checks every counter, then adds to all.
const RESERVE = `
local amount = tonumber(ARGV[1])
local values = {}
for i, key in ipairs(KEYS) do
  local value = tonumber(redis.call('GET', key) or '0')
  values[i] = value
  if value + amount > tonumber(ARGV[i + 2]) then
    return {0, i - 1, values}
  end
end
for i, key in ipairs(KEYS) do
  values[i] = redis.call('INCRBY', key, amount)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ARGV[2]) end
end
return {1, -1, values}
`;

// KEYS: counters; ARGV[i]: the delta for KEYS[i]. Never below zero, never recreates an expired counter.
const SETTLE = `
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local value = redis.call('INCRBY', key, ARGV[i])
    if value < 0 then redis.call('SET', key, 0, 'KEEPTTL') end
  end
end
return 1
`;

type BudgetRedis = Redis & {
  budgetReserve(...args: Array<string | number>): Promise<[number, number, number[]]>;
  budgetSettle(...args: Array<string | number>): Promise<number>;
};

/**
 * Budget counters in Redis, so every replica reserves against one count. All keys share the
 * `{cerulean-budget}` hash tag: one reservation touches a project's and a key's counters
 * atomically, which on Redis Cluster requires them in one slot.
 */
export class RedisBudgetStore implements BudgetStore {
  private readonly redis: BudgetRedis;
  private readonly owned: boolean;
  private readonly prefix: string;
  /** Settlements of concurrent requests, summed per counter and applied by one script (see DeltaBatcher). */
  private readonly settlements: DeltaBatcher;

  constructor(redis: Redis | string, prefix = '{cerulean-budget}:', settleDelayMs = 5) {
    this.owned = typeof redis === 'string';
    const client = typeof redis === 'string' ? new Redis(redis, { lazyConnect: false, maxRetriesPerRequest: 2 }) : redis;
    client.defineCommand('budgetReserve', { lua: RESERVE });
    client.defineCommand('budgetSettle', { lua: SETTLE });
    this.redis = client as BudgetRedis;
    this.prefix = prefix;
    this.settlements = new DeltaBatcher(async (keys, deltas) => {
      await this.redis.budgetSettle(keys.length, ...keys, ...deltas);
    }, settleDelayMs);
  }

  async reserve(counters: readonly BudgetCounter[], amount: number, ttlMs: number): Promise<ReserveResult> {
    if (counters.length === 0) return { allowed: true, blockedBy: -1, spent: [] };
    const [allowed, blockedBy, values] = await this.redis.budgetReserve(
      counters.length,
      ...counters.map((counter) => this.prefix + counter.key),
      amount,
      ttlMs,
      ...counters.map((counter) => counter.limit),
    );
    return { allowed: allowed === 1, blockedBy, spent: values.map(Number) };
  }

  async settle(keys: readonly string[], delta: number): Promise<void> {
    if (keys.length === 0 || delta === 0) return;
    await Promise.all(keys.map((key) => this.settlements.add(this.prefix + key, delta)));
  }

  async seed(key: string, amount: number, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, amount, 'PX', ttlMs, 'NX');
  }

  async close(): Promise<void> {
    await this.settlements.flush();
    if (this.owned) await this.redis.quit();
  }
}
