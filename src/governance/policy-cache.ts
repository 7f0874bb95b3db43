import type { Principal } from '../pipeline/authenticate.js';
import type { ApiKey, Budget, BudgetScope, DeploymentPolicy, Organization, Project, Storage } from '../storage/storage.js';

/** A key as the authentication stage needs it: no storage round trip per request. */
export interface KeyEntry {
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
}

const EMPTY: Snapshot = {
  keysByHash: new Map(),
  organizations: new Map(),
  projects: new Map(),
  policies: new Map(),
  quotas: new Map(),
  budgets: new Map(),
  approvals: new Map(),
};

/**
 * Everything the request path needs to decide on a request — keys, projects, deployment policies,
 * quotas, budgets, limited-access approvals — held in memory as one immutable snapshot. A change
 * published on the storage change feed (by any replica) triggers a reload, so revocations and
 * policy changes apply everywhere within the feed's delivery time; a periodic reload bounds
 * staleness should a message ever be lost.
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

  constructor(storage: Storage, options: { refreshIntervalMs?: number } = {}) {
    this.storage = storage;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 60_000;
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
    const [organizations, projects, keys, policies, quotas, budgets, approved] = await Promise.all([
      storage.organizations.list(),
      storage.projects.list(),
      storage.keys.listActive(now),
      storage.deployments.list(),
      storage.quotas.list(),
      storage.budgets.list(),
      storage.access.list({ status: 'approved' }),
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
    return {
      keysByHash,
      organizations: new Map(organizations.map((org) => [org.id, org])),
      projects: projectMap,
      policies: new Map(policies.map((policy) => [policy.deployment, policy])),
      quotas: quotaMap,
      budgets: new Map(budgets.map((budget) => [`${budget.scope}:${budget.scopeId}`, budget])),
      approvals,
    };
  }

  /** The active key with this hash, unless it expired since the snapshot was taken. */
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
}
