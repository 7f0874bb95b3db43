import { z } from 'zod';
import { permissionsOf, type Permission } from '../../governance/access-control.js';
import type { Role, Scope } from '../../storage/storage.js';
import { defineOperation, type AdminContext } from '../admin-operation.js';

/** A role the caller holds and what it allows there; an API key holds `inference` on its project and no role. */
interface Grant {
  readonly scope: Scope;
  readonly scope_id: string;
  readonly role: Role | null;
  readonly permissions: readonly Permission[];
}

/** Who the caller is, as `GET /me` answers it. */
export interface Identity {
  readonly kind: 'master' | 'key' | 'user';
  readonly id: string;
  /** The key's label, or the user's name (else e-mail). */
  readonly name: string | null;
  readonly email: string | null;
  readonly organization: string | null;
  readonly project: string | null;
  /** The key's visible prefix. */
  readonly prefix: string | null;
  /** The deployments a key is limited to; null: every one of its project (or not a key). */
  readonly deployments: readonly string[] | null;
  /** The service operator (the master key) may do everything, service-wide settings included. */
  readonly operator: boolean;
  readonly grants: readonly Grant[];
}

async function identityOf(context: AdminContext): Promise<Identity> {
  const { principal } = context;
  switch (principal.kind) {
    case 'master':
      return {
        kind: 'master',
        id: 'master',
        name: null,
        email: null,
        organization: null,
        project: null,
        prefix: null,
        deployments: null,
        operator: true,
        grants: [],
      };
    case 'key': {
      const key = await context.storage.keys.get(principal.id);
      return {
        kind: 'key',
        id: principal.id,
        name: key?.name ?? null,
        email: null,
        organization: principal.organizationId,
        project: principal.projectId,
        prefix: key?.prefix ?? principal.prefix ?? null,
        deployments: principal.deployments ? [...principal.deployments] : null,
        operator: false,
        grants: [{ scope: 'project', scope_id: principal.projectId, role: null, permissions: ['inference'] }],
      };
    }
    case 'user': {
      const user = await context.storage.users.get(principal.id);
      return {
        kind: 'user',
        id: principal.id,
        name: user?.name ?? user?.email ?? null,
        email: user?.email ?? null,
        organization: principal.organizationId,
        project: null,
        prefix: null,
        deployments: null,
        operator: false,
        grants: principal.roles.map((grant) => ({ scope: grant.scope, scope_id: grant.scopeId, role: grant.role, permissions: permissionsOf(grant.role) })),
      };
    }
  }
}

export const identityOperations = [
  defineOperation({
    id: 'me.show',
    method: 'GET',
    path: '/me',
    summary:
      'Who the caller is (the master key, an API key or an OIDC user), its organization and project, and each role it holds with the permissions that role grants there. Any valid credential may ask.',
    input: z.strictObject({}),
    table: { field: 'grants', columns: ['scope', 'scope_id', 'role'] },
    run: identityOf,
  }),
];
