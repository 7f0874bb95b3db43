import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { MigrationResult } from '../storage.js';
import type { Database } from './database.js';
import type { DialectTraits } from './dialect-traits.js';

/**
 * Versioned schema migrations, applied in list order by Kysely's Migrator (which records them in
 * `kysely_migration` and holds its own lock, so replicas starting together apply each once).
 *
 * Rules: never edit a migration that has shipped, append a new one; names are `NNNN_description`
 * so that Kysely's name ordering equals list order; DDL stays portable (text ids and JSON, bigint
 * times and money, integer counts and 0/1 booleans), with the few differences taken from
 * {@link DialectTraits}.
 */
export interface StorageMigration {
  readonly name: string;
  /**
   * `Kysely<any>` on purpose (Kysely's own advice): a migration must not depend on today's table
   * types, which describe the schema after the last migration, not at this one.
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
  up(db: Kysely<any>, traits: DialectTraits): Promise<void>;
}

export const ZERO_HASH = '0'.repeat(64);

export const MIGRATIONS: readonly StorageMigration[] = [
  {
    name: '0001_initial',
    async up(db, traits) {
      await db.schema
        .createTable('organizations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('projects')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_auth_enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('projects_organization').on('projects').column('organization_id').execute();

      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('organization_id', 'text', (c) => c.notNull().references('organizations.id'))
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('issuer', 'text')
        .addColumn('subject', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('users_email').unique().on('users').columns(['organization_id', 'email']).execute();
      // Nulls are distinct in unique indexes on both databases, so users without tokens do not collide.
      await db.schema.createIndex('users_subject').unique().on('users').columns(['issuer', 'subject']).execute();

      // scope_id names an organization or a project, so it carries no foreign key.
      await db.schema
        .createTable('role_assignments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('scope_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('role_assignments_user_scope', ['user_id', 'scope', 'scope_id'])
        .execute();
      await db.schema.createIndex('role_assignments_scope').on('role_assignments').columns(['scope', 'scope_id']).execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('deployments', 'text')
        .addColumn('expires_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .addColumn('created_by', 'text')
        .execute();
      await db.schema.createIndex('api_keys_project').on('api_keys').column('project_id').execute();

      await db.schema
        .createTable('deployment_policies')
        .addColumn('deployment', 'text', (c) => c.primaryKey())
        .addColumn('gated', 'integer', (c) => c.notNull())
        .addColumn('tpm', 'bigint')
        .addColumn('input_per_million', 'bigint')
        .addColumn('cached_input_per_million', 'bigint')
        .addColumn('output_per_million', 'bigint')
        .addColumn('per_image', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('project_quotas')
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('deployment', 'text', (c) => c.notNull())
        .addColumn('tpm', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('project_quotas_pk', ['project_id', 'deployment'])
        .execute();

      // scope_id names a project or a key: no foreign key; projects.delete removes them explicitly.
      await db.schema
        .createTable('budgets')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('scope_id', 'text', (c) => c.notNull())
        .addColumn('monthly_limit', 'bigint')
        .addColumn('daily_limit', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('budgets_pk', ['scope', 'scope_id'])
        .execute();

      await db.schema
        .createTable('access_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull().references('projects.id'))
        .addColumn('deployment', 'text', (c) => c.notNull())
        .addColumn('use_case', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'bigint')
        .addColumn('reason', 'text')
        .execute();
      await db.schema.createIndex('access_requests_project').on('access_requests').columns(['project_id', 'status']).execute();

      // Usage outlives its project and key (billing history), so no foreign keys here.
      await db.schema
        .createTable('usage_records')
        .addColumn('request_id', 'text', (c) => c.primaryKey())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('organization_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text')
        .addColumn('end_user', 'text')
        .addColumn('deployment', 'text', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('region', 'text', (c) => c.notNull())
        .addColumn('prompt_tokens', 'integer', (c) => c.notNull())
        .addColumn('cached_tokens', 'integer', (c) => c.notNull())
        .addColumn('completion_tokens', 'integer', (c) => c.notNull())
        .addColumn('images', 'integer', (c) => c.notNull())
        .addColumn('cost', 'bigint', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('time_to_first_token_ms', 'integer')
        .addColumn('streamed', 'integer', (c) => c.notNull())
        .addColumn('filtered', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('usage_records_at').on('usage_records').column('at').execute();
      // (owner, at) rather than owner alone: spendSince and per-project reports range over time.
      await db.schema.createIndex('usage_records_project').on('usage_records').columns(['project_id', 'at']).execute();
      await db.schema.createIndex('usage_records_key').on('usage_records').columns(['key_id', 'at']).execute();

      await db.schema
        .createTable('usage_rollups')
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('bucket_start', 'bigint', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('deployment', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('organization_id', 'text', (c) => c.notNull())
        .addColumn('requests', 'bigint', (c) => c.notNull())
        .addColumn('prompt_tokens', 'bigint', (c) => c.notNull())
        .addColumn('cached_tokens', 'bigint', (c) => c.notNull())
        .addColumn('completion_tokens', 'bigint', (c) => c.notNull())
        .addColumn('cost', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_rollups_pk', ['bucket', 'bucket_start', 'project_id', 'key_id', 'deployment', 'model'])
        .execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('seq', traits.auditSequence === 'bigserial' ? 'bigserial' : 'integer', (c) =>
          traits.auditSequence === 'bigserial' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('organization_id', 'text')
        .addColumn('project_id', 'text')
        .addColumn('before', 'text')
        .addColumn('after', 'text')
        .addColumn('source', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
      // Only verify reads by prev_hash, and only where the chain is damaged, to find where it goes on.
      await db.schema.createIndex('audit_log_prev_hash').on('audit_log').column('prev_hash').execute();

      await db.schema
        .createTable('audit_anchor')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      // The row always exists: appenders lock it (SQLite) and read it when the log is empty.
      await sql`insert into audit_anchor (id, seq, hash) values (1, 0, ${ZERO_HASH})`.execute(db);
    },
  },
  {
    name: '0002_content_safety',
    async up(db) {
      // Suspended keys stay in listActive (the cache answers 403 key_suspended, not 401).
      await db.schema.alterTable('api_keys').addColumn('suspended_at', 'bigint').execute();

      // project_id carries no foreign key (as budgets): projects.delete does not know these tables,
      // and a project's lists outliving it harm nothing (the cache loads lists of live projects only).
      await db.schema
        .createTable('blocklists')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('blocklists_project').on('blocklists').column('project_id').execute();

      await db.schema
        .createTable('blocklist_terms')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('blocklist_id', 'text', (c) => c.notNull().references('blocklists.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('blocklist_terms_value', ['blocklist_id', 'kind', 'value'])
        .execute();

      await db.schema
        .createTable('project_filter_policies')
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('deployment', 'text', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('project_filter_policies_pk', ['project_id', 'deployment'])
        .execute();

      // Reviews and samples are history (like usage): no foreign keys, they outlive keys and projects.
      await db.schema
        .createTable('abuse_reviews')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('subject_type', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('organization_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('events', 'integer', (c) => c.notNull())
        .addColumn('first_at', 'bigint', (c) => c.notNull())
        .addColumn('last_at', 'bigint', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'bigint')
        .execute();
      // At most one active review per subject, whichever replica opens it (a partial unique index:
      // both databases have them, and SQL literals keep the predicate free of bound parameters).
      await db.schema
        .createIndex('abuse_reviews_active')
        .unique()
        .on('abuse_reviews')
        .columns(['subject_type', 'subject_id', 'project_id'])
        .where(sql.raw<boolean>(`status in ('open', 'suspended')`))
        .execute();
      await db.schema.createIndex('abuse_reviews_status').on('abuse_reviews').columns(['status', 'last_at']).execute();
      await db.schema.createIndex('abuse_reviews_project').on('abuse_reviews').columns(['project_id', 'last_at']).execute();

      await db.schema
        .createTable('abuse_samples')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('review_id', 'text')
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('organization_id', 'text', (c) => c.notNull())
        .addColumn('subject_type', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'text', (c) => c.notNull())
        .addColumn('direction', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('categories', 'text', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
      // Retention deletes by time; reviewers read by review.
      await db.schema.createIndex('abuse_samples_at').on('abuse_samples').column('at').execute();
      await db.schema.createIndex('abuse_samples_review').on('abuse_samples').columns(['review_id', 'at']).execute();
    },
  },
  {
    name: '0003_usage_api_and_responses',
    async up(db) {
      // Usage names the inbound API (chat, responses, messages, …). Rows before this migration all
      // came through the chat API, the only one there was. The default stays for them only: every
      // writer names the API.
      await db.schema
        .alterTable('usage_records')
        .addColumn('api', 'text', (c) => c.notNull().defaultTo('chat'))
        .execute();

      // The API joins the rollup key, so rollups can be grouped and filtered by it as raw records
      // can. A primary key cannot be changed in place on SQLite, so the table is rebuilt (both
      // databases, one code path), its rows copied as chat usage. The new key has its own name:
      // on PostgreSQL the old one's index name stays taken until the old table is dropped.
      await db.schema
        .createTable('usage_rollups_next')
        .addColumn('bucket', 'text', (c) => c.notNull())
        .addColumn('bucket_start', 'bigint', (c) => c.notNull())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('deployment', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('api', 'text', (c) => c.notNull())
        .addColumn('organization_id', 'text', (c) => c.notNull())
        .addColumn('requests', 'bigint', (c) => c.notNull())
        .addColumn('prompt_tokens', 'bigint', (c) => c.notNull())
        .addColumn('cached_tokens', 'bigint', (c) => c.notNull())
        .addColumn('completion_tokens', 'bigint', (c) => c.notNull())
        .addColumn('cost', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('usage_rollups_api_pk', ['bucket', 'bucket_start', 'project_id', 'key_id', 'deployment', 'model', 'api'])
        .execute();
      const kept =
        'bucket, bucket_start, project_id, key_id, deployment, model, organization_id, requests, prompt_tokens, cached_tokens, completion_tokens, cost';
      await sql.raw(`insert into usage_rollups_next (${kept}, api) select ${kept}, 'chat' from usage_rollups`).execute(db);
      await db.schema.dropTable('usage_rollups').execute();
      await db.schema.alterTable('usage_rollups_next').renameTo('usage_rollups').execute();

      // Stored responses are the caller's data, not history: no foreign key to the project either
      // (the master key's responses have project ''), and retention prunes them by creation time.
      await db.schema
        .createTable('responses')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('project_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('previous_response_id', 'text')
        .addColumn('input', 'text', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('responses_created_at').on('responses').column('created_at').execute();
    },
  },
  {
    name: '0004_cache_write_price',
    async up(db) {
      // Prompt-cache writes (Anthropic's cache_creation_input_tokens) cost more than plain input;
      // null (every policy before this) charges them at the input price.
      await db.schema.alterTable('deployment_policies').addColumn('cache_write_per_million', 'bigint').execute();
    },
  },
  {
    name: '0005_usage_estimated',
    async up(db) {
      // Usage Cerulean estimated (a stream that ended before its upstream reported usage) is marked
      // as such; every record before this carries the upstream's own count or none.
      await db.schema
        .alterTable('usage_records')
        .addColumn('estimated', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  {
    name: '0006_project_data_zone',
    async up(db) {
      // Residency: the data zone a project's requests must stay in; null (every project before this) is anywhere.
      await db.schema.alterTable('projects').addColumn('data_zone', 'text').execute();
    },
  },
  {
    name: '0007_usage_attempts',
    async up(db) {
      // Routing: how many targets a request tried, which, and why those that did not answer failed.
      // Rows before this were one attempt at the target they name.
      await db.schema
        .alterTable('usage_records')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema.alterTable('usage_records').addColumn('targets_tried', 'text').execute();
      await db.schema.alterTable('usage_records').addColumn('attempt_errors', 'text').execute();
    },
  },
  {
    name: '0008_residency_pins',
    async up(db) {
      // Residency pins on keys (a zone and regions within their project's) and regions on projects;
      // null (every row before this) is no pin of its own. Regions are a JSON array of names.
      await db.schema.alterTable('projects').addColumn('regions', 'text').execute();
      await db.schema.alterTable('api_keys').addColumn('data_zone', 'text').execute();
      await db.schema.alterTable('api_keys').addColumn('regions', 'text').execute();
    },
  },
  {
    name: '0009_rollup_errors',
    async up(db) {
      // Requests answered with an error status (>= 400, Cerulean's refusals included) per rollup
      // row, so error rates read from the rollups as the other sums do. Rows written before this
      // are counted from the raw records still kept (through the (project_id, at) index); records
      // already pruned by retention count as none.
      await db.schema
        .alterTable('usage_rollups')
        .addColumn('errors', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      for (const [bucket, size] of [
        ['minute', 60_000],
        ['hour', 3_600_000],
        ['day', 86_400_000],
      ] as const) {
        await sql`update usage_rollups set errors = (
            select count(*) from usage_records r
            where r.project_id = usage_rollups.project_id and r.at >= usage_rollups.bucket_start and r.at < usage_rollups.bucket_start + ${sql.lit(size)}
              and r.status >= 400 and coalesce(r.key_id, '') = usage_rollups.key_id and r.deployment = usage_rollups.deployment
              and r.model = usage_rollups.model and r.api = usage_rollups.api)
          where bucket = ${bucket}`.execute(db);
      }
    },
  },
];

/** Applies pending migrations; throws the first failure (the Migrator rolls that migration back). */
export async function migrateToLatest(
  db: Kysely<Database>,
  traits: DialectTraits,
  migrations: readonly StorageMigration[] = MIGRATIONS,
): Promise<MigrationResult> {
  const provider: MigrationProvider = {
    async getMigrations() {
      const byName: Record<string, Migration> = {};
      for (const migration of migrations) byName[migration.name] = { up: (target) => migration.up(target, traits) };
      return byName;
    },
  };
  const migrationTableSchema = await traits.migrationSchema(db);
  const { error, results } = await new Migrator({ db, provider, migrationTableSchema }).migrateToLatest();
  if (error !== undefined) throw error instanceof Error ? error : new Error(`Migration failed: ${String(error)}`);
  const applied = (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
  return { applied, current: migrations[migrations.length - 1]?.name ?? '' };
}
