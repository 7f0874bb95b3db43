/**
 * Where abuse monitoring keeps its sliding-window counters and throttles: in process memory (one
 * node), or in Redis (several replicas count and throttle together). Counters are named by the
 * monitor (`<subject>:flagged`, `<subject>:blocked`); the store knows nothing of their meaning.
 *
 * Windows slide: a count "within window W at time T" is the number of events with a time after
 * T - W. Times come from the caller, so a test can drive them with an injected clock.
 */
export interface AbuseCounterStore {
  /**
   * Adds one event at `at` to each counter in `add`, then returns, for each counter of `add`
   * followed by each of `read`, how many events it holds within each of `windowsMs`. Events older
   * than the longest window are forgotten.
   */
  hit(add: readonly string[], read: readonly string[], at: number, windowsMs: readonly number[]): Promise<number[][]>;
  /** Refuses `subject` until `until` (a later throttle replaces an earlier one); `now` is the caller's clock. */
  throttle(subject: string, until: number, now: number): Promise<void>;
  /** The latest throttle end among `subjects` that is still after `now`, or undefined. */
  throttledUntil(subjects: readonly string[], now: number): Promise<number | undefined>;
  /** Forgets counters and throttles (a review dismissed or a subject reinstated starts afresh). */
  clear(counters: readonly string[], subjects: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Events kept per counter at most: beyond this the oldest go (counts saturate, never grow memory without bound). */
const MAX_EVENTS_PER_COUNTER = 10_000;
/** Counters are swept for staleness once per this many hits. */
const SWEEP_EVERY = 1_000;

/** Index of the first element of sorted `times` greater than `bound`. */
function firstAfter(times: readonly number[], bound: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (times[middle] > bound) high = middle;
    else low = middle + 1;
  }
  return low;
}

/** Counters and throttles in this process: exact sliding windows over sorted event times. */
export class MemoryAbuseCounterStore implements AbuseCounterStore {
  private readonly counters = new Map<string, number[]>();
  private readonly throttles = new Map<string, number>();
  private hits = 0;
  private longest = 0;

  async hit(add: readonly string[], read: readonly string[], at: number, windowsMs: readonly number[]): Promise<number[][]> {
    const longest = Math.max(0, ...windowsMs);
    this.longest = Math.max(this.longest, longest);
    if (++this.hits % SWEEP_EVERY === 0) this.sweep(at);
    const out: number[][] = [];
    for (const [index, name] of [...add, ...read].entries()) {
      let times = this.counters.get(name);
      if (index < add.length) {
        if (!times) this.counters.set(name, (times = []));
        // Times arrive nearly in order: insert in place to keep the array sorted.
        times.splice(firstAfter(times, at), 0, at);
        if (times.length > MAX_EVENTS_PER_COUNTER) times.splice(0, times.length - MAX_EVENTS_PER_COUNTER);
      }
      if (!times) {
        out.push(windowsMs.map(() => 0));
        continue;
      }
      const expired = firstAfter(times, at - longest);
      if (expired > 0) times.splice(0, expired);
      if (times.length === 0) this.counters.delete(name);
      out.push(windowsMs.map((window) => times.length - firstAfter(times, at - window)));
    }
    return out;
  }

  async throttle(subject: string, until: number, _now: number): Promise<void> {
    this.throttles.set(subject, Math.max(until, this.throttles.get(subject) ?? 0));
  }

  async throttledUntil(subjects: readonly string[], now: number): Promise<number | undefined> {
    let latest: number | undefined;
    for (const subject of subjects) {
      const until = this.throttles.get(subject);
      if (until === undefined) continue;
      if (until <= now) this.throttles.delete(subject);
      else latest = Math.max(latest ?? 0, until);
    }
    return latest;
  }

  async clear(counters: readonly string[], subjects: readonly string[]): Promise<void> {
    for (const name of counters) this.counters.delete(name);
    for (const subject of subjects) this.throttles.delete(subject);
  }

  async close(): Promise<void> {
    this.counters.clear();
    this.throttles.clear();
  }

  /** Drops counters whose newest event left the longest window. */
  private sweep(now: number): void {
    for (const [name, times] of this.counters) {
      if (times.length === 0 || times[times.length - 1] <= now - this.longest) this.counters.delete(name);
    }
  }
}
