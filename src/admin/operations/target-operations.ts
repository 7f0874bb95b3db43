import { z } from 'zod';
import { ConflictError, InvalidRequestError, ResourceNotFoundError } from '../../errors/catalogue.js';
import { requireAnywhere, requireOperator } from '../../governance/access-control.js';
import type { DeploymentRoutes, Route } from '../../pipeline/pick-target.js';
import type { HealthSharingState } from '../../routing/shared-health-store.js';
import { defineOperation, idString, type AdminContext } from '../admin-operation.js';

/**
 * The live routing state: a deployment's targets with their health on the replica that answers,
 * and draining a target out of rotation. Health lives in the running servers (shared between
 * replicas through Redis when configured), never in the database, so the CLI reaches these
 * operations only through `--url`.
 */

/** The deployment's routes in the table in force, or the reason there are none to show. */
function routesOf(context: AdminContext, deployment: string): DeploymentRoutes {
  if (!context.routes) {
    throw new InvalidRequestError(
      'Target health lives in each running server, not in the database: run this against a server (--url URL or CERULEAN_URL).',
      null,
      'server_required',
    );
  }
  const routes = context.routes(deployment);
  if (!routes) throw new ResourceNotFoundError('deployment', deployment);
  return routes;
}

function routeOf(routes: DeploymentRoutes, id: string): Route {
  const route = routes.routes.find((candidate) => candidate.id === id);
  if (!route) throw new ResourceNotFoundError('target', `${routes.name}/${id}`);
  return route;
}

/** How far target health is shared from the replica that answers. */
function sharingOf(context: AdminContext): HealthSharingState {
  return context.health?.sharing() ?? 'local';
}

function targetOut(context: AdminContext, route: Route, now: number): Record<string, unknown> {
  const health = route.health.snapshot(now);
  return {
    id: route.id,
    provider: route.provider.name,
    model: route.target.model,
    region: route.region,
    zone: route.zone ?? null,
    weight: route.weight,
    priority: route.priority,
    capacity: route.capacity,
    state: health.state,
    cooling_until: health.coolingUntil === null ? null : new Date(health.coolingUntil).toISOString(),
    outstanding: health.outstanding,
    latency_ewma_ms: health.latencyEwmaMs === null ? null : Math.round(health.latencyEwmaMs * 10) / 10,
    failures: health.failures,
    requests: health.requests,
    drained: health.drained,
    learnt_from_replica: context.health?.learnt(route.health, now) ?? false,
  };
}

/** What `cerulean targets DEPLOYMENT` shows of each target (the id already names provider and model). */
const TABLE_COLUMNS = [
  'id',
  'region',
  'zone',
  'weight',
  'priority',
  'capacity',
  'state',
  'cooling_until',
  'outstanding',
  'latency_ewma_ms',
  'failures',
  'requests',
  'drained',
] as const;
/** Drains or restores `route` (everywhere health is shared), audited once, by the replica that was asked. */
async function setDrained(context: AdminContext, routes: DeploymentRoutes, route: Route, drained: boolean): Promise<Record<string, unknown>> {
  const before = route.health.isDrained();
  let reached: HealthSharingState = 'local';
  if (context.health) reached = await context.health.setDrained(routes.name, route.id, drained);
  else if (drained) route.health.drain();
  else route.health.restore();
  await context.audit({
    target: `deployment:${routes.name}`,
    organizationId: null,
    projectId: null,
    before: { target: route.id, drained: before },
    after: { target: route.id, drained },
  });
  return { ...targetOut(context, route, Date.now()), health_sharing: reached };
}

const targetInput = z.strictObject({
  deployment: idString.describe('deployment name'),
  target: idString.describe('target id, provider/model (in the URL path the slash is written %2F)'),
});

export const targetOperations = [
  defineOperation({
    id: 'targets.list',
    method: 'GET',
    path: '/deployments/:deployment/targets',
    summary:
      "A deployment's targets with their live health on the replica that answers (breaker state, cooldown, outstanding requests, latency, failures in the window, drained, whether an open breaker or cooldown was learnt from another replica), its deployment type, strategy and fallbacks, and whether health is shared with other replicas (`health_sharing`: local, shared, unreachable).",
    input: z.strictObject({ deployment: idString.describe('deployment name') }),
    positional: ['deployment'],
    table: { field: 'targets', columns: TABLE_COLUMNS },
    async run(context, input) {
      requireAnywhere(context.principal, 'deployments:read');
      const routes = routesOf(context, input.deployment);
      // Read the clock now rather than at the call's start: a snapshot is only as fresh as its `now`.
      const now = Date.now();
      return {
        deployment: routes.name,
        type: routes.type ?? null,
        strategy: routes.strategy,
        fallbacks: routes.fallbacks.map((fallback) => ({ deployment: fallback.deployment, on: [...fallback.on] })),
        health_sharing: sharingOf(context),
        targets: routes.routes.map((route) => targetOut(context, route, now)),
      };
    },
  }),
  defineOperation({
    id: 'targets.drain',
    method: 'POST',
    path: '/deployments/:deployment/targets/:target/drain',
    summary:
      'Take a target out of rotation: new requests go to the deployment\'s other targets; those already running finish (service operator only). With Redis the drain holds on every replica, restarts included, until "targets restore" (`health_sharing` in the answer says how far it reached; one made while Redis is unreachable reaches the others when it returns); without Redis, on the replica that answers until a restart.',
    input: targetInput,
    positional: ['deployment', 'target'],
    async run(context, input) {
      requireOperator(context.principal);
      const routes = routesOf(context, input.deployment);
      const route = routeOf(routes, input.target);
      const now = Date.now();
      const before = route.health.snapshot(now).drained;
      // With every target drained the request would still go to the first one, as a last resort:
      // a drain that cannot take effect is refused rather than reported done.
      if (!before && routes.routes.every((other) => other === route || other.health.snapshot(now).drained)) {
        throw new ConflictError(
          `"${input.target}" is the last target of "${input.deployment}" in rotation; draining it would leave the deployment nothing to send requests to.`,
          'last_target',
        );
      }
      return setDrained(context, routes, route, true);
    },
  }),
  defineOperation({
    id: 'targets.restore',
    method: 'POST',
    path: '/deployments/:deployment/targets/:target/restore',
    summary:
      'Put a drained target back into rotation: on every replica when health is shared through Redis, else on the replica that answers (service operator only).',
    input: targetInput,
    positional: ['deployment', 'target'],
    async run(context, input) {
      requireOperator(context.principal);
      const routes = routesOf(context, input.deployment);
      const route = routeOf(routes, input.target);
      return setDrained(context, routes, route, false);
    },
  }),
];
