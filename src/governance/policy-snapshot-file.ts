import { readFileSync } from 'node:fs';
import { rename, unlink, writeFile } from 'node:fs/promises';
import type {
  AccessRequest,
  ApiKey,
  BlocklistWithTerms,
  Budget,
  DeploymentPolicy,
  Organization,
  Project,
  ProjectFilterPolicy,
  ProjectQuota,
} from '../storage/storage.js';

/** The rows the policy cache builds its snapshot from, as read from storage. */
export interface PolicyRows {
  organizations: Organization[];
  projects: Project[];
  /** Active keys: their hashes, never the keys themselves. */
  keys: ApiKey[];
  policies: DeploymentPolicy[];
  quotas: ProjectQuota[];
  budgets: Budget[];
  /** Approved limited-access requests. */
  approved: AccessRequest[];
  blocklists: BlocklistWithTerms[];
  filterPolicies: ProjectFilterPolicy[];
}

const FORMAT = 1;

/**
 * The last policy read from the database, kept in a file so that a replica can start, and serve
 * the keys and policies it knew, while the database is unreachable. Holds what the cache holds:
 * key hashes (never keys), projects, policies, quotas, budgets, approvals, blocklists. Written
 * owner-only (0600), through a temporary file and a rename, so a reader never sees half a file.
 */
export class PolicySnapshotFile {
  readonly path: string;
  private writing: Promise<void> | undefined;
  private next: { rows: PolicyRows; savedAt: number } | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** The saved rows and when they were read from the database; undefined when there is no usable file. */
  read(): { rows: PolicyRows; savedAt: number } | undefined {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const parsed = JSON.parse(text) as { format?: unknown; savedAt?: unknown; rows?: unknown };
    if (parsed.format !== FORMAT || typeof parsed.savedAt !== 'number' || typeof parsed.rows !== 'object' || parsed.rows === null) {
      throw new Error(`${this.path} is not a policy snapshot this version can read`);
    }
    return { rows: parsed.rows as PolicyRows, savedAt: parsed.savedAt };
  }

  /**
   * Saves the rows in the background; writes that pile up while one is in progress collapse into
   * one of the latest rows. Resolves when the file holds these rows (or newer ones).
   */
  write(rows: PolicyRows, savedAt: number): Promise<void> {
    this.next = { rows, savedAt };
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
    });
    return this.writing;
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const { rows, savedAt } = this.next;
      this.next = undefined;
      const temporary = `${this.path}.${process.pid}.tmp`;
      try {
        await writeFile(temporary, JSON.stringify({ format: FORMAT, savedAt, rows }), { mode: 0o600 });
        await rename(temporary, this.path);
      } catch (error) {
        await unlink(temporary).catch(() => undefined);
        throw error;
      }
    }
  }
}
