import type { Principal } from '../pipeline/authenticate.js';
import { compileBlocklists, validateTerm } from '../safety/blocklist/blocklist-matcher.js';
import { effectivePin, type ResidencyPin } from '../routing/residency.js';
import type { BlocklistScanner } from '../safety/content-filter.js';
import type { ApiKey, BlocklistWithTerms, Budget, BudgetScope, DeploymentPolicy, Organization, Project, Storage } from '../storage/storage.js';
import { PolicySnapshotFile, type PolicyRows } from './policy-snapshot-file.js';

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
  /** projectId -> the residency pin of its token callers' requests (keys carry theirs on their principal); absent: unpinned. */
  projectPins: Map<string, ResidencyPin>;
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
  projectPins: new Map(),
  policies: new Map(),
  quotas: new Map(),
  budgets: new Map(),
  approvals: new Map(),
  blocklists: new Map(),
  scanners: new Map(),
  filterPolicies: new Map(),
};

/** The snapshot the request path reads, built from the rows of storage (or of the snapshot file). */
function build(rows: PolicyRows): Snapshot {
  const { organizations, projects, keys, policies, quotas, budgets, approved, blocklists, filterPolicies } = rows;
  const projectMap = new Map(projects.map((project) => [project.id, project]));
  // Rows from a snapshot file written before residency pins existed lack the fields: unpinned.
  const pinOf = (row: { dataZone?: string | null; regions?: string[] | null }) => ({ dataZone: row.dataZone ?? null, regions: row.regions ?? null });
  const projectPins = new Map<string, ResidencyPin>();
  for (const project of projects) {
    const pin = effectivePin(pinOf(project));
    if (pin) projectPins.set(project.id, pin);
  }
  const keysByHash = new Map<string, KeyEntry>();
  for (const key of keys) {
    const project = projectMap.get(key.projectId);
    if (!project) continue;
    const residency = effectivePin(pinOf(project), pinOf(key));
    const principal: Principal = Object.freeze({
      kind: 'key',
      id: key.id,
      organizationId: project.organizationId,
      projectId: project.id,
      deployments: key.deployments ? new Set(key.deployments) : null,
      prefix: key.prefix,
      ...(residency ? { residency } : {}),
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
    projectPins,
    policies: new Map(policies.map((policy) => [policy.deployment, policy])),
    quotas: quotaMap,
    budgets: new Map(budgets.map((budget) => [`${budget.scope}:${budget.scopeId}`, budget])),
    approvals,
    blocklists: blocklistMap,
    scanners: new Map(),
    filterPolicies: filterPolicyMap,
  };
}

/** Where the policy in force came from: the database, the snapshot file (database unreachable at start), or nowhere yet. */
export type PolicySource = 'storage' | 'snapshot' | 'none';

/** The cache's view of the database, for `/readyz`, metrics and logs. */
export interface StorageHealth {
  /** False from the first failed read until a read succeeds again. */
  readonly available: boolean;
  /** When the current state (available or not) began, in ms. */
  readonly since: number;
  readonly policy: PolicySource;
  /** When the policy in force was read from the database (for a snapshot: when it was saved), in ms. */
  readonly policyReadAt: number | undefined;
  /** The last failure's message while unavailable. */
  readonly error: string | undefined;
}

/** What the cache reports as it happens; the service turns these into log lines and metrics. */
export type PolicyCacheEvent =
  | { readonly kind: 'outage'; readonly error: unknown }
  | { readonly kind: 'recovered'; readonly downMs: number }
  | { readonly kind: 'reload-failed'; readonly error: unknown; readonly retryInMs: number }
  | { readonly kind: 'snapshot-loaded'; readonly savedAt: number; readonly path: string }
  | { readonly kind: 'snapshot-failed'; readonly error: unknown; readonly path: string };

export interface PolicyCacheOptions {
  /** How often the policy is reread without any change message (default 60 s). */
  refreshIntervalMs?: number;
  /** Backoff of retries while the database is unreachable: from this (default 500 ms), doubling… */
  retryMinMs?: number;
  /** …up to this (default 30 s). */
  retryMaxMs?: number;
  /** Runs before the first read and again until it succeeds once (the storage migrations). */
  prepare?: () => Promise<void>;
  /** Where the last good policy is saved after each read, and loaded from when the database is unreachable at start. */
  snapshotFile?: string;
  onEvent?: (event: PolicyCacheEvent) => void;
  /**
   * Told when a project's stored blocklists do not compile as a whole (a term valid when added but
   * refused by today's rules); the valid terms still apply.
   */
  onBlocklistError?: (error: unknown, projectId: string) => void;
}

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/**
 * Everything the request path needs to decide on a request — keys (with their suspension),
 * projects, deployment policies, quotas, budgets, limited-access approvals, projects' custom
 * blocklists and content-filter policy assignments — held in memory as one immutable snapshot. A change
 * published on the storage change feed (by any replica) triggers a reload, so revocations and
 * policy changes apply everywhere within the feed's delivery time. Any message triggers it,
 * including the feed's resync after a lost connection; a periodic reload bounds staleness should
 * a message ever be lost some other way.
 *
 * The database going away never takes the policy with it: a failed read keeps the snapshot in
 * force (requests it allows go on being served), marks storage unavailable (see {@link health}),
 * reports the outage once, and retries with backoff until a read succeeds. `start` never fails
 * for want of the database: with a snapshot file it starts from the last policy saved there,
 * without one it starts empty (only the master key passes) and fills in once the database answers.
 */
export class PolicyCache {
  private readonly storage: Storage;
  private readonly refreshIntervalMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly prepare: (() => Promise<void>) | undefined;
  private readonly snapshotFile: PolicySnapshotFile | undefined;
  private readonly onEvent: (event: PolicyCacheEvent) => void;
  private snapshot: Snapshot = EMPTY;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAttempts = 0;
  private prepared = false;
  private closed = false;
  private unsubscribe: (() => Promise<void>) | undefined;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private state: StorageHealth = { available: true, since: Date.now(), policy: 'none', policyReadAt: undefined, error: undefined };
  private readonly listeners = new Set<() => void>();
  private readonly onBlocklistError: (error: unknown, projectId: string) => void;

  constructor(storage: Storage, options: PolicyCacheOptions = {}) {
    this.storage = storage;
    this.refreshIntervalMs = options.refreshIntervalMs ?? 60_000;
    this.retryMinMs = options.retryMinMs ?? RETRY_MIN_MS;
    this.retryMaxMs = options.retryMaxMs ?? RETRY_MAX_MS;
    this.prepare = options.prepare;
    this.snapshotFile = options.snapshotFile === undefined ? undefined : new PolicySnapshotFile(options.snapshotFile);
    this.onEvent = options.onEvent ?? (() => {});
    this.onBlocklistError = options.onBlocklistError ?? (() => {});
  }

  /** Prepares, subscribes to the change feed and reads the policy; when the database is unreachable, see the class comment. Never rejects for an outage. */
  async start(): Promise<void> {
    await this.attempt();
    this.timer = setInterval(() => void this.attempt(), this.refreshIntervalMs);
    this.timer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    await this.unsubscribe?.();
    await this.reloading?.catch(() => undefined);
  }

  /** Called after each reload (e.g. to reset budget counters' limits). */
  onReload(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** Whether the database answered the last read, since when, and where the policy in force came from. */
  health(): StorageHealth {
    return this.state;
  }

  /**
   * Reloads the snapshot; overlapping calls coalesce into one more run after the current one, so
   * the promise settles after a read that began after the call (what read-your-writes needs).
   * Rejects when the database cannot be read; the snapshot in force stays and a retry is scheduled.
   */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        let rows: PolicyRows;
        try {
          rows = await this.read();
        } catch (error) {
          this.failed(error);
          throw error;
        }
        this.install(build(rows));
        this.succeeded(rows);
      } while (this.reloadAgain);
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /**
   * Another component's storage call failed as if the database were away: check now rather than
   * at the next periodic reload, so the outage is reported (and `health` turns) at once. While an
   * outage is known, the retries already run; this does nothing.
   */
  storageFailed(): void {
    if (this.state.available && !this.reloading) void this.attempt();
  }

  /** One try at being in sync with the database: prepare and subscribe (until done once), then reload. Never rejects. */
  private async attempt(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.prepared) {
        await this.prepare?.();
        this.prepared = true;
      }
      // Subscribed before the read, so a change made during the read is not missed.
      this.unsubscribe ??= await this.storage.changes.subscribe(() => void this.attempt());
    } catch (error) {
      this.failed(error);
      return;
    }
    // A failure is recorded and retried by reload itself.
    await this.reload().catch(() => undefined);
  }

  private install(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const listener of this.listeners) listener();
  }

  private succeeded(rows: PolicyRows): void {
    const now = Date.now();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryAttempts = 0;
    const was = this.state;
    this.state = { available: true, since: was.available ? was.since : now, policy: 'storage', policyReadAt: now, error: undefined };
    if (!was.available) this.onEvent({ kind: 'recovered', downMs: now - was.since });
    this.snapshotFile?.write(rows, now).catch((error: unknown) => this.onEvent({ kind: 'snapshot-failed', error, path: this.snapshotFile?.path ?? '' }));
  }

  private failed(error: unknown): void {
    const now = Date.now();
    const was = this.state;
    this.state = { ...was, available: false, since: was.available ? now : was.since, error: error instanceof Error ? error.message : String(error) };
    if (was.available) this.onEvent({ kind: 'outage', error });
    if (this.state.policy === 'none') this.loadSnapshotFile();
    if (this.closed || this.retryTimer !== undefined) return;
    const delay = Math.min(this.retryMinMs * 2 ** this.retryAttempts, this.retryMaxMs);
    this.retryAttempts += 1;
    this.onEvent({ kind: 'reload-failed', error, retryInMs: delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.attempt();
    }, delay);
    // Retrying alone must not keep the process alive.
    this.retryTimer.unref();
  }

  /** Starts from the last policy saved, when the database could not be read before anything was loaded. */
  private loadSnapshotFile(): void {
    const file = this.snapshotFile;
    if (!file) return;
    try {
      const saved = file.read();
      if (!saved) return;
      this.install(build(saved.rows));
      this.state = { ...this.state, policy: 'snapshot', policyReadAt: saved.savedAt };
      this.onEvent({ kind: 'snapshot-loaded', savedAt: saved.savedAt, path: file.path });
    } catch (error) {
      this.onEvent({ kind: 'snapshot-failed', error, path: file.path });
    }
  }

  private async read(): Promise<PolicyRows> {
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
    return { organizations, projects, keys, policies, quotas, budgets, approved, blocklists, filterPolicies };
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

  /** The residency pin of the project's requests made without a key (token callers); undefined: unpinned. */
  projectPin(id: string): ResidencyPin | undefined {
    return this.snapshot.projectPins.get(id);
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
