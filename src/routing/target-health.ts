/**
 * The health of one routing target (a provider and model), kept per replica, without I/O or timers:
 * every method that depends on time takes `now` (milliseconds), so the state is a function of the
 * outcomes reported and the clock readings passed in.
 *
 * Three things decide whether a target may take a request:
 *
 * - The circuit breaker. It opens after `failureThreshold` consecutive failures, or when at least
 *   `minimumRequests` attempts ended in the last `windowMs` and the share of failures among them
 *   reached `failureRate`. It stays open for `openMs`, then turns half-open and lets
 *   `halfOpenProbes` attempts through at once. While half-open the next outcome decides: a success
 *   closes the breaker (with a fresh window), a failure opens it for another `openMs`.
 * - The cooldown. The upstream said when to come back (`retryAfterMs`), or answered 429 without
 *   saying: the target takes nothing until then, whatever the breaker's state.
 * - Draining, set by an operator: a drained target takes nothing until restored.
 *
 * What counts as a failure of the target: `connect`, `timeout`, `status_5xx` and `stream_broken`,
 * each a sign the upstream or the path to it is unwell. `rate_limited` is not: a 429 says the
 * target is at capacity, which the cooldown handles, and counting it would open the breaker on a
 * busy but healthy target and hide it for `openMs` instead of for the wait it asked for. A 429 is
 * not counted as a success either: it neither fills the window's denominator nor breaks a run of
 * consecutive failures. An upstream that refuses a request for the request's own fault (400, 404,
 * 413, a content filter) answered, so the target is healthy: report such an attempt as `ok`.
 *
 * Attempts are counted, not identified (`begin` returns nothing to hand back to `end`), so an
 * attempt that began before the breaker opened and ends while it is half-open decides like a probe
 * would: its outcome is as recent as a probe's.
 */

export interface BreakerSettings {
  /** Consecutive failures that open the breaker (e.g. 5). */
  readonly failureThreshold: number;
  /** Share of failures (0 < rate <= 1) in the window that opens the breaker (e.g. 0.5). */
  readonly failureRate: number;
  /** Attempts that must have ended in the window before `failureRate` is applied (e.g. 20). */
  readonly minimumRequests: number;
  /** Length of the sliding window for `failureRate` (e.g. 30_000). */
  readonly windowMs: number;
  /** How long the breaker stays open before it lets probes through (e.g. 30_000). */
  readonly openMs: number;
  /** Attempts allowed at once while half-open (e.g. 1). */
  readonly halfOpenProbes: number;
  /** Cooldown after a 429 that carried no retry-after; DEFAULT_RATE_LIMIT_COOLDOWN_MS when absent. */
  readonly rateLimitCooldownMs?: number;
}

export type Outcome =
  | { ok: true; /** Time to first byte. */ latencyMs: number }
  | { ok: false; cause: 'connect' | 'timeout' | 'status_5xx' | 'rate_limited' | 'stream_broken'; retryAfterMs?: number };

export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * Told when an outcome reported to this target (never one adopted from another replica) opened its
 * breaker or began or extended its cooldown, so the news can be shared. Called synchronously from
 * `end`, on the request's path: a listener must return at once and never throw.
 */
export interface TargetHealthEvents {
  /** The breaker opened (from closed, or again from half-open) until `until`, when it turns half-open. */
  opened(until: number, now: number): void;
  /** A cooldown now lasts until `until`. */
  cooled(until: number, now: number): void;
}

export interface TargetHealthSnapshot {
  readonly state: BreakerState;
  /** End of the cooldown in force at the time of the snapshot, or null if none. */
  readonly coolingUntil: number | null;
  readonly outstanding: number;
  readonly latencyEwmaMs: number | null;
  /** Failures among the attempts that ended in the window. */
  readonly failures: number;
  /** Attempts that ended in the window, rate-limited ones left out. */
  readonly requests: number;
  readonly drained: boolean;
}

