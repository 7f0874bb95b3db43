import { join, resolve } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { GatewayAuthenticator, KeyUsageTracker } from '../auth/gateway-authenticator.js';
import { OidcVerifier, type UserDirectory } from '../auth/oidc-verifier.js';
import type { Config } from '../config/schema.js';
import { UsageLedger } from '../metering/usage-ledger.js';
import { UsageMeter } from '../metering/usage-meter.js';
import { UsageSpool } from '../metering/usage-spool.js';
import type { RoleGrant } from '../pipeline/authenticate.js';
import { MemoryRateLimitStore } from '../ratelimit/memory/memory-rate-limit-store.js';
import { QuotaAdmission } from '../ratelimit/quota-admission.js';
import { TargetQuota } from '../routing/target-quota.js';
import type { RateLimitStore } from '../ratelimit/rate-limit-store.js';
import { RedisRateLimitStore } from '../ratelimit/redis/redis-rate-limit-store.js';
import { openCounterConnection, REDIS_START_WAIT_MS, RedisOutageGuard } from '../ratelimit/redis/redis-outage-guard.js';
import { openStorage } from '../storage/open-storage.js';
import { isStorageUnavailable } from '../storage/storage-availability.js';
import type { Storage } from '../storage/storage.js';
import { newId } from '../admin/operations/tenancy-operations.js';
import { BudgetGuard } from '../governance/budget/budget-guard.js';
import type { BudgetStore } from '../governance/budget/budget-store.js';
import { MemoryBudgetStore } from '../governance/budget/memory-budget-store.js';
import { RedisBudgetStore } from '../governance/budget/redis-budget-store.js';
import { GovernanceAdmission } from '../governance/governance-admission.js';
import { PolicyCache } from '../governance/policy-cache.js';
import { monitorPolicyCache, storageReadiness } from '../governance/policy-cache-monitor.js';
import type { Readiness } from '../server/app.js';
import { AbuseMonitor } from '../safety/abuse/abuse-monitor.js';
import { MemoryAbuseCounterStore } from '../safety/abuse/abuse-counter-store.js';
import { FailoverAbuseCounterStore } from '../safety/abuse/failover-abuse-counter-store.js';
import { RedisAbuseCounterStore } from '../safety/abuse/redis-abuse-counter-store.js';
import type { Registry } from 'prom-client';
import { MemoryHealthStore, type SharedHealthStore } from '../routing/shared-health-store.js';
import { RedisHealthStore } from '../routing/redis/redis-health-store.js';

/** The storage URL a configuration names, SQLite under the data directory by default. */
export function storageUrl(config: Config): string {
  return config.storage.url ?? `sqlite:${join(config.data_dir, 'cerulean.db')}`;
}

/**
 * Users behind OIDC tokens: found by issuer and subject, else linked by e-mail within the issuer's
 * organization, else created there on first sign-in. Lookups are cached for a minute and dropped
 * when roles or users change, so a token request costs no query in the steady state.
 */
class StorageUserDirectory implements UserDirectory {
  private readonly storage: Storage;
  private readonly cached = new Map<string, { at: number; value: { userId: string; grants: RoleGrant[] } }>();

  constructor(storage: Storage) {
    this.storage = storage;
  }

  invalidate(): void {
    this.cached.clear();
  }

  async resolve(identity: { issuer: string; subject: string; email: string | null; organizationId: string }): Promise<{ userId: string; grants: RoleGrant[] }> {
    const cacheKey = `${identity.issuer}\n${identity.subject}`;
    const hit = this.cached.get(cacheKey);
    if (hit && Date.now() - hit.at < 60_000) return hit.value;
    const { users, roles } = this.storage;
    let user = await users.findBySubject(identity.issuer, identity.subject);
    if (!user && identity.email) {
      const byEmail = await users.findByEmail(identity.organizationId, identity.email);
      if (byEmail && byEmail.subject === null) user = byEmail;
    }
    if (!user) {
      user = {
        id: newId('user'),
        organizationId: identity.organizationId,
        email: identity.email ?? `${identity.subject}@${new URL(identity.issuer).hostname}`,
        name: null,
        issuer: identity.issuer,
        subject: identity.subject,
        createdAt: Date.now(),
      };
      if (await this.storage.organizations.get(identity.organizationId)) await users.create(user);
    }
    const grants = (await roles.listForUser(user.id)).map(({ scope, scopeId, role }) => ({ scope, scopeId, role }));
    const value = { userId: user.id, grants };
    this.cached.set(cacheKey, { at: Date.now(), value });
    return value;
  }
}

