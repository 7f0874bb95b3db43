import type { ColumnType } from 'kysely';

/**
 * Table types of the storage schema, shared by SQLite and PostgreSQL. The DDL lives in
 * `migrations.ts`; these types must follow it.
 *
 * Portable column conventions: ids and JSON are `text`; times and money are `bigint`; counts are
 * `integer`; booleans are `integer` 0/1 everywhere (one schema, no per-dialect coercion).
 */

/**
 * A `bigint` column. better-sqlite3 returns it as a number, node-postgres as a string (int8 may
 * exceed 2^53, so pg does not guess); read it through {@link toNumber}.
 */
export type Int8 = ColumnType<number | string, number, number>;
export type NullableInt8 = ColumnType<number | string | null, number | null, number | null>;
/** Boolean stored as integer 0/1; read it through {@link toBoolean}. */
export type Flag = ColumnType<number, number, number>;

export interface OrganizationsTable {
  id: string;
  name: string;
  created_at: Int8;
}

export interface ProjectsTable {
  id: string;
  organization_id: string;
  name: string;
  key_auth_enabled: Flag;
  /** Added by 0006_project_data_zone. */
  data_zone: string | null;
  /** JSON array of region names, or null for any region. Added by 0008_residency_pins. */
  regions: string | null;
  created_at: Int8;
}

export interface UsersTable {
  id: string;
  organization_id: string;
  email: string;
  name: string | null;
  issuer: string | null;
  subject: string | null;
  created_at: Int8;
}

export interface RoleAssignmentsTable {
  id: string;
  user_id: string;
  scope: string;
  scope_id: string;
  role: string;
  created_at: Int8;
}

export interface ApiKeysTable {
  id: string;
  project_id: string;
  name: string;
  prefix: string;
  hash: string;
  /** JSON array of deployment names, or null for every deployment of the project. */
  deployments: string | null;
  expires_at: NullableInt8;
  revoked_at: NullableInt8;
  created_at: Int8;
  last_used_at: NullableInt8;
  created_by: string | null;
  /** Added by 0002_content_safety. */
  suspended_at: NullableInt8;
  /** Added by 0008_residency_pins: the key's own data zone, or null for its project's. */
  data_zone: string | null;
  /** Added by 0008_residency_pins: JSON array of region names, or null for its project's. */
  regions: string | null;
}

export interface DeploymentPoliciesTable {
  deployment: string;
  gated: Flag;
  tpm: NullableInt8;
  /** The four prices are all null (no prices) or all set. */
  input_per_million: NullableInt8;
  cached_input_per_million: NullableInt8;
  cache_write_per_million: NullableInt8;
  output_per_million: NullableInt8;
  per_image: NullableInt8;
  updated_at: Int8;
}

export interface ProjectQuotasTable {
  project_id: string;
  deployment: string;
  tpm: Int8;
  updated_at: Int8;
}

export interface BudgetsTable {
  scope: string;
  scope_id: string;
  monthly_limit: NullableInt8;
  daily_limit: NullableInt8;
  updated_at: Int8;
}

export interface AccessRequestsTable {
  id: string;
  project_id: string;
  deployment: string;
  use_case: string;
  status: string;
  created_at: Int8;
  decided_by: string | null;
  decided_at: NullableInt8;
  reason: string | null;
}

export interface UsageRecordsTable {
  request_id: string;
  at: Int8;
  organization_id: string;
  project_id: string;
  key_id: string | null;
  end_user: string | null;
  deployment: string;
  provider: string;
  model: string;
  region: string;
  prompt_tokens: number;
  cached_tokens: number;
  completion_tokens: number;
  images: number;
  cost: Int8;
  status: number;
  latency_ms: number;
  time_to_first_token_ms: number | null;
  streamed: Flag;
  filtered: Flag;
  /** Added by 0005_usage_estimated (0 for the rows before it). */
  estimated: Flag;
  /** Added by 0007_usage_attempts (1 for the rows before it). */
  attempts: number;
  /** JSON array of `provider/model`; added by 0007_usage_attempts (null for the rows before it, and for none). */
  targets_tried: string | null;
  /** JSON array of {target, cause, status}; added by 0007_usage_attempts (null when no attempt failed). */
  attempt_errors: string | null;
  /** Added by 0003_usage_api_and_responses ('chat' for the rows before it). */
  api: string;
}

