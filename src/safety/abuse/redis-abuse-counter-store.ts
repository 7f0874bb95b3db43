import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { AbuseCounterStore } from './abuse-counter-store.js';

// KEYS: counters (the first ARGV[1] get an event); ARGV[2]: time; ARGV[3]: unique member;
// ARGV[4]: longest window ms (trim bound and TTL); ARGV[5..]: windows ms.
// Returns per key the counts within each window.
const HIT = `
local adds = tonumber(ARGV[1])
local at = tonumber(ARGV[2])
local longest = tonumber(ARGV[4])
local out = {}
for i, key in ipairs(KEYS) do
  if i <= adds then
    redis.call('ZADD', key, at, ARGV[3])
    redis.call('PEXPIRE', key, longest)
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', at - longest)
  local counts = {}
  for j = 5, #ARGV do
    counts[#counts + 1] = redis.call('ZCOUNT', key, '(' .. string.format('%d', at - tonumber(ARGV[j])), '+inf')
  end
  out[i] = counts
end
return out
`;

// KEYS[1]: throttle key; ARGV[1]: until; ARGV[2]: ttl ms. Keeps the later of two throttles.
const THROTTLE = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 1
`;

type AbuseRedis = Redis & {
  abuseHit(...args: Array<string | number>): Promise<number[][]>;
  abuseThrottle(...args: Array<string | number>): Promise<number>;
};

/**
 * Counters as Redis sorted sets (score = event time, one member per event), trimmed to the longest
 * window and expiring with it; throttles as plain keys holding their end time. Every key carries
 * the `{cerulean-abuse}` hash tag so one script may touch several on Redis Cluster.
 */
export class RedisAbuseCounterStore implements AbuseCounterStore {
  private readonly redis: AbuseRedis;
  private readonly owned: boolean;
  private readonly prefix: string;

  constructor(redis: Redis | string, options: { keyPrefix?: string } = {}) {
    this.owned = typeof redis === 'string';
    const client = typeof redis === 'string' ? new Redis(redis, { maxRetriesPerRequest: 2 }) : redis;
    client.defineCommand('abuseHit', { lua: HIT });
    client.defineCommand('abuseThrottle', { lua: THROTTLE, numberOfKeys: 1 });
    this.redis = client as AbuseRedis;
    this.prefix = options.keyPrefix ?? '{cerulean-abuse}:';
  }

  async hit(add: readonly string[], read: readonly string[], at: number, windowsMs: readonly number[]): Promise<number[][]> {
    const keys = [...add, ...read].map((name) => `${this.prefix}c:${name}`);
    if (keys.length === 0) return [];
    const longest = Math.max(1, ...windowsMs);
    const member = `${at}:${randomBytes(6).toString('base64url')}`;
    const result = await this.redis.abuseHit(keys.length, ...keys, add.length, Math.floor(at), member, Math.ceil(longest), ...windowsMs.map(Math.floor));
    return result.map((counts) => counts.map(Number));
  }

  async throttle(subject: string, until: number, now: number): Promise<void> {
    // The TTL is the throttle's length by the caller's clock, so an injected clock works too.
    const ttl = Math.max(1, Math.ceil(until - now));
    await this.redis.abuseThrottle(`${this.prefix}t:${subject}`, Math.floor(until), ttl);
  }

  async throttledUntil(subjects: readonly string[], now: number): Promise<number | undefined> {
    if (subjects.length === 0) return undefined;
    const values = await this.redis.mget(...subjects.map((subject) => `${this.prefix}t:${subject}`));
    let latest: number | undefined;
    for (const value of values) {
      if (value === null) continue;
      const until = Number(value);
      if (until > now) latest = Math.max(latest ?? 0, until);
    }
    return latest;
  }

  async clear(counters: readonly string[], subjects: readonly string[]): Promise<void> {
    const keys = [...counters.map((name) => `${this.prefix}c:${name}`), ...subjects.map((subject) => `${this.prefix}t:${subject}`)];
    if (keys.length > 0) await this.redis.del(...keys);
  }

  async close(): Promise<void> {
    if (this.owned) await this.redis.quit();
  }
}
