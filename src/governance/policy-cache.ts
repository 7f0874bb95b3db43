import type { Principal } from '../pipeline/authenticate.js';
import { compileBlocklists, validateTerm } from '../safety/blocklist/blocklist-matcher.js';
import type { BlocklistScanner } from '../safety/content-filter.js';
import type { ApiKey, BlocklistWithTerms, Budget, BudgetScope, DeploymentPolicy, Organization, Project, Storage } from '../storage/storage.js';

/** A key as the authentication stage needs it: no storage round trip per request. */
export interface KeyEntry {
  /** `key.suspendedAt` is set for a key suspended by abuse monitoring or an operator (answer 403 `key_suspended`). */
  readonly key: ApiKey;
  readonly project: Project;
  /** Built once per snapshot, shared by every request made with the key. */
  readonly principal: Principal;
}

interface Snapshot {
  keysByHash: Map<string, KeyEntry>;
  organizations: Map<string, Organization>;
  projects: Map<string, Project>;
  policies: Map<string, DeploymentPolicy>;
  /** projectId -> deployment (or '*') -> TPM */
  quotas: Map<string, Map<string, number>>;
  budgets: Map<string, Budget>;
  /** projectId -> approved gated deployments */
  approvals: Map<string, Set<string>>;
  /** projectId -> its custom blocklists with their terms */
  blocklists: Map<string, BlocklistWithTerms[]>;
  /** projectId -> compiled scanner (null: none), filled on first use: compiled once per snapshot. */
  scanners: Map<string, BlocklistScanner | null>;
  /** projectId -> deployment (or '*') -> content-filter policy name */
  filterPolicies: Map<string, Map<string, string>>;
}

const EMPTY: Snapshot = {
  keysByHash: new Map(),
  organizations: new Map(),
  projects: new Map(),
  policies: new Map(),
  quotas: new Map(),
  budgets: new Map(),
  approvals: new Map(),
  blocklists: new Map(),
  scanners: new Map(),
  filterPolicies: new Map(),
};

/**
 * Everything the request path needs to decide on a request — keys (with their suspension),
 * projects, deployment policies, quotas, budgets, limited-access approvals, projects' custom
 * blocklists and content-filter policy assignments — held in memory as one immutable snapshot. A change
 * published on the storage change feed (by any replica) triggers a reload, so revocations and
 * policy changes apply everywhere within the feed's delivery time. Any message triggers it,
 * including the feed's resync after a lost connection; a periodic reload bounds staleness should
 * a message ever be lost some other way.
 */
export class PolicyCache {
  private readonly storage: Storage;
  private readonly refreshIntervalMs: number;
  private snapshot: Snapshot = EMPTY;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private readonly listeners = new Set<() => void>();
  private readonly onBlocklistError: (error: unknown, projectId: string) => void;

  /**
   * @param options.onBlocklistError told when a project's stored blocklists do not compile as a
   *   whole (a term valid when added but refused by today's rules); the valid terms still apply.
   */
  constructor(storage: Storage, options: { refreshIntervalMs?: number; onBlocklistError?: (error: unknown, projectId: string) => void } = {}) {
    this.storage = storage;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 60_000;
    this.onBlocklistError = options.onBlocklistError ?? (() => {});
  }

