import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { HealthSharingState, SharedHealthSnapshot, SharedHealthStore, SharedHealthUpdate, TargetKey } from '../shared-health-store.js';

/**
 * Layout, under one prefix (default `{cerulean}:health:`, whose hash tag keeps every key and the
 * scripts on one Redis Cluster slot):
 *
 * - `open`, `cool`: sorted sets, member a target (`["deployment","provider/model"]`), score the end
 *   of its open breaker or cooldown by the Redis server's clock. Ends only move later (`ZADD GT`);
 *   ended members are trimmed by every write and read, and each set expires with its latest end.
 * - `drained`: a hash of the drained targets, without expiry: a drain holds until restored.
 * - `events`: the pub/sub channel every change is announced on, as
 *   `kind \n milliseconds left (or 1/0 drained) \n origin \n member`.
 *
 * Every write is one script that records and announces, reading the server's clock (`TIME`), so
 * what is left of a state is counted by one clock whichever replica wrote it.
 */

// KEYS[1]: sorted set; ARGV: member, ms, channel, kind, origin.
const MARK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[2]), ARGV[1])
local left = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1])) - now
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], math.max(1, tonumber(last[2]) - now))
redis.call('PUBLISH', ARGV[3], ARGV[4] .. '\\n' .. string.format('%d', left) .. '\\n' .. ARGV[5] .. '\\n' .. ARGV[1])
return left
`;

// KEYS[1]: drained hash; ARGV: member, '1' (drain) or '0' (restore), channel, origin.
const DRAIN = `
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], ARGV[1], '1') else redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('PUBLISH', ARGV[3], 'drain\\n' .. ARGV[2] .. '\\n' .. ARGV[4] .. '\\n' .. ARGV[1])
return 1
`;

// KEYS: open set, cooldown set, drained hash. Returns the open and cooling members with the ms
// left of each (member, ms, member, ms, ...) and the drained members.
const READ = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  local entries = redis.call('ZRANGE', KEYS[i], 0, -1, 'WITHSCORES')
  for j = 2, #entries, 2 do entries[j] = string.format('%d', tonumber(entries[j]) - now) end
  out[i] = entries
end
out[3] = redis.call('HKEYS', KEYS[3])
return out
`;

/** The longest a replica's start waits for its subscription. */
const SUBSCRIBE_START_WAIT_MS = 2_000;

type HealthRedis = Redis & {
  ceruleanHealthMark(key: string, member: string, ms: number, channel: string, kind: string, origin: string): Promise<number>;
  ceruleanHealthDrain(key: string, member: string, drained: string, channel: string, origin: string): Promise<number>;
  ceruleanHealthRead(open: string, cool: string, drained: string): Promise<[string[], string[], string[]]>;
};

/**
 * Target health shared through Redis. Writes and reads go over `commands` (the counter
 * connection: it refuses commands at once while disconnected and bounds each by its command
 * timeout, so a publish never holds anything up); updates arrive on a subscriber connection of
 * its own, duplicated from it. A failure is quiet here: the outage guard watching the counter
 * connection logs each outage once (src/ratelimit/redis/redis-outage-guard.ts), and `state()`
 * says `unreachable` until both connections are back; meanwhile each replica keeps its own health.
 */
export class RedisHealthStore implements SharedHealthStore {
  private readonly redis: HealthRedis;
  private readonly subscriber: Redis;
  private readonly keys: { open: string; cool: string; drained: string; channel: string };
  private readonly origin = randomBytes(8).toString('hex');
  private down = false;
  private subscribed = false;

  /** `keyPrefix`: where the keys live (tests give each run its own); keep a hash tag in it for Redis Cluster. */
  constructor(commands: Redis, options: { keyPrefix?: string } = {}) {
    commands.defineCommand('ceruleanHealthMark', { lua: MARK, numberOfKeys: 1 });
    commands.defineCommand('ceruleanHealthDrain', { lua: DRAIN, numberOfKeys: 1 });
    commands.defineCommand('ceruleanHealthRead', { lua: READ, numberOfKeys: 3 });
    this.redis = commands as HealthRedis;
    const prefix = options.keyPrefix ?? '{cerulean}:health:';
    this.keys = { open: `${prefix}open`, cool: `${prefix}cool`, drained: `${prefix}drained`, channel: `${prefix}events` };
    commands.on('ready', () => this.answered());
    // Subscriptions are renewed by hand on every (re)connection, so that each renewal is followed by a resync.
    this.subscriber = commands.duplicate({ autoResubscribe: false, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true });
    this.subscriber.on('error', () => this.lost());
    this.subscriber.on('close', () => {
      this.subscribed = false;
      this.lost();
    });
  }

