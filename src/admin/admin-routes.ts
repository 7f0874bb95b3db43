import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { openAIFamily } from '../api/openai/openai-family.js';
import { InvalidRequestError } from '../errors/catalogue.js';
import type { Principal } from '../pipeline/authenticate.js';
import type { DeploymentRoutes } from '../pipeline/pick-target.js';
import type { TargetHealthControl } from '../routing/health-sharing.js';
import type { Storage } from '../storage/storage.js';
import { actorOf, type AdminContext, type AdminOperation } from './admin-operation.js';
import { ADMIN_OPERATIONS } from './admin-operations.js';
import { describeIssue } from './input-issues.js';
import { openApiDocument } from './openapi.js';

export const ADMIN_PREFIX = '/admin/v1';

export interface AdminDependencies {
  storage: Storage;
  deployments: () => readonly string[];
  /** Configured content-filter policy names; without it no policy can be assigned to a project. */
  filterPolicies?: () => readonly string[];
  /** `content_safety.deployments` of the configuration in force: deployment name -> policy name. */
  deploymentFilterPolicies?: () => Readonly<Record<string, string>>;
  /** A deployment's targets with their live health, from the table in force; only a running server has one. */
  routes?: (name: string) => DeploymentRoutes | undefined;
  /** Drains and restores targets on every replica sharing health; without it, on this replica's table only. */
  health?: TargetHealthControl;
  /** A budget's live counters on this service (spent and reserved); without it, spend is read from the ledger. */
  budgetUse?: AdminContext['budgetUse'];
  /** A project's live quota use on this service; without it, none is shown. */
  quotaUse?: AdminContext['quotaUse'];
  version: string;
  /**
   * Brings this replica's policy cache up to date; awaited after a call that changed something,
   * so the change applies here before the reply (a key created is accepted at once on this replica).
   */
  refresh?: () => Promise<void>;
}

/** The context one admin call runs in: who, from where, and the audit and change-feed hooks. */
export function adminContext(dependencies: Omit<AdminDependencies, 'version'>, operation: AdminOperation, principal: Principal, source: string): AdminContext {
  const { storage } = dependencies;
  const now = Date.now();
  return {
    storage,
    principal,
    source,
    now,
    deployments: dependencies.deployments(),
    filterPolicies: dependencies.filterPolicies?.() ?? [],
    deploymentFilterPolicies: dependencies.deploymentFilterPolicies?.() ?? {},
    routes: dependencies.routes,
    health: dependencies.health,
    budgetUse: dependencies.budgetUse,
    quotaUse: dependencies.quotaUse,
    audit: async (entry) => {
      await storage.audit.append({ ...entry, action: entry.action ?? operation.id, at: now, actor: actorOf(principal), source });
    },
    changed: (topic, id) => storage.changes.publish(topic, id),
  };
}

/** Validates an operation's input; the error names each offending field (`param` is the first) in plain words. */
export function parseInput<T>(operation: AdminOperation<T>, raw: Record<string, unknown>): T {
  const result = operation.input.safeParse(raw, { error: describeIssue });
  if (result.success) return result.data;
  const { issues } = result.error;
  const fieldOf = (issue: (typeof issues)[number]): string | null => (issue.path.length > 0 ? String(issue.path[0]) : null);
  const message = issues
    .map((issue) => {
      const field = fieldOf(issue);
      return field ? `${field}: ${issue.message}` : issue.message;
    })
    .join('; ');
  throw new InvalidRequestError(message, fieldOf(issues[0]));
}

/** Serves every admin operation under /admin/v1, plus the OpenAPI document. */
export function registerAdminRoutes(app: FastifyInstance, dependencies: AdminDependencies, authenticate: onRequestHookHandler): void {
  const document = openApiDocument(ADMIN_OPERATIONS, dependencies.version);
  app.get(`${ADMIN_PREFIX}/openapi.json`, async () => document);
  for (const operation of ADMIN_OPERATIONS) {
    app.route({
      method: operation.method,
      url: ADMIN_PREFIX + operation.path,
      config: { family: openAIFamily },
      onRequest: authenticate,
      handler: async (request, reply) => {
        const raw = {
          ...(request.query as Record<string, unknown>),
          ...(request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {}),
          ...(request.params as Record<string, unknown>),
        };
        const input = parseInput(operation, raw);
        // A storage failure is answered 503 with retry-after by the server's error handler.
        const base = adminContext(dependencies, operation, request.principal as Principal, request.ip);
        let changed = false;
        const context: AdminContext = {
          ...base,
          changed: (topic, id) => {
            changed = true;
            return base.changed(topic, id);
          },
        };
        const result = await operation.run(context, input);
        if (changed && dependencies.refresh) {
          // The change is stored: a cache that cannot reload now catches up when storage answers.
          await dependencies.refresh().catch((error: unknown) => request.log.warn({ err: error }, 'reloading the policy after an admin change failed'));
        }
        if (raw.format === 'csv' && operation.csv) {
          return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${operation.id}.csv"`).send(operation.csv(result));
        }
        return reply.code(operation.status ?? 200).send(result);
      },
    });
  }
}
