import { describe, expect, it } from 'vitest';
import { DEFAULT_BREAKER_SETTINGS, LATENCY_EWMA_ALPHA, TargetHealth, type BreakerSettings, type Outcome } from '../../src/routing/target-health.js';

const T0 = 1_700_000_000_000;
const SETTINGS: BreakerSettings = { failureThreshold: 3, failureRate: 0.5, minimumRequests: 10, windowMs: 10_000, openMs: 5_000, halfOpenProbes: 1 };
const OK: Outcome = { ok: true, latencyMs: 100 };
const FAIL: Outcome = { ok: false, cause: 'status_5xx' };

function health(settings: Partial<BreakerSettings> = {}): TargetHealth {
  return new TargetHealth({ ...SETTINGS, ...settings });
}

/** One attempt from start to end at `now`. */
function attempt(target: TargetHealth, outcome: Outcome, now: number): void {
  target.begin(now);
  target.end(outcome, now);
}

/** Opens the breaker at `now` by consecutive failures. */
function trip(target: TargetHealth, now: number): void {
  for (let i = 0; i < SETTINGS.failureThreshold; i++) attempt(target, FAIL, now);
  expect(target.state(now)).toBe('open');
}

describe('TargetHealth settings', () => {
  it('accepts the defaults and rejects settings out of range, naming them', () => {
    expect(() => new TargetHealth(DEFAULT_BREAKER_SETTINGS)).not.toThrow();
    expect(() => health({ failureThreshold: 0 })).toThrow(/failureThreshold/);
    expect(() => health({ failureThreshold: 1.5 })).toThrow(/failureThreshold/);
    expect(() => health({ failureRate: 0 })).toThrow(/failureRate/);
    expect(() => health({ failureRate: 1.5 })).toThrow(/failureRate/);
    expect(() => health({ minimumRequests: 0 })).toThrow(/minimumRequests/);
    expect(() => health({ windowMs: 0 })).toThrow(/windowMs/);
    expect(() => health({ openMs: Number.NaN })).toThrow(/openMs/);
    expect(() => health({ halfOpenProbes: 0 })).toThrow(/halfOpenProbes/);
    expect(() => health({ rateLimitCooldownMs: -1 })).toThrow(/rateLimitCooldownMs/);
  });
});

