import type { Config } from '../config/schema.js';
import type { DeploymentTable } from '../pipeline/pick-target.js';
import { DeploymentCaller } from './adapters/deployment-caller.js';
import { ContentSafetyStage, type SafetyObserver } from './content-safety-stage.js';
import type { ContentFilter } from './content-filter.js';
import { DEFAULT_POLICY, FilterRegistry, type ProjectSafetySource } from './filter-registry.js';
import { LocalClassifier } from './local/local-classifier.js';
import { PiiDetector, type PiiType } from './pii/pii-detector.js';
import { StreamingRedactor } from './pii/streaming-redactor.js';

export interface ContentSafety {
  readonly stage: ContentSafetyStage;
  /** The policy `/v1/moderations` answers with: the one its `model` names, else the default. */
  readonly moderation: { filter(model?: string): ContentFilter | undefined };
  /** Rebuilds the policies from a reloaded configuration. */
  reload(config: Config): void;
  policyNames(): string[];
  /** `content_safety.deployments` of the configuration in force (deployment -> policy name). */
  deploymentPolicies(): Readonly<Record<string, string>>;
}

/**
 * Builds content safety from the configuration: the built-in classifier (built once: its matchers
 * are compiled at construction), the model-backed adapters, every policy, and the filter stage.
 */
export function createContentSafety(
  config: Config,
  options: { deployments: () => DeploymentTable; projects?: ProjectSafetySource; observers?: readonly SafetyObserver[] },
): ContentSafety {
  const local = new LocalClassifier();
  const caller = new DeploymentCaller(options.deployments);
  const detectors = new Map<string, PiiDetector>();
  const pii = (types: readonly string[] | undefined): PiiDetector => {
    const key = types ? [...types].sort().join(',') : '*';
    let detector = detectors.get(key);
    if (!detector) {
      detector = new PiiDetector(types ? { types: types as PiiType[] } : {});
      detectors.set(key, detector);
    }
    return detector;
  };
  const build = (next: Config): FilterRegistry => new FilterRegistry(next, { local, pii, caller, projects: options.projects });
  let registry = build(config);
  let deploymentPolicies: Readonly<Record<string, string>> = config.content_safety.deployments;
  const stage = new ContentSafetyStage({
    resolver: {
      filterFor: (deployment, projectId) => registry.filterFor(deployment, projectId),
      blocklistsFor: (filter, projectId) => registry.blocklistsFor(filter, projectId),
    },
    observers: options.observers,
    streamRedactor: (filter) => {
      const scanner = filter.redacts('completion');
      return scanner instanceof PiiDetector ? new StreamingRedactor(scanner) : undefined;
    },
  });
  return {
    stage,
    moderation: { filter: (model) => (model !== undefined ? registry.policy(model) : undefined) ?? registry.policy(DEFAULT_POLICY) },
    reload(next) {
      registry = build(next);
      deploymentPolicies = next.content_safety.deployments;
    },
    policyNames: () => registry.policyNames(),
    deploymentPolicies: () => deploymentPolicies,
  };
}
