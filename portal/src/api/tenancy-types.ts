/** The admin API's answers the projects and audit pages read (src/admin/operations/: tenancy, member and record operations). */
export interface Organization {
  readonly id: string;
  readonly name: string;
  readonly createdAt: number;
}

export interface User {
  readonly id: string;
  readonly organizationId: string;
  readonly email: string;
  readonly name: string | null;
}

export const ROLES = ['owner', 'admin', 'contributor', 'user', 'reader'] as const;
export type Role = (typeof ROLES)[number];

/** `members.list`: a role on the project or on its organization. */
export interface Member {
  readonly user: string;
  readonly email: string | null;
  readonly name: string | null;
  readonly role: Role;
  readonly scope: 'organization' | 'project';
  readonly scope_id: string;
  readonly since: number;
}

/** `audit.list`: one entry (times as ISO text). */
export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly organization: string | null;
  readonly project: string | null;
  readonly source: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** `audit.verify`. */
export interface AuditVerification {
  readonly ok: boolean;
  readonly checked: number;
  readonly problems: ReadonlyArray<{ readonly seq: number; readonly problem: string; readonly detail: string }>;
  readonly head?: { readonly seq: number; readonly hash: string; readonly head: string };
}