export interface Governance {
  readonly storage: Storage;
  readonly cache: PolicyCache;
  readonly authenticator: GatewayAuthenticator;
  readonly admission: GovernanceAdmission;
  readonly meter: UsageMeter;
  readonly ledger: UsageLedger;
  /** Routing targets' own tpm/rpm, counted in the quotas' store (shared on Redis). */
  readonly targetQuota: TargetQuota;
  /** TPM/RPM quota admission; the admin API reads a project's current use from it. */
  readonly quotas: QuotaAdmission;
  /** What `/readyz` says of storage and, when configured, Redis. */
  readiness(): Readiness;
  /** Present when `content_safety.abuse_monitoring` is configured: observes filter decisions. */
  readonly abuse: AbuseMonitor | undefined;
  /** Budget enforcement; the admin API reads its live counters. */
  readonly budgets: BudgetGuard;
  /** Where target health is shared with other replicas: Redis when configured, else this replica's memory. */
  readonly healthStore: SharedHealthStore;
  /** Commits buffered usage and last-used times, then closes stores and connections. */
  close(): Promise<void>;
}

/**
 * Opens storage (applying migrations), loads the policy cache, replays any usage spooled by an
 * earlier process, and builds the governance stages the server plugs into its pipeline.
 */
export async function startGovernance(
  config: Config,
  options: { masterHash: Buffer; logger?: FastifyBaseLogger; storage?: Storage; registry?: Registry },
): Promise<Governance> {
  const logger = options.logger;
  const url = storageUrl(config);
  const storage =
    options.storage ??
    (await openStorage(url, { onNotice: ({ level, message, error }) => logger?.[level](error === undefined ? {} : { err: error }, message) }));
  // Nothing here may end the start for want of the database: the cache migrates, reads and
  // retries in the background, starting from its snapshot file meanwhile (see PolicyCache).
  const monitor = monitorPolicyCache(logger, options.registry);
  const cache = new PolicyCache(storage, {
    refreshIntervalMs: config.storage.refresh_interval_ms,
    prepare: async () => void (await storage.migrate()),
    snapshotFile: url === 'sqlite::memory:' ? undefined : resolve(config.data_dir, 'policy-snapshot.json'),
    onEvent: monitor.onEvent,
  });
  monitor.attach(cache);
  await cache.start();

  // One connection for quota and budget counters: sharing it, the two stores share one RedisCounters,
  // so the quota takes and budget reservations of one event-loop turn go out as one script call.
  // No ioredis auto-pipelining on top: it cost more CPU than it saved.
  // The connection fails fast while Redis is away, and the guard applies `redis.on_outage` (503, or
  // this replica's own counters) and logs each outage once.
  const redis = config.redis ? openCounterConnection(config.redis.url, { commandTimeoutMs: config.redis.command_timeout_ms }) : undefined;
  const outageGuard = redis && config.redis ? new RedisOutageGuard(redis, { policy: config.redis.on_outage, logger, registry: options.registry }) : undefined;
  if (outageGuard) await outageGuard.ready(REDIS_START_WAIT_MS);
  const rateStore: RateLimitStore = redis ? new RedisRateLimitStore(redis) : new MemoryRateLimitStore();
  const budgetStore: BudgetStore = redis ? new RedisBudgetStore(redis) : new MemoryBudgetStore();
  const localRateStore = outageGuard ? new MemoryRateLimitStore() : undefined;
  // Target health travels on the counter connection (bounded, never queued) plus a subscriber connection
  // of its own; the guard's outage lines speak for it too.
  const healthStore: SharedHealthStore = redis ? new RedisHealthStore(redis) : new MemoryHealthStore();

  const spool = new UsageSpool(resolve(config.usage.spool_dir ?? join(config.data_dir, 'spool')));
  const ledger = new UsageLedger(storage.usage, spool, {
    flushIntervalMs: config.usage.flush_interval_ms,
    onError: (error) => {
      // The database being away is reported once, by the cache; this would repeat every tick.
      if (!isStorageUnavailable(error)) logger?.error({ err: error }, 'usage commit failed; records stay in the spool and are retried');
      else {
        logger?.debug({ err: error }, 'usage commit failed; records stay in the spool and are retried');
        cache.storageFailed();
      }
    },
    onJournalError: (error) =>
      logger?.error({ err: error }, 'usage spool write failed; records are kept in memory until committed, new requests refused (503) until it writes again'),
  });
  const replayed = await ledger.start();
  if (replayed > 0) logger?.info({ records: replayed }, 'replayed usage records left in the spool');

  const budgets = new BudgetGuard(budgetStore, cache, storage.usage, outageGuard && { guard: outageGuard, local: new MemoryBudgetStore() });
  // Seeding is tried again on every reload and on first use, so a failure here (database or Redis away) is not final.
  await budgets
    .seed()
    .catch((error: unknown) => logger?.warn({ err: error }, 'seeding budget counters failed; they are seeded again on reload and on first use'));
  cache.onReload(() => {
    budgets.seed().catch((error: unknown) => logger?.error({ err: error }, 'seeding budget counters failed'));
  });

  const directory = new StorageUserDirectory(storage);
  cache.onReload(() => directory.invalidate());
  const oidc = new OidcVerifier(config.auth.oidc, directory);
  const keyUsage = new KeyUsageTracker(storage.keys, {
    onError: (error) => {
      if (!isStorageUnavailable(error)) logger?.warn({ err: error }, 'recording key last-used times failed');
      else cache.storageFailed();
    },
  });
  const authenticator = new GatewayAuthenticator({ masterHash: options.masterHash, cache, oidc, usage: keyUsage });
  const quotas = new QuotaAdmission(rateStore, {
    defaultMaxTokens: { chat: config.quotas.default_max_tokens, completions: config.quotas.default_max_tokens },
    outage: outageGuard && localRateStore && { guard: outageGuard, local: localRateStore },
  });
  const targetQuota = new TargetQuota(rateStore, {
    defaultMaxTokens: { chat: config.quotas.default_max_tokens, completions: config.quotas.default_max_tokens },
    outage: outageGuard && localRateStore && { guard: outageGuard, local: localRateStore },
    onError: (error) => logger?.warn({ err: error }, "settling a target's capacity reservation failed"),
  });
  const abuseStore =
    redis && outageGuard ? new FailoverAbuseCounterStore(new RedisAbuseCounterStore(redis), new MemoryAbuseCounterStore(), outageGuard) : undefined;
  const abuseConfig = config.content_safety.abuse_monitoring;
  const abuse = abuseConfig
    ? new AbuseMonitor({
        config: abuseConfig,
        storage,
        store: abuseStore,
        registry: options.registry,
        onError: (error, what) => logger?.warn({ err: error, what }, 'abuse monitoring failed in the background'),
        onEscalation: (escalation) => logger?.warn({ escalation }, 'abuse monitoring escalated'),
      })
    : undefined;
  await abuse?.start();
  const admission = new GovernanceAdmission({
    cache,
    quotas,
    budgets,
    abuse,
    onError: (error) => logger?.warn({ err: error }, 'settling a quota or budget reservation failed'),
  });
  const meter = new UsageMeter(ledger, cache);

  const retentionMs = config.audit.retention_days * 86_400_000;
  const prune = async (): Promise<void> => {
    if (retentionMs === 0) return;
    const removed = await storage.audit.prune(Date.now() - retentionMs);
    if (removed > 0) logger?.info({ removed }, 'pruned audit entries past retention');
  };
  await prune().catch((error: unknown) => logger?.error({ err: error }, 'audit pruning failed'));
  const retentionTimer = setInterval(() => void prune().catch((error: unknown) => logger?.error({ err: error }, 'audit pruning failed')), 3_600_000);
  retentionTimer.unref();

  const readiness = (): Readiness => {
    const stored = storageReadiness(cache.health());
    if (!outageGuard || !config.redis) return stored;
    const up = outageGuard.up;
    // Every replica shares the one Redis: its outage degrades them all, it takes none out of rotation.
    return {
      status: stored.status === 'ready' && !up ? 'degraded' : stored.status,
      checks: { ...stored.checks, redis: up ? { status: 'ok' } : { status: 'unavailable', on_outage: config.redis.on_outage } },
    };
  };

  return {
    storage,
    cache,
    readiness,
    authenticator,
    admission,
    quotas,
    budgets,
    meter,
    ledger,
    targetQuota,
    abuse,
    healthStore,
    async close() {
      clearInterval(retentionTimer);
      await abuse?.close();
      await abuseStore?.close();
      await ledger.close();
      await keyUsage.close();
      await cache.close();
      outageGuard?.close();
      // Settlements still queued for Redis are lost if it is away; nothing else waits on them.
      await rateStore.close().catch((error: unknown) => logger?.warn({ err: error }, 'flushing quota settlements to redis failed'));
      await budgetStore.close().catch((error: unknown) => logger?.warn({ err: error }, 'flushing budget settlements to redis failed'));
      await localRateStore?.close();
      await healthStore.close();
      // quit() is refused while disconnected (no offline queue): then there is nothing to close politely.
      if (redis) await redis.quit().catch(() => redis.disconnect());
      await storage.close();
    },
  };
}
