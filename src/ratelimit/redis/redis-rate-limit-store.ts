import { Redis, type Cluster } from 'ioredis';
import { DeltaBatcher } from './delta-batcher.js';
import { ScriptBatcher } from './script-batcher.js';
import {
  assertValidAdjustment,
  assertValidSpecs,
  counterTtlMs,
  describeTake,
  windowStartOf,
  type RateLimitStore,
  type TakeResult,
  type WindowSpec,
} from '../rate-limit-store.js';

/**
 * Takes in one round trip: each take adds every cost and keeps them only if every window stayed
 * within its limit; otherwise it takes them all back before the script ends. Refusals are rare, so
 * an admitted take costs one command per window (plus setting the TTL of a window's new counter).
 * The takes of one batch (see ScriptBatcher) are judged one after the other, and scripts run
 * atomically, so concurrent takes from any number of replicas serialise here, nobody sees a cost
 * that is taken back, and a window never passes its limit. A zero cost only reads its window.
 *
 * KEYS: the counters of every take's current windows, take after take. ARGV[1]: the number of
 * takes; then per take its number of windows n, then per window its limit, cost and TTL in ms.
 * Returns per take { allowed (1|0), count_1 .. count_n } with the counts as they were before it.
 */
const TAKE_SCRIPT = `
local replies = {}
local k = 0
local a = 2
for c = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[a])
  a = a + 1
  local reply = { 1 }
  for i = 1, n do
    local cost = tonumber(ARGV[a + 3 * i - 2])
    local count
    if cost > 0 then
      count = redis.call('INCRBY', KEYS[k + i], cost)
      if count == cost then redis.call('PEXPIRE', KEYS[k + i], ARGV[a + 3 * i - 1]) end
      count = count - cost
    else
      count = tonumber(redis.call('GET', KEYS[k + i]) or '0')
    end
    reply[i + 1] = count
    if count + cost > tonumber(ARGV[a + 3 * i - 3]) then reply[1] = 0 end
  end
  if reply[1] == 0 then
    for i = 1, n do
      local cost = tonumber(ARGV[a + 3 * i - 2])
      if cost > 0 then redis.call('DECRBY', KEYS[k + i], cost) end
    end
  end
  replies[c] = reply
  k = k + n
  a = a + 3 * n
end
return replies
`;

/**
 * Adds ARGV[i] (may be negative) to the existing counter KEYS[i], clamped at 0, keeping its TTL. A
 * missing key (expired window) is left missing: recreating it would leave a key without a TTL.
 */
const ADJUST_SCRIPT = `
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  if current then
    local value = tonumber(current) + tonumber(ARGV[i])
    if value < 0 then value = 0 end
    redis.call('SET', key, value, 'KEEPTTL')
  end
end
return 1
`;

/** The client with the two scripts defined on it (ioredis adds them as methods, EVALSHA first). */
interface ScriptedClient {
  ceruleanRateLimitTake(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<unknown[]>;
  ceruleanRateLimitAdjust(numberOfKeys: number, ...keysThenDeltas: Array<string | number>): Promise<unknown>;
}

interface PendingTake {
  readonly specs: readonly WindowSpec[];
  readonly keys: readonly string[];
}

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
  /** How long adjustments are summed before one script applies them (see DeltaBatcher). Default 5 ms. */
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
  private readonly client: ScriptedClient;
  private readonly connection: Redis | Cluster;
  private readonly ownsConnection: boolean;
  private readonly keyPrefix: string;
  private readonly adjustments: DeltaBatcher;
  private readonly takes: ScriptBatcher<PendingTake, unknown>;

  constructor(redis: Redis | Cluster | string, options: RedisRateLimitStoreOptions = {}) {
    const keyPrefix = options.keyPrefix ?? '{cerulean}:rl:';
    if (!/\{[^}]+\}/.test(keyPrefix)) throw new TypeError(`keyPrefix must contain a hash tag such as {cerulean}, got "${keyPrefix}"`);
    this.keyPrefix = keyPrefix;
    if (typeof redis === 'string') {
      // A bounded retry count lets a take fail (and the caller decide) instead of queueing while
      // Redis is down. No auto-pipelining: the takes are batched here already (ScriptBatcher), and
      // ioredis's per-turn pipeline cost more CPU than the write it saved.
      this.connection = new Redis(redis, { maxRetriesPerRequest: 2 });
      this.ownsConnection = true;
    } else {
      this.connection = redis;
      this.ownsConnection = false;
    }
    this.connection.defineCommand('ceruleanRateLimitTake', { lua: TAKE_SCRIPT });
    this.connection.defineCommand('ceruleanRateLimitAdjust', { lua: ADJUST_SCRIPT });
    this.client = this.connection as unknown as ScriptedClient;
    this.takes = new ScriptBatcher((takes) => this.runTakes(takes));
    this.adjustments = new DeltaBatcher(async (keys, deltas) => {
      await this.client.ceruleanRateLimitAdjust(keys.length, ...keys, ...deltas);
    }, options.adjustDelayMs ?? 5);
  }

  async take(specs: readonly WindowSpec[], now: number = Date.now()): Promise<TakeResult> {
    assertValidSpecs(specs);
    const n = specs.length;
    if (n === 0) return describeTake(specs, [], [], true, now);
    const starts: number[] = new Array(n);
    const keys: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      starts[i] = windowStartOf(now, specs[i].windowMs);
      keys[i] = this.redisKey(specs[i].key, specs[i].windowMs, starts[i]);
    }
    const reply = await this.takes.submit({ specs, keys });
    if (!Array.isArray(reply) || reply.length !== n + 1) throw new Error(`unexpected reply from the rate-limit script: ${String(reply)}`);
    const counts: number[] = new Array(n);
    for (let i = 0; i < n; i++) counts[i] = Number(reply[i + 1]);
    return describeTake(specs, starts, counts, reply[0] === 1, now);
  }

  async adjust(key: string, windowMs: number, delta: number, windowStart: number): Promise<void> {
    assertValidAdjustment(key, windowMs, delta);
    if (delta === 0) return;
    await this.adjustments.add(this.redisKey(key, windowMs, windowStart), delta);
  }

  async close(): Promise<void> {
    this.takes.flush();
    await this.adjustments.flush();
    if (this.ownsConnection) await this.connection.quit();
  }

  private runTakes(takes: readonly PendingTake[]): Promise<unknown[]> {
    const keys: string[] = [];
    const args: Array<string | number> = [takes.length];
    for (const { specs, keys: takeKeys } of takes) {
      args.push(specs.length);
      for (let i = 0; i < specs.length; i++) {
        keys.push(takeKeys[i]);
        args.push(specs[i].limit, specs[i].cost, counterTtlMs(specs[i].windowMs));
      }
    }
    return this.client.ceruleanRateLimitTake(keys.length, ...keys, ...args);
  }

  private redisKey(key: string, windowMs: number, windowStart: number): string {
    return `${this.keyPrefix}${key}:${windowMs}:${windowStart}`;
  }
}
