import { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import { CeruleanError, CountersUnavailableError } from '../../errors/catalogue.js';
import type { OutageGuard, OutagePolicy } from '../outage-guard.js';

/** pino's `(object, message)` form, all this module logs with. */
export interface OutageLogger {
  error(object: Record<string, unknown>, message: string): void;
  warn(object: Record<string, unknown>, message: string): void;
  info(object: Record<string, unknown>, message: string): void;
}

/** How often a replica announces its policy in Redis; an announcement lives three periods. */
const ANNOUNCE_INTERVAL_MS = 60_000;
const POLICIES: readonly OutagePolicy[] = ['fail_closed', 'fail_open'];

/** Seconds a refused caller is told to wait: outages worth failing over are usually a few seconds. */
export const OUTAGE_RETRY_AFTER_SECONDS = 2;

/** How long a replica waits at start for Redis before it serves without it (as in an outage). */
export const REDIS_START_WAIT_MS = 3_000;

/**
 * The connection for shared counters, set to fail fast instead of waiting out an outage:
 * ioredis's defaults queue every command while disconnected and resend it after each reconnect
 * attempt, which held requests for up to 15 s and then failed them anyway.
 *
 * - `enableOfflineQueue: false`: while not connected a command is rejected at once.
 * - `commandTimeout`: a connected server that stops answering (a network partition, a hung
 *   host) fails each command after this many ms instead of when TCP gives up.
 * - `maxRetriesPerRequest: 0`, `autoResendUnfulfilledCommands: false`: a command caught in
 *   flight by a dropped connection fails then, rather than being replayed after the reconnect,
 *   long after its request was answered.
 *
 * Reconnection itself goes on in the background with ioredis's default backoff (up to 2 s apart).
 */
export function openCounterConnection(url: string, options: { commandTimeoutMs: number }): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  });
}

/**
 * Watches one Redis connection and applies the outage policy (see outage-guard.ts) to the
 * admission calls made through it.
 *
 * An outage begins at the first connection error, dropped connection or failed command while the
 * store was up, and ends when the connection is ready again (or a command succeeds after failures
 * on a live connection). Each start and end is logged once as a structured line, never once per
 * reconnect attempt; listening for `error` is also what keeps ioredis from printing its own
 * unstructured "Unhandled error event" traces.
 */
export class RedisOutageGuard implements OutageGuard {
  readonly policy: OutagePolicy;
  private readonly connection: Redis;
  private readonly logger: OutageLogger | undefined;
  private readonly retryAfterSeconds: number;
  private down = false;
  private downSince = 0;
  /** Calls answered without the shared store during the current outage (admitted locally or refused). */
  private unshared = 0;
  private outageCount = 0;
  private closing = false;
  private readonly announcer: NodeJS.Timeout;
  private disagreeing = false;
  private readonly unsharedTotal: Counter<'outcome'> | undefined;

  /** `registry`: where `cerulean_redis_up` and `cerulean_redis_unshared_admissions_total` are kept. */
  constructor(connection: Redis, options: { policy: OutagePolicy; logger?: OutageLogger; retryAfterSeconds?: number; registry?: Registry }) {
    this.connection = connection;
    this.policy = options.policy;
    this.logger = options.logger;
    this.retryAfterSeconds = options.retryAfterSeconds ?? OUTAGE_RETRY_AFTER_SECONDS;
    if (options.registry) {
      const registers = [options.registry];
      for (const name of ['cerulean_redis_up', 'cerulean_redis_unshared_admissions_total']) options.registry.removeSingleMetric(name);
      const isUp = (): boolean => this.up;
      new Gauge({
        name: 'cerulean_redis_up',
        help: 'Whether the Redis holding the shared quota, budget and abuse counters is reachable from this replica (1) or not (0).',
        registers,
        collect() {
          this.set(isUp() ? 1 : 0);
        },
      });
      this.unsharedTotal = new Counter({
        name: 'cerulean_redis_unshared_admissions_total',
        help: 'Counter checks made while Redis was unreachable: refused with 503 (outcome="refused", fail_closed) or counted in this replica (outcome="local", fail_open).',
        labelNames: ['outcome'],
        registers,
      });
    }
    connection.on('error', (error: unknown) => this.lost(error));
    connection.on('close', () => this.lost(new Error('connection closed')));
    connection.on('ready', () => {
      this.restored();
      void this.announce();
    });
    this.announcer = setInterval(() => void this.announce(), ANNOUNCE_INTERVAL_MS);
    this.announcer.unref();
  }

