import { Redis } from 'ioredis';
import { DeltaBatcher } from '../../ratelimit/redis/delta-batcher.js';
import { ScriptBatcher } from '../../ratelimit/redis/script-batcher.js';
import type { BudgetCounter, BudgetStore, ReserveResult } from './budget-store.js';

// Reservations of one batch (see ScriptBatcher), one after the other. KEYS: every reservation's
// counters, reservation after reservation. ARGV[1]: the number of reservations; then per
// reservation its number of counters n, the amount, the TTL in ms and the n limits. Each adds the
// amount to all its counters and keeps it only if every counter stayed within its limit, else takes
// it back from all before the script ends (nobody sees it): one command per counter when admitted.
// A counter created here gets the TTL. Returns per reservation { allowed (1|0), index of the first
// counter without room or -1, the counters' values after the reservation }.
const RESERVE = `
local replies = {}
local k = 0
local a = 2
for c = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[a])
  local amount = tonumber(ARGV[a + 1])
  local values = {}
  local blocked = -1
  for i = 1, n do
    local value = redis.call('INCRBY', KEYS[k + i], amount)
    if value == amount then redis.call('PEXPIRE', KEYS[k + i], ARGV[a + 2]) end
    values[i] = value
    if blocked < 0 and value > tonumber(ARGV[a + 2 + i]) then blocked = i - 1 end
  end
  if blocked < 0 then
    replies[c] = { 1, -1, values }
  else
    for i = 1, n do values[i] = redis.call('DECRBY', KEYS[k + i], amount) end
    replies[c] = { 0, blocked, values }
  end
  k = k + n
  a = a + 3 + n
end
return replies
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

interface PendingReservation {
  readonly counters: readonly BudgetCounter[];
  readonly amount: number;
  readonly ttlMs: number;
}

type BudgetRedis = Redis & {
  budgetReserve(...args: Array<string | number>): Promise<Array<[number, number, number[]]>>;
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
  /** Reservations made in one turn of the event loop, sent as one script call. */
  private readonly reservations: ScriptBatcher<PendingReservation, [number, number, number[]]>;

  constructor(redis: Redis | string, prefix = '{cerulean-budget}:', settleDelayMs = 5) {
    this.owned = typeof redis === 'string';
    const client = typeof redis === 'string' ? new Redis(redis, { lazyConnect: false, maxRetriesPerRequest: 2 }) : redis;
    client.defineCommand('budgetReserve', { lua: RESERVE });
    client.defineCommand('budgetSettle', { lua: SETTLE });
    this.redis = client as BudgetRedis;
    this.prefix = prefix;
    this.reservations = new ScriptBatcher((batch) => this.runReservations(batch));
    this.settlements = new DeltaBatcher(async (keys, deltas) => {
      await this.redis.budgetSettle(keys.length, ...keys, ...deltas);
    }, settleDelayMs);
  }

  async reserve(counters: readonly BudgetCounter[], amount: number, ttlMs: number): Promise<ReserveResult> {
    if (counters.length === 0) return { allowed: true, blockedBy: -1, spent: [] };
    const [allowed, blockedBy, values] = await this.reservations.submit({ counters, amount, ttlMs });
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
    this.reservations.flush();
    await this.settlements.flush();
    if (this.owned) await this.redis.quit();
  }

  private runReservations(batch: readonly PendingReservation[]): Promise<Array<[number, number, number[]]>> {
    const keys: string[] = [];
    const args: Array<string | number> = [batch.length];
    for (const { counters, amount, ttlMs } of batch) {
      args.push(counters.length, amount, ttlMs);
      for (const counter of counters) {
        keys.push(this.prefix + counter.key);
        args.push(counter.limit);
      }
    }
    return this.redis.budgetReserve(keys.length, ...keys, ...args);
  }
}
