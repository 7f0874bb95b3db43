import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { configSchema, PROVIDER_TYPES, targetsOf, type Config, type ProviderConfig, type ProviderType } from './schema.js';

/** Raised when the configuration cannot be used; `problems` lists every `path: problem` found. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(source: string, problems: readonly string[]) {
    super(`Invalid configuration in ${source}:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

const SHIPPED_EXAMPLE = fileURLToPath(new URL('../../cerulean.example.yaml', import.meta.url));

/** The file `serve` uses: the one named, else ./cerulean.yaml, else the shipped example. */
export function resolveConfigPath(explicit: string | undefined, cwd = process.cwd()): string {
  if (explicit) return resolve(cwd, explicit);
  const local = resolve(cwd, 'cerulean.yaml');
  return existsSync(local) ? local : SHIPPED_EXAMPLE;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string of the tree. An unset variable without
 * default becomes the empty string and is recorded against the dotted path it appeared in, so a
 * provider whose key is unset can answer 503 naming the variable instead of failing at start.
 */
/** Providers whose upstream answers the Responses API itself (`responses_api: native`). */
const NATIVE_RESPONSES_PROVIDERS: ReadonlySet<string> = new Set(['openai', 'azure-openai', 'openai-compatible']);

function interpolate(node: unknown, path: string, env: NodeJS.ProcessEnv, missing: Map<string, string[]>): unknown {
  if (typeof node === 'string') {
    return node.replace(VARIABLE, (_match, name: string, fallback: string | undefined) => {
      const value = env[name];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      const list = missing.get(path) ?? [];
      list.push(name);
      missing.set(path, list);
      return '';
    });
  }
  if (Array.isArray(node)) return node.map((item, index) => interpolate(item, `${path}.${index}`, env, missing));
  if (node !== null && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = interpolate(value, path ? `${path}.${key}` : key, env, missing);
    return out;
  }
  return node;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.') || '(root)';
  if (issue.code === 'unrecognized_keys') return `${path}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return `${path}: ${issue.message}`;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Checks that depend on more than one field: provider types, required fields, references. */
function crossCheck(raw: z.infer<typeof configSchema>): string[] {
  const problems: string[] = [];
  for (const [name, provider] of Object.entries(raw.providers)) {
    const at = `providers.${name}`;
    if (!(PROVIDER_TYPES as readonly string[]).includes(provider.type)) {
      problems.push(`${at}.type: unknown provider type "${provider.type}" (expected one of ${PROVIDER_TYPES.join(', ')})`);
      continue;
    }
    const type = provider.type as ProviderType;
    if (type === 'azure-openai') {
      if (!provider.endpoint) problems.push(`${at}.endpoint: required for type azure-openai`);
      if (!provider.api_version) problems.push(`${at}.api_version: required for type azure-openai`);
    }
    if (type === 'openai-compatible' && !provider.base_url) problems.push(`${at}.base_url: required for type openai-compatible`);
    if (type !== 'openai-compatible' && provider.api_key === undefined) problems.push(`${at}.api_key: required for type ${type}`);
    for (const field of ['endpoint', 'base_url'] as const) {
      const value = provider[field];
      if (value && !isHttpUrl(value)) problems.push(`${at}.${field}: "${value}" is not an http(s) URL`);
    }
  }
  const aliasOwners = new Map<string, string>();
  // One upstream (provider and model) has one capacity window, whichever deployments name it.
  const capacities = new Map<string, { tpm: number | undefined; rpm: number | undefined; at: string }>();
  for (const [name, deployment] of Object.entries(raw.deployments)) {
    targetsOf(deployment).forEach((target, index) => {
      const at = deployment.targets ? `deployments.${name}.targets.${index}.provider` : `deployments.${name}.provider`;
      const here = deployment.targets ? `deployments.${name}.targets.${index}` : `deployments.${name}`;
      const upstream = `${target.provider}\u0000${target.model}`;
      const declared = capacities.get(upstream);
      if (declared === undefined) capacities.set(upstream, { tpm: target.tpm, rpm: target.rpm, at: here });
      else if (declared.tpm !== target.tpm || declared.rpm !== target.rpm) {
        problems.push(
          `${here}: provider "${target.provider}" model "${target.model}" is also a target at ${declared.at} with another tpm/rpm; one upstream has one capacity, so give it the same tpm and rpm everywhere`,
        );
      }
      const providerType = raw.providers[target.provider]?.type;
      if (providerType === undefined) problems.push(`${at}: unknown provider "${target.provider}"`);
      else if (deployment.responses_api === 'native' && !NATIVE_RESPONSES_PROVIDERS.has(providerType)) {
        problems.push(
          `deployments.${name}.responses_api: "native" needs an openai, azure-openai or openai-compatible provider ("${target.provider}" is ${providerType})`,
        );
      }
    });
    (deployment.aliases ?? []).forEach((alias, index) => {
      const at = `deployments.${name}.aliases.${index}`;
      const owner = aliasOwners.get(alias);
      if (raw.deployments[alias]) problems.push(`${at}: "${alias}" is the name of deployment "${alias}"`);
      else if (owner !== undefined && owner !== name) problems.push(`${at}: "${alias}" is also an alias of deployment "${owner}"`);
      aliasOwners.set(alias, name);
    });
  }
  problems.push(...crossCheckFallbacks(raw));
  problems.push(...crossCheckDeploymentTypes(raw));
  problems.push(...crossCheckContentSafety(raw));
  return problems;
}

/** The zones a deployment's targets may process data in (their providers' `data_zone`); undefined when one is not declared. */
function zonesOf(raw: z.infer<typeof configSchema>, name: string): Set<string> | undefined {
  const deployment = raw.deployments[name];
  if (!deployment) return undefined;
  const zones = new Set<string>();
  for (const target of targetsOf(deployment)) {
    const zone = raw.providers[target.provider]?.data_zone;
    if (zone === undefined) return undefined;
    zones.add(zone);
  }
  return zones;
}

/**
 * Fallbacks: each names a deployment, none leads back to where it started, and none takes data
 * out of the zones the deployment keeps it in (a deployment whose targets all declare a zone other
 * than `global` may only fall back to deployments whose targets stay inside those zones).
 */
function crossCheckFallbacks(raw: z.infer<typeof configSchema>): string[] {
  const problems: string[] = [];
  for (const [name, deployment] of Object.entries(raw.deployments)) {
    (deployment.fallbacks ?? []).forEach((fallback, index) => {
      const at = `deployments.${name}.fallbacks.${index}.deployment`;
      if (!raw.deployments[fallback.deployment]) return problems.push(`${at}: unknown deployment "${fallback.deployment}"`);
      const kept = zonesOf(raw, name);
      const reached = zonesOf(raw, fallback.deployment);
      if (kept && !kept.has('global')) {
        const outside = reached === undefined ? ['(undeclared)'] : [...reached].filter((zone) => !kept.has(zone));
        if (outside.length > 0) {
          problems.push(`${at}: "${fallback.deployment}" processes data in ${outside.join(', ')}, outside this deployment's zones (${[...kept].join(', ')})`);
        }
      }
    });
  }
  // A cycle: following fallbacks from a deployment reaches it again.
  const reported = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    for (const fallback of raw.deployments[name]?.fallbacks ?? []) {
      const next = fallback.deployment;
      if (next === path[0]) {
        const cycle = [...path, next].join(' -> ');
        const key = [...path].sort().join(',');
        if (!reported.has(key)) {
          reported.add(key);
          problems.push(`deployments.${path[0]}.fallbacks: a cycle of fallbacks: ${cycle}`);
        }
      } else if (!path.includes(next) && raw.deployments[next]) visit(next, [...path, next]);
    }
  };
  for (const name of Object.keys(raw.deployments)) visit(name, [name]);
  return problems;
}

