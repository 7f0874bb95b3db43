import { createHash } from 'node:crypto';
import type { AuditEntry } from '../storage.js';

/**
 * The audit hash chain: `hash = sha256hex(prevHash + '\n' + canonicalJson(content))`, where the
 * content is the entry without its hashes and canonical JSON sorts object keys recursively, so the
 * hash depends only on values and can be recomputed by any tool from the stored row.
 */

export type AuditContent = Omit<AuditEntry, 'prevHash' | 'hash'>;

/** JSON with object keys sorted at every depth; `undefined` members are dropped as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const json = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof json === 'function') return sortKeys(json.call(value));
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  return sorted;
}

export function auditHash(prevHash: string, content: AuditContent): string {
  const { seq, at, actor, action, target, organizationId, projectId, before, after, source } = content;
  const hashed = { seq, at, actor, action, target, organizationId, projectId, before, after, source };
  return createHash('sha256')
    .update(`${prevHash}\n${canonicalJson(hashed)}`)
    .digest('hex');
}

/**
 * `before`/`after` as the JSON text stored in the row. What is hashed is this text parsed back,
 * never the caller's object, so that a Date, an `undefined` member or a class instance hashes the
 * same at append time as when verify re-reads the row.
 */
export function toAuditJson(value: unknown): string | null {
  return value === undefined || value === null ? null : (JSON.stringify(value) ?? null);
}

export function fromAuditJson(text: string | null): unknown {
  return text === null ? null : (JSON.parse(text) as unknown);
}

/** Shortens a hash for human-readable problem details. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}
