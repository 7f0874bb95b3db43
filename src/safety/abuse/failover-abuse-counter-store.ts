import type { OutageGuard } from '../../ratelimit/outage-guard.js';
import type { AbuseCounterStore } from './abuse-counter-store.js';

/**
 * Abuse counters in a shared store (Redis) with the outage policy applied: while the shared store
 * is unreachable every call goes to `local` under `fail_open` (events are counted and throttles
 * kept in this replica only; throttles set before the outage are not seen until it ends), or fails
 * with `CountersUnavailableError` under `fail_closed` (the throttle check refuses the request with
 * 503; counting failures go to the monitor's `onError`). Suspensions live in storage, not here, so
 * they hold through an outage either way.
 */
export class FailoverAbuseCounterStore implements AbuseCounterStore {
  constructor(
    private readonly shared: AbuseCounterStore,
    private readonly local: AbuseCounterStore,
    private readonly guard: OutageGuard,
  ) {}

  hit(add: readonly string[], read: readonly string[], at: number, windowsMs: readonly number[]): Promise<number[][]> {
    return this.guard.run(
      () => this.shared.hit(add, read, at, windowsMs),
      () => this.local.hit(add, read, at, windowsMs),
    );
  }

  throttle(subject: string, until: number, now: number): Promise<void> {
    return this.guard.run(
      () => this.shared.throttle(subject, until, now),
      () => this.local.throttle(subject, until, now),
    );
  }

  throttledUntil(subjects: readonly string[], now: number): Promise<number | undefined> {
    return this.guard.run(
      () => this.shared.throttledUntil(subjects, now),
      () => this.local.throttledUntil(subjects, now),
    );
  }

  async clear(counters: readonly string[], subjects: readonly string[]): Promise<void> {
    // A reviewer's reinstatement must reach both, whichever the subject was throttled in.
    await this.local.clear(counters, subjects);
    await this.shared.clear(counters, subjects);
  }

  async close(): Promise<void> {
    await this.local.close();
    await this.shared.close();
  }
}
