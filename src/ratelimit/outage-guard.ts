/**
 * What admission does when the counters shared by every replica (Redis) cannot be reached.
 *
 * - `fail_closed` (the default): a request whose quota, budget or abuse throttle needs the shared
 *   counters is refused at once with 503 `counters_unavailable` and a short `retry-after`. Limits
 *   hold exactly; callers retry.
 * - `fail_open`: each replica counts in its own memory for the length of the outage (budgets
 *   seeded from the recorded spend), so service continues; the limits then hold per replica, so a
 *   fleet of N replicas may admit up to N times a quota until Redis returns.
 *
 * The setting is fleet-wide in effect: give every replica the same value, or replicas disagree on
 * what an outage means for the same caller.
 */
export type OutagePolicy = 'fail_closed' | 'fail_open';

export interface OutageGuard {
  readonly policy: OutagePolicy;
  /** How many outages began so far; a fallback that keeps state per outage compares it. */
  readonly outages: number;
  /**
   * Runs `shared` while the shared store is reachable. When it is not, or `shared` fails with
   * anything but a `CeruleanError` (a refusal is an answer, not an outage), runs `local` under
   * `fail_open` or throws `CountersUnavailableError` under `fail_closed`. Never waits for a
   * reconnect: a store that is known to be down costs nothing but the check.
   *
   * `policy` overrides the configured one for this call: a counter that only spares an upstream
   * its own refusals (a routing target's capacity) counts locally whatever callers' quotas do.
   */
  run<T>(shared: () => Promise<T>, local: () => Promise<T>, policy?: OutagePolicy): Promise<T>;
}
