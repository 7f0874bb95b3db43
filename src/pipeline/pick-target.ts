import { targetsOf, type Config, type DeploymentType, type FallbackCause } from '../config/schema.js';
import { DeploymentNotFoundError, OperationNotSupportedError, ProviderNotConfiguredError } from '../errors/catalogue.js';
import type { Operation, Provider, Target } from '../providers/provider.js';
import { createProvider } from '../providers/registry.js';
import { UpstreamClient } from '../providers/upstream-client.js';
import { allows, type ResidencyPin } from '../routing/residency.js';
import type { HealthDirectory } from '../routing/health-sharing.js';
import { TargetHealth, type TargetHealthEvents } from '../routing/target-health.js';
import { orderTargets, type Strategy } from '../routing/strategies.js';
import { targetLimits, type TargetLimits } from '../routing/target-quota.js';

/** One target of a deployment, ready to call: what to send, to whom, over which pool, and how it has been doing. */
export interface Route {
  readonly target: Target;
  readonly provider: Provider;
  readonly client: UpstreamClient;
  /** The region reported in `x-ms-region` and the usage record. */
  readonly region: string;
  /** The data zone its provider declares (residency), if any. */
  readonly zone: string | undefined;
  /** `provider/model`, unique within the deployment: how metrics, the admin API and logs name it. */
  readonly id: string;
  readonly weight: number;
  readonly priority: number;
  readonly capacity: 'provisioned' | 'standard';
  /** Its own tpm/rpm, counted per attempt (see TargetQuota); undefined when it declares none. */
  readonly limits: TargetLimits | undefined;
  /** Breaker, cooldown, outstanding requests and latency, kept across reloads for the same target. */
  readonly health: TargetHealth;
}

/** A deployment's targets and what to do when they fail. */
export interface DeploymentRoutes {
  readonly name: string;
  /** Its declared deployment type (`global`, `data_zone`, `regional`; `cerulean check` holds its targets to it), if any. */
  readonly type: DeploymentType | undefined;
  readonly routes: readonly Route[];
  readonly strategy: Strategy;
  readonly fallbacks: ReadonlyArray<{ readonly deployment: string; readonly on: ReadonlySet<FallbackCause> }>;
  /** The overall deadline of a request across its attempts (`deadline_ms`, else `routing.deadline_ms`). */
  readonly deadlineMs: number;
  /**
   * The `model` its answers name: the name the caller sent, or the upstream's; undefined (one target,
   * no option) leaves each API as it always was. `responseModelExplicit`: set by the option itself,
   * which alone changes a native pass-through's answers.
   */
  readonly responseModel: 'requested' | 'upstream' | undefined;
  readonly responseModelExplicit: boolean;
}

/** One attempt of a request's plan: a target, reached directly or through a fallback deployment (on the listed causes only). */
export interface PlannedAttempt {
  readonly route: Route;
  /** `spillover`: the deployment the request named itself (Azure's `x-ms-spillover-deployment`), not a configured fallback. */
  readonly via?: { readonly deployment: string; readonly on: ReadonlySet<FallbackCause>; readonly spillover?: boolean };
}

/**
 * What moves a request on to the deployment it named to spill over to: the requested one at
 * capacity (429) or unavailable (5xx, connect errors), as Azure spills a provisioned deployment over
 * to a standard one on those answers.
 */
const SPILLOVER_CAUSES: ReadonlySet<FallbackCause> = new Set(['rate_limited', 'unavailable']);