  state(): HealthSharingState {
    return this.redis.status === 'ready' && this.subscribed && !this.down ? 'shared' : 'unreachable';
  }

  async publish(update: SharedHealthUpdate): Promise<boolean> {
    const member = memberOf(update);
    try {
      if (update.kind === 'drain') await this.redis.ceruleanHealthDrain(this.keys.drained, member, update.drained ? '1' : '0', this.keys.channel, this.origin);
      else
        await this.redis.ceruleanHealthMark(
          update.kind === 'open' ? this.keys.open : this.keys.cool,
          member,
          Math.max(1, Math.ceil(update.forMs)),
          this.keys.channel,
          update.kind,
          this.origin,
        );
      this.answered();
      return true;
    } catch {
      this.lost();
      return false;
    }
  }

  async read(): Promise<SharedHealthSnapshot | undefined> {
    try {
      const [open, cool, drained] = await this.redis.ceruleanHealthRead(this.keys.open, this.keys.cool, this.keys.drained);
      this.answered();
      return { open: timed(open), cooling: timed(cool), drained: drained.map(parseMember).filter((key) => key !== undefined) };
    } catch {
      this.lost();
      return undefined;
    }
  }

  async subscribe(listener: (update: SharedHealthUpdate) => void, onGap: () => void): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.keys.channel) return;
      const update = this.parse(message);
      if (update) listener(update);
    });
    let first: (() => void) | undefined;
    this.subscriber.on('ready', () => {
      this.subscriber
        .subscribe(this.keys.channel)
        .then(() => {
          this.subscribed = true;
          this.answered();
          first?.();
          // Updates sent while this replica was not listening are only in the keys.
          onGap();
        })
        .catch(() => this.lost());
    });
    // Waits for the first subscription, a failure, or SUBSCRIBE_START_WAIT_MS (a path that swallows
    // the connection until the connect timeout), whichever comes first: a replica starts without
    // Redis, and subscribes in the background when it answers.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => first?.(), SUBSCRIBE_START_WAIT_MS);
      first = () => {
        first = undefined;
        clearTimeout(timer);
        resolve();
      };
      this.subscriber.connect().catch(() => {
        this.lost();
        first?.();
      });
    });
  }

  async close(): Promise<void> {
    // quit() is refused while disconnected (no offline queue): then there is nothing to close politely.
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }

  private parse(message: string): SharedHealthUpdate | undefined {
    const [kind, amount, origin] = message.split('\n', 3);
    if (origin === this.origin) return undefined;
    const key = parseMember(message.slice(kind.length + amount.length + origin.length + 3));
    if (!key) return undefined;
    if (kind === 'drain') return { kind, ...key, drained: amount === '1' };
    const forMs = Number(amount);
    if ((kind !== 'open' && kind !== 'cooldown') || !(forMs > 0)) return undefined;
    return { kind, ...key, forMs };
  }

  /** A command failed or a connection dropped: shared again only once both connections are back and a command succeeded. */
  private lost(): void {
    this.down = true;
  }

  private answered(): void {
    // Until the subscription is renewed, updates would be missed.
    if (this.down && this.redis.status === 'ready' && this.subscribed) this.down = false;
  }
}

function memberOf(key: TargetKey): string {
  return JSON.stringify([key.deployment, key.target]);
}

function parseMember(member: string): TargetKey | undefined {
  try {
    const parsed: unknown = JSON.parse(member);
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string')
      return { deployment: parsed[0], target: parsed[1] };
  } catch {
    // not written by this module: ignored
  }
  return undefined;
}

/** `member, ms, member, ms, ...` as targets with the time left. */
function timed(entries: readonly string[]): Array<TargetKey & { forMs: number }> {
  const out: Array<TargetKey & { forMs: number }> = [];
  for (let index = 0; index + 1 < entries.length; index += 2) {
    const key = parseMember(entries[index]);
    const forMs = Number(entries[index + 1]);
    if (key && forMs > 0) out.push({ ...key, forMs });
  }
  return out;
}
