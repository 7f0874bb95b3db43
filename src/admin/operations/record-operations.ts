import { z } from 'zod';
import { InvalidRequestError } from '../../errors/catalogue.js';
import { requireOperator, requirePermission } from '../../governance/access-control.js';
import type { AuditEntry, UsageFilter, UsageGroup, UsageRow } from '../../storage/storage.js';
import { defineOperation, fromMicros, idString, positiveInteger, timestamp, type AdminContext } from '../admin-operation.js';
import { projectFor } from './tenancy-operations.js';

const GROUPS = ['project', 'key', 'deployment', 'model', 'day'] as const;

const groupList = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((item) => item.trim())
          .filter(Boolean)
      : value,
  z.array(z.enum(GROUPS)),
);

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
    requests: row.requests,
    prompt_tokens: row.promptTokens,
    cached_tokens: row.cachedTokens,
    completion_tokens: row.completionTokens,
    cost_usd: fromMicros(row.cost),
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

export const recordOperations = [
  defineOperation({
    id: 'usage.query',
    method: 'GET',
    path: '/usage',
    summary: 'Usage and cost, filtered and grouped by project, key, deployment, model and/or day; format=csv for a CSV export.',
    input: z.strictObject({
      from: timestamp.optional(),
      to: timestamp.optional(),
      organization: idString.optional(),
      project: idString.optional(),
      key: idString.optional(),
      deployment: idString.optional(),
      model: idString.optional(),
      group_by: groupList.optional(),
      format: z.enum(['json', 'csv']).optional(),
    }),
    async run(context, input) {
      const scope = await scopeFilter(context, 'usage:read', input);
      const filter: UsageFilter = { ...scope, from: input.from, to: input.to, keyId: input.key, deployment: input.deployment, model: input.model };
      const groups = (input.group_by ?? []) as UsageGroup[];
      const rows = await context.storage.usage.query(filter, groups);
      return { data: rows.map(usageOut), group_by: groups };
    },
    csv(result) {
      const { data, group_by } = result as { data: Array<Record<string, unknown>>; group_by: string[] };
      return toCsv(data, [...group_by, 'requests', 'prompt_tokens', 'cached_tokens', 'completion_tokens', 'cost_usd']);
    },
  }),
  defineOperation({
    id: 'audit.list',
    method: 'GET',
    path: '/audit',
    summary: 'Audit log entries, oldest first (page with after_seq).',
    input: z.strictObject({
      from: timestamp.optional(),
      to: timestamp.optional(),
      organization: idString.optional(),
      project: idString.optional(),
      actor: z.string().optional(),
      action: z.string().optional(),
      after_seq: z.coerce.number().int().nonnegative().optional(),
      limit: positiveInteger.max(1000).optional(),
    }),
    async run(context, input) {
      const scope = await scopeFilter(context, 'audit:read', input);
      const entries = await context.storage.audit.list({
        ...scope,
        actor: input.actor,
        action: input.action,
        from: input.from,
        to: input.to,
        afterSeq: input.after_seq,
        limit: input.limit ?? 100,
      });
      return { data: entries.map(auditOut) };
    },
  }),
  defineOperation({
    id: 'audit.verify',
    method: 'GET',
    path: '/audit/verify',
    summary: 'Re-compute the audit hash chain and name every edited, inserted or deleted entry (service operator only).',
    input: z.strictObject({}),
    async run(context) {
      requireOperator(context.principal);
      return context.storage.audit.verify();
    },
  }),
];
