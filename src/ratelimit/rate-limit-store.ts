/**
 * The contract every rate-limit store implements: fixed windows aligned to the clock, counted
 * atomically across several windows at once.
 *
 * A window of `windowMs` starting at `floor(now / windowMs) * windowMs` holds one counter per key.
 * Fixed windows are what Azure documents for TPM/RPM quotas, they are exact across replicas that
 * share a store (one counter, no per-replica share to reconcile), and a window costs one integer.
 * Their known weakness (a burst of up to 2 x limit straddling a boundary) is the same one Azure's
 * own quotas have.
 *
 * Implementations: `memory/` (one process) and `redis/` (many replicas). A store never counts in
 * memory in front of a shared store: a local-only pre-check is how LiteLLM ended up with an
 * effective limit of limit x replicas.
 */

/** One window a request draws from. */
export interface WindowSpec {
  /** Names the limited entity and measure, e.g. `d:6:gpt-4o:tokens`. Keys in one take must be distinct. */
  readonly key: string;
  /** Most the window may hold; a non-negative integer. */
  readonly limit: number;
  /** Window length in ms; a positive integer. */
  readonly windowMs: number;
  /** What this request adds to the window; a non-negative integer. */
  readonly cost: number;
}

export interface TakeResult {
  /** True when every window had room and every cost was added; false when nothing was added. */
  readonly allowed: boolean;
  /**
   * Per spec, in order: what the window has left, never below 0. After an admitted take this
   * counts the request's own cost; after a refusal it is what was left before the request.
   */
  readonly remaining: readonly number[];
  /** Per spec: ms until the window ends (its counter starts again at 0). */
  readonly resetMs: readonly number[];
  /** Per spec: the start of the window the take was judged in; pass it to `adjust`. */
  readonly windowStart: readonly number[];
  /** 0 when allowed; else ms until every blocking window has ended. */
  readonly retryAfterMs: number;
  /** -1 when allowed; else the index of the blocking spec whose window ends last. */
  readonly blockedBy: number;
}

export interface RateLimitStore {
  /**
   * Adds each spec's cost to its current window if, and only if, every window then stays within
   * its limit (`count + cost <= limit`); otherwise adds nothing. All-or-nothing is what keeps a
   * refused request from eating a project's quota because the deployment's was full. A cost
   * larger than its limit is always refused, with `retryAfterMs` to the next window.
   *
   * `now` (ms since the epoch) picks the windows; it defaults to this process's clock. Replicas
   * sharing a store should run NTP: a skewed clock only shifts when that replica moves to the next
   * window; it never lets one window's counter pass its limit.
   *
   * Rejects when the store cannot be reached; the caller decides whether that fails open or closed.
   */
  take(specs: readonly WindowSpec[], now?: number): Promise<TakeResult>;

  /**
   * Corrects the counter of one window after the fact (e.g. estimated tokens -> billed tokens).
   * `delta` is an integer and may be negative; the counter never goes below 0. A window that has
   * expired or never held anything is left alone, so a late correction never recreates it.
   */
  adjust(key: string, windowMs: number, delta: number, windowStart: number): Promise<void>;

  /**
   * What each named window holds now: the window `now` falls in, 0 for one never written or
   * expired. For showing consumption, not for admission: the count may have moved by the time it
   * is shown. Rejects when the store cannot be reached.
   */
  read(windows: readonly WindowRef[], now?: number): Promise<number[]>;

  /** Releases timers and connections the store owns. */
  close(): Promise<void>;
}

/** A window to read: the key and window length of a WindowSpec. */
export type WindowRef = Pick<WindowSpec, 'key' | 'windowMs'>;

/** Start of the fixed window `now` falls in. */
export function windowStartOf(now: number, windowMs: number): number {
  return Math.floor(now / windowMs) * windowMs;
}

/**
 * How long a window's counter is kept after its last write: two windows, so a request admitted
 * just before a boundary can still be settled after it (the counter is no longer read for
 * admission by then, but `adjust` must not recreate it either).
 */
export function counterTtlMs(windowMs: number): number {
  return windowMs * 2;
}

function isNonNegativeInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/** Throws a TypeError for a spec no store could honour; both stores call it so they agree. */
export function assertValidSpecs(specs: readonly WindowSpec[]): void {
  for (const spec of specs) {
    if (!isNonNegativeInteger(spec.limit)) throw new TypeError(`rate limit "${spec.key}": limit must be a non-negative integer, got ${spec.limit}`);
    if (!isNonNegativeInteger(spec.cost)) throw new TypeError(`rate limit "${spec.key}": cost must be a non-negative integer, got ${spec.cost}`);
    if (!isNonNegativeInteger(spec.windowMs) || spec.windowMs === 0) {
      throw new TypeError(`rate limit "${spec.key}": windowMs must be a positive integer, got ${spec.windowMs}`);
    }
  }
}

export function assertValidAdjustment(key: string, windowMs: number, delta: number): void {
  if (!Number.isSafeInteger(delta)) throw new TypeError(`rate limit "${key}": delta must be an integer, got ${delta}`);
  if (!isNonNegativeInteger(windowMs) || windowMs === 0) throw new TypeError(`rate limit "${key}": windowMs must be a positive integer, got ${windowMs}`);
}

/**
 * Builds a TakeResult from the counters as they were before the take (`counts`) and the store's
 * verdict, so every store reports remaining, reset and retry-after the same way.
 */
export function describeTake(
  specs: readonly WindowSpec[],
  windowStart: readonly number[],
  counts: readonly number[],
  allowed: boolean,
  now: number,
): TakeResult {
  const remaining: number[] = new Array(specs.length);
  const resetMs: number[] = new Array(specs.length);
  let retryAfterMs = 0;
  let blockedBy = -1;
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i];
    const count = counts[i];
    resetMs[i] = windowStart[i] + spec.windowMs - now;
    remaining[i] = Math.max(0, spec.limit - count - (allowed ? spec.cost : 0));
    if (!allowed && count + spec.cost > spec.limit && resetMs[i] > retryAfterMs) {
      retryAfterMs = resetMs[i];
      blockedBy = i;
    }
  }
  return { allowed, remaining, resetMs, windowStart, retryAfterMs, blockedBy };
}
