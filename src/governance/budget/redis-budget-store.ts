import { Redis } from 'ioredis';
import { RedisCounters } from '../../ratelimit/redis/redis-counters.js';
import type { BudgetCounter, BudgetStore, ReserveResult } from './budget-store.js';

/**
 * Budget counters in Redis, so every replica reserves against one count. A reservation is an
 * all-or-nothing add over a project's and a key's counters (`RedisCounters`, the same primitive as
 * the quota windows, and on the same connection sent in the same script call as the quota takes of
 * that turn); a settlement is an adjustment summed with its neighbours'. All keys share the
 * `{cerulean-budget}` hash tag: one reservation touches several counters atomically, which on Redis
 * Cluster requires them in one slot.
 */
export class RedisBudgetStore implements BudgetStore {
  private readonly redis: Redis;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly counters: RedisCounters;

  /** `settleDelayMs`: how long settlements are summed; applies when the connection's RedisCounters is made (its first store). */
  constructor(redis: Redis | string, prefix = '{cerulean-budget}:', settleDelayMs = 5) {
    this.owned = typeof redis === 'string';
    this.redis = typeof redis === 'string' ? new Redis(redis, { maxRetriesPerRequest: 2 }) : redis;
    this.prefix = prefix;
    this.counters = RedisCounters.on(this.redis, settleDelayMs);
  }

  async reserve(counters: readonly BudgetCounter[], amount: number, ttlMs: number): Promise<ReserveResult> {
    if (counters.length === 0) return { allowed: true, blockedBy: -1, spent: [] };
    const { allowed, before } = await this.counters.add(
      counters.map((counter) => ({ key: this.prefix + counter.key, limit: counter.limit, cost: amount, ttlMs })),
    );
    if (allowed) return { allowed, blockedBy: -1, spent: before.map((value) => value + amount) };
    return { allowed, blockedBy: counters.findIndex((counter, i) => before[i] + amount > counter.limit), spent: before };
  }

  async settle(keys: readonly string[], delta: number): Promise<void> {
    if (keys.length === 0 || delta === 0) return;
    await Promise.all(keys.map((key) => this.counters.adjust(this.prefix + key, delta)));
  }

  async seed(key: string, amount: number, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, amount, 'PX', ttlMs, 'NX');
  }

  async read(keys: readonly string[]): Promise<Array<number | undefined>> {
    if (keys.length === 0) return [];
    // Settlements still being summed (a few ms) are not in yet: a read is a moment's view, not a reservation.
    const values = await this.redis.mget(keys.map((key) => this.prefix + key));
    return values.map((value) => (value === null ? undefined : Number(value)));
  }

  async close(): Promise<void> {
    await this.counters.flush();
    if (this.owned) await this.redis.quit();
  }
}