describe('TargetHealth breaker', () => {
  it('starts closed and available, with empty counts', () => {
    const target = health();
    expect(target.state(T0)).toBe('closed');
    expect(target.available(T0)).toBe(true);
    expect(target.snapshot(T0)).toEqual({ state: 'closed', coolingUntil: null, outstanding: 0, latencyEwmaMs: null, failures: 0, requests: 0, drained: false });
  });

  it('opens after failureThreshold consecutive failures, and each failure cause counts', () => {
    const causes = ['connect', 'timeout', 'status_5xx', 'stream_broken'] as const;
    for (const cause of causes) {
      const target = health();
      attempt(target, { ok: false, cause }, T0);
      attempt(target, { ok: false, cause }, T0 + 1);
      expect(target.state(T0 + 1)).toBe('closed');
      attempt(target, { ok: false, cause }, T0 + 2);
      expect(target.state(T0 + 2)).toBe('open');
      expect(target.available(T0 + 2)).toBe(false);
      expect(target.openUntil()).toBe(T0 + 2 + SETTINGS.openMs);
    }
  });

  it('a success breaks the run of consecutive failures', () => {
    const target = health();
    attempt(target, FAIL, T0);
    attempt(target, FAIL, T0);
    attempt(target, OK, T0);
    attempt(target, FAIL, T0);
    attempt(target, FAIL, T0);
    expect(target.state(T0)).toBe('closed');
    attempt(target, FAIL, T0);
    expect(target.state(T0)).toBe('open');
  });

  it('rate-limited attempts neither count as failures nor break a run of them', () => {
    const target = health();
    attempt(target, FAIL, T0);
    attempt(target, FAIL, T0);
    for (let i = 0; i < 10; i++) attempt(target, { ok: false, cause: 'rate_limited', retryAfterMs: 0 }, T0);
    expect(target.state(T0)).toBe('closed');
    expect(target.snapshot(T0)).toMatchObject({ failures: 2, requests: 2 });
    attempt(target, FAIL, T0);
    expect(target.state(T0)).toBe('open');
  });

  it('opens on the failure rate once minimumRequests ended in the window', () => {
    const target = health({ failureThreshold: 100 });
    // Alternating outcomes never make a run, so only the rate can open it: 5 failures of 9 is too few requests.
    for (let i = 0; i < 4; i++) {
      attempt(target, FAIL, T0 + i);
      attempt(target, OK, T0 + i);
    }
    attempt(target, FAIL, T0 + 5);
    expect(target.snapshot(T0 + 5)).toMatchObject({ state: 'closed', failures: 5, requests: 9 });
    attempt(target, FAIL, T0 + 6);
    expect(target.snapshot(T0 + 6)).toMatchObject({ state: 'open', failures: 6, requests: 10 });
  });

  it('stays closed while the rate is below failureRate', () => {
    const target = health({ failureThreshold: 100 });
    for (let i = 0; i < 30; i++) attempt(target, i % 3 === 0 ? FAIL : OK, T0 + i);
    expect(target.snapshot(T0 + 30)).toMatchObject({ state: 'closed', failures: 10, requests: 30 });
  });

  it('forgets outcomes older than windowMs', () => {
    const target = health({ failureThreshold: 100 });
    for (let i = 0; i < 9; i++) attempt(target, FAIL, T0);
    expect(target.snapshot(T0 + 8_999)).toMatchObject({ failures: 9, requests: 9 });
    const later = T0 + SETTINGS.windowMs + 1;
    expect(target.snapshot(later)).toMatchObject({ failures: 0, requests: 0 });
    // The nine old failures are gone, so one more is far from minimumRequests.
    attempt(target, FAIL, later);
    expect(target.snapshot(later)).toMatchObject({ state: 'closed', failures: 1, requests: 1 });
  });

  it('turns half-open after openMs and lets halfOpenProbes attempts through at once', () => {
    const target = health({ halfOpenProbes: 2 });
    trip(target, T0);
    const reopen = T0 + SETTINGS.openMs;
    expect(target.state(reopen - 1)).toBe('open');
    expect(target.available(reopen - 1)).toBe(false);
    expect(target.state(reopen)).toBe('half_open');
    expect(target.available(reopen)).toBe(true);
    target.begin(reopen);
    expect(target.available(reopen)).toBe(true);
    target.begin(reopen);
    expect(target.available(reopen)).toBe(false);
    expect(target.outstanding()).toBe(2);
    // A probe answered 429: its slot frees, the breaker stays half-open, the cooldown holds it back.
    target.end({ ok: false, cause: 'rate_limited', retryAfterMs: 1_000 }, reopen + 10);
    expect(target.state(reopen + 10)).toBe('half_open');
    expect(target.available(reopen + 10)).toBe(false);
    expect(target.available(reopen + 1_010)).toBe(true);
  });

  it('closes on a probe success, with a fresh window', () => {
    const target = health();
    trip(target, T0);
    const reopen = T0 + SETTINGS.openMs;
    target.begin(reopen);
    expect(target.available(reopen)).toBe(false);
    target.end(OK, reopen + 50);
    expect(target.snapshot(reopen + 50)).toMatchObject({ state: 'closed', failures: 0, requests: 0, outstanding: 0 });
    expect(target.available(reopen + 50)).toBe(true);
    expect(target.openUntil()).toBeUndefined();
    // The failures that opened it are forgotten: it takes failureThreshold new ones to open again.
    attempt(target, FAIL, reopen + 60);
    attempt(target, FAIL, reopen + 60);
    expect(target.state(reopen + 60)).toBe('closed');
  });

  it('reopens for another openMs on a probe failure', () => {
    const target = health();
    trip(target, T0);
    const reopen = T0 + SETTINGS.openMs;
    target.begin(reopen);
    target.end({ ok: false, cause: 'timeout' }, reopen + 2_000);
    expect(target.state(reopen + 2_000)).toBe('open');
    expect(target.openUntil()).toBe(reopen + 2_000 + SETTINGS.openMs);
    expect(target.available(reopen + 2_000 + SETTINGS.openMs - 1)).toBe(false);
    expect(target.state(reopen + 2_000 + SETTINGS.openMs)).toBe('half_open');
    expect(target.available(reopen + 2_000 + SETTINGS.openMs)).toBe(true);
  });

  it('an attempt begun before the breaker opened changes nothing if it ends while open', () => {
    const target = health();
    target.begin(T0);
    trip(target, T0 + 1);
    target.end(OK, T0 + 2);
    expect(target.state(T0 + 2)).toBe('open');
    expect(target.openUntil()).toBe(T0 + 1 + SETTINGS.openMs);
    expect(target.outstanding()).toBe(0);
    expect(target.latencyEwma()).toBe(100);
  });
});

