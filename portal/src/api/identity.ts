/** Who is signed in, as `GET /admin/v1/me` answers (src/admin/operations/identity-operations.ts). */
export interface Grant {
  readonly scope: 'organization' | 'project';
  readonly scope_id: string;
  readonly role: string | null;
  readonly permissions: readonly string[];
}

export interface Identity {
  readonly kind: 'master' | 'key' | 'user';
  readonly id: string;
  readonly name: string | null;
  readonly email: string | null;
  readonly organization: string | null;
  readonly project: string | null;
  readonly prefix: string | null;
  readonly deployments: readonly string[] | null;
  readonly operator: boolean;
  readonly grants: readonly Grant[];
}

/** Permissions the portal asks about (the admin API's names). */
export type Permission =
  | 'deployments:read'
  | 'projects:read'
  | 'keys:read'
  | 'keys:manage'
  | 'projects:manage'
  | 'usage:read'
  | 'audit:read'
  | 'users:manage'
  | 'inference'
  | 'access:apply'
  | 'safety:read'
  | 'safety:manage'
  | 'abuse:read';

/**
 * Whether the signed-in caller holds `permission` on a project (or, without one, its organization),
 * by the same rule the admin API applies: a role on the organization covers its projects. The UI
 * only hides what this says no to; the API decides.
 */
export function may(identity: Identity, permission: Permission, target: { organization: string; project?: string }): boolean {
  if (identity.operator) return true;
  return identity.grants.some(
    (grant) =>
      grant.permissions.includes(permission) &&
      ((grant.scope === 'organization' && grant.scope_id === target.organization) || (grant.scope === 'project' && grant.scope_id === target.project)),
  );
}

/** Whether the caller holds `permission` anywhere: whether a page that lists what it may see is worth showing. */
export function mayAnywhere(identity: Identity, permission: Permission): boolean {
  return identity.operator || identity.grants.some((grant) => grant.permissions.includes(permission));
}

/** How the header names the caller. */
export function displayName(identity: Identity): string {
  switch (identity.kind) {
    case 'master':
      return 'Service operator (master key)';
    case 'key':
      return `API key ${identity.prefix ?? identity.id}… (${identity.project})`;
    case 'user':
      return identity.name ?? identity.email ?? identity.id;
  }
}