  async start(): Promise<void> {
    await this.reload();
    this.unsubscribe = await this.storage.changes.subscribe(() => void this.reload());
    this.timer = setInterval(() => void this.reload(), this.refreshIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.unsubscribe?.();
    await this.reloading;
  }

  /** Called after each reload (e.g. to reset budget counters' limits). */
  onReload(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Reloads the snapshot; overlapping calls coalesce into one more run after the current one. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        this.snapshot = await this.read();
        for (const listener of this.listeners) listener();
      } while (this.reloadAgain);
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  private async read(): Promise<Snapshot> {
    const { storage } = this;
    const now = Date.now();
    const [organizations, projects, keys, policies, quotas, budgets, approved, blocklists, filterPolicies] = await Promise.all([
      storage.organizations.list(),
      storage.projects.list(),
      storage.keys.listActive(now),
      storage.deployments.list(),
      storage.quotas.list(),
      storage.budgets.list(),
      storage.access.list({ status: 'approved' }),
      storage.blocklists.allForProjects(),
      storage.safetySettings.list(),
    ]);
    const projectMap = new Map(projects.map((project) => [project.id, project]));
    const keysByHash = new Map<string, KeyEntry>();
    for (const key of keys) {
      const project = projectMap.get(key.projectId);
      if (!project) continue;
      const principal: Principal = Object.freeze({
        kind: 'key',
        id: key.id,
        organizationId: project.organizationId,
        projectId: project.id,
        deployments: key.deployments ? new Set(key.deployments) : null,
        prefix: key.prefix,
      });
      keysByHash.set(key.hash, { key, project, principal });
    }
    const quotaMap = new Map<string, Map<string, number>>();
    for (const quota of quotas) {
      let perProject = quotaMap.get(quota.projectId);
      if (!perProject) quotaMap.set(quota.projectId, (perProject = new Map()));
      perProject.set(quota.deployment, quota.tpm);
    }
    const approvals = new Map<string, Set<string>>();
    for (const request of approved) {
      let set = approvals.get(request.projectId);
      if (!set) approvals.set(request.projectId, (set = new Set()));
      set.add(request.deployment);
    }
    const blocklistMap = new Map<string, BlocklistWithTerms[]>();
    for (const list of blocklists) {
      if (!projectMap.has(list.projectId)) continue;
      let perProject = blocklistMap.get(list.projectId);
      if (!perProject) blocklistMap.set(list.projectId, (perProject = []));
      perProject.push(list);
    }
    const filterPolicyMap = new Map<string, Map<string, string>>();
    for (const assignment of filterPolicies) {
      let perProject = filterPolicyMap.get(assignment.projectId);
      if (!perProject) filterPolicyMap.set(assignment.projectId, (perProject = new Map()));
      perProject.set(assignment.deployment, assignment.policy);
    }
    return {
      keysByHash,
      organizations: new Map(organizations.map((org) => [org.id, org])),
      projects: projectMap,
      policies: new Map(policies.map((policy) => [policy.deployment, policy])),
      quotas: quotaMap,
      budgets: new Map(budgets.map((budget) => [`${budget.scope}:${budget.scopeId}`, budget])),
      approvals,
      blocklists: blocklistMap,
      scanners: new Map(),
      filterPolicies: filterPolicyMap,
    };
  }

  /**
   * The active key with this hash, unless it expired since the snapshot was taken. Suspended keys
   * are returned (with `entry.key.suspendedAt` set): the caller refuses them with 403, not 401.
   */
  keyByHash(hash: string, now = Date.now()): KeyEntry | undefined {
    const entry = this.snapshot.keysByHash.get(hash);
    if (!entry || entry.key.revokedAt !== null) return undefined;
    if (entry.key.expiresAt !== null && entry.key.expiresAt <= now) return undefined;
    return entry;
  }

  project(id: string): Project | undefined {
    return this.snapshot.projects.get(id);
  }

  organization(id: string): Organization | undefined {
    return this.snapshot.organizations.get(id);
  }

  policy(deployment: string): DeploymentPolicy | undefined {
    return this.snapshot.policies.get(deployment);
  }

  /** The project's TPM on a deployment: its own quota, else its '*' quota, else null (unlimited). */
  projectTpm(projectId: string, deployment: string): number | null {
    const quotas = this.snapshot.quotas.get(projectId);
    return quotas?.get(deployment) ?? quotas?.get('*') ?? null;
  }

  isApproved(projectId: string, deployment: string): boolean {
    return this.snapshot.approvals.get(projectId)?.has(deployment) ?? false;
  }

  budget(scope: BudgetScope, scopeId: string): Budget | undefined {
    return this.snapshot.budgets.get(`${scope}:${scopeId}`);
  }

  budgets(): Budget[] {
    return [...this.snapshot.budgets.values()];
  }

  /**
   * The project's custom blocklists compiled into one scanner, or undefined when it has no terms.
   * Compiled on first use and kept until the next reload.
   */
  blocklistsFor(projectId: string | undefined): BlocklistScanner | undefined {
    if (projectId === undefined) return undefined;
    const snapshot = this.snapshot;
    const known = snapshot.scanners.get(projectId);
    if (known !== undefined) return known ?? undefined;
    const lists = (snapshot.blocklists.get(projectId) ?? []).filter((list) => list.terms.length > 0);
    const scanner = lists.length === 0 ? undefined : this.compile(projectId, lists);
    snapshot.scanners.set(projectId, scanner ?? null);
    return scanner;
  }

  /** The project's blocklists with their terms (as loaded; for listing). */
  projectBlocklists(projectId: string): readonly BlocklistWithTerms[] {
    return this.snapshot.blocklists.get(projectId) ?? [];
  }

  /** The content-filter policy the project chose for the deployment: its own assignment, else its '*' one, else undefined. */
  /** Every project's content-filter choice per deployment (`*`: all of them), as stored. */
  filterPolicyChoices(): Array<{ projectId: string; deployment: string; policy: string }> {
    const choices: Array<{ projectId: string; deployment: string; policy: string }> = [];
    for (const [projectId, byDeployment] of this.snapshot.filterPolicies) {
      for (const [deployment, policy] of byDeployment) choices.push({ projectId, deployment, policy });
    }
    return choices;
  }

  filterPolicyFor(projectId: string | undefined, deployment: string): string | undefined {
    if (projectId === undefined) return undefined;
    const assigned = this.snapshot.filterPolicies.get(projectId);
    return assigned?.get(deployment) ?? assigned?.get('*');
  }

  private compile(projectId: string, lists: readonly BlocklistWithTerms[]): BlocklistScanner | undefined {
    const definitions = lists.map((list) => ({ id: list.id, terms: list.terms.map(({ kind, value }) => ({ kind, value })) }));
    try {
      return compileBlocklists(definitions);
    } catch (error) {
      // A stored term today's rules refuse: report it, and apply the others.
      this.onBlocklistError(error, projectId);
      const valid = definitions.map((list) => ({
        id: list.id,
        terms: list.terms.filter((term) => {
          try {
            validateTerm(term.kind, term.value);
            return true;
          } catch {
            return false;
          }
        }),
      }));
      try {
        return valid.some((list) => list.terms.length > 0) ? compileBlocklists(valid) : undefined;
      } catch (again) {
        this.onBlocklistError(again, projectId);
        return undefined;
      }
    }
  }
}