describe('TargetHealth cooldown', () => {
  it('a 429 with retry-after cools the target for exactly that long', () => {
    const target = health();
    attempt(target, { ok: false, cause: 'rate_limited', retryAfterMs: 1_234 }, T0);
    expect(target.coolingUntil()).toBe(T0 + 1_234);
    expect(target.available(T0 + 1_233)).toBe(false);
    expect(target.snapshot(T0 + 1_233).coolingUntil).toBe(T0 + 1_234);
    expect(target.state(T0 + 1_233)).toBe('closed');
    expect(target.available(T0 + 1_234)).toBe(true);
    expect(target.coolingUntil()).toBeUndefined();
    expect(target.snapshot(T0 + 1_234).coolingUntil).toBeNull();
  });

  it('a 429 without retry-after cools for rateLimitCooldownMs (5 s unless set)', () => {
    const unset = health();
    attempt(unset, { ok: false, cause: 'rate_limited' }, T0);
    expect(unset.coolingUntil()).toBe(T0 + 5_000);
    const set = health({ rateLimitCooldownMs: 750 });
    attempt(set, { ok: false, cause: 'rate_limited' }, T0);
    expect(set.coolingUntil()).toBe(T0 + 750);
    expect(set.available(T0 + 749)).toBe(false);
    expect(set.available(T0 + 750)).toBe(true);
  });

  it('a later, shorter retry-after does not shorten a cooldown; a longer one extends it', () => {
    const target = health();
    attempt(target, { ok: false, cause: 'rate_limited', retryAfterMs: 60_000 }, T0);
    attempt(target, { ok: false, cause: 'rate_limited', retryAfterMs: 1_000 }, T0 + 10);
    expect(target.coolingUntil()).toBe(T0 + 60_000);
    attempt(target, { ok: false, cause: 'rate_limited', retryAfterMs: 60_000 }, T0 + 20);
    expect(target.coolingUntil()).toBe(T0 + 60_020);
  });

  it('a retry-after on another failure cools the target too, and the failure still counts', () => {
    const target = health();
    attempt(target, { ok: false, cause: 'status_5xx', retryAfterMs: 2_000 }, T0);
    expect(target.coolingUntil()).toBe(T0 + 2_000);
    expect(target.snapshot(T0)).toMatchObject({ failures: 1, requests: 1 });
  });

  it('ignores a retry-after that is not a duration, and cools no target for a failure without one', () => {
    const target = health();
    attempt(target, { ok: false, cause: 'status_5xx', retryAfterMs: Number.NaN }, T0);
    attempt(target, { ok: false, cause: 'connect' }, T0);
    expect(target.coolingUntil()).toBeUndefined();
    attempt(target, { ok: false, cause: 'rate_limited', retryAfterMs: -5 }, T0);
    expect(target.coolingUntil()).toBe(T0 + 5_000);
  });
});

describe('TargetHealth accounting', () => {
  it('counts outstanding attempts from begin to end, never below zero', () => {
    const target = health();
    target.begin(T0);
    target.begin(T0);
    target.begin(T0);
    expect(target.outstanding()).toBe(3);
    target.end(OK, T0 + 1);
    target.end({ ok: false, cause: 'rate_limited' }, T0 + 1);
    expect(target.outstanding()).toBe(1);
    expect(target.snapshot(T0 + 1).outstanding).toBe(1);
    target.end(FAIL, T0 + 2);
    target.end(FAIL, T0 + 2);
    expect(target.outstanding()).toBe(0);
  });

  it('averages time to first byte of successes with alpha 0.3, starting from the first sample', () => {
    const target = health();
    expect(target.latencyEwma()).toBeUndefined();
    attempt(target, { ok: true, latencyMs: 200 }, T0);
    expect(target.latencyEwma()).toBe(200);
    attempt(target, { ok: true, latencyMs: 100 }, T0);
    expect(LATENCY_EWMA_ALPHA).toBe(0.3);
    expect(target.latencyEwma()).toBeCloseTo(0.3 * 100 + 0.7 * 200, 10);
    attempt(target, { ok: true, latencyMs: 400 }, T0);
    expect(target.latencyEwma()).toBeCloseTo(0.3 * 400 + 0.7 * 170, 10);
    // Failures and readings that are not durations leave it alone.
    attempt(target, { ok: false, cause: 'timeout' }, T0);
    attempt(target, { ok: true, latencyMs: Number.NaN }, T0);
    attempt(target, { ok: true, latencyMs: -3 }, T0);
    expect(target.latencyEwma()).toBeCloseTo(239, 10);
    expect(target.snapshot(T0).latencyEwmaMs).toBeCloseTo(239, 10);
  });

  it('a drained target is never available until restored, and keeps its state', () => {
    const target = health();
    target.begin(T0);
    target.drain();
    expect(target.available(T0)).toBe(false);
    expect(target.available(T0 + 10 * 60_000)).toBe(false);
    expect(target.snapshot(T0)).toMatchObject({ drained: true, state: 'closed', outstanding: 1 });
    target.end(OK, T0 + 5);
    expect(target.latencyEwma()).toBe(100);
    target.restore();
    expect(target.available(T0 + 6)).toBe(true);
    expect(target.snapshot(T0 + 6).drained).toBe(false);
  });

  it('a drained target stays unavailable through a half-open breaker', () => {
    const target = health();
    trip(target, T0);
    target.drain();
    expect(target.state(T0 + SETTINGS.openMs)).toBe('half_open');
    expect(target.available(T0 + SETTINGS.openMs)).toBe(false);
    target.restore();
    expect(target.available(T0 + SETTINGS.openMs)).toBe(true);
  });
});

