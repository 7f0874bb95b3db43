import { Redis, type Cluster } from 'ioredis';
import { RedisCounters } from './redis-counters.js';
import {
  assertValidAdjustment,
  assertValidSpecs,
  counterTtlMs,
  describeTake,
  windowStartOf,
  type RateLimitStore,
  type TakeResult,
  type WindowRef,
  type WindowSpec,
} from '../rate-limit-store.js';

export interface RedisRateLimitStoreOptions {
  /**
   * Prefix of every key; must contain a hash tag (`{...}`) so all keys land in one Redis Cluster
   * slot. Default `{cerulean}:rl:`.
   *
   * Why one tag for everything rather than one per limited entity: a take spans several entities
   * at once (deployment tokens, deployment requests, project tokens, project requests) and must
   * be one atomic script, and a script may only touch keys of one slot. The cost is that all
   * limiter traffic goes to one shard; at one small script per request that is far below what a
   * shard serves.
   */
  readonly keyPrefix?: string;
  /** How long adjustments are summed before one script applies them (see DeltaBatcher). Default 5 ms; applies to the connection's first store. */
  readonly adjustDelayMs?: number;
}

/**
 * Fixed-window counters in Redis (standalone or Cluster), shared by every replica. Each window is
 * a key `<prefix><key>:<windowMs>:<windowStart>` holding an integer, expiring two window lengths
 * after it was created (so at least one window length after its window ended, time enough for the
 * settlements of the requests it admitted), so Redis memory stays bounded without any sweeping.
 *
 * Given a URL the store owns its connection and closes it; given a client it leaves the client
 * open on `close`, for its owner to close.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly connection: Redis | Cluster;
  private readonly ownsConnection: boolean;
  private readonly keyPrefix: string;
  /** Shared with the budget store on the same connection: their checks of one turn go out together. */
  private readonly counters: RedisCounters;

  constructor(redis: Redis | Cluster | string, options: RedisRateLimitStoreOptions = {}) {
    const keyPrefix = options.keyPrefix ?? '{cerulean}:rl:';
    if (!/\{[^}]+\}/.test(keyPrefix)) throw new TypeError(`keyPrefix must contain a hash tag such as {cerulean}, got "${keyPrefix}"`);
    this.keyPrefix = keyPrefix;
    if (typeof redis === 'string') {
      // A bounded retry count lets a take fail (and the caller decide) instead of queueing while
      // Redis is down. No auto-pipelining: the takes are batched already (RedisCounters), and
      // ioredis's per-turn pipeline cost more CPU than the write it saved.
      this.connection = new Redis(redis, { maxRetriesPerRequest: 2 });
      this.ownsConnection = true;
    } else {
      this.connection = redis;
      this.ownsConnection = false;
    }
    this.counters = RedisCounters.on(this.connection, options.adjustDelayMs);
  }

  async take(specs: readonly WindowSpec[], now: number = Date.now()): Promise<TakeResult> {
    assertValidSpecs(specs);
    const n = specs.length;
    if (n === 0) return describeTake(specs, [], [], true, now);
    const starts: number[] = new Array(n);
    const entries = new Array(n);
    for (let i = 0; i < n; i++) {
      const spec = specs[i];
      starts[i] = windowStartOf(now, spec.windowMs);
      entries[i] = { key: this.redisKey(spec.key, spec.windowMs, starts[i]), limit: spec.limit, cost: spec.cost, ttlMs: counterTtlMs(spec.windowMs) };
    }
    const { allowed, before } = await this.counters.add(entries);
    return describeTake(specs, starts, before, allowed, now);
  }

  async adjust(key: string, windowMs: number, delta: number, windowStart: number): Promise<void> {
    assertValidAdjustment(key, windowMs, delta);
    await this.counters.adjust(this.redisKey(key, windowMs, windowStart), delta);
  }

  async read(windows: readonly WindowRef[], now: number = Date.now()): Promise<number[]> {
    if (windows.length === 0) return [];
    // One MGET: every key carries the prefix's hash tag, so they share a slot on a cluster too.
    const values = await this.connection.mget(windows.map((window) => this.redisKey(window.key, window.windowMs, windowStartOf(now, window.windowMs))));
    return values.map((value) => (value === null ? 0 : Math.max(0, Number.parseInt(value, 10) || 0)));
  }

  async close(): Promise<void> {
    await this.counters.flush();
    if (this.ownsConnection) await this.connection.quit();
  }

  private redisKey(key: string, windowMs: number, windowStart: number): string {
    return `${this.keyPrefix}${key}:${windowMs}:${windowStart}`;
  }
}
