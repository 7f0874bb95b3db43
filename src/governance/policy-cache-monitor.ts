import type { FastifyBaseLogger } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PolicyCache, PolicyCacheEvent, StorageHealth } from './policy-cache.js';

/**
 * Turns the policy cache's storage events into log lines — one when an outage begins, one when it
 * ends, however long it lasts — and Prometheus metrics:
 * - `cerulean_storage_available` 1 or 0, as of the last read;
 * - `cerulean_storage_outages_total`, `cerulean_policy_reload_failures_total`;
 * - `cerulean_policy_age_seconds`: how old the policy in force is (grows during an outage).
 *
 * Returns the event handler to give the cache; `attach` points the gauges at the cache once built.
 */
export function monitorPolicyCache(
  logger: FastifyBaseLogger | undefined,
  registry: Registry | undefined,
): { onEvent: (event: PolicyCacheEvent) => void; attach(cache: PolicyCache): void } {
  let cache: PolicyCache | undefined;
  const registers = registry ? [registry] : [];
  const outages = new Counter({ name: 'cerulean_storage_outages_total', help: 'Times the governance database became unreachable.', registers });
  const failures = new Counter({ name: 'cerulean_policy_reload_failures_total', help: 'Policy reloads that failed (each retry counts).', registers });
  new Gauge({
    name: 'cerulean_storage_available',
    help: 'Whether the last read of the governance database succeeded (1) or not (0).',
    registers,
    collect() {
      if (cache) this.set(cache.health().available ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cerulean_policy_age_seconds',
    help: 'Age of the policy (keys, quotas, budgets) in force: time since it was read from the database.',
    registers,
    collect() {
      const readAt = cache?.health().policyReadAt;
      if (readAt !== undefined) this.set((Date.now() - readAt) / 1000);
    },
  });
  const onEvent = (event: PolicyCacheEvent): void => {
    switch (event.kind) {
      case 'outage':
        outages.inc();
        logger?.error(
          { err: event.error, policy: cache?.health().policy },
          'storage unreachable: serving what the policy in memory allows, usage kept in the spool; retrying with backoff',
        );
        return;
      case 'recovered':
        logger?.info({ down_ms: event.downMs }, 'storage reachable again; policy reloaded');
        return;
      case 'reload-failed':
        failures.inc();
        logger?.debug({ err: event.error, retry_in_ms: event.retryInMs }, 'policy reload failed');
        return;
      case 'snapshot-loaded':
        logger?.warn(
          { path: event.path, saved_at: new Date(event.savedAt).toISOString() },
          'storage unreachable at start: serving the policy snapshot saved earlier',
        );
        return;
      case 'snapshot-failed':
        logger?.warn({ err: event.error, path: event.path }, 'policy snapshot file could not be used');
        return;
    }
  };
  return {
    onEvent,
    attach(target) {
      cache = target;
    },
  };
}

/**
 * `/readyz` as the storage sees it: `ready` while the database answers; `degraded` (still 200)
 * while it is away but a policy is loaded, from memory or the snapshot file, since every replica
 * would be taken out at once otherwise and the cached policy still serves; `not_ready` (503) while
 * it is away and no policy was ever loaded.
 */
export function storageReadiness(health: StorageHealth): { status: 'ready' | 'degraded' | 'not_ready'; checks: Record<string, unknown> } {
  const policy = { source: health.policy, read_at: health.policyReadAt === undefined ? null : new Date(health.policyReadAt).toISOString() };
  if (health.available) return { status: 'ready', checks: { storage: { status: 'ok', policy } } };
  const storage = { status: 'unavailable', since: new Date(health.since).toISOString(), error: health.error ?? null, policy };
  return { status: health.policy === 'none' ? 'not_ready' : 'degraded', checks: { storage } };
}
