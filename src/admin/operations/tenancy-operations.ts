import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { hashKey } from '../../auth/master-key.js';
import { ConflictError, InvalidRequestError, PermissionError, ResourceNotFoundError } from '../../errors/catalogue.js';
import { can, canGrant, requireAnywhere, requireOperator, requirePermission } from '../../governance/access-control.js';
import { ROLES, type ApiKey, type Project, type Scope } from '../../storage/storage.js';
import { widening, type PinSettings } from '../../routing/residency.js';
import { booleanFlag, commaList, defineOperation, idString, nameString, parseExpiry, stringList, type AdminContext } from '../admin-operation.js';

/** A data zone name as providers declare them (`eu`, `us`, …); empty removes a pin. */
const dataZone = z
  .string()
  .max(64)
  .regex(/^[a-z0-9_-]*$/, 'lowercase letters, digits, - and _');

/**
 * Region names as targets declare them (`westeurope`, `eastus2`), as a list or comma-separated;
 * an empty list removes a pin. Duplicates collapse.
 */
const regionList = commaList(
  z
    .array(
      z
        .string()
        .min(1)
        .max(64)
        .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ., - and _'),
    )
    .max(100),
);

/** A pin part as given (undefined: unchanged) to what storage keeps (null: no pin). */
function zoneChange(value: string | undefined): string | null | undefined {
  return value === undefined ? undefined : value || null;
}
function regionsChange(value: string[] | undefined): string[] | null | undefined {
  return value === undefined ? undefined : value.length === 0 ? null : [...new Set(value)];
}

/** 400 when the key's pin would widen or contradict its project's (a key only narrows it), naming both. */
function requireNarrowing(project: Project, key: PinSettings, keyId?: string): void {
  const problem = widening(project, key);
  if (problem) {
    const message = `${keyId ? `Key "${keyId}": ` : ''}${problem.reason} (project "${project.id}"); a key may narrow its project's residency pin, never widen it.`;
    throw new InvalidRequestError(message[0].toUpperCase() + message.slice(1), problem.param, 'residency_conflict');
  }
}

/** A new opaque id with a readable prefix. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

/** Visible prefix of managed keys; the rest is 32 random bytes. */
export const KEY_PREFIX = 'cer-';

/** The key as shown in listings: never the hash, never the secret. */
function publicKey(key: ApiKey): Omit<ApiKey, 'hash'> {
  const { hash: _hash, ...rest } = key;
  return rest;
}

/** The organization a scope belongs to (for authorisation), or 404. */
async function organizationOfScope(context: AdminContext, scope: Scope, scopeId: string): Promise<{ organizationId: string; projectId?: string }> {
  if (scope === 'organization') {
    if (!(await context.storage.organizations.get(scopeId))) throw new ResourceNotFoundError('organization', scopeId);
    return { organizationId: scopeId };
  }
  const project = await context.storage.projects.get(scopeId);
  if (!project) throw new ResourceNotFoundError('project', scopeId);
  return { organizationId: project.organizationId, projectId: project.id };
}

/** The project, if it exists and the caller holds `permission` on it; else 404 (existence is not revealed) or 403. */
export async function projectFor(context: AdminContext, projectId: string, permission: Parameters<typeof can>[1]): Promise<Project> {
  const project = await context.storage.projects.get(projectId);
  const visible = project && (can(context.principal, permission, { organizationId: project.organizationId, projectId }) || canSeeProject(context, project));
  if (!project || !visible) throw new ResourceNotFoundError('project', projectId);
  requirePermission(context.principal, permission, { organizationId: project.organizationId, projectId });
  return project;
}

/** Any role on the project or its organization makes the project visible (so 403 rather than 404). */
function canSeeProject(context: AdminContext, project: Project): boolean {
  const { principal } = context;
  if (principal.kind === 'master') return true;
  if (principal.kind === 'key') return principal.projectId === project.id;
  return (
    principal.organizationId === project.organizationId &&
    principal.roles.some(
      (grant) => (grant.scope === 'organization' && grant.scopeId === project.organizationId) || (grant.scope === 'project' && grant.scopeId === project.id),
    )
  );
}