export interface UsageRollupsTable {
  bucket: string;
  bucket_start: Int8;
  project_id: string;
  /** Empty string for usage without a key: primary-key columns cannot be null. */
  key_id: string;
  deployment: string;
  model: string;
  /** Part of the key since 0003_usage_api_and_responses ('chat' for the rows before it). */
  api: string;
  /** Not part of the key (a project belongs to one organization); kept for organization filters. */
  organization_id: string;
  requests: Int8;
  prompt_tokens: Int8;
  cached_tokens: Int8;
  completion_tokens: Int8;
  cost: Int8;
  /** Requests answered with a status >= 400. Added by 0009_rollup_errors. */
  errors: Int8;
}

export interface AuditLogTable {
  /** Assigned by the database on insert. */
  seq: ColumnType<number | string, number | undefined, number>;
  at: Int8;
  actor: string;
  action: string;
  target: string;
  organization_id: string | null;
  project_id: string | null;
  /** JSON text. */
  before: string | null;
  after: string | null;
  source: string | null;
  prev_hash: string;
  hash: string;
}

/** Exactly one row (id 1): the seq and hash the chain continues from, seq 0 and zeros until a prune. */
export interface AuditAnchorTable {
  id: number;
  seq: Int8;
  hash: string;
}

export interface BlocklistsTable {
  id: string;
  project_id: string;
  name: string;
  created_at: Int8;
}

export interface BlocklistTermsTable {
  id: string;
  blocklist_id: string;
  kind: string;
  value: string;
  created_at: Int8;
}

export interface ProjectFilterPoliciesTable {
  project_id: string;
  deployment: string;
  policy: string;
  updated_at: Int8;
}

export interface AbuseReviewsTable {
  id: string;
  subject_type: string;
  subject_id: string;
  project_id: string;
  organization_id: string;
  status: string;
  reason: string;
  events: number;
  first_at: Int8;
  last_at: Int8;
  decided_by: string | null;
  decided_at: NullableInt8;
}

export interface AbuseSamplesTable {
  id: string;
  review_id: string | null;
  request_id: string;
  project_id: string;
  organization_id: string;
  subject_type: string;
  subject_id: string;
  direction: string;
  text: string;
  /** JSON array of AbuseCategory. */
  categories: string;
  at: Int8;
}

/** Added by 0003_usage_api_and_responses. */
export interface ResponsesTable {
  id: string;
  /** '' for the master key. */
  project_id: string;
  created_at: Int8;
  model: string;
  previous_response_id: string | null;
  /** JSON array of the input items. */
  input: string;
  /** JSON of the whole Response object. */
  response: string;
  status: string;
}

export interface Database {
  organizations: OrganizationsTable;
  projects: ProjectsTable;
  users: UsersTable;
  role_assignments: RoleAssignmentsTable;
  api_keys: ApiKeysTable;
  deployment_policies: DeploymentPoliciesTable;
  project_quotas: ProjectQuotasTable;
  budgets: BudgetsTable;
  access_requests: AccessRequestsTable;
  usage_records: UsageRecordsTable;
  usage_rollups: UsageRollupsTable;
  audit_log: AuditLogTable;
  audit_anchor: AuditAnchorTable;
  blocklists: BlocklistsTable;
  blocklist_terms: BlocklistTermsTable;
  project_filter_policies: ProjectFilterPoliciesTable;
  abuse_reviews: AbuseReviewsTable;
  abuse_samples: AbuseSamplesTable;
  responses: ResponsesTable;
}

/**
 * Reads an integer the driver may hand back as a number, a decimal string (pg int8, and numeric for
 * `sum(bigint)`), or a bigint. Throws rather than silently lose precision past 2^53.
 */
export function toNumber(value: number | string | bigint): number {
  const result = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(result)) throw new RangeError(`Storage integer out of range: ${String(value)}`);
  return result;
}

export function toNullableNumber(value: number | string | bigint | null): number | null {
  return value === null ? null : toNumber(value);
}

export function toBoolean(value: number | boolean): boolean {
  return value === true || value === 1;
}

export function toFlag(value: boolean): number {
  return value ? 1 : 0;
}