/** The region a target serves from as declared in the file (its own, else its provider's); undefined when neither names one. */
function declaredRegion(raw: z.infer<typeof configSchema>, target: { provider: string; region?: string }): string | undefined {
  return target.region ?? raw.providers[target.provider]?.region;
}

/**
 * Deployment types, as Azure's: a `data_zone` deployment's targets all declare one data zone (not
 * `global`), a `regional` deployment's all serve from one declared region (the target's own or its
 * provider's; the server's region is not a declaration), and a regional deployment's fallbacks stay
 * in its region (a data zone deployment's are held to its zone by the fallback check). `global`
 * may go anywhere. Targets with an unknown provider are reported elsewhere.
 */
function crossCheckDeploymentTypes(raw: z.infer<typeof configSchema>): string[] {
  const problems: string[] = [];
  for (const [name, deployment] of Object.entries(raw.deployments)) {
    if (deployment.type === undefined || deployment.type === 'global') continue;
    const targetPath = (index: number): string => (deployment.targets ? `deployments.${name}.targets.${index}` : `deployments.${name}`);
    const seen = new Set<string>();
    targetsOf(deployment).forEach((target, index) => {
      const provider = raw.providers[target.provider];
      if (!provider) return;
      if (deployment.type === 'data_zone') {
        const zone = provider.data_zone;
        if (zone === undefined)
          problems.push(`${targetPath(index)}.provider: provider "${target.provider}" declares no data_zone, which a data_zone deployment needs`);
        else if (zone === 'global')
          problems.push(`${targetPath(index)}.provider: provider "${target.provider}" is in data zone "global", which a data_zone deployment may not use`);
        else seen.add(zone);
      } else {
        const region = declaredRegion(raw, target);
        if (region === undefined) problems.push(`${targetPath(index)}.region: a regional deployment's target needs a region (its own or its provider's)`);
        else seen.add(region);
      }
    });
    const what = deployment.type === 'data_zone' ? 'data zone' : 'region';
    if (seen.size > 1)
      problems.push(`deployments.${name}.type: "${deployment.type}" needs every target in one ${what} (its targets are in ${[...seen].join(', ')})`);
    if (deployment.type !== 'regional' || seen.size !== 1) continue;
    const [region] = seen;
    (deployment.fallbacks ?? []).forEach((fallback, index) => {
      const other = raw.deployments[fallback.deployment];
      if (!other) return;
      const outside = new Set(targetsOf(other).map((target) => declaredRegion(raw, target) ?? '(undeclared)'));
      outside.delete(region);
      if (outside.size > 0) {
        problems.push(
          `deployments.${name}.fallbacks.${index}.deployment: "${fallback.deployment}" serves from ${[...outside].join(', ')}, outside this regional deployment's region (${region})`,
        );
      }
    });
  }
  return problems;
}

