import { PermissionError } from '../errors/catalogue.js';
import type { Principal } from '../pipeline/authenticate.js';
import type { Role } from '../storage/storage.js';

/**
 * What each role may do. Roles are held on an organization (then they apply to all its projects)
 * or on one project. Service-wide settings — deployment policies (gating, deployment TPM, prices),
 * limited-access decisions and creating organizations — belong to the service operator, who holds
 * the master key: deployments are shared by every tenant, so no tenant role may change them.
 */
export type Permission =
  | 'inference'
  /** See organization and project records (names, whether keys are allowed). */
  | 'projects:read'
  /** See the deployments' governance policies (gating, TPM, prices). */
  | 'deployments:read'
  | 'usage:read'
  | 'audit:read'
  | 'keys:read'
  | 'keys:manage'
  | 'projects:manage'
  | 'users:manage'
  | 'quotas:manage'
  | 'budgets:manage'
  | 'access:apply'
  /** See a project's blocklists and content-filter assignments. */
  | 'safety:read'
  /** Manage a project's blocklists and choose its content-filter policies (among the configured ones). */
  | 'safety:manage'
  /** See the abuse reviews (and samples) of a project; deciding them is the operator's. */
  | 'abuse:read';

/** Everything on an organization or project: owner and admin hold the same permissions (two names, as in Azure). */
const ADMINISTER: readonly Permission[] = [
  'inference',
  'projects:read',
  'deployments:read',
  'usage:read',
  'audit:read',
  'keys:read',
  'keys:manage',
  'projects:manage',
  'users:manage',
  'quotas:manage',
  'budgets:manage',
  'access:apply',
  'safety:read',
  'safety:manage',
  'abuse:read',
];

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  owner: new Set(ADMINISTER),
  admin: new Set(ADMINISTER),
  contributor: new Set<Permission>([
    'inference',
    'projects:read',
    'deployments:read',
    'usage:read',
    'keys:read',
    'quotas:manage',
    'budgets:manage',
    'access:apply',
    'safety:read',
    'safety:manage',
  ]),
  // Inference only: a `user`, like an API key, reads nothing through the admin API.
  user: new Set<Permission>(['inference']),
  reader: new Set<Permission>(['projects:read', 'deployments:read', 'usage:read', 'audit:read', 'keys:read', 'safety:read']),
};

/** The permissions a role grants, in the order they are listed above (what `GET /admin/v1/me` shows). */
export function permissionsOf(role: Role): readonly Permission[] {
  return [...GRANTS[role]];
}

export interface Target {
  organizationId: string;
  /** Absent for organization-level actions. */
  projectId?: string;
}

/** Whether the principal may do `permission` on the target. */
export function can(principal: Principal, permission: Permission, target: Target): boolean {
  switch (principal.kind) {
    case 'master':
      return true;
    case 'key':
      return permission === 'inference' && target.projectId === principal.projectId;
    case 'user':
      if (principal.organizationId !== target.organizationId) return false;
      return principal.roles.some(
        (grant) =>
          GRANTS[grant.role].has(permission) &&
          ((grant.scope === 'organization' && grant.scopeId === target.organizationId) ||
            (grant.scope === 'project' && target.projectId !== undefined && grant.scopeId === target.projectId)),
      );
  }
}

export function requirePermission(principal: Principal, permission: Permission, target: Target): void {
  if (!can(principal, permission, target)) {
    throw new PermissionError(
      `The caller lacks the "${permission}" permission on ${target.projectId ? `project ${target.projectId}` : `organization ${target.organizationId}`}.`,
    );
  }
}

/**
 * Whether the principal holds `permission` on anything at all: the gate of listings, which then show
 * only what the caller may see. An API key holds `inference` and nothing else, so it reads nothing.
 */
export function holdsAnywhere(principal: Principal, permission: Permission): boolean {
  switch (principal.kind) {
    case 'master':
      return true;
    case 'key':
      return permission === 'inference';
    case 'user':
      return principal.roles.some((grant) => GRANTS[grant.role].has(permission));
  }
}

export function requireAnywhere(principal: Principal, permission: Permission): void {
  if (!holdsAnywhere(principal, permission)) {
    throw new PermissionError(
      principal.kind === 'key'
        ? `API keys are for inference only; the "${permission}" permission needs the master key or a user with a role that grants it.`
        : `The caller lacks the "${permission}" permission: no role it holds grants it.`,
    );
  }
}

/** Service-wide actions: only the master key. */
export function requireOperator(principal: Principal): void {
  if (principal.kind !== 'master') {
    throw new PermissionError('Only the service operator (the master key) may change service-wide settings.', 'operator_only');
  }
}

/** Roles a principal may hand out: nobody grants more than they hold; only owners grant owner. */
export function canGrant(principal: Principal, role: Role, target: Target): boolean {
  if (principal.kind === 'master') return true;
  if (!can(principal, 'users:manage', target)) return false;
  if (role !== 'owner') return true;
  return (
    principal.kind === 'user' &&
    principal.roles.some((grant) => grant.role === 'owner' && grant.scope === 'organization' && grant.scopeId === target.organizationId)
  );
}
