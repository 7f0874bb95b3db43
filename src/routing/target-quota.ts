import type { Operation } from '../providers/provider.js';
import type { OutageGuard } from '../ratelimit/outage-guard.js';
import { DEFAULT_MAX_TOKENS } from '../ratelimit/quota-admission.js';
import type { RateLimitStore, TakeResult, WindowSpec } from '../ratelimit/rate-limit-store.js';

/**
 * A routing target's own capacity (its `tpm` and `rpm`, e.g. the quota of the Azure deployment
 * behind it), counted in the rate-limit store the quotas use, so that a target whose window is
 * full is skipped before it is tried instead of being sent a request it will refuse with 429.
 *
 * Each attempt reserves on its target as quota admission reserves on a deployment: its estimate
 * (prompt plus the most it may generate) in the tokens window and 1 in the requests window, both
 * in one all-or-nothing take. The attempt that answers settles the tokens to what it used; a
 * failed attempt gives its whole reservation back. Both windows are 60 s fixed windows: a target
 * declares a capacity per minute and is counted over a minute (Azure itself enforces RPM over
 * 10 s windows of RPM / 6, so a burst inside a minute may still meet an upstream 429, which fails
 * over as any 429 does).
 *
 * A target that declares neither costs nothing: the routing stage does not call `admit` for it.
 * One that does costs one counter script per attempt, batched with every other take of the same
 * event-loop turn (see RedisCounters); settlements and refunds are summed and applied a few
 * milliseconds later without the request waiting for them.
 */

/** Both windows of a target are this long. */
export const TARGET_WINDOW_MS = 60_000;

/** A target's declared capacity and the names of its windows, built once per deployment table. */
export interface TargetLimits {
  /** Tokens per minute; null when not declared. */
  readonly tpm: number | null;
  /** Requests per minute; null when not declared. */
  readonly rpm: number | null;
  readonly tokensKey: string;
  readonly requestsKey: string;
}

/**
 * The limits of the upstream `provider` serves `model` from, or undefined when it declares no
 * capacity. Keyed by provider and model, not by deployment: every deployment naming the same
 * upstream draws from its one capacity (configuration validation makes them declare the same).
 */
export function targetLimits(provider: string, model: string, declared: { readonly tpm?: number; readonly rpm?: number }): TargetLimits | undefined {
  if (declared.tpm === undefined && declared.rpm === undefined) return undefined;
  // Length prefixes keep the names unambiguous whatever characters they contain.
  const scope = `t:${provider.length}:${provider}:${model}`;
  return Object.freeze({ tpm: declared.tpm ?? null, rpm: declared.rpm ?? null, tokensKey: `${scope}:tokens`, requestsKey: `${scope}:requests` });
}

/** What an attempt holds on its target until it ends. Each method acts once; later calls do nothing. */
export interface TargetReservation {
  /** Corrects the tokens window to what the attempt used (prompt plus completion tokens). */
  settle(actualTokens: number): void;
  /** Gives the whole reservation back (tokens and the request): the attempt failed. */
  refund(): void;
}

export type TargetAdmission =
  | { readonly ok: true; readonly reservation: TargetReservation }
  /** `retryAfterMs`: until the blocking window ends. */
  | { readonly ok: false; readonly retryAfterMs: number; readonly measure: 'tokens' | 'requests' };

/** One window of a target as it stands. */
export interface TargetWindow {
  readonly limit: number;
  readonly used: number;
  /** ms until the window ends and its counter starts again at 0. */
  readonly resetMs: number;
}

export interface TargetQuotaOptions {
  /** Per operation, the completion allowance of a request that sets no max tokens (as quota admission uses). */
  readonly defaultMaxTokens?: Partial<Record<Operation, number>>;
  /**
   * When the store is shared (Redis) and may be unreachable: the guard, and the store counted in
   * meanwhile. Target windows count in `local` during an outage whatever `redis.on_outage` says:
   * they spare an upstream requests it would refuse, and the upstream still enforces its own
   * capacity (its 429 fails over), so an outage is no reason to refuse a caller.
   */
  readonly outage?: { readonly guard: OutageGuard; readonly local: RateLimitStore };
  /** Told about a settlement or refund that failed (the store went away); the request never waits for either. */
  readonly onError?: (error: unknown) => void;
}

