import { z } from 'zod';
import { InvalidRequestError, ResourceNotFoundError } from '../../errors/catalogue.js';
import { requireAnywhere, requireOperator, requirePermission } from '../../governance/access-control.js';
import {
  USAGE_APIS,
  type AuditEntry,
  type AuditHead,
  type AuditHeadReference,
  type UsageFilter,
  type UsageGroup,
  type UsageRecord,
  type UsageRow,
} from '../../storage/storage.js';
import { commaList, defineOperation, fromMicros, idString, positiveInteger, timestamp, type AdminContext } from '../admin-operation.js';
import { projectFor } from './tenancy-operations.js';

const GROUPS = ['project', 'key', 'deployment', 'model', 'api', 'day'] as const;

const groupList = commaList(z.array(z.enum(GROUPS)));

/**
 * Narrows a usage or audit query to what the caller may read: the operator reads everything; others
 * name a project (needing the permission there) or get their organization (needing it there).
 */
async function scopeFilter(
  context: AdminContext,
  permission: 'usage:read' | 'audit:read',
  requested: { project?: string; organization?: string },
): Promise<{ organizationId?: string; projectId?: string }> {
  const { principal } = context;
  if (principal.kind === 'master') return { organizationId: requested.organization, projectId: requested.project };
  requireAnywhere(principal, permission);
  if (requested.project) {
    const project = await projectFor(context, requested.project, permission);
    return { organizationId: project.organizationId, projectId: project.id };
  }
  if (principal.kind !== 'user') throw new InvalidRequestError('Name the project to read.', 'project');
  if (requested.organization && requested.organization !== principal.organizationId) {
    throw new InvalidRequestError('The caller belongs to another organization.', 'organization');
  }
  requirePermission(principal, permission, { organizationId: principal.organizationId });
  return { organizationId: principal.organizationId };
}

function usageOut(row: UsageRow): Record<string, unknown> {
  return {
    ...(row.day !== undefined ? { day: row.day } : {}),
    ...(row.project !== undefined ? { project: row.project } : {}),
    ...(row.key !== undefined ? { key: row.key } : {}),
    ...(row.deployment !== undefined ? { deployment: row.deployment } : {}),
    ...(row.model !== undefined ? { model: row.model } : {}),
    ...(row.api !== undefined ? { api: row.api } : {}),
    requests: row.requests,
    prompt_tokens: row.promptTokens,
    cached_tokens: row.cachedTokens,
    completion_tokens: row.completionTokens,
    cost_usd: fromMicros(row.cost),
    errors: row.errors ?? 0,
  };
}

/** One request's usage record, with the attempts it took (targets tried, why the failed ones failed). */
function recordOut(record: UsageRecord): Record<string, unknown> {
  return {
    request_id: record.requestId,
    at: new Date(record.at).toISOString(),
    api: record.api,
    organization: record.organizationId,
    project: record.projectId,
    key: record.keyId,
    deployment: record.deployment,
    provider: record.provider,
    model: record.model,
    region: record.region,
    status: record.status,
    prompt_tokens: record.promptTokens,
    cached_tokens: record.cachedTokens,
    completion_tokens: record.completionTokens,
    images: record.images,
    cost_usd: fromMicros(record.cost),
    estimated: record.estimated,
    streamed: record.streamed,
    latency_ms: record.latencyMs,
    time_to_first_token_ms: record.timeToFirstTokenMs,
    attempts: record.attempts,
    targets_tried: record.targetsTried,
    attempt_errors: record.attemptErrors,
  };
}

