/**
 * Limited access and content safety as the admin API answers them (src/admin/operations/policy-operations.ts,
 * safety-operations.ts), and the checks the portal makes before sending, by the API's own rules.
 */

export type AccessRequestStatus = 'pending' | 'approved' | 'rejected';

export interface AccessRequest {
  readonly id: string;
  readonly projectId: string;
  readonly deployment: string;
  readonly useCase: string;
  readonly status: AccessRequestStatus;
  readonly createdAt: number;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
  readonly reason: string | null;
}

/** The content-filter policies configured (`content-filters.policies`). */
export interface FilterPolicyName {
  readonly name: string;
  /** Only the service operator may choose it (`none`: no filtering). */
  readonly operator_only: boolean;
}

export interface ProjectFilterPolicy {
  readonly projectId: string;
  readonly deployment: string;
  readonly policy: string;
  readonly updatedAt: number;
}

export type TermKind = 'exact' | 'regex';

export interface BlocklistTerm {
  readonly id: string;
  readonly blocklistId: string;
  readonly kind: TermKind;
  readonly value: string;
  readonly createdAt: number;
}

export interface Blocklist {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly createdAt: number;
  readonly terms: BlocklistTerm[];
}

export type AbuseReviewStatus = 'open' | 'dismissed' | 'suspended' | 'reinstated';
export const ABUSE_REVIEW_STATUSES: readonly AbuseReviewStatus[] = ['open', 'dismissed', 'suspended', 'reinstated'];
export type AbuseSubjectType = 'key' | 'project' | 'end_user';
export const ABUSE_SUBJECT_TYPES: readonly AbuseSubjectType[] = ['key', 'project', 'end_user'];

export interface AbuseReview {
  readonly id: string;
  readonly subjectType: AbuseSubjectType;
  readonly subjectId: string;
  readonly projectId: string;
  readonly organizationId: string;
  readonly status: AbuseReviewStatus;
  readonly reason: string;
  readonly events: number;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly decidedBy: string | null;
  readonly decidedAt: number | null;
}

export interface AbuseSample {
  readonly id: string;
  readonly requestId: string;
  readonly direction: 'prompt' | 'completion';
  readonly text: string;
  readonly categories: ReadonlyArray<{ category: string; severity: string; filtered: boolean }>;
  readonly at: number;
}

export interface AbuseReviewDetail extends AbuseReview {
  readonly samples: AbuseSample[];
}

export type AbuseDecision = 'dismiss' | 'suspend' | 'reinstate';

/** The decisions a review in `status` can take (the API's DECISIONS table in safety-operations.ts). */
export function decisionsFor(status: AbuseReviewStatus): AbuseDecision[] {
  switch (status) {
    case 'open':
      return ['dismiss', 'suspend'];
    case 'dismissed':
    case 'reinstated':
      return ['suspend'];
    case 'suspended':
      return ['reinstate'];
  }
}

/** The use case of an access request as typed: 20 to 5,000 characters once trimmed (`access.apply`). */
export function checkUseCase(input: string): { value: string } | { problem: string } {
  const text = input.trim();
  if (text.length < 20) return { problem: `Describe the use case in at least 20 characters (${text.length} so far).` };
  if (text.length > 5000) return { problem: `The use case is ${text.length} characters long; at most 5,000 are kept.` };
  return { value: text };
}

/** The longest term a blocklist takes (the matcher's MAX_TERM_LENGTH). */
export const MAX_TERM_LENGTH = 500;

/**
 * A blocklist term as typed, checked before it is sent by the rules `blocklists.add_term` applies:
 * an exact term is whole words with runs of white space as one space, not empty; a pattern must
 * compile as an ECMAScript regular expression (with the `u` flag, as the matcher compiles it) and
 * must not match the empty string. The API further refuses patterns prone to catastrophic backtracking.
 */
export function checkTerm(kind: TermKind, input: string): { value: string } | { problem: string } {
  if (kind === 'exact') {
    const value = input.normalize('NFC').trim().replace(/\s+/gu, ' ');
    if (value === '') return { problem: 'Give the word or phrase to block.' };
    if (value.length > MAX_TERM_LENGTH) return { problem: `A term is at most ${MAX_TERM_LENGTH} characters long.` };
    return { value };
  }
  if (input === '') return { problem: 'Give the pattern to block.' };
  if (input.length > MAX_TERM_LENGTH) return { problem: `A pattern is at most ${MAX_TERM_LENGTH} characters long.` };
  let pattern: RegExp;
  try {
    pattern = new RegExp(input, 'giu');
  } catch (error) {
    return { problem: `Not a valid regular expression: ${(error as Error).message}` };
  }
  if (pattern.test('')) return { problem: 'The pattern matches the empty string: it would block everything.' };
  return { value: input };
}

/** What a policy name means, for the select and the tables. */
export function describePolicy(name: string): string {
  if (name === 'none') return 'none (no filtering)';
  if (name === 'default') return 'default (Azure defaults unless configured)';
  return name;
}
