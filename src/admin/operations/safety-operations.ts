import { z } from 'zod';
import { ConflictError, InvalidRequestError, ResourceNotFoundError } from '../../errors/catalogue.js';
import { requireAnywhere, requireOperator } from '../../governance/access-control.js';
import { normalizeExactTerm, validateTerm } from '../../safety/blocklist/blocklist-matcher.js';
import {
  ABUSE_REVIEW_STATUSES,
  ABUSE_SUBJECT_TYPES,
  type AbuseReview,
  type AbuseReviewStatus,
  type Blocklist,
  type BlocklistTerm,
  type Project,
  type ProjectFilterPolicy,
} from '../../storage/storage.js';
import { actorOf, defineOperation, idString, nameString, positiveInteger, type AdminContext } from '../admin-operation.js';
import { newId, projectFor } from './tenancy-operations.js';

/** Azure's limits: terms per blocklist, lists per project. */
const MAX_TERMS_PER_LIST = 10_000;
const MAX_LISTS_PER_PROJECT = 100;
/** The policy name that turns filtering off (as in `content_safety.deployments`): the operator's to give. */
const NO_FILTER = 'none';

/** Runs `load`, turning "no such project" into "no such <kind>" so a list or review in a hidden project stays hidden. */
async function within<T>(kind: string, id: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if (error instanceof ResourceNotFoundError) throw new ResourceNotFoundError(kind, id);
    throw error;
  }
}

/** The blocklist and its project, if the caller holds `permission` there; else 404 or 403. */
async function blocklistFor(context: AdminContext, id: string, permission: 'safety:read' | 'safety:manage'): Promise<{ list: Blocklist; project: Project }> {
  const list = await context.storage.blocklists.get(id);
  if (!list) throw new ResourceNotFoundError('blocklist', id);
  const project = await within('blocklist', id, () => projectFor(context, list.projectId, permission));
  return { list, project };
}

/** The review, for the operator or a holder of `abuse:read` on its project. */
async function reviewFor(context: AdminContext, id: string): Promise<AbuseReview> {
  const review = await context.storage.abuse.get(id);
  if (!review) throw new ResourceNotFoundError('abuse review', id);
  if (context.principal.kind !== 'master') await within('abuse review', id, () => projectFor(context, review.projectId, 'abuse:read'));
  return review;
}

function requireDeployment(context: AdminContext, deployment: string): void {
  if (deployment !== '*' && !context.deployments.includes(deployment)) throw new ResourceNotFoundError('deployment', deployment);
}

async function announce(context: AdminContext, projectId: string): Promise<void> {
  await context.changed('safety', projectId);
}

const termKind = z.enum(['exact', 'regex']);

/** What each review decision requires and leads to. */
const DECISIONS = {
  dismiss: { from: ['open'], to: 'dismissed', summary: 'Dismiss an open abuse review as harmless; the subject starts afresh (service operator only).' },
  suspend: {
    from: ['open', 'dismissed', 'reinstated'],
    to: 'suspended',
    summary:
      "Suspend a review's subject: a key is refused with 403 key_suspended on every replica, a project or end user by abuse monitoring (service operator only).",
  },
  reinstate: {
    from: ['suspended'],
    to: 'reinstated',
    summary: 'Lift a suspension: the subject (a key: unsuspended) may call again and starts afresh (service operator only).',
  },
} as const satisfies Record<string, { from: readonly AbuseReviewStatus[]; to: AbuseReviewStatus; summary: string }>;