/**
 * A 429 without retry-after: a short pause, long enough for a per-second limit to refill and for
 * the request to spill to another target, short enough not to idle a target whose limit refills
 * sooner. OpenAI, Azure OpenAI and Anthropic send retry-after with nearly every 429.
 */
export const DEFAULT_RATE_LIMIT_COOLDOWN_MS = 5_000;

/** Weight of the newest sample in the latency average: about the last six samples dominate. */
export const LATENCY_EWMA_ALPHA = 0.3;

/** Settings for a target whose deployment names none. */
export const DEFAULT_BREAKER_SETTINGS: Readonly<Required<BreakerSettings>> = Object.freeze({
  failureThreshold: 5,
  failureRate: 0.5,
  minimumRequests: 20,
  windowMs: 30_000,
  openMs: 30_000,
  halfOpenProbes: 1,
  rateLimitCooldownMs: DEFAULT_RATE_LIMIT_COOLDOWN_MS,
});

/**
 * The window is kept as this many buckets of `windowMs / WINDOW_BUCKETS` each, so its memory and
 * cost are fixed whatever the request rate. Outcomes older than `windowMs` are never counted;
 * those newer than nine tenths of it always are.
 */
const WINDOW_BUCKETS = 10;

class OutcomeWindow {
  private readonly bucketMs: number;
  /** Bucket number (`floor(now / bucketMs)`) each slot holds, NaN for an empty slot. */
  private readonly epochs = new Float64Array(WINDOW_BUCKETS).fill(Number.NaN);
  private readonly requests = new Uint32Array(WINDOW_BUCKETS);
  private readonly failures = new Uint32Array(WINDOW_BUCKETS);

  constructor(windowMs: number) {
    this.bucketMs = windowMs / WINDOW_BUCKETS;
  }

  record(now: number, failed: boolean): void {
    const epoch = Math.floor(now / this.bucketMs);
    const slot = ((epoch % WINDOW_BUCKETS) + WINDOW_BUCKETS) % WINDOW_BUCKETS;
    if (this.epochs[slot] !== epoch) {
      this.epochs[slot] = epoch;
      this.requests[slot] = 0;
      this.failures[slot] = 0;
    }
    this.requests[slot]++;
    if (failed) this.failures[slot]++;
  }

  requestCount(now: number): number {
    return this.sum(this.requests, now);
  }

  failureCount(now: number): number {
    return this.sum(this.failures, now);
  }

  clear(): void {
    this.epochs.fill(Number.NaN);
  }

  private sum(counts: Uint32Array, now: number): number {
    const current = Math.floor(now / this.bucketMs);
    let total = 0;
    for (let slot = 0; slot < WINDOW_BUCKETS; slot++) {
      const epoch = this.epochs[slot];
      if (epoch <= current && epoch > current - WINDOW_BUCKETS) total += counts[slot];
    }
    return total;
  }
}

function checkSettings(settings: BreakerSettings): Required<BreakerSettings> {
  const positiveInteger = (name: keyof BreakerSettings, value: number): void => {
    if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`breaker ${name} must be a positive integer, got ${value}`);
  };
  const positive = (name: keyof BreakerSettings, value: number): void => {
    if (!Number.isFinite(value) || value <= 0) throw new TypeError(`breaker ${name} must be a positive number, got ${value}`);
  };
  positiveInteger('failureThreshold', settings.failureThreshold);
  positiveInteger('minimumRequests', settings.minimumRequests);
  positiveInteger('halfOpenProbes', settings.halfOpenProbes);
  positive('windowMs', settings.windowMs);
  positive('openMs', settings.openMs);
  if (!(settings.failureRate > 0 && settings.failureRate <= 1)) throw new TypeError(`breaker failureRate must be in (0, 1], got ${settings.failureRate}`);
  const rateLimitCooldownMs = settings.rateLimitCooldownMs ?? DEFAULT_RATE_LIMIT_COOLDOWN_MS;
  if (!Number.isFinite(rateLimitCooldownMs) || rateLimitCooldownMs < 0)
    throw new TypeError(`breaker rateLimitCooldownMs must be a non-negative number, got ${rateLimitCooldownMs}`);
  return Object.freeze({ ...settings, rateLimitCooldownMs });
}

