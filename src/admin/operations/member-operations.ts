import { z } from 'zod';
import { requirePermission } from '../../governance/access-control.js';
import type { RoleAssignment, User } from '../../storage/storage.js';
import { defineOperation, idString } from '../admin-operation.js';
import { projectFor } from './tenancy-operations.js';

/** One person's role on a project, held there or on its organization (which covers the project). */
interface Member {
  readonly user: string;
  readonly email: string | null;
  readonly name: string | null;
  readonly role: RoleAssignment['role'];
  /** Where the role is held: on the project itself, or on its organization. */
  readonly scope: RoleAssignment['scope'];
  readonly scope_id: string;
  readonly since: number;
}

function memberOf(assignment: RoleAssignment, users: ReadonlyMap<string, User>): Member {
  const user = users.get(assignment.userId);
  return {
    user: assignment.userId,
    email: user?.email ?? null,
    name: user?.name ?? null,
    role: assignment.role,
    scope: assignment.scope,
    scope_id: assignment.scopeId,
    since: assignment.createdAt,
  };
}

/**
 * Who holds a role on a project: a read over the role assignments, for the portal's member list and
 * `cerulean members list`. Changing them is `roles assign` / `roles revoke` (audited there).
 */
export const memberOperations = [
  defineOperation({
    id: 'members.list',
    method: 'GET',
    path: '/projects/:project/members',
    summary: "A project's members: each user with a role on the project or on its organization, and that role (needs users:manage there).",
    input: z.strictObject({ project: idString.describe('project id') }),
    table: { field: 'data', columns: ['user', 'email', 'role', 'scope', 'scope_id'] },
    positional: ['project'],
    async run(context, input) {
      const project = await projectFor(context, input.project, 'projects:read');
      requirePermission(context.principal, 'users:manage', { organizationId: project.organizationId, projectId: project.id });
      const [onProject, onOrganization, users] = await Promise.all([
        context.storage.roles.listForScope('project', project.id),
        context.storage.roles.listForScope('organization', project.organizationId),
        context.storage.users.list(project.organizationId),
      ]);
      const byId = new Map(users.map((user) => [user.id, user]));
      const data = [...onProject, ...onOrganization].map((assignment) => memberOf(assignment, byId));
      data.sort((a, b) => (a.email ?? a.user).localeCompare(b.email ?? b.user) || a.scope.localeCompare(b.scope));
      return { data };
    },
  }),
];