export const safetyOperations = [
  defineOperation({
    id: 'blocklists.create',
    method: 'POST',
    path: '/projects/:project/blocklists',
    summary: 'Create a custom blocklist for a project; its terms block prompts and completions of the project.',
    status: 201,
    input: z.strictObject({
      project: idString.describe('project id'),
      name: nameString.describe('name, unique in the project'),
      id: idString.describe('id to give it (default: a new bl_… id)').optional(),
    }),
    async run(context, input) {
      const project = await projectFor(context, input.project, 'safety:manage');
      const existing = await context.storage.blocklists.list(project.id);
      if (existing.some((list) => list.name === input.name))
        throw new ConflictError(`Project "${project.id}" already has a blocklist named "${input.name}".`, 'duplicate_blocklist');
      if (existing.length >= MAX_LISTS_PER_PROJECT) {
        throw new InvalidRequestError(
          `Project "${project.id}" already has ${MAX_LISTS_PER_PROJECT} blocklists, the most allowed.`,
          'name',
          'too_many_blocklists',
        );
      }
      const list: Blocklist = { id: input.id ?? newId('bl'), projectId: project.id, name: input.name, createdAt: context.now };
      if (await context.storage.blocklists.get(list.id)) throw new ConflictError(`Blocklist "${list.id}" already exists.`);
      await context.storage.blocklists.create(list);
      await context.audit({ target: `blocklist:${list.id}`, organizationId: project.organizationId, projectId: project.id, before: null, after: list });
      await announce(context, project.id);
      return { ...list, terms: [] };
    },
  }),
  defineOperation({
    id: 'blocklists.list',
    method: 'GET',
    path: '/projects/:project/blocklists',
    summary: "List a project's custom blocklists with their terms.",
    input: z.strictObject({ project: idString.describe('project id') }),
    async run(context, input) {
      const project = await projectFor(context, input.project, 'safety:read');
      return { data: await context.storage.blocklists.allForProjects([project.id]) };
    },
  }),
  defineOperation({
    id: 'blocklists.show',
    method: 'GET',
    path: '/blocklists/:blocklist',
    summary: 'Show one blocklist with its terms.',
    input: z.strictObject({ blocklist: idString.describe('blocklist id') }),
    async run(context, input) {
      const { list } = await blocklistFor(context, input.blocklist, 'safety:read');
      return { ...list, terms: await context.storage.blocklists.listTerms(list.id) };
    },
  }),
  defineOperation({
    id: 'blocklists.delete',
    method: 'DELETE',
    path: '/blocklists/:blocklist',
    summary: 'Delete a blocklist and its terms.',
    input: z.strictObject({ blocklist: idString.describe('blocklist id') }),
    async run(context, input) {
      const { list, project } = await blocklistFor(context, input.blocklist, 'safety:manage');
      const terms = await context.storage.blocklists.listTerms(list.id);
      await context.storage.blocklists.delete(list.id);
      await context.audit({
        target: `blocklist:${list.id}`,
        organizationId: project.organizationId,
        projectId: project.id,
        before: { ...list, terms },
        after: null,
      });
      await announce(context, project.id);
      return { deleted: true, id: list.id };
    },
  }),
  defineOperation({
    id: 'blocklists.add_term',
    method: 'POST',
    path: '/blocklists/:blocklist/terms',
    summary:
      'Add a term to a blocklist: `exact` (whole words, any case, default) or `regex` (ECMAScript, refused when invalid, empty-matching or prone to catastrophic backtracking).',
    status: 201,
    input: z.strictObject({
      blocklist: idString.describe('blocklist id'),
      kind: termKind.default('exact').describe('exact: whole words, any case; regex: an ECMAScript pattern'),
      value: z.string().max(10_000).describe('the word, phrase or pattern'),
    }),
    async run(context, input) {
      const { list, project } = await blocklistFor(context, input.blocklist, 'safety:manage');
      // Throws 400 invalid_blocklist_term naming the list, the term and what is wrong with it.
      validateTerm(input.kind, input.value, { listId: list.id, param: 'value' });
      const value = input.kind === 'exact' ? normalizeExactTerm(input.value) : input.value;
      const terms = await context.storage.blocklists.listTerms(list.id);
      const duplicate = terms.find(
        (term) => term.kind === input.kind && (input.kind === 'exact' ? term.value.toLowerCase() === value.toLowerCase() : term.value === value),
      );
      if (duplicate)
        throw new ConflictError(
          `Blocklist "${list.id}" already has the ${input.kind} term ${JSON.stringify(duplicate.value)} (${duplicate.id}).`,
          'duplicate_term',
        );
      if (terms.length >= MAX_TERMS_PER_LIST) {
        throw new InvalidRequestError(`Blocklist "${list.id}" already has ${MAX_TERMS_PER_LIST} terms, the most allowed.`, 'value', 'too_many_terms');
      }
      const term: BlocklistTerm = { id: newId('blt'), blocklistId: list.id, kind: input.kind, value, createdAt: context.now };
      if (!(await context.storage.blocklists.addTerm(term))) {
        throw new ConflictError(`Blocklist "${list.id}" already has the ${input.kind} term ${JSON.stringify(value)}.`, 'duplicate_term');
      }
      await context.audit({ target: `blocklist:${list.id}`, organizationId: project.organizationId, projectId: project.id, before: null, after: term });
      await announce(context, project.id);
      return term;
    },
  }),
  defineOperation({
    id: 'blocklists.remove_term',
    method: 'DELETE',
    path: '/blocklists/:blocklist/terms/:term',
    summary: 'Remove a term from a blocklist (by term id).',
    input: z.strictObject({ blocklist: idString.describe('blocklist id'), term: idString.describe('term id (blt_…)') }),
    async run(context, input) {
      const { list, project } = await blocklistFor(context, input.blocklist, 'safety:manage');
      const before = (await context.storage.blocklists.listTerms(list.id)).find((term) => term.id === input.term);
      if (!before) throw new ResourceNotFoundError('blocklist term', input.term);
      await context.storage.blocklists.removeTerm(list.id, before.id);
      await context.audit({ target: `blocklist:${list.id}`, organizationId: project.organizationId, projectId: project.id, before, after: null });
      await announce(context, project.id);
      return { removed: true, id: before.id };
    },
  }),
  defineOperation({
    id: 'content-filters.assign',
    method: 'PUT',
    path: '/projects/:project/content-filters/:deployment',
    summary: `Choose the content-filter policy (one configured under content_safety.policies) a project uses on a deployment, or on every deployment ('*'); "${NO_FILTER}" (no filtering) is the operator's to give.`,
    input: z.strictObject({
      project: idString.describe('project id'),
      deployment: idString.describe("deployment name, or '*' for every deployment without its own"),
      policy: idString.describe('a policy under content_safety.policies, or none (operator only)'),
    }),
    async run(context, input) {
      const project = await projectFor(context, input.project, 'safety:manage');
      requireDeployment(context, input.deployment);
      if (input.policy === NO_FILTER) {
        requireOperator(context.principal);
      } else if (!context.filterPolicies.includes(input.policy)) {
        const known = context.filterPolicies.length === 0 ? 'none are configured' : `configured policies: ${context.filterPolicies.join(', ')}`;
        throw new InvalidRequestError(`Unknown content-filter policy "${input.policy}" (${known}).`, 'policy', 'unknown_policy');
      }
      const before = (await context.storage.safetySettings.list(project.id)).find((policy) => policy.deployment === input.deployment) ?? null;
      const after: ProjectFilterPolicy = { projectId: project.id, deployment: input.deployment, policy: input.policy, updatedAt: context.now };
      await context.storage.safetySettings.setPolicy(after);
      await context.audit({
        target: `content-filter:${project.id}/${input.deployment}`,
        organizationId: project.organizationId,
        projectId: project.id,
        before,
        after,
      });
      await announce(context, project.id);
      return after;
    },
  }),
  defineOperation({
    id: 'content-filters.policies',
    method: 'GET',
    path: '/content-filter-policies',
    summary: `List the content-filter policies configured (content_safety.policies, with default and ${NO_FILTER}), the names a project may be given; "${NO_FILTER}" is the operator's to give.`,
    input: z.strictObject({}),
    table: { field: 'data', columns: ['name', 'operator_only'] },
    async run(context) {
      requireAnywhere(context.principal, 'safety:read');
      return { data: context.filterPolicies.map((name) => ({ name, operator_only: name === NO_FILTER })) };
    },
  }),
  defineOperation({
    id: 'content-filters.list',
    method: 'GET',
    path: '/projects/:project/content-filters',
    summary: "List a project's content-filter policy choices per deployment ('*' applies to every deployment without its own).",
    input: z.strictObject({ project: idString.describe('project id') }),
    async run(context, input) {
      const project = await projectFor(context, input.project, 'safety:read');
      return { data: await context.storage.safetySettings.list(project.id) };
    },
  }),
  defineOperation({
    id: 'content-filters.remove',
    method: 'DELETE',
    path: '/projects/:project/content-filters/:deployment',
    summary: "Remove a project's content-filter choice on a deployment (the configured policy applies again).",
    input: z.strictObject({ project: idString.describe('project id'), deployment: idString.describe('deployment name, or *') }),
    async run(context, input) {
      const project = await projectFor(context, input.project, 'safety:manage');
      const before = (await context.storage.safetySettings.list(project.id)).find((policy) => policy.deployment === input.deployment);
      if (!before) throw new ResourceNotFoundError('content-filter assignment', `${project.id}/${input.deployment}`);
      if (before.policy === NO_FILTER) requireOperator(context.principal);
      await context.storage.safetySettings.removePolicy(project.id, input.deployment);
      await context.audit({
        target: `content-filter:${project.id}/${input.deployment}`,
        organizationId: project.organizationId,
        projectId: project.id,
        before,
        after: null,
      });
      await announce(context, project.id);
      return { removed: true };
    },
  }),
  defineOperation({
    id: 'abuse.list',
    method: 'GET',
    path: '/abuse/reviews',
    summary: 'List abuse reviews, newest first (all for the operator; one project for its admins).',
    input: z.strictObject({
      status: z
        .enum(ABUSE_REVIEW_STATUSES as [AbuseReviewStatus, ...AbuseReviewStatus[]])
        .describe('only reviews in this state')
        .optional(),
      project: idString.describe('project id (required unless the master key)').optional(),
      subject_type: z
        .enum(ABUSE_SUBJECT_TYPES as ['key', 'project', 'end_user'])
        .describe('only reviews of this kind of subject')
        .optional(),
      limit: positiveInteger.max(1000).describe('at most this many').optional(),
    }),
    async run(context, input) {
      if (context.principal.kind !== 'master') {
        requireAnywhere(context.principal, 'abuse:read');
        if (!input.project) throw new InvalidRequestError('Name the project whose abuse reviews to list.', 'project');
        await projectFor(context, input.project, 'abuse:read');
      }
      return {
        data: await context.storage.abuse.list({ status: input.status, projectId: input.project, subjectType: input.subject_type, limit: input.limit }),
      };
    },
  }),
  defineOperation({
    id: 'abuse.show',
    method: 'GET',
    path: '/abuse/reviews/:review',
    summary: 'Show an abuse review with its samples of offending text (kept for the configured retention).',
    input: z.strictObject({ review: idString.describe('abuse review id') }),
    async run(context, input) {
      const review = await reviewFor(context, input.review);
      return { ...review, samples: await context.storage.abuse.listSamples(review.id) };
    },
  }),
  ...(['dismiss', 'suspend', 'reinstate'] as const).map((verb) =>
    defineOperation({
      id: `abuse.${verb}`,
      method: 'POST',
      path: `/abuse/reviews/:review/${verb}`,
      summary: DECISIONS[verb].summary,
      input: z.strictObject({
        review: idString.describe('abuse review id'),
        reason: z.string().trim().min(1).max(2000).describe('why, recorded with the decision').optional(),
      }),
      async run(context, input) {
        requireOperator(context.principal);
        const { storage } = context;
        const before = await reviewFor(context, input.review);
        const decision = DECISIONS[verb];
        if (!(decision.from as readonly AbuseReviewStatus[]).includes(before.status)) {
          throw new ConflictError(
            `Abuse review "${before.id}" is ${before.status}; it cannot be ${verb === 'dismiss' ? 'dismissed' : verb === 'suspend' ? 'suspended' : 'reinstated'}.`,
            'invalid_review_state',
          );
        }
        if (verb === 'suspend') {
          const active = await storage.abuse.findActive(before.subjectType, before.subjectId, before.projectId);
          if (active && active.id !== before.id) {
            throw new ConflictError(
              `The subject of "${before.id}" has an active review (${active.id}, ${active.status}): decide that one.`,
              'active_review_exists',
            );
          }
        }
        const actor = actorOf(context.principal);
        const target = { organizationId: before.organizationId, projectId: before.projectId };
        const reason = input.reason === undefined ? undefined : `${before.reason} — ${verb} by ${actor}: ${input.reason}`;
        let after: AbuseReview | undefined;
        try {
          after = await storage.abuse.updateStatus(before.id, { status: decision.to, decidedBy: actor, decidedAt: context.now, reason });
        } catch (error) {
          // The partial unique index: monitoring opened another active review in the meantime.
          const active = await storage.abuse.findActive(before.subjectType, before.subjectId, before.projectId);
          if (active && active.id !== before.id)
            throw new ConflictError(`The subject of "${before.id}" has another active review (${active.id}): decide that one.`, 'active_review_exists');
          throw error;
        }
        if (!after) throw new ResourceNotFoundError('abuse review', before.id);
        const subject = before.subjectType === 'key' ? await storage.keys.get(before.subjectId) : undefined;
        if (subject && verb === 'suspend') {
          const key = await storage.keys.suspend(subject.id, context.now);
          await context.audit({
            action: 'keys.suspend',
            target: `key:${subject.id}`,
            ...target,
            before: { suspendedAt: subject.suspendedAt ?? null },
            after: { suspendedAt: key?.suspendedAt ?? null, review: before.id },
          });
        } else if (subject && verb === 'reinstate' && subject.suspendedAt != null) {
          await storage.keys.unsuspend(subject.id);
          await context.audit({
            action: 'keys.unsuspend',
            target: `key:${subject.id}`,
            ...target,
            before: { suspendedAt: subject.suspendedAt },
            after: { suspendedAt: null, review: before.id },
          });
        }
        await context.audit({ target: `abuse-review:${before.id}`, ...target, before, after });
        if (subject) await context.changed('key', subject.id);
        await context.changed('abuse', before.id);
        await announce(context, before.projectId);
        return after;
      },
    }),
  ),
];
