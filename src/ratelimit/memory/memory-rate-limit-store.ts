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

export interface MemoryRateLimitStoreOptions {
  /** How often expired windows are dropped; default 10 s. */
  readonly sweepIntervalMs?: number;
}

interface Counter {
  count: number;
  /** Wall-clock ms after which the counter is gone, as a Redis key with PEXPIRE would be. */
  expiresAt: number;
}

/**
 * Fixed-window counters in one process: for a single replica, and for tests. Never put it in
 * front of a shared store as a pre-check (see rate-limit-store.ts).
 *
 * Each window is its own entry, kept for two windows of wall-clock time after its last write,
 * exactly like the Redis store's keys, so both stores answer the same even when callers pass a
 * `now` far from the clock. Memory stays bounded: an unref()'d timer drops expired entries, and a
 * read treats an expired entry as absent whether or not the sweep has run.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly counters = new Map<string, Counter>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: MemoryRateLimitStoreOptions = {}) {
    const interval = options.sweepIntervalMs ?? 10_000;
    if (!Number.isFinite(interval) || interval <= 0) throw new TypeError(`sweepIntervalMs must be positive, got ${interval}`);
    this.sweeper = setInterval(() => this.sweep(Date.now()), interval);
    this.sweeper.unref();
  }

  /** Entries held, expired ones included until the next sweep (for tests and metrics). */
  get size(): number {
    return this.counters.size;
  }

  async take(specs: readonly WindowSpec[], now: number = Date.now()): Promise<TakeResult> {
    assertValidSpecs(specs);
    const clock = Date.now();
    const ids: string[] = new Array(specs.length);
    const starts: number[] = new Array(specs.length);
    const counts: number[] = new Array(specs.length);
    let allowed = true;
    for (let i = 0; i < specs.length; i++) {
      const spec = specs[i];
      starts[i] = windowStartOf(now, spec.windowMs);
      ids[i] = counterId(spec.key, spec.windowMs, starts[i]);
      counts[i] = this.live(ids[i], clock)?.count ?? 0;
      if (counts[i] + spec.cost > spec.limit) allowed = false;
    }
    if (allowed) {
      for (let i = 0; i < specs.length; i++) {
        const cost = specs[i].cost;
        if (cost === 0) continue;
        const expiresAt = clock + counterTtlMs(specs[i].windowMs);
        const counter = this.counters.get(ids[i]);
        // `live` above already dropped an expired entry, so an existing one is current.
        if (counter) {
          counter.count += cost;
          counter.expiresAt = expiresAt;
        } else {
          this.counters.set(ids[i], { count: cost, expiresAt });
        }
      }
    }
    return describeTake(specs, starts, counts, allowed, now);
  }

  async adjust(key: string, windowMs: number, delta: number, windowStart: number): Promise<void> {
    assertValidAdjustment(key, windowMs, delta);
    const counter = this.live(counterId(key, windowMs, windowStart), Date.now());
    if (counter) counter.count = Math.max(0, counter.count + delta);
  }

  async read(windows: readonly WindowRef[], now: number = Date.now()): Promise<number[]> {
    const clock = Date.now();
    return windows.map((window) => this.live(counterId(window.key, window.windowMs, windowStartOf(now, window.windowMs)), clock)?.count ?? 0);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.counters.clear();
  }

  private live(id: string, clock: number): Counter | undefined {
    const counter = this.counters.get(id);
    if (counter && counter.expiresAt <= clock) {
      this.counters.delete(id);
      return undefined;
    }
    return counter;
  }

  private sweep(clock: number): void {
    for (const [id, counter] of this.counters) {
      if (counter.expiresAt <= clock) this.counters.delete(id);
    }
  }
}

/** The key, window length and window start in one Map key; NUL cannot occur in a window number. */
function counterId(key: string, windowMs: number, windowStart: number): string {
  return `${key}\u0000${windowMs}\u0000${windowStart}`;
}
