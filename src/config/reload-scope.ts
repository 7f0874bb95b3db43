import type { Config } from './schema.js';

/**
 * What a reload (SIGHUP) can apply. The deployment table (providers, deployments), content-filter
 * policies and classifiers, abuse-monitoring thresholds, and the server's region, shutdown grace and drain delay
 * are swapped in; everything else was wired once at start (the listening socket, storage, Redis,
 * OIDC issuers, the usage journal, the logger, ...) and keeps its old value until a restart.
 */
const RELOADABLE_SECTIONS = ['providers', 'deployments', 'content_safety'] as const;

/** Per restart-only section, the part a reload cannot apply (the whole section unless listed). */
const RESTART_ONLY: Readonly<Record<string, (config: Config) => unknown>> = {
  server: ({ server }) => ({
    host: server.host,
    port: server.port,
    body_limit: server.body_limit,
    max_connections: server.max_connections,
    trust_proxy: server.trust_proxy,
  }),
  data_dir: (config) => config.data_dir,
  logging: (config) => config.logging,
  storage: (config) => config.storage,
  redis: (config) => config.redis,
  auth: (config) => config.auth,
  usage: (config) => config.usage,
  audit: (config) => config.audit,
  quotas: (config) => config.quotas,
  telemetry: (config) => config.telemetry,
  portal: (config) => config.portal,
  // Thresholds follow a reload; turning monitoring on or off takes a restart.
  'content_safety.abuse_monitoring': (config) => config.content_safety.abuse_monitoring !== undefined,
};

/** The sections whose changes only a restart applies. */
const RESTART_ONLY_SECTIONS: readonly string[] = Object.keys(RESTART_ONLY);

/** What `cerulean check` says about reloads. */
export const RELOAD_NOTE =
  'a reload (SIGHUP) applies providers, deployments, content_safety, server.region, server.shutdown_grace_ms and server.drain_delay_ms; ' +
  'changes to server (host, port, body_limit, max_connections, trust_proxy), data_dir, logging, storage, redis, auth, usage, audit, quotas, telemetry, portal ' +
  'and turning content_safety.abuse_monitoring on or off need a restart';

export interface ReloadChanges {
  /** Top-level sections whose content differs. */
  readonly changed: readonly string[];
  /** Sections (or parts) that differ in a way this reload leaves unapplied. */
  readonly needsRestart: readonly string[];
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Compares the configuration a reload is about to apply with the one in force (`changed`) and, for
 * what only a restart applies, with the one the process started with (`needsRestart`): a change
 * that waits for a restart keeps being reported by later reloads until it is undone or applied.
 */
export function reloadChanges(running: Config, next: Config, started: Config = running): ReloadChanges {
  const sections = [...RELOADABLE_SECTIONS, ...RESTART_ONLY_SECTIONS.filter((name) => !name.includes('.'))] as Array<keyof Config>;
  const changed = sections.filter((name) => !same(running[name], next[name]));
  const needsRestart = RESTART_ONLY_SECTIONS.filter((name) => !same(RESTART_ONLY[name](started), RESTART_ONLY[name](next)));
  return { changed, needsRestart };
}

/** The reload's log message: plain when all of it applied, else naming what waits for a restart. */
export function reloadMessage(changes: ReloadChanges): string {
  return changes.needsRestart.length === 0 ? 'configuration reloaded' : `configuration reloaded; ${changes.needsRestart.join(', ')} changes need a restart`;
}
