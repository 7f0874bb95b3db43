/** The audit page's filters as typed (times from `datetime-local` inputs: the viewer's local time). */
export interface AuditFilters {
  readonly action: string;
  readonly target: string;
  readonly actor: string;
  readonly from: string;
  readonly to: string;
}

export const NO_FILTERS: AuditFilters = { action: '', target: '', actor: '', from: '', to: '' };

/**
 * The `GET /admin/v1/audit` query for a page of entries after `afterSeq`, or the problem with the
 * filters (checked before sending). Local times become epoch milliseconds here, once.
 */
export function auditQuery(filters: AuditFilters, afterSeq: number, limit: number): { query: string } | { problem: string } {
  const params = new URLSearchParams();
  for (const field of ['action', 'target', 'actor'] as const) {
    const value = filters[field].trim();
    if (value) params.set(field, value);
  }
  const times: Partial<Record<'from' | 'to', number>> = {};
  for (const field of ['from', 'to'] as const) {
    if (!filters[field]) continue;
    const at = new Date(filters[field]).getTime();
    if (Number.isNaN(at)) return { problem: `"${filters[field]}" is not a time.` };
    times[field] = at;
    params.set(field, String(at));
  }
  if (times.from !== undefined && times.to !== undefined && times.from >= times.to) return { problem: '"From" must be before "to".' };
  if (afterSeq > 0) params.set('after_seq', String(afterSeq));
  params.set('limit', String(limit));
  return { query: params.toString() };
}
