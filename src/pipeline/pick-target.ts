import type { Config } from '../config/schema.js';
import { DeploymentNotFoundError, OperationNotSupportedError, ProviderNotConfiguredError } from '../errors/catalogue.js';
import type { Operation, Provider, Target } from '../providers/provider.js';
import { createProvider } from '../providers/registry.js';
import { UpstreamClient } from '../providers/upstream-client.js';

/** A deployment ready to call: what to send, to whom, over which pool. */
export interface Route {
  readonly target: Target;
  readonly provider: Provider;
  readonly client: UpstreamClient;
  /** The region reported in `x-ms-region`. */
  readonly region: string;
}

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
export class DeploymentTable {
  private readonly routes = new Map<string, Route>();
  /** Exact aliases -> deployment. */
  private readonly aliases = new Map<string, string>();
  /** Wildcard aliases, most specific (longest literal text) first. */
  private readonly patterns: Array<{ pattern: RegExp; literal: number; deployment: string }> = [];
  private readonly clients: UpstreamClient[] = [];
  readonly createdAt = Math.floor(Date.now() / 1000);

  constructor(config: Config) {
    const providers = new Map<string, { provider: Provider; client: UpstreamClient }>();
    for (const [name, providerConfig] of Object.entries(config.providers)) {
      const provider = createProvider(name, providerConfig, config.missingVariables[name] ?? []);
      const client = new UpstreamClient(provider, providerConfig);
      this.clients.push(client);
      providers.set(name, { provider, client });
    }
    for (const [name, deployment] of Object.entries(config.deployments)) {
      const entry = providers.get(deployment.provider);
      if (!entry) continue; // configuration validation already rejects this
      this.routes.set(name, {
        target: Object.freeze({ deployment: name, model: deployment.model, config: deployment }),
        provider: entry.provider,
        client: entry.client,
        region: entry.provider.region ?? config.server.region,
      });
      for (const alias of deployment.aliases ?? []) {
        if (!alias.includes('*')) this.aliases.set(alias, name);
        else this.patterns.push({ pattern: globPattern(alias), literal: alias.replaceAll('*', '').length, deployment: name });
      }
    }
    this.patterns.sort((a, b) => b.literal - a.literal);
  }

  /**
   * The deployment a caller's model name means: a deployment's own name, else an exact alias, else
   * the most specific wildcard alias; a name nothing matches comes back unchanged (and gets the
   * deployment-not-found answer when picked).
   */
  resolve(name: string): string {
    if (this.routes.has(name)) return name;
    const exact = this.aliases.get(name);
    if (exact !== undefined) return exact;
    for (const { pattern, deployment } of this.patterns) if (pattern.test(name)) return deployment;
    return name;
  }

  /** Deployment names with their provider, for the models listing. */
  list(): Array<{ name: string; route: Route }> {
    return [...this.routes].map(([name, route]) => ({ name, route }));
  }

  get(name: string): Route | undefined {
    return this.routes.get(name);
  }

  /** Stage "pick a target": the route for a deployment, or the error the caller should get. */
  pick(name: string, operation: Operation): Route {
    const route = this.routes.get(name);
    if (!route) throw new DeploymentNotFoundError(name);
    if (!route.provider.operations.has(operation)) throw new OperationNotSupportedError(name, operation);
    if (route.provider.missingCredential) {
      throw new ProviderNotConfiguredError(name, route.provider.name, route.provider.missingCredential);
    }
    return route;
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((client) => client.close()));
  }
}