function csvCell(value: unknown): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV of an array of flat objects, columns from the first row. */
export function toCsv(rows: ReadonlyArray<Record<string, unknown>>, columns?: readonly string[]): string {
  const header = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  const lines = [header.join(',')];
  for (const row of rows) lines.push(header.map((column) => csvCell(row[column])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

function auditOut(entry: AuditEntry): Record<string, unknown> {
  return {
    seq: entry.seq,
    at: new Date(entry.at).toISOString(),
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    organization: entry.organizationId,
    project: entry.projectId,
    source: entry.source,
    before: entry.before,
    after: entry.after,
    hash: entry.hash,
  };
}

/** `SEQ:HASH` or `HASH`, the hash as 64 hex digits. */
const HEAD_REFERENCE = /^(?:(\d+):)?([0-9a-fA-F]{64})$/;

function parseHeadReference(text: string): AuditHeadReference {
  const [, seq, hash] = HEAD_REFERENCE.exec(text) as RegExpExecArray;
  return { ...(seq === undefined ? {} : { seq: Number(seq) }), hash: hash.toLowerCase() };
}

/** The head as shown, with `head` ready to pass back to `audit verify --head`. */
function headOut(head: AuditHead): Record<string, unknown> {
  return { seq: head.seq, hash: head.hash, at: head.at === null ? null : new Date(head.at).toISOString(), head: `${head.seq}:${head.hash}` };
}

export const recordOperations = [
  defineOperation({
    id: 'usage.query',
    method: 'GET',
    path: '/usage',
    summary: 'Usage and cost, filtered and grouped by project, key, deployment, model, API and/or day; format=csv for a CSV export.',
    input: z.strictObject({
      from: timestamp.describe('from this time on (inclusive)').optional(),
      to: timestamp.describe('up to this time (exclusive)').optional(),
      organization: idString.describe('only this organization').optional(),
      project: idString.describe('only this project').optional(),
      key: idString.describe('only this key (its id)').optional(),
      deployment: idString.describe('only this deployment').optional(),
      model: idString.describe('only this upstream model').optional(),
      api: z.enum(USAGE_APIS).describe('only usage of this API (the one the caller used)').optional(),
      group_by: groupList.describe('sum per these (default: one total)').optional(),
      bucket: z
        .enum(['minute', 'hour', 'day'])
        .describe(
          'read the rollups of this bucket size instead of the raw records: far cheaper over long ranges; from/to then select whole buckets by their start (UTC)',
        )
        .optional(),
      format: z.enum(['json', 'csv']).describe('csv for a CSV export').optional(),
    }),
    async run(context, input) {
      const scope = await scopeFilter(context, 'usage:read', input);
      const filter: UsageFilter = {
        ...scope,
        from: input.from,
        to: input.to,
        keyId: input.key,
        deployment: input.deployment,
        model: input.model,
        api: input.api,
      };
      const groups = (input.group_by ?? []) as UsageGroup[];
      const rows =
        input.bucket === undefined ? await context.storage.usage.query(filter, groups) : await context.storage.usage.rollups(input.bucket, filter, groups);
      return { data: rows.map(usageOut), group_by: groups };
    },
    csv(result) {
      const { data, group_by } = result as { data: Array<Record<string, unknown>>; group_by: string[] };
      return toCsv(data, [...group_by, 'requests', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'cost_usd', 'errors']);
    },
  }),
  defineOperation({
    id: 'usage.request',
    method: 'GET',
    path: '/usage/requests/:request_id',
    summary:
      "One request's usage record: tokens, cost and status, how many targets it tried, which, and why those that did not answer failed (failed attempts cost nothing).",
    input: z.strictObject({ request_id: z.string().min(1).max(200).describe('the request id (`x-request-id` of the response)') }),
    async run(context, input) {
      const record = await context.storage.usage.get(input.request_id);
      // A record outside the caller's reach reads as absent, as one that does not exist.
      if (!record) throw new ResourceNotFoundError('usage record', input.request_id);
      const scope = await scopeFilter(context, 'usage:read', { project: context.principal.kind === 'master' ? undefined : record.projectId });
      if (scope.projectId !== undefined && scope.projectId !== record.projectId) throw new ResourceNotFoundError('usage record', input.request_id);
      return recordOut(record);
    },
  }),
  defineOperation({
    id: 'audit.list',
    method: 'GET',
    path: '/audit',
    summary: 'Audit log entries, oldest first (page with after_seq).',
    input: z.strictObject({
      from: timestamp.describe('from this time on (inclusive)').optional(),
      to: timestamp.describe('up to this time (exclusive)').optional(),
      organization: idString.describe('only this organization').optional(),
      project: idString.describe('only this project').optional(),
      actor: z.string().describe('only this actor: master, user:<id>, key:<id> or system').optional(),
      action: z.string().describe('only this action, e.g. keys.revoke').optional(),
      target: z.string().min(1).describe('only entries about this thing, e.g. project:proj_search or key:key_…').optional(),
      after_seq: z.coerce.number().int().nonnegative().describe('entries after this seq (to page)').optional(),
      limit: positiveInteger.max(1000).describe('at most this many (default 100)').optional(),
    }),
    async run(context, input) {
      const scope = await scopeFilter(context, 'audit:read', input);
      const entries = await context.storage.audit.list({
        ...scope,
        actor: input.actor,
        action: input.action,
        target: input.target,
        from: input.from,
        to: input.to,
        afterSeq: input.after_seq,
        limit: input.limit ?? 100,
      });
      return { data: entries.map(auditOut) };
    },
  }),
  defineOperation({
    id: 'audit.head',
    method: 'GET',
    path: '/audit/head',
    summary: 'The newest audit entry (seq, hash, time): keep it outside the service and verify against it later (service operator only).',
    input: z.strictObject({}),
    async run(context) {
      requireOperator(context.principal);
      return headOut(await context.storage.audit.head());
    },
  }),
  defineOperation({
    id: 'audit.verify',
    method: 'GET',
    path: '/audit/verify',
    summary:
      'Re-compute the audit hash chain and name every edited, inserted or deleted entry; with head, also that the chain still reaches a head exported earlier (service operator only).',
    input: z.strictObject({
      head: z
        .string()
        .trim()
        .regex(HEAD_REFERENCE, 'expected SEQ:HASH or HASH, as `audit head` prints it')
        .optional()
        .describe('a head exported earlier by `audit head`: its SEQ:HASH (or HASH alone)'),
    }),
    async run(context, input) {
      requireOperator(context.principal);
      // Read before the walk: when the walk finds nothing wrong, this head is part of the verified chain.
      const head = await context.storage.audit.head();
      const result = await context.storage.audit.verify({ head: input.head === undefined ? undefined : parseHeadReference(input.head) });
      return result.ok ? { ...result, head: headOut(head) } : result;
    },
  }),
];
