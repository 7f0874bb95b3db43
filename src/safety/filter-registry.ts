import type { Config, FilterPolicyConfig } from '../config/schema.js';
import { FilterPolicyUnavailableError } from '../errors/catalogue.js';
import { AzureContentSafetyClassifier } from './adapters/azure-content-safety-classifier.js';
import type { DeploymentCaller } from './adapters/deployment-caller.js';
import { LlamaGuardClassifier } from './adapters/llama-guard-classifier.js';
import { OpenAIModerationClassifier } from './adapters/openai-moderation-classifier.js';
import type { TextClassifier } from './classifier.js';
import { ContentFilter, type BlocklistScanner, type PiiScanner } from './content-filter.js';
import type { FilterResolver } from './content-safety-stage.js';

/** The policy `none` turns filtering off for a deployment or project. */
export const NO_POLICY = 'none';
/** Applies to every deployment that names no policy; Azure's defaults unless configured. */
export const DEFAULT_POLICY = 'default';

/** Per-project settings kept in storage (policy overrides, custom blocklists), read from the policy cache. */
export interface ProjectSafetySource {
  filterPolicyFor(projectId: string, deployment: string): string | undefined;
  blocklistsFor(projectId: string): BlocklistScanner | undefined;
}

export interface FilterRegistryOptions {
  /** The built-in classifier; `local` in policies. */
  local: TextClassifier;
  /** Builds the PII detector of a policy that handles PII (only the types it names, or all). */
  pii: (types: readonly string[] | undefined) => PiiScanner;
  caller: DeploymentCaller;
  projects?: ProjectSafetySource;
}

/**
 * Every configured content-filter policy made executable once, with its classifiers, and the
 * resolution of which policy applies to a request: the project's override for the deployment (or
 * for all its deployments), else the deployment's policy, else `default`. Rebuilt on reload.
 */
export class FilterRegistry implements FilterResolver {
  private readonly filters = new Map<string, ContentFilter>();
  private readonly byDeployment: ReadonlyMap<string, string>;
  private readonly projects: ProjectSafetySource | undefined;

  constructor(config: Config, options: FilterRegistryOptions) {
    const safety = config.content_safety;
    const classifiers = new Map<string, TextClassifier>([['local', options.local]]);
    for (const [name, entry] of Object.entries(safety.classifiers)) {
      switch (entry.type) {
        case 'local':
          classifiers.set(name, options.local);
          break;
        case 'openai-moderation':
          classifiers.set(name, new OpenAIModerationClassifier(name, options.caller, entry.deployment, entry.timeout_ms));
          break;
        case 'llama-guard':
          classifiers.set(name, new LlamaGuardClassifier(name, options.caller, entry.deployment, entry.timeout_ms));
          break;
        case 'azure-content-safety':
          classifiers.set(
            name,
            new AzureContentSafetyClassifier(name, {
              endpoint: entry.endpoint,
              apiKey: entry.api_key,
              apiVersion: entry.api_version,
              timeoutMs: entry.timeout_ms,
            }),
          );
          break;
      }
    }
    const policies: Record<string, FilterPolicyConfig> = { ...safety.policies };
    // With no `default` policy configured, Azure's defaults apply (the schema's defaults).
    policies[DEFAULT_POLICY] ??= defaultPolicy();
    for (const [name, policy] of Object.entries(policies)) {
      const pii = policy.pii.action === 'off' ? undefined : options.pii(policy.pii.types);
      this.filters.set(
        name,
        new ContentFilter(
          name,
          policy,
          policy.classifiers.map((id) => {
            const classifier = classifiers.get(id);
            // The configuration loader reports unknown classifiers with their path; this guards other builders.
            if (!classifier) throw new Error(`content_safety.policies.${name}: unknown classifier "${id}"`);
            return classifier;
          }),
          pii,
        ),
      );
    }
    this.byDeployment = new Map(Object.entries(safety.deployments));
    this.projects = options.projects;
  }

  /** A policy by name (the moderation endpoint answers with `default`). */
  policy(name: string): ContentFilter | undefined {
    return this.filters.get(name);
  }

  policyNames(): string[] {
    return [...this.filters.keys(), NO_POLICY];
  }

  /**
   * The configuration's own references are checked when it is loaded; a project's stored choice is
   * checked when written, but a later reload may drop the policy it names: such a request fails
   * closed (503) rather than passing unfiltered.
   */
  filterFor(deployment: string, projectId: string | undefined): ContentFilter | undefined {
    const name =
      (projectId !== undefined ? this.projects?.filterPolicyFor(projectId, deployment) : undefined) ?? this.byDeployment.get(deployment) ?? DEFAULT_POLICY;
    if (name === NO_POLICY) return undefined;
    const filter = this.filters.get(name);
    if (!filter) throw new FilterPolicyUnavailableError(deployment, name);
    return filter;
  }

  /** A project's custom blocklists apply under whichever policy filters its requests. */
  blocklistsFor(_filter: ContentFilter, projectId: string | undefined): BlocklistScanner | undefined {
    return projectId === undefined ? undefined : this.projects?.blocklistsFor(projectId);
  }
}

/** Azure's default policy: the four categories at medium both ways, the jailbreak shield on. */
export function defaultPolicy(): FilterPolicyConfig {
  return {
    classifiers: ['local'],
    prompt: { hate: 'medium', sexual: 'medium', violence: 'medium', self_harm: 'medium' },
    completion: { hate: 'medium', sexual: 'medium', violence: 'medium', self_harm: 'medium' },
    jailbreak: 'block',
    indirect_attack: 'off',
    profanity: 'off',
    pii: { action: 'off', directions: ['prompt', 'completion'] },
    stream_mode: 'buffered',
    stream_check_chars: 1000,
    stream_annotations: true,
    stream_annotations_openai: false,
    on_error: 'fail_open',
  };
}

/** Policy names a configuration offers (what FilterRegistry.policyNames answers): its own, `default` and `none`. */
export function filterPolicyNames(config: Config): string[] {
  return [...new Set([...Object.keys(config.content_safety.policies), DEFAULT_POLICY, NO_POLICY])];
}