/**
 * Content-safety references: a misspelt name must stop the configuration, never leave a deployment
 * unfiltered (an unknown policy) or fail every request (an unknown classifier). Policy names a
 * deployment may use are the configured ones, `default` (built in when not configured) and `none`.
 */
function crossCheckContentSafety(raw: z.infer<typeof configSchema>): string[] {
  const problems: string[] = [];
  const safety = raw.content_safety;
  const quoted = (names: Iterable<string>): string => [...names].map((name) => `"${name}"`).join(', ');
  const classifierNames = new Set(['local', ...Object.keys(safety.classifiers)]);
  const policyNames = new Set([...Object.keys(safety.policies), 'default', 'none']);
  for (const [name, classifier] of Object.entries(safety.classifiers)) {
    if ('deployment' in classifier && !raw.deployments[classifier.deployment]) {
      problems.push(`content_safety.classifiers.${name}.deployment: unknown deployment "${classifier.deployment}"`);
    }
  }
  for (const [name, policy] of Object.entries(safety.policies)) {
    policy.classifiers.forEach((classifier, index) => {
      if (!classifierNames.has(classifier)) {
        problems.push(`content_safety.policies.${name}.classifiers.${index}: unknown classifier "${classifier}" (expected one of ${quoted(classifierNames)})`);
      }
    });
  }
  for (const [deployment, policy] of Object.entries(safety.deployments)) {
    const at = `content_safety.deployments.${deployment}`;
    if (!raw.deployments[deployment]) problems.push(`${at}: unknown deployment "${deployment}"`);
    if (!policyNames.has(policy)) problems.push(`${at}: unknown policy "${policy}" (expected one of ${quoted(policyNames)})`);
  }
  return problems;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Parses and validates configuration text; throws ConfigError listing every problem. */
export function parseConfig(text: string, source: string, env: NodeJS.ProcessEnv = process.env): Config {
  let document: unknown;
  try {
    document = parseYaml(text) ?? {};
  } catch (error) {
    const detail = error instanceof YAMLParseError ? error.message : String(error);
    throw new ConfigError(source, [`(yaml): ${detail}`]);
  }
  const missing = new Map<string, string[]>();
  const interpolated = interpolate(document, '', env, missing);
  const result = configSchema.safeParse(interpolated);
  if (!result.success) throw new ConfigError(source, result.error.issues.map(formatIssue));
  const raw = result.data;
  const problems = crossCheck(raw);
  if (problems.length > 0) throw new ConfigError(source, problems);

  const missingVariables: Record<string, string[]> = {};
  const unsetVariables: Record<string, string[]> = Object.fromEntries(missing);
  for (const [path, names] of missing) {
    const match = /^providers\.([^.]+)\./.exec(path);
    if (match) (missingVariables[match[1]] ??= []).push(...names);
  }
  return deepFreeze({
    ...raw,
    providers: raw.providers as Record<string, ProviderConfig>,
    missingVariables,
    unsetVariables,
    source,
  });
}

/** Reads, parses and validates a configuration file. */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(path, [`(file): cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`]);
  }
  return parseConfig(text, path, env);
}