export class TargetQuota {
  private readonly store: RateLimitStore;
  private readonly outage: TargetQuotaOptions['outage'];
  private readonly onError: (error: unknown) => void;
  /** The generation allowance per operation an attempt's estimate assumes when a request sets none. */
  readonly defaultMaxTokens: Readonly<Record<Operation, number>>;

  constructor(store: RateLimitStore, options: TargetQuotaOptions = {}) {
    this.store = store;
    this.outage = options.outage;
    this.onError = options.onError ?? (() => {});
    this.defaultMaxTokens = Object.freeze({ ...DEFAULT_MAX_TOKENS, ...options.defaultMaxTokens });
  }

  /**
   * Reserves one attempt on a target: `estimate()` tokens (called only when the target declares
   * `tpm`) and one request. When a window cannot hold it nothing is reserved and the target is to
   * be skipped, for `retryAfterMs`.
   */
  async admit(limits: TargetLimits, estimate: () => number, now: number = Date.now()): Promise<TargetAdmission> {
    const specs: WindowSpec[] = [];
    const cost = limits.tpm === null ? 0 : estimate();
    if (limits.tpm !== null) specs.push({ key: limits.tokensKey, limit: limits.tpm, windowMs: TARGET_WINDOW_MS, cost });
    if (limits.rpm !== null) specs.push({ key: limits.requestsKey, limit: limits.rpm, windowMs: TARGET_WINDOW_MS, cost: 1 });
    const { store, result } = await this.take(specs, now);
    // The tokens window, when declared, is the first spec.
    const tokens = limits.tpm === null ? -1 : 0;
    if (!result.allowed) return { ok: false, retryAfterMs: result.retryAfterMs, measure: result.blockedBy === tokens ? 'tokens' : 'requests' };
    return { ok: true, reservation: new Reservation(store, specs, tokens, result, this.onError) };
  }

  /** The target's windows as they stand now (reads only; an admin view and tests use it). */
  async windows(limits: TargetLimits, now: number = Date.now()): Promise<{ tokens?: TargetWindow; requests?: TargetWindow }> {
    const specs: WindowSpec[] = [];
    if (limits.tpm !== null) specs.push({ key: limits.tokensKey, limit: limits.tpm, windowMs: TARGET_WINDOW_MS, cost: 0 });
    if (limits.rpm !== null) specs.push({ key: limits.requestsKey, limit: limits.rpm, windowMs: TARGET_WINDOW_MS, cost: 0 });
    const { result } = await this.take(specs, now);
    const windows: { tokens?: TargetWindow; requests?: TargetWindow } = {};
    specs.forEach((spec, i) => {
      const window = { limit: spec.limit, used: spec.limit - result.remaining[i], resetMs: result.resetMs[i] };
      if (i === 0 && limits.tpm !== null) windows.tokens = window;
      else windows.requests = window;
    });
    return windows;
  }

  private async take(specs: readonly WindowSpec[], now: number): Promise<{ store: RateLimitStore; result: TakeResult }> {
    const { store, outage } = this;
    if (!outage) return { store, result: await store.take(specs, now) };
    return outage.guard.run(
      async () => ({ store, result: await store.take(specs, now) }),
      async () => ({ store: outage.local, result: await outage.local.take(specs, now) }),
      'fail_open',
    );
  }
}

class Reservation implements TargetReservation {
  private done = false;

  constructor(
    /** The store that took it (the local one during an outage): corrections go where the counts are. */
    private readonly store: RateLimitStore,
    private readonly specs: readonly WindowSpec[],
    /** Index of the tokens window in `specs`, -1 when the target declares no tpm. */
    private readonly tokens: number,
    private readonly taken: TakeResult,
    private readonly onError: (error: unknown) => void,
  ) {}

  settle(actualTokens: number): void {
    if (this.done) return;
    this.done = true;
    if (this.tokens < 0) return;
    const delta = Math.ceil(Math.max(0, actualTokens)) - this.specs[this.tokens].cost;
    if (delta !== 0) this.adjust(this.tokens, delta);
  }

  refund(): void {
    if (this.done) return;
    this.done = true;
    for (let i = 0; i < this.specs.length; i++) if (this.specs[i].cost > 0) this.adjust(i, -this.specs[i].cost);
  }

  private adjust(index: number, delta: number): void {
    const spec = this.specs[index];
    this.store.adjust(spec.key, spec.windowMs, delta, this.taken.windowStart[index]).catch(this.onError);
  }
}