export class TargetHealth {
  private readonly settings: Required<BreakerSettings>;
  private readonly window: OutcomeWindow;
  private breaker: BreakerState = 'closed';
  /** While open: when it turns half-open. */
  private reopensAt = 0;
  private consecutiveFailures = 0;
  /** Probes taken since the breaker last turned half-open and not yet ended. */
  private probes = 0;
  private inFlight = 0;
  private cooldownEnd: number | undefined;
  private latency: number | undefined;
  private drained = false;
  private readonly events: TargetHealthEvents | undefined;

  /**
   * Checks the settings once; throws TypeError naming the first one out of range. `events`: told
   * of breaker openings and cooldowns this replica's own outcomes cause (to share them).
   */
  constructor(settings: BreakerSettings, events?: TargetHealthEvents) {
    this.settings = checkSettings(settings);
    this.window = new OutcomeWindow(this.settings.windowMs);
    this.events = events;
  }

  /**
   * May a request go to this target now? False while drained, while cooling down, while the
   * breaker is open (until `openMs` passed: then half-open), or while half-open with every probe
   * taken.
   */
  available(now: number): boolean {
    if (this.drained) return false;
    this.advance(now);
    if (this.cooldownEnd !== undefined) return false;
    if (this.breaker === 'closed') return true;
    return this.breaker === 'half_open' && this.probes < this.settings.halfOpenProbes;
  }

  /** Claims a slot when an attempt starts: counts it outstanding, and as a probe while half-open. */
  begin(now: number): void {
    this.advance(now);
    this.inFlight++;
    if (this.breaker === 'half_open') this.probes++;
  }

