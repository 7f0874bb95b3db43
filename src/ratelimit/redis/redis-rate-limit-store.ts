import { Redis, type Cluster } from 'ioredis';
import { DeltaBatcher } from './delta-batcher.js';
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
 * One round trip per take: reads every window's counter and, only if all have room, adds every
 * cost. Scripts run atomically, so concurrent takes from any number of replicas serialise here and
 * a window never passes its limit.
 *
 * KEYS[i]: the counter of spec i's current window. ARGV[3i-2], ARGV[3i-1], ARGV[3i]: its limit,
 * cost and TTL in ms. Returns { allowed (1|0), count_1 .. count_n } with the counts as they were
 * before the take.
 */
const TAKE_SCRIPT = `
local reply = { 1 }
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  reply[i + 1] = count
  if count + tonumber(ARGV[3 * i - 1]) > tonumber(ARGV[3 * i - 2]) then reply[1] = 0 end
end
if reply[1] == 1 then
  for i = 1, #KEYS do
    if tonumber(ARGV[3 * i - 1]) > 0 then
      redis.call('INCRBY', KEYS[i], ARGV[3 * i - 1])
      redis.call('PEXPIRE', KEYS[i], ARGV[3 * i])
    end
  end
end
return reply
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
  ceruleanRateLimitTake(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<unknown>;
  ceruleanRateLimitAdjust(numberOfKeys: number, ...keysThenDeltas: Array<string | number>): Promise<unknown>;
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
 * a key `<prefix><key>:<windowMs>:<windowStart>` holding an integer, expiring two windows after its
 * last write, so Redis memory stays bounded without any sweeping.
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

  constructor(redis: Redis | Cluster | string, options: RedisRateLimitStoreOptions = {}) {
    const keyPrefix = options.keyPrefix ?? '{cerulean}:rl:';
    if (!/\{[^}]+\}/.test(keyPrefix)) throw new TypeError(`keyPrefix must contain a hash tag such as {cerulean}, got "${keyPrefix}"`);
    this.keyPrefix = keyPrefix;
    if (typeof redis === 'string') {
      // Auto-pipelining sends the takes of concurrent requests in one write; a bounded retry count
      // lets a take fail (and the caller decide) instead of queueing while Redis is down.
      this.connection = new Redis(redis, { enableAutoPipelining: true, maxRetriesPerRequest: 2 });
      this.ownsConnection = true;
    } else {
      this.connection = redis;
      this.ownsConnection = false;
    }
    this.connection.defineCommand('ceruleanRateLimitTake', { lua: TAKE_SCRIPT });
    this.connection.defineCommand('ceruleanRateLimitAdjust', { lua: ADJUST_SCRIPT });
    this.client = this.connection as unknown as ScriptedClient;
    this.adjustments = new DeltaBatcher(async (keys, deltas) => {
      await this.client.ceruleanRateLimitAdjust(keys.length, ...keys, ...deltas);
    }, options.adjustDelayMs ?? 5);
  }

  async take(specs: readonly WindowSpec[], now: number = Date.now()): Promise<TakeResult> {
    assertValidSpecs(specs);
    const n = specs.length;
    if (n === 0) return describeTake(specs, [], [], true, now);
    const starts: number[] = new Array(n);
    const keysThenArgs: Array<string | number> = new Array(n * 4);
    for (let i = 0; i < n; i++) {
      const spec = specs[i];
      starts[i] = windowStartOf(now, spec.windowMs);
      keysThenArgs[i] = this.redisKey(spec.key, spec.windowMs, starts[i]);
      keysThenArgs[n + 3 * i] = spec.limit;
      keysThenArgs[n + 3 * i + 1] = spec.cost;
      keysThenArgs[n + 3 * i + 2] = counterTtlMs(spec.windowMs);
    }
    const reply = await this.client.ceruleanRateLimitTake(n, ...keysThenArgs);
    if (!Array.isArray(reply) || reply.length !== n + 1) throw new Error(`unexpected reply from the rate-limit script: ${String(reply)}`);
    const counts = (reply as unknown[]).slice(1).map(Number);
    return describeTake(specs, starts, counts, reply[0] === 1, now);
  }

  async adjust(key: string, windowMs: number, delta: number, windowStart: number): Promise<void> {
    assertValidAdjustment(key, windowMs, delta);
    if (delta === 0) return;
    await this.adjustments.add(this.redisKey(key, windowMs, windowStart), delta);
  }

  async close(): Promise<void> {
    await this.adjustments.flush();
    if (this.ownsConnection) await this.connection.quit();
  }

  private redisKey(key: string, windowMs: number, windowStart: number): string {
    return `${this.keyPrefix}${key}:${windowMs}:${windowStart}`;
  }
}