/** `claude-*` as a regular expression matching the whole name, `*` standing for any characters. */
function globPattern(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/**
 * The deployment table built from one configuration generation: every provider and its pool made
 * once, every deployment resolved once. A reload builds a new table and swaps it in; requests in
 * flight keep the route they picked, and the old pools close once those finish.
 */
export class DeploymentTable implements HealthDirectory {
  private readonly deployments = new Map<string, DeploymentRoutes>();
  /** Exact aliases -> deployment. */
  private readonly aliases = new Map<string, string>();
  /** Wildcard aliases, most specific (longest literal text) first. */
  private readonly patterns: Array<{ pattern: RegExp; literal: number; deployment: string }> = [];
  private readonly clients: UpstreamClient[] = [];
  readonly createdAt = Math.floor(Date.now() / 1000);

  /**
   * `previous`: the table this one replaces; targets it also had keep their health (and its
   * listener). `health`: gives each new target's health a listener for the breaker openings and
   * cooldowns it causes (health sharing across replicas).
   */
  constructor(config: Config, options: { previous?: DeploymentTable; health?: { eventsFor(deployment: string, target: string): TargetHealthEvents } } = {}) {
    const { previous, health } = options;
    const providers = new Map<string, { provider: Provider; client: UpstreamClient; zone: string | undefined }>();
    for (const [name, providerConfig] of Object.entries(config.providers)) {
      const provider = createProvider(name, providerConfig, config.missingVariables[name] ?? []);
      const client = new UpstreamClient(provider, providerConfig);
      this.clients.push(client);
      providers.set(name, { provider, client, zone: providerConfig.data_zone });
    }
    const { breaker } = config.routing;
    const settings = {
      failureThreshold: breaker.failure_threshold,
      failureRate: breaker.failure_rate,
      minimumRequests: breaker.minimum_requests,
      windowMs: breaker.window_ms,
      openMs: breaker.open_ms,
      halfOpenProbes: breaker.half_open_probes,
    };
    for (const [name, deployment] of Object.entries(config.deployments)) {
      const routes: Route[] = [];
      for (const target of targetsOf(deployment)) {
        const entry = providers.get(target.provider);
        if (!entry) continue; // configuration validation already rejects this
        const id = `${target.provider}/${target.model}`;
        routes.push({
          target: Object.freeze({ deployment: name, model: target.model, config: deployment }),
          provider: entry.provider,
          client: entry.client,
          region: target.region ?? entry.provider.region ?? config.server.region,
          zone: entry.zone,
          id,
          weight: target.weight,
          priority: target.priority,
          capacity: target.capacity,
          limits: targetLimits(target.provider, target.model, target),
          health: previous?.healthOf(name, id) ?? new TargetHealth(settings, health?.eventsFor(name, id)),
        });
      }
      if (routes.length === 0) continue;
      const fallbacks = (deployment.fallbacks ?? []).map((fallback) => ({ deployment: fallback.deployment, on: new Set(fallback.on) }));
      this.deployments.set(name, {
        name,
        type: deployment.type,
        routes,
        strategy: deployment.strategy ?? 'weighted',
        fallbacks,
        deadlineMs: deployment.deadline_ms ?? config.routing.deadline_ms,
        // A deployment that routes answers under its own name, whichever target answered; one target keeps the upstream's.
        responseModel: deployment.response_model ?? (routes.length > 1 || fallbacks.length > 0 ? 'requested' : undefined),
        responseModelExplicit: deployment.response_model !== undefined,
      });
      for (const alias of deployment.aliases ?? []) {
        if (!alias.includes('*')) this.aliases.set(alias, name);
        else this.patterns.push({ pattern: globPattern(alias), literal: alias.replaceAll('*', '').length, deployment: name });
      }
    }
    this.patterns.sort((a, b) => b.literal - a.literal);
  }

  healthOf(deployment: string, id: string): TargetHealth | undefined {
    return this.deployments.get(deployment)?.routes.find((route) => route.id === id)?.health;
  }

  forEachTarget(visit: (deployment: string, target: string, health: TargetHealth) => void): void {
    for (const { name, routes } of this.deployments.values()) for (const route of routes) visit(name, route.id, route.health);
  }

  /**
   * The deployment a caller's model name means: a deployment's own name, else an exact alias, else
   * the most specific wildcard alias; a name nothing matches comes back unchanged (and gets the
   * deployment-not-found answer when picked).
   */
  resolve(name: string): string {
    if (this.deployments.has(name)) return name;
    const exact = this.aliases.get(name);
    if (exact !== undefined) return exact;
    for (const { pattern, deployment } of this.patterns) if (pattern.test(name)) return deployment;
    return name;
  }

  /** A deployment's targets and fallbacks. */
  routesOf(name: string): DeploymentRoutes | undefined {
    return this.deployments.get(name);
  }

  /** Deployment names with their first target, for the models listing. */
  list(): Array<{ name: string; route: Route }> {
    return [...this.deployments.values()].map(({ name, routes }) => ({ name, route: routes[0] }));
  }

  /** A deployment's first target. */
  get(name: string): Route | undefined {
    return this.deployments.get(name)?.routes[0];
  }

  /**
   * Stage "pick a target": the deployment's first target that can serve the operation (admission
   * judges the request by it; the provider call may still fail over), or the error the caller
   * should get.
   */
  pick(name: string, operation: Operation): Route {
    const deployment = this.deployments.get(name);
    if (!deployment) throw new DeploymentNotFoundError(name);
    const serving = deployment.routes.filter((route) => route.provider.operations.has(operation));
    if (serving.length === 0) throw new OperationNotSupportedError(name, operation);
    const callable = serving.find((route) => !route.provider.missingCredential);
    if (!callable) throw new ProviderNotConfiguredError(name, serving[0].provider.name, serving[0].provider.missingCredential as string);
    return callable;
  }

  /**
   * The targets a request tries, in order: the deployment's own (healthy ones ordered by its
   * strategy, then those open or cooling down as a last resort, so a request is never refused for
   * health alone; drained ones never),
   * then each fallback deployment's, marked with the causes that move on to them. Targets that
   * cannot serve the operation or have no credential are left out, and with a residency `pin` (a
   * pinned project or key) every target the pin does not allow (its provider's data zone, its
   * region), fallbacks included; no pin costs nothing more. A `spillover` deployment (named by the
   * request) comes right after the deployment's own targets, taken on a 429 or an unavailable
   * target, before the configured fallbacks. No I/O.
   */
  plan(name: string, operation: Operation, now: number, pin?: ResidencyPin, spillover?: string): PlannedAttempt[] {
    const deployment = this.deployments.get(name);
    if (!deployment) return [];
    const attempts: PlannedAttempt[] = this.ordered(deployment, operation, now, pin).map((route) => ({ route }));
    const spill = spillover === undefined || spillover === name ? undefined : this.deployments.get(spillover);
    if (spill) {
      const via = { deployment: spill.name, on: SPILLOVER_CAUSES, spillover: true };
      for (const route of this.ordered(spill, operation, now, pin)) attempts.push({ route, via });
    }
    for (const fallback of deployment.fallbacks) {
      const other = this.deployments.get(fallback.deployment);
      if (!other) continue;
      const via = { deployment: fallback.deployment, on: fallback.on };
      for (const route of this.ordered(other, operation, now, pin)) attempts.push({ route, via });
    }
    return attempts;
  }

  /** `pin`: only targets it allows (a pinned project's or key's request). */
  private ordered(deployment: DeploymentRoutes, operation: Operation, now: number, pin: ResidencyPin | undefined): Route[] {
    const usable = deployment.routes.filter(
      (route) => route.provider.operations.has(operation) && !route.provider.missingCredential && (pin === undefined || allows(pin, route.zone, route.region)),
    );
    if (usable.length <= 1) return usable.filter((route) => !route.health.isDrained());
    const ordered = orderTargets(usable, deployment.strategy, now) as Route[];
    // Targets open or cooling down come last, as a last resort rather than a refusal; drained ones never.
    if (ordered.length < usable.length) {
      for (const route of usable) if (!ordered.includes(route) && !route.health.isDrained()) ordered.push(route);
    }
    return ordered;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.close()));
  }
}