  /**
   * Reports how an attempt that `begin` counted ended. A success feeds the latency average and
   * closes a half-open breaker; a failure other than `rate_limited` counts against the breaker. A
   * `retryAfterMs` on any failure cools the target down for exactly that long (a 503 may say it
   * too); a 429 without one cools it for `rateLimitCooldownMs`. Cooldowns overlap, never shorten:
   * two limits (per second, per minute) can answer at once, and both must have passed.
   */
  end(outcome: Outcome, now: number): void {
    this.advance(now);
    if (this.inFlight > 0) this.inFlight--;
    if (this.breaker === 'half_open' && this.probes > 0) this.probes--;
    if (outcome.ok) {
      // A reading that is not a duration (a clock mix-up upstream of here) would poison the average for good.
      const latencyMs = outcome.latencyMs;
      if (Number.isFinite(latencyMs) && latencyMs >= 0)
        this.latency = this.latency === undefined ? latencyMs : LATENCY_EWMA_ALPHA * latencyMs + (1 - LATENCY_EWMA_ALPHA) * this.latency;
      this.succeeded(now);
      return;
    }
    const retryAfterMs = outcome.retryAfterMs;
    const cooledBefore = this.cooldownEnd;
    if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) this.coolUntil(now + retryAfterMs, now);
    else if (outcome.cause === 'rate_limited') this.coolUntil(now + this.settings.rateLimitCooldownMs, now);
    if (this.events && this.cooldownEnd !== undefined && this.cooldownEnd !== cooledBefore) this.events.cooled(this.cooldownEnd, now);
    if (outcome.cause !== 'rate_limited') this.failed(now);
  }

  /**
   * Releases the slot of an attempt that ended for a reason that says nothing about the target (the
   * request's own deadline ran out): neither a success nor a failure, no latency.
   */
  abandon(now: number): void {
    this.advance(now);
    if (this.inFlight > 0) this.inFlight--;
    if (this.breaker === 'half_open' && this.probes > 0) this.probes--;
  }

  state(now: number): BreakerState {
    this.advance(now);
    return this.breaker;
  }

  /** End of the latest cooldown, undefined once a call given a later `now` saw it pass. */
  coolingUntil(): number | undefined {
    return this.cooldownEnd;
  }

  /** When the open breaker turns half-open, for sharing with other replicas; undefined unless open. */
  openUntil(): number | undefined {
    return this.breaker === 'open' ? this.reopensAt : undefined;
  }

  outstanding(): number {
    return this.inFlight;
  }

  /** Moving average of time to first byte over successful attempts; undefined before the first. */
  latencyEwma(): number | undefined {
    return this.latency;
  }

  /**
   * Applies what another replica learnt (through a shared store). An `openUntil` in the future
   * opens the breaker until then, or extends an open one; a `coolingUntil` in the future extends
   * the cooldown. Times already past, and earlier ends than the ones known here, change nothing:
   * another replica's view adds caution, it never lifts this one's.
   */
  adopt(shared: { openUntil?: number; coolingUntil?: number }, now: number): void {
    this.advance(now);
    const { openUntil, coolingUntil } = shared;
    if (openUntil !== undefined && openUntil > now && (this.breaker !== 'open' || openUntil > this.reopensAt)) {
      this.breaker = 'open';
      this.reopensAt = openUntil;
      this.probes = 0;
    }
    if (coolingUntil !== undefined) this.coolUntil(coolingUntil, now);
  }

  snapshot(now: number): TargetHealthSnapshot {
    this.advance(now);
    return {
      state: this.breaker,
      coolingUntil: this.cooldownEnd ?? null,
      outstanding: this.inFlight,
      latencyEwmaMs: this.latency ?? null,
      failures: this.window.failureCount(now),
      requests: this.window.requestCount(now),
      drained: this.drained,
    };
  }

  /** Whether an operator drained it (it takes nothing until restored). */
  isDrained(): boolean {
    return this.drained;
  }

  /** Takes the target out of rotation; attempts already running still report their outcomes. */
  drain(): void {
    this.drained = true;
  }

  restore(): void {
    this.drained = false;
  }

  /** Lets the clock's passing take effect: an open breaker turns half-open, a cooldown lapses. */
  private advance(now: number): void {
    if (this.breaker === 'open' && now >= this.reopensAt) {
      this.breaker = 'half_open';
      this.probes = 0;
    }
    if (this.cooldownEnd !== undefined && now >= this.cooldownEnd) this.cooldownEnd = undefined;
  }

  private coolUntil(until: number, now: number): void {
    if (until > now && (this.cooldownEnd === undefined || until > this.cooldownEnd)) this.cooldownEnd = until;
  }

  private succeeded(now: number): void {
    if (this.breaker === 'half_open') {
      this.close();
    } else if (this.breaker === 'closed') {
      this.consecutiveFailures = 0;
      this.window.record(now, false);
    }
    // While open, an attempt that began before the breaker opened proves nothing about now.
  }

  private failed(now: number): void {
    if (this.breaker === 'half_open') {
      this.open(now);
    } else if (this.breaker === 'closed') {
      this.consecutiveFailures++;
      this.window.record(now, true);
      if (this.consecutiveFailures >= this.settings.failureThreshold || this.rateExceeded(now)) this.open(now);
    }
  }

  private rateExceeded(now: number): boolean {
    const requests = this.window.requestCount(now);
    return requests >= this.settings.minimumRequests && this.window.failureCount(now) / requests >= this.settings.failureRate;
  }

  private open(now: number): void {
    this.breaker = 'open';
    this.reopensAt = now + this.settings.openMs;
    this.probes = 0;
    this.events?.opened(this.reopensAt, now);
  }

  /** A closed breaker starts afresh: the failures that opened it would otherwise reopen it at once. */
  private close(): void {
    this.breaker = 'closed';
    this.consecutiveFailures = 0;
    this.probes = 0;
    this.window.clear();
  }
}
