import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
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
import type { RateLimitStore } from '../ratelimit/rate-limit-store.js';
import { RedisRateLimitStore } from '../ratelimit/redis/redis-rate-limit-store.js';
import { openStorage } from '../storage/open-storage.js';
import type { Storage } from '../storage/storage.js';
import { newId } from '../admin/operations/tenancy-operations.js';
import { BudgetGuard } from './budget/budget-guard.js';
import type { BudgetStore } from './budget/budget-store.js';
import { MemoryBudgetStore } from './budget/memory-budget-store.js';
import { RedisBudgetStore } from './budget/redis-budget-store.js';
import { GovernanceAdmission } from './governance-admission.js';
import { PolicyCache } from './policy-cache.js';
import { AbuseMonitor } from '../safety/abuse/abuse-monitor.js';
import type { Registry } from 'prom-client';

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
  /** Present when `content_safety.abuse_monitoring` is configured: observes filter decisions. */
  readonly abuse: AbuseMonitor | undefined;
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
  const storage = options.storage ?? (await openStorage(storageUrl(config)));
  await storage.migrate();
  const cache = new PolicyCache(storage);
  await cache.start();

  // One connection for quota and budget counters: sharing it, the two stores share one RedisCounters,
  // so the quota takes and budget reservations of one event-loop turn go out as one script call.
  // No ioredis auto-pipelining on top: it cost more CPU than it saved.
  const redis = config.redis ? new Redis(config.redis.url, { maxRetriesPerRequest: 2 }) : undefined;
  const rateStore: RateLimitStore = redis ? new RedisRateLimitStore(redis) : new MemoryRateLimitStore();
  const budgetStore: BudgetStore = redis ? new RedisBudgetStore(redis) : new MemoryBudgetStore();

  const spool = new UsageSpool(resolve(config.usage.spool_dir ?? join(config.data_dir, 'spool')));
  const ledger = new UsageLedger(storage.usage, spool, {
    flushIntervalMs: config.usage.flush_interval_ms,
    onError: (error) => logger?.error({ err: error }, 'usage commit failed; records stay in the spool and are retried'),
    onJournalError: (error) =>
      logger?.error({ err: error }, 'usage spool write failed; records are kept in memory until committed, new requests refused (503) until it writes again'),
  });
  const replayed = await ledger.start();
  if (replayed > 0) logger?.info({ records: replayed }, 'replayed usage records left in the spool');

  const budgets = new BudgetGuard(budgetStore, cache, storage.usage);
  await budgets.seed();
  cache.onReload(() => {
    budgets.seed().catch((error: unknown) => logger?.error({ err: error }, 'seeding budget counters failed'));
  });

  const directory = new StorageUserDirectory(storage);
  cache.onReload(() => directory.invalidate());
  const oidc = new OidcVerifier(config.auth.oidc, directory);
  const keyUsage = new KeyUsageTracker(storage.keys, { onError: (error) => logger?.warn({ err: error }, 'recording key last-used times failed') });
  const authenticator = new GatewayAuthenticator({ masterHash: options.masterHash, cache, oidc, usage: keyUsage });
  const quotas = new QuotaAdmission(rateStore, { defaultMaxTokens: { chat: config.quotas.default_max_tokens, completions: config.quotas.default_max_tokens } });
  const abuseConfig = config.content_safety.abuse_monitoring;
  const abuse = abuseConfig
    ? new AbuseMonitor({
        config: abuseConfig,
        storage,
        redis,
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
  await prune();
  const retentionTimer = setInterval(() => void prune().catch((error: unknown) => logger?.error({ err: error }, 'audit pruning failed')), 3_600_000);
  retentionTimer.unref();

  return {
    storage,
    cache,
    authenticator,
    admission,
    meter,
    ledger,
    abuse,
    async close() {
      clearInterval(retentionTimer);
      await abuse?.close();
      await ledger.close();
      await keyUsage.close();
      await cache.close();
      await rateStore.close();
      await budgetStore.close();
      if (redis) await redis.quit();
      await storage.close();
    },
  };
}
