import { Cluster, type Redis } from 'ioredis';
import { DeltaBatcher } from './delta-batcher.js';
import { ScriptBatcher } from './script-batcher.js';

/**
 * All-or-nothing adds: each call adds every cost and keeps them only if every counter stayed within
 * its limit; otherwise it takes them all back before the script ends. Refusals are rare, so an
 * admitted call costs one command per counter (plus setting the TTL of a counter it created). The
 * calls of one batch (see ScriptBatcher) are judged one after the other, and scripts run
 * atomically, so concurrent calls from any number of replicas serialise here, nobody sees a cost
 * that is taken back, and a counter never passes its limit. A zero cost only reads its counter.
 *
 * KEYS: the counters of every call, call after call. ARGV[1]: the number of calls; then per call
 * its number of counters n, then per counter its limit, cost and TTL in ms. Returns per call
 * { allowed (1|0), value_1 .. value_n } with the values as they were before the call.
 */
const ADD_SCRIPT = `
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
 * missing key (expired) is left missing: recreating it would leave a key without a TTL.
 */
const ADJUST_SCRIPT = `
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local value = redis.call('INCRBY', key, ARGV[i])
    if value < 0 then redis.call('SET', key, 0, 'KEEPTTL') end
  end
end
return 1
`;

/** One counter of an all-or-nothing add. */
export interface CounterAdd {
  readonly key: string;
  /** Most the counter may hold; a non-negative integer. */
  readonly limit: number;
  /** What the call adds; a non-negative integer (0 only reads). */
  readonly cost: number;
  /** TTL given to the counter when this call creates it. */
  readonly ttlMs: number;
}

export interface CounterAddResult {
  /** True when every counter had room and every cost was added; false when nothing was added. */
  readonly allowed: boolean;
  /** Per counter, in order: its value before the call. */
  readonly before: readonly number[];
}

interface ScriptedClient {
  ceruleanCountersAdd(numberOfKeys: number, ...keysThenArgs: Array<string | number>): Promise<unknown[]>;
  ceruleanCountersAdjust(numberOfKeys: number, ...keysThenDeltas: Array<string | number>): Promise<unknown>;
}

const shared = new WeakMap<Redis | Cluster, RedisCounters>();

/**
 * Integer counters in Redis with all-or-nothing adds and late adjustments: what both the quota
 * windows (`RedisRateLimitStore`) and the budget counters (`RedisBudgetStore`) are made of. One
 * instance per connection (`RedisCounters.on`), so the quota takes and budget reservations of one
 * turn of the event loop travel in one script call; adjustments are summed per counter for a few
 * milliseconds and applied by one script (DeltaBatcher).
 *
 * On Redis Cluster a script may only touch keys of one slot, so each caller keeps its keys under
 * one hash tag, and a batch goes out as one call per tag.
 */
export class RedisCounters {
  /** The instance for `connection`, made on first use; `adjustDelayMs` applies when it is made. */
  static on(connection: Redis | Cluster, adjustDelayMs = 5): RedisCounters {
    let counters = shared.get(connection);
    if (!counters) {
      counters = new RedisCounters(connection, adjustDelayMs);
      shared.set(connection, counters);
    }
    return counters;
  }

  private readonly client: ScriptedClient;
  private readonly cluster: boolean;
  private readonly adds: ScriptBatcher<readonly CounterAdd[], unknown>;
  private readonly adjustments: DeltaBatcher;

  private constructor(connection: Redis | Cluster, adjustDelayMs: number) {
    connection.defineCommand('ceruleanCountersAdd', { lua: ADD_SCRIPT });
    connection.defineCommand('ceruleanCountersAdjust', { lua: ADJUST_SCRIPT });
    this.client = connection as unknown as ScriptedClient;
    this.cluster = connection instanceof Cluster;
    this.adds = new ScriptBatcher((calls) => this.runAdds(calls));
    this.adjustments = new DeltaBatcher((keys, deltas) => this.runAdjustments(keys, deltas), adjustDelayMs);
  }

  /** Adds every cost if every counter stays within its limit, else nothing. Keys must be distinct. */
  async add(entries: readonly CounterAdd[]): Promise<CounterAddResult> {
    if (entries.length === 0) return { allowed: true, before: [] };
    const reply = await this.adds.submit(entries);
    if (!Array.isArray(reply) || reply.length !== entries.length + 1) throw new Error(`unexpected reply from the counter script: ${String(reply)}`);
    const before: number[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) before[i] = Number(reply[i + 1]);
    return { allowed: reply[0] === 1, before };
  }

  /** Adds `delta` (may be negative) to an existing counter, never below 0; resolves once applied. */
  async adjust(key: string, delta: number): Promise<void> {
    if (delta !== 0) await this.adjustments.add(key, delta);
  }

  /** Sends what is queued now (before the connection closes). */
  async flush(): Promise<void> {
    this.adds.flush();
    await this.adjustments.flush();
  }

  private async runAdds(calls: readonly (readonly CounterAdd[])[]): Promise<unknown[]> {
    if (!this.cluster) return this.addScript(calls);
    const byTag = groupBy(calls, (call) => hashTag(call[0].key));
    const results: unknown[] = new Array(calls.length);
    await Promise.all(
      [...byTag.values()].map(async (indexes) => {
        const replies = await this.addScript(indexes.map((i) => calls[i]));
        indexes.forEach((callIndex, j) => (results[callIndex] = replies[j]));
      }),
    );
    return results;
  }

  private addScript(calls: readonly (readonly CounterAdd[])[]): Promise<unknown[]> {
    const keys: string[] = [];
    const args: Array<string | number> = [calls.length];
    for (const call of calls) {
      args.push(call.length);
      for (const entry of call) {
        keys.push(entry.key);
        args.push(entry.limit, entry.cost, entry.ttlMs);
      }
    }
    return this.client.ceruleanCountersAdd(keys.length, ...keys, ...args);
  }

  private async runAdjustments(keys: string[], deltas: number[]): Promise<void> {
    if (!this.cluster) {
      await this.client.ceruleanCountersAdjust(keys.length, ...keys, ...deltas);
      return;
    }
    await Promise.all(
      [...groupBy(keys, hashTag).values()].map((indexes) =>
        this.client.ceruleanCountersAdjust(indexes.length, ...indexes.map((i) => keys[i]), ...indexes.map((i) => deltas[i])),
      ),
    );
  }
}

/** The part of a key Redis Cluster hashes: the first non-empty `{...}`, else the whole key. */
function hashTag(key: string): string {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return key.slice(open + 1, close);
  }
  return key;
}

/** Indexes of `items` grouped by `keyOf`, in order. */
function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  items.forEach((item, index) => {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(index);
    else groups.set(key, [index]);
  });
  return groups;
}