describe('TargetHealth adopt', () => {
  it('opens the breaker until a shared openUntil, then turns half-open', () => {
    const target = health();
    target.adopt({ openUntil: T0 + 7_000 }, T0);
    expect(target.state(T0)).toBe('open');
    expect(target.openUntil()).toBe(T0 + 7_000);
    expect(target.available(T0 + 6_999)).toBe(false);
    expect(target.state(T0 + 7_000)).toBe('half_open');
    target.begin(T0 + 7_000);
    target.end(OK, T0 + 7_100);
    expect(target.state(T0 + 7_100)).toBe('closed');
  });

  it('extends an open breaker to a later openUntil, never shortens it', () => {
    const target = health();
    trip(target, T0);
    target.adopt({ openUntil: T0 + 1_000 }, T0);
    expect(target.openUntil()).toBe(T0 + SETTINGS.openMs);
    target.adopt({ openUntil: T0 + 20_000 }, T0 + 10);
    expect(target.openUntil()).toBe(T0 + 20_000);
    expect(target.state(T0 + SETTINGS.openMs)).toBe('open');
  });

  it('reopens a half-open breaker, whose next half-open period has every probe slot free', () => {
    const target = health();
    trip(target, T0);
    const reopen = T0 + SETTINGS.openMs;
    target.begin(reopen);
    target.adopt({ openUntil: reopen + 3_000 }, reopen + 1);
    expect(target.state(reopen + 1)).toBe('open');
    expect(target.state(reopen + 3_000)).toBe('half_open');
    expect(target.available(reopen + 3_000)).toBe(true);
  });

  it('extends the cooldown to a later shared coolingUntil, never shortens it', () => {
    const target = health();
    target.adopt({ coolingUntil: T0 + 4_000 }, T0);
    expect(target.coolingUntil()).toBe(T0 + 4_000);
    expect(target.available(T0 + 3_999)).toBe(false);
    target.adopt({ coolingUntil: T0 + 2_000 }, T0 + 1);
    expect(target.coolingUntil()).toBe(T0 + 4_000);
    target.adopt({ coolingUntil: T0 + 9_000 }, T0 + 2);
    expect(target.coolingUntil()).toBe(T0 + 9_000);
    expect(target.state(T0 + 2)).toBe('closed');
  });

  it('ignores times already past and empty reports', () => {
    const target = health();
    target.adopt({ openUntil: T0 - 1, coolingUntil: T0 }, T0);
    target.adopt({}, T0);
    expect(target.state(T0)).toBe('closed');
    expect(target.coolingUntil()).toBeUndefined();
    expect(target.available(T0)).toBe(true);
  });
});

describe('TargetHealth events', () => {
  function listened(): { target: TargetHealth; heard: string[] } {
    const heard: string[] = [];
    const target = new TargetHealth(SETTINGS, {
      opened: (until, now) => heard.push(`opened ${until - now}`),
      cooled: (until, now) => heard.push(`cooled ${until - now}`),
    });
    return { target, heard };
  }

  it('tells of each opening its own outcomes cause: from closed, and again from half-open', () => {
    const { target, heard } = listened();
    attempt(target, FAIL, T0);
    attempt(target, FAIL, T0);
    expect(heard).toEqual([]);
    attempt(target, FAIL, T0);
    expect(heard).toEqual([`opened ${SETTINGS.openMs}`]);
    const halfOpen = T0 + SETTINGS.openMs;
    attempt(target, FAIL, halfOpen);
    expect(heard).toEqual([`opened ${SETTINGS.openMs}`, `opened ${SETTINGS.openMs}`]);
  });

  it('tells of each cooldown that begins or lengthens, never of one that an earlier one outlasts', () => {
    const { target, heard } = listened();
    attempt(target, { ok: false, cause: 'rate_limited', retryAfterMs: 10_000 }, T0);
    attempt(target, { ok: false, cause: 'rate_limited', retryAfterMs: 2_000 }, T0 + 1);
    attempt(target, { ok: false, cause: 'rate_limited' }, T0 + 2);
    attempt(target, { ok: false, cause: 'status_5xx', retryAfterMs: 20_000 }, T0 + 3);
    expect(heard).toEqual(['cooled 10000', 'cooled 20000']);
  });

  it('tells nothing of what it adopts from other replicas (no echo)', () => {
    const { target, heard } = listened();
    target.adopt({ openUntil: T0 + 7_000, coolingUntil: T0 + 9_000 }, T0);
    expect(target.available(T0)).toBe(false);
    expect(heard).toEqual([]);
  });
});