  get outages(): number {
    return this.outageCount;
  }

  /** Whether the connection is up and no outage is in progress. */
  get up(): boolean {
    return this.connection.status === 'ready' && !this.down;
  }

  async run<T>(shared: () => Promise<T>, local: () => Promise<T>, policy: OutagePolicy = this.policy): Promise<T> {
    if (this.connection.status === 'ready') {
      try {
        const value = await shared();
        if (this.down) this.restored();
        return value;
      } catch (error) {
        if (error instanceof CeruleanError) throw error;
        this.lost(error);
      }
    } else if (!this.down) {
      // Not connected yet at start: no outage to report, but nothing shared to count with either.
      this.lost(new Error(`not connected (${this.connection.status})`));
    }
    this.unshared += 1;
    this.unsharedTotal?.inc({ outcome: policy === 'fail_open' ? 'local' : 'refused' });
    if (policy === 'fail_open') return local();
    throw new CountersUnavailableError(this.retryAfterSeconds);
  }

  /**
   * Resolves once the connection is ready, or after `timeoutMs` (the outage, if any, is then
   * already logged); never rejects. Lets a replica start serving with shared counters when Redis
   * answers, and start all the same when it does not.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    if (this.connection.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (value: boolean): void => {
        clearTimeout(timer);
        this.connection.off('ready', onReady);
        resolve(value);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.connection.on('ready', onReady);
    });
  }

  /** Stops reporting (the connection is closed on purpose next). */
  close(): void {
    this.closing = true;
    clearInterval(this.announcer);
  }

  /**
   * Publishes this replica's policy in Redis (a key per policy, kept for three announcement
   * periods) and warns when another replica announced the other one: the policy decides what a
   * caller gets during an outage, so replicas that disagree answer the same caller differently.
   */
  private async announce(): Promise<void> {
    if (this.closing || this.connection.status !== 'ready') return;
    const others = POLICIES.filter((policy) => policy !== this.policy).map(policyKey);
    try {
      const replies = await this.connection
        .pipeline()
        .set(policyKey(this.policy), String(Date.now()), 'PX', 3 * ANNOUNCE_INTERVAL_MS)
        .exists(...others)
        .exec();
      const disagreeing = Number(replies?.[1]?.[1] ?? 0) > 0;
      if (disagreeing && !this.disagreeing) {
        this.logger?.warn(
          { redis: { on_outage: this.policy } },
          `another replica on this redis runs with a different redis.on_outage than this one (${this.policy}): give every replica the same value`,
        );
      }
      this.disagreeing = disagreeing;
    } catch {
      // An outage is reported by the connection's events; the next announcement tries again.
    }
  }

  private lost(error: unknown): void {
    if (this.down || this.closing) return;
    this.down = true;
    this.downSince = Date.now();
    this.unshared = 0;
    this.outageCount += 1;
    this.logger?.error(
      { err: error, redis: { on_outage: this.policy } },
      this.policy === 'fail_open'
        ? 'redis unreachable: quotas, budgets and abuse throttles count in this replica only, and target health (breakers, cooldowns, drains) is kept per replica, until it returns (redis.on_outage: fail_open)'
        : 'redis unreachable: requests that need quota, budget or abuse counters are refused with 503, and target health (breakers, cooldowns, drains) is kept per replica, until it returns (redis.on_outage: fail_closed)',
    );
  }

  private restored(): void {
    if (!this.down) return;
    this.down = false;
    if (this.closing) return;
    this.logger?.info(
      {
        redis: { on_outage: this.policy, down_ms: Date.now() - this.downSince, [this.policy === 'fail_open' ? 'admitted_locally' : 'refused']: this.unshared },
      },
      'redis reachable again: counters and target health are shared again',
    );
  }
}

function policyKey(policy: OutagePolicy): string {
  return `{cerulean}:on-outage:${policy}`;
}
