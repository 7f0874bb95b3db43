import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config/schema.js';
import { startGovernance, type Governance } from './governance.js';
import { Metrics } from '../observability/metrics.js';
import { startTracing, type Tracing } from '../observability/tracing.js';
import { createContentSafety, type ContentSafety } from '../safety/content-safety.js';
import { SafetyMetrics } from '../safety/safety-metrics.js';
import type { Storage } from '../storage/storage.js';
import { createServer, type CeruleanServer } from '../server/app.js';
import { HealthSharing } from '../routing/health-sharing.js';

/**
 * How often each replica rereads the shared target health when Redis holds it: the longest a lost
 * update (a missed pub/sub message) goes unnoticed. One small script call per period.
 */
const HEALTH_RESYNC_INTERVAL_MS = 1_000;

export interface Service {
  readonly server: CeruleanServer;
  readonly governance: Governance;
  readonly safety: ContentSafety;
  /** OpenTelemetry tracing; undefined when `telemetry.traces` is off (no tracer provider exists then). */
  readonly tracing: Tracing | undefined;
  /** Drains the server, then commits buffered usage and closes storage and connections. */
  close(): Promise<void>;
}

/**
 * The whole service from one configuration: governance (storage, caches, counters, ledger), content
 * safety, and the HTTP server with every stage plugged in. `cerulean serve` and the tests build it
 * the same way.
 */
export async function startService(
  config: Config,
  options: { masterHash: Buffer; version: string; logger?: FastifyBaseLogger; /** Instead of opening `storage.url` (tests). */ storage?: Storage },
): Promise<Service> {
  const { logger } = options;
  const metrics = new Metrics();
  const governance = await startGovernance(config, { masterHash: options.masterHash, logger, registry: metrics.registry, storage: options.storage });
  // Model-backed classifiers call deployments through the server's current table.
  const current: { server?: CeruleanServer } = {};
  const safety = createContentSafety(config, {
    deployments: () => (current.server as CeruleanServer).deployments(),
    projects: governance.cache,
    observers: [new SafetyMetrics(metrics.registry), ...(governance.abuse ? [governance.abuse] : [])],
  });
  const traces = config.telemetry.traces;
  const tracing = traces.enabled ? startTracing(traces, logger ?? SILENT, options.version) : undefined;
  const health = new HealthSharing(governance.healthStore, {
    directory: () => current.server?.deployments(),
    logger,
    // Without Redis the store is this replica's own: nothing can be missed, nothing to reread.
    resyncIntervalMs: config.redis ? HEALTH_RESYNC_INTERVAL_MS : 0,
  });
  const server = createServer({
    config,
    tracing,
    authenticator: governance.authenticator,
    logger,
    metrics,
    admit: governance.admission,
    filter: safety.stage,
    moderation: safety.moderation,
    meters: [governance.meter],
    responses: { store: governance.storage.responses, audit: governance.storage.audit },
    admin: {
      storage: governance.storage,
      version: options.version,
      filterPolicies: () => safety.policyNames(),
      deploymentFilterPolicies: () => safety.deploymentPolicies(),
      refresh: () => governance.cache.reload(),
      budgetUse: (budget, now) => governance.budgets.consumption(budget, now),
      quotaUse: (projectId, deployment, now) => governance.quotas.projectUse(projectId, deployment, now),
    },
    readiness: governance.readiness,
    targetQuota: governance.targetQuota,
    health,
    onReload: (next) => {
      safety.reload(next);
      // Thresholds and actions follow a reload; turning monitoring on or off takes a restart.
      const abuse = next.content_safety.abuse_monitoring;
      if (abuse) governance.abuse?.reconfigure(abuse);
    },
  });
  current.server = server;
  // Drains (and breakers, cooldowns) recorded by the other replicas apply before the first request.
  await health.start();
  const pruning = pruneStoredResponses(
    governance.storage,
    () => server.config().responses.retention_days,
    (error) => logger?.warn({ err: error }, 'pruning stored responses failed'),
  );
  return {
    server,
    governance,
    safety,
    tracing,
    async close() {
      clearInterval(pruning);
      try {
        await server.shutdown();
      } finally {
        await health.close();
        await governance.close();
      }
    },
  };
}

const SILENT = { warn: () => undefined, info: () => undefined };

/** Stored responses past the retention are deleted at start and hourly (every replica may: deletes are idempotent). */
function pruneStoredResponses(storage: Storage, retentionDays: () => number, onError: (error: unknown) => void): NodeJS.Timeout {
  const prune = (): void => {
    const days = retentionDays();
    if (days > 0) storage.responses.prune(Date.now() - days * 86_400_000).catch(onError);
  };
  prune();
  const timer = setInterval(prune, 3_600_000);
  timer.unref();
  return timer;
}