export const tenancyOperations = [
  defineOperation({
    id: 'organizations.create',
    method: 'POST',
    path: '/organizations',
    summary: 'Create an organization (service operator only).',
    status: 201,
    input: z.strictObject({ name: nameString.describe('display name'), id: idString.describe('id to give it (default: a new org_… id)').optional() }),
    async run(context, input) {
      requireOperator(context.principal);
      const organization = { id: input.id ?? newId('org'), name: input.name, createdAt: context.now };
      if (await context.storage.organizations.get(organization.id)) throw new ConflictError(`Organization "${organization.id}" already exists.`);
      await context.storage.organizations.create(organization);
      await context.audit({ target: `organization:${organization.id}`, organizationId: organization.id, projectId: null, before: null, after: organization });
      await context.changed('organization', organization.id);
      return organization;
    },
  }),
  defineOperation({
    id: 'organizations.list',
    method: 'GET',
    path: '/organizations',
    summary: 'List organizations the caller belongs to (all, for the operator).',
    input: z.strictObject({}),
    async run(context) {
      const { principal } = context;
      requireAnywhere(principal, 'projects:read');
      const all = await context.storage.organizations.list();
      const data = principal.kind === 'master' ? all : all.filter((org) => org.id === principal.organizationId);
      return { data };
    },
  }),
  defineOperation({
    id: 'projects.create',
    method: 'POST',
    path: '/projects',
    summary: 'Create a project in an organization.',
    status: 201,
    input: z.strictObject({
      organization: idString.describe('organization id'),
      name: nameString.describe('display name'),
      id: idString.describe('id to give it (default: a new proj_… id)').optional(),
      key_auth: booleanFlag.describe('accept API keys (default true); false: OIDC tokens only').optional(),
      data_zone: dataZone.describe("pin the project's requests to this data zone (providers' data_zone, e.g. eu); default anywhere").optional(),
      regions: regionList.describe("pin the project's requests to these regions (targets' region, e.g. westeurope,swedencentral); default any").optional(),
    }),
    async run(context, input) {
      if (!(await context.storage.organizations.get(input.organization))) throw new ResourceNotFoundError('organization', input.organization);
      requirePermission(context.principal, 'projects:manage', { organizationId: input.organization });
      const project: Project = {
        id: input.id ?? newId('proj'),
        organizationId: input.organization,
        name: input.name,
        keyAuthEnabled: input.key_auth ?? true,
        dataZone: input.data_zone || null,
        regions: regionsChange(input.regions) ?? null,
        createdAt: context.now,
      };
      if (await context.storage.projects.get(project.id)) throw new ConflictError(`Project "${project.id}" already exists.`);
      await context.storage.projects.create(project);
      await context.audit({ target: `project:${project.id}`, organizationId: project.organizationId, projectId: project.id, before: null, after: project });
      await context.changed('project', project.id);
      return project;
    },
  }),
  defineOperation({
    id: 'projects.list',
    method: 'GET',
    path: '/projects',
    summary: 'List the projects the caller can see.',
    input: z.strictObject({ organization: idString.describe('only the projects of this organization').optional() }),
    async run(context, input) {
      requireAnywhere(context.principal, 'projects:read');
      const projects = await context.storage.projects.list(input.organization);
      return {
        data: projects.filter((project) => can(context.principal, 'projects:read', { organizationId: project.organizationId, projectId: project.id })),
      };
    },
  }),
  defineOperation({
    id: 'projects.get',
    method: 'GET',
    path: '/projects/:project',
    summary: 'Show one project.',
    input: z.strictObject({ project: idString.describe('project id') }),
    async run(context, input) {
      const project = await context.storage.projects.get(input.project);
      if (!project || !canSeeProject(context, project)) throw new ResourceNotFoundError('project', input.project);
      requirePermission(context.principal, 'projects:read', { organizationId: project.organizationId, projectId: project.id });
      return project;
    },
  }),
  defineOperation({
    id: 'projects.update',
    method: 'PATCH',
    path: '/projects/:project',
    summary:
      "Rename a project, turn key authentication off (tokens only) or on, or pin its requests to a data zone or regions (refused while one of its keys' pins would widen the new one).",
    input: z.strictObject({
      project: idString.describe('project id'),
      name: nameString.describe('new display name').optional(),
      key_auth: booleanFlag.describe('accept API keys; false: OIDC tokens only').optional(),
      data_zone: dataZone.describe('pin its requests to this data zone (e.g. eu); an empty string removes the pin').optional(),
      regions: regionList.describe('pin its requests to these regions (e.g. westeurope,swedencentral); an empty list removes the pin').optional(),
    }),
    async run(context, input) {
      const before = await projectFor(context, input.project, 'projects:manage');
      if (input.name === undefined && input.key_auth === undefined && input.data_zone === undefined && input.regions === undefined) {
        throw new InvalidRequestError('Nothing to change: give name, key_auth, data_zone or regions.');
      }
      const dataZoneChange = zoneChange(input.data_zone);
      const regions = regionsChange(input.regions);
      if (dataZoneChange !== undefined || regions !== undefined) {
        // The keys keep narrowing the project: a pin one of them would widen is refused, naming it.
        const pinned = {
          ...before,
          dataZone: dataZoneChange === undefined ? before.dataZone : dataZoneChange,
          regions: regions === undefined ? before.regions : regions,
        };
        for (const key of await context.storage.keys.list(before.id)) if (key.revokedAt === null) requireNarrowing(pinned, key, key.id);
      }
      const after = await context.storage.projects.update(input.project, {
        name: input.name,
        keyAuthEnabled: input.key_auth,
        dataZone: dataZoneChange,
        regions,
      });
      await context.audit({ target: `project:${before.id}`, organizationId: before.organizationId, projectId: before.id, before, after });
      await context.changed('project', before.id);
      return after;
    },
  }),
  defineOperation({
    id: 'projects.delete',
    method: 'DELETE',
    path: '/projects/:project',
    summary: 'Delete a project with its keys, quotas, budgets and access requests (usage and audit stay).',
    input: z.strictObject({ project: idString.describe('project id') }),
    async run(context, input) {
      const before = await projectFor(context, input.project, 'projects:manage');
      await context.storage.projects.delete(input.project);
      await context.audit({ target: `project:${before.id}`, organizationId: before.organizationId, projectId: before.id, before, after: null });
      await context.changed('project', before.id);
      return { deleted: true, id: before.id };
    },
  }),
  defineOperation({
    id: 'keys.create',
    method: 'POST',
    path: '/projects/:project/keys',
    summary: 'Create an API key for a project; the key is returned once and stored only as a hash.',
    status: 201,
    input: z.strictObject({
      project: idString.describe('project id'),
      name: nameString.describe('a label for the key (default "key")').optional(),
      deployments: stringList.describe('deployments the key may call (default: all)').optional(),
      expires: z.string().describe('expiry: a duration (30d, 12h, 90m, 2w) or a date (default: never)').optional(),
      data_zone: dataZone.describe("pin the key's requests to this data zone, within its project's (default: the project's pin)").optional(),
      regions: regionList.describe("pin the key's requests to these regions, within its project's (e.g. westeurope,swedencentral)").optional(),
    }),
    async run(context, input) {
      const project = await projectFor(context, input.project, 'keys:manage');
      const pin = { dataZone: zoneChange(input.data_zone) ?? null, regions: regionsChange(input.regions) ?? null };
      requireNarrowing(project, pin);
      for (const deployment of input.deployments ?? []) {
        if (!context.deployments.includes(deployment)) throw new InvalidRequestError(`Unknown deployment "${deployment}".`, 'deployments');
      }
      let expiresAt: number | null = null;
      if (input.expires !== undefined) {
        expiresAt = parseExpiry(input.expires, context.now);
        if (expiresAt === null || expiresAt <= context.now)
          throw new InvalidRequestError(`expires: "${input.expires}" is neither a duration (30d, 12h, 90m, 2w) nor a future date.`, 'expires');
      }
      const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
      const key: ApiKey = {
        id: newId('key'),
        projectId: project.id,
        name: input.name ?? 'key',
        prefix: secret.slice(0, 12),
        hash: hashKey(secret).toString('hex'),
        deployments: input.deployments ?? null,
        expiresAt,
        revokedAt: null,
        createdAt: context.now,
        lastUsedAt: null,
        createdBy: context.principal.kind === 'master' ? 'master' : `${context.principal.kind}:${context.principal.id}`,
        ...pin,
      };
      await context.storage.keys.create(key);
      await context.audit({ target: `key:${key.id}`, organizationId: project.organizationId, projectId: project.id, before: null, after: publicKey(key) });
      await context.changed('key', key.id);
      return { ...publicKey(key), key: secret };
    },
  }),
  defineOperation({
    id: 'keys.list',
    method: 'GET',
    path: '/projects/:project/keys',
    summary: "List a project's keys (prefixes only).",
    input: z.strictObject({ project: idString.describe('project id') }),
    async run(context, input) {
      await projectFor(context, input.project, 'keys:read');
      return { data: (await context.storage.keys.list(input.project)).map(publicKey) };
    },
  }),
  defineOperation({
    id: 'keys.update',
    method: 'PATCH',
    path: '/keys/:key',
    summary: "Rename a key or pin its requests to a data zone or regions, within its project's pin (a key narrows it, never widens it).",
    input: z.strictObject({
      key: idString.describe('key id (key_…, as keys list shows it)'),
      name: nameString.describe('a new label').optional(),
      data_zone: dataZone.describe("pin its requests to this data zone; an empty string removes the key's own pin").optional(),
      regions: regionList.describe("pin its requests to these regions; an empty list removes the key's own pin").optional(),
    }),
    async run(context, input) {
      const before = await context.storage.keys.get(input.key);
      if (!before) throw new ResourceNotFoundError('key', input.key);
      const project = await projectFor(context, before.projectId, 'keys:manage').catch(() => {
        throw new ResourceNotFoundError('key', input.key);
      });
      if (input.name === undefined && input.data_zone === undefined && input.regions === undefined) {
        throw new InvalidRequestError('Nothing to change: give name, data_zone or regions.');
      }
      const dataZoneChange = zoneChange(input.data_zone);
      const regions = regionsChange(input.regions);
      requireNarrowing(project, {
        dataZone: dataZoneChange === undefined ? before.dataZone : dataZoneChange,
        regions: regions === undefined ? before.regions : regions,
      });
      const after = await context.storage.keys.update(input.key, { name: input.name, dataZone: dataZoneChange, regions });
      await context.audit({
        target: `key:${before.id}`,
        organizationId: project.organizationId,
        projectId: project.id,
        before: publicKey(before),
        after: after && publicKey(after),
      });
      await context.changed('key', input.key);
      return after && publicKey(after);
    },
  }),
  defineOperation({
    id: 'keys.revoke',
    method: 'POST',
    path: '/keys/:key/revoke',
    summary: 'Revoke a key; every replica refuses it within a second.',
    input: z.strictObject({ key: idString.describe('key id (key_…, as keys list shows it)') }),
    async run(context, input) {
      const before = await context.storage.keys.get(input.key);
      if (!before) throw new ResourceNotFoundError('key', input.key);
      const project = await projectFor(context, before.projectId, 'keys:manage').catch(() => {
        throw new ResourceNotFoundError('key', input.key);
      });
      if (before.revokedAt !== null) throw new ConflictError(`Key "${input.key}" is already revoked.`, 'already_revoked');
      const after = await context.storage.keys.revoke(input.key, context.now);
      await context.changed('key', input.key);
      await context.audit({
        target: `key:${before.id}`,
        organizationId: project.organizationId,
        projectId: project.id,
        before: publicKey(before),
        after: after && publicKey(after),
      });
      return after && publicKey(after);
    },
  }),
  defineOperation({
    id: 'users.create',
    method: 'POST',
    path: '/users',
    summary: 'Add a user to an organization (optionally mapped to an OIDC issuer and subject).',
    status: 201,
    input: z.strictObject({
      organization: idString.describe('organization id'),
      email: z.email().describe('e-mail address'),
      name: nameString.describe('display name').optional(),
      issuer: z.string().describe('OIDC issuer the user signs in with (with subject)').optional(),
      subject: z.string().describe("the user's subject at that issuer (with issuer)").optional(),
    }),
    async run(context, input) {
      if (!(await context.storage.organizations.get(input.organization))) throw new ResourceNotFoundError('organization', input.organization);
      requirePermission(context.principal, 'users:manage', { organizationId: input.organization });
      if ((input.issuer === undefined) !== (input.subject === undefined)) throw new InvalidRequestError('Give issuer and subject together, or neither.');
      if (await context.storage.users.findByEmail(input.organization, input.email))
        throw new ConflictError(`A user with e-mail ${input.email} already exists in this organization.`);
      const user = {
        id: newId('user'),
        organizationId: input.organization,
        email: input.email,
        name: input.name ?? null,
        issuer: input.issuer ?? null,
        subject: input.subject ?? null,
        createdAt: context.now,
      };
      await context.storage.users.create(user);
      await context.audit({ target: `user:${user.id}`, organizationId: user.organizationId, projectId: null, before: null, after: user });
      await context.changed('user', user.id);
      return user;
    },
  }),
  defineOperation({
    id: 'users.list',
    method: 'GET',
    path: '/users',
    summary: "List an organization's users.",
    input: z.strictObject({ organization: idString.describe('organization id') }),
    async run(context, input) {
      requirePermission(context.principal, 'users:manage', { organizationId: input.organization });
      return { data: await context.storage.users.list(input.organization) };
    },
  }),
  defineOperation({
    id: 'users.delete',
    method: 'DELETE',
    path: '/users/:user',
    summary: 'Remove a user and their roles.',
    input: z.strictObject({ user: idString.describe('user id') }),
    async run(context, input) {
      const before = await context.storage.users.get(input.user);
      if (!before || !can(context.principal, 'users:manage', { organizationId: before.organizationId })) throw new ResourceNotFoundError('user', input.user);
      await context.storage.users.delete(input.user);
      await context.audit({ target: `user:${before.id}`, organizationId: before.organizationId, projectId: null, before, after: null });
      await context.changed('user', before.id);
      return { deleted: true, id: before.id };
    },
  }),
  defineOperation({
    id: 'roles.assign',
    method: 'PUT',
    path: '/users/:user/roles',
    summary: 'Give a user a role on an organization or a project (replacing their role there).',
    input: z.strictObject({
      user: idString.describe('user id'),
      scope: z.enum(['organization', 'project']).describe('what the role is held on'),
      scope_id: idString.describe('id of that organization or project'),
      role: z.enum(ROLES as [string, ...string[]]).describe('the role'),
    }),
    async run(context, input) {
      const user = await context.storage.users.get(input.user);
      if (!user) throw new ResourceNotFoundError('user', input.user);
      const target = await organizationOfScope(context, input.scope, input.scope_id);
      if (target.organizationId !== user.organizationId) throw new InvalidRequestError('The scope belongs to another organization than the user.', 'scope_id');
      const role = input.role as (typeof ROLES)[number];
      if (!canGrant(context.principal, role, target)) throw new PermissionError(`The caller may not grant the ${role} role here.`);
      const before =
        (await context.storage.roles.listForUser(user.id)).find((grant) => grant.scope === input.scope && grant.scopeId === input.scope_id) ?? null;
      const assignment = { id: newId('role'), userId: user.id, scope: input.scope, scopeId: input.scope_id, role, createdAt: context.now };
      await context.storage.roles.assign(assignment);
      await context.changed('role', user.id);
      await context.audit({ target: `user:${user.id}`, organizationId: target.organizationId, projectId: target.projectId ?? null, before, after: assignment });
      return assignment;
    },
  }),
  defineOperation({
    id: 'roles.revoke',
    method: 'DELETE',
    path: '/users/:user/roles',
    summary: "Remove a user's role on an organization or a project.",
    input: z.strictObject({
      user: idString.describe('user id'),
      scope: z.enum(['organization', 'project']).describe('what the role is held on'),
      scope_id: idString.describe('id of that organization or project'),
    }),
    async run(context, input) {
      const user = await context.storage.users.get(input.user);
      if (!user) throw new ResourceNotFoundError('user', input.user);
      const target = await organizationOfScope(context, input.scope, input.scope_id);
      requirePermission(context.principal, 'users:manage', target);
      const before = (await context.storage.roles.listForUser(user.id)).find((grant) => grant.scope === input.scope && grant.scopeId === input.scope_id);
      if (!before) throw new ResourceNotFoundError('role assignment', `${input.scope}:${input.scope_id}`);
      if (!canGrant(context.principal, before.role, target)) throw new PermissionError(`The caller may not remove the ${before.role} role.`);
      await context.storage.roles.revoke(user.id, input.scope, input.scope_id);
      await context.changed('role', user.id);
      await context.audit({ target: `user:${user.id}`, organizationId: target.organizationId, projectId: target.projectId ?? null, before, after: null });
      return { revoked: true };
    },
  }),
  defineOperation({
    id: 'roles.list',
    method: 'GET',
    path: '/users/:user/roles',
    summary: "List a user's roles.",
    input: z.strictObject({ user: idString.describe('user id') }),
    async run(context, input) {
      const user = await context.storage.users.get(input.user);
      const self = context.principal.kind === 'user' && context.principal.id === input.user;
      if (!user || !(self || can(context.principal, 'users:manage', { organizationId: user.organizationId })))
        throw new ResourceNotFoundError('user', input.user);
      return { data: await context.storage.roles.listForUser(user.id) };
    },
  }),
];
