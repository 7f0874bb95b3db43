import type { Kysely } from 'kysely';
import type { ChangeFeed, MigrationResult, Storage } from '../storage.js';
import { KyselyAbuseRepository } from './abuse-repository.js';
import { KyselyAccessRequestRepository } from './access-request-repository.js';
import { KyselyApiKeyRepository } from './api-key-repository.js';
import { KyselyAuditRepository } from './audit-repository.js';
import { KyselyBlocklistRepository } from './blocklist-repository.js';
import { KyselyBudgetRepository } from './budget-repository.js';
import type { Database } from './database.js';
import { KyselyDeploymentPolicyRepository } from './deployment-policy-repository.js';
import type { DialectTraits } from './dialect-traits.js';
import { migrateToLatest } from './migrations.js';
import { KyselyOrganizationRepository } from './organization-repository.js';
import { KyselyProjectRepository } from './project-repository.js';
import { KyselyQuotaRepository } from './quota-repository.js';
import { KyselyResponseRepository } from './response-repository.js';
import { KyselyRoleRepository } from './role-repository.js';
import { KyselySafetySettingsRepository } from './safety-settings-repository.js';
import { KyselyUsageRepository } from './usage-repository.js';
import { KyselyUserRepository } from './user-repository.js';

/** A change feed owned by the storage: closed with it. */
export interface ClosableChangeFeed extends ChangeFeed {
  close(): Promise<void>;
}

/**
 * The one {@link Storage} implementation: repositories written once over Kysely. A dialect folder
 * contributes only the Kysely dialect, its {@link DialectTraits} and its change feed.
 */
export class KyselyStorage implements Storage {
  readonly dialect: 'sqlite' | 'postgres';
  readonly organizations: KyselyOrganizationRepository;
  readonly projects: KyselyProjectRepository;
  readonly users: KyselyUserRepository;
  readonly roles: KyselyRoleRepository;
  readonly keys: KyselyApiKeyRepository;
  readonly deployments: KyselyDeploymentPolicyRepository;
  readonly quotas: KyselyQuotaRepository;
  readonly budgets: KyselyBudgetRepository;
  readonly access: KyselyAccessRequestRepository;
  readonly usage: KyselyUsageRepository;
  readonly audit: KyselyAuditRepository;
  readonly changes: ClosableChangeFeed;
  readonly blocklists: KyselyBlocklistRepository;
  readonly safetySettings: KyselySafetySettingsRepository;
  readonly abuse: KyselyAbuseRepository;
  readonly responses: KyselyResponseRepository;

  private readonly db: Kysely<Database>;
  private readonly traits: DialectTraits;
  private closing: Promise<void> | undefined;

  /** `usage` and `responses`: the dialect's own where writing a batch differs (the queries are shared); `responses` defaults to the Kysely one. */
  constructor(db: Kysely<Database>, traits: DialectTraits, changes: ClosableChangeFeed, usage: KyselyUsageRepository, responses?: KyselyResponseRepository) {
    this.db = db;
    this.traits = traits;
    this.dialect = traits.name;
    this.changes = changes;
    this.organizations = new KyselyOrganizationRepository(db);
    this.projects = new KyselyProjectRepository(db);
    this.users = new KyselyUserRepository(db);
    this.roles = new KyselyRoleRepository(db);
    this.keys = new KyselyApiKeyRepository(db, traits);
    this.deployments = new KyselyDeploymentPolicyRepository(db);
    this.quotas = new KyselyQuotaRepository(db);
    this.budgets = new KyselyBudgetRepository(db);
    this.access = new KyselyAccessRequestRepository(db);
    this.usage = usage;
    this.audit = new KyselyAuditRepository(db, traits);
    this.blocklists = new KyselyBlocklistRepository(db, traits);
    this.safetySettings = new KyselySafetySettingsRepository(db);
    this.abuse = new KyselyAbuseRepository(db);
    this.responses = responses ?? new KyselyResponseRepository(db);
  }

  migrate(): Promise<MigrationResult> {
    return migrateToLatest(this.db, this.traits);
  }

  /** Stops the change feed, then closes the database connections. Calling it again is harmless. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.changes.close();
      } finally {
        try {
          await this.usage.close();
        } finally {
          await this.db.destroy();
        }
      }
    })();
    return this.closing;
  }
}
