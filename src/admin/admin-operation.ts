import { z } from 'zod';
import type { Principal } from '../pipeline/authenticate.js';
import type { DeploymentRoutes } from '../pipeline/pick-target.js';
import type { TargetHealthControl } from '../routing/health-sharing.js';
import type { BudgetPeriodUse } from '../governance/budget/budget-guard.js';
import type { AuditInput, Budget, Storage } from '../storage/storage.js';

/**
 * The admin API is one table of operations. Each entry is served over HTTP under `/admin/v1`,
 * described in the OpenAPI document and exposed as a CLI subcommand, from the same definition, so
 * the three cannot drift apart. Every call is authorised inside `run`, by role, and every change is
 * appended to the audit log and announced on the change feed by `run` itself.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface AdminContext {
  readonly storage: Storage;
  readonly principal: Principal;
  /** Caller's address (HTTP) or `cli`. */
  readonly source: string;
  readonly now: number;
  /** Deployment names in the running configuration. */
  readonly deployments: readonly string[];
  /** Content-filter policy names in the running configuration (`content_safety.policies`). */
  readonly filterPolicies: readonly string[];
  /** The content-filter policy the configuration gives each deployment it names (`content_safety.deployments`); others get `default`. */
  readonly deploymentFilterPolicies: Readonly<Record<string, string>>;
  /**
   * A deployment's targets and their live health on this replica, from the table in force;
   * absent where no server runs (the CLI working on the database directly).
   */
  readonly routes?: (name: string) => DeploymentRoutes | undefined;
  /**
   * Drains and restores targets on every replica sharing health (Redis), and tells whether a
   * target's state came from another replica; absent, a drain changes the table in force only.
   */
  readonly health?: TargetHealthControl;
  /**
   * A budget's periods with what its live counters hold (requests in flight included); absent where
   * no server runs (the CLI), where operations read the ledger's recorded spend instead.
   */
  readonly budgetUse?: (budget: Budget, now: number) => Promise<BudgetPeriodUse[]>;
  /**
   * A project's use of its quota on a deployment in the current windows (tokens this minute,
   * requests this 10 s), from the live counters; absent where no server runs (the CLI).
   */
  readonly quotaUse?: (projectId: string, deployment: string, now: number) => Promise<{ tokens: number; requests: number }>;
  /**
   * Appends to the audit log with this call's actor and source filled in; `action` defaults to the
   * operation's id (give it only for a second entry about another thing, e.g. the key a review suspends).
   */
  audit(entry: Omit<AuditInput, 'at' | 'actor' | 'source' | 'action'> & { action?: string }): Promise<void>;
  /** Tells every replica's cache that something changed. */
  changed(topic: string, id: string): Promise<void>;
}

export interface AdminOperation<Input = unknown> {
  /** `area.verb`; the CLI command is the same words: `cerulean area verb`. */
  readonly id: string;
  readonly method: HttpMethod;
  /** Path under /admin/v1, with `:name` parameters that are also input fields. */
  readonly path: string;
  readonly summary: string;
  /** Validates path parameters, query and body together (CLI flags arrive as strings: coerce). */
  readonly input: z.ZodType<Input>;
  /** HTTP status on success (default 200). */
  readonly status?: number;
  run(context: AdminContext, input: Input): Promise<unknown>;
  /** When set, the result can also be rendered as CSV (`format=csv`). */
  readonly csv?: (result: unknown) => string;
  /**
   * Input fields the CLI also takes as plain arguments, in this order (`cerulean targets drain chat
   * up/gpt-4o` for `--deployment chat --target up/gpt-4o`).
   */
  readonly positional?: readonly string[];
  /**
   * The list in the result the CLI prints as a table, after the result's other fields as
   * `name: value` lines; `columns`, when given, are the ones shown (else every field of the rows).
   */
  readonly table?: { readonly field: string; readonly columns?: readonly string[] };
}

export function defineOperation<Input>(operation: AdminOperation<Input>): AdminOperation<unknown> {
  return operation as AdminOperation<unknown>;
}

/** Actor string recorded in the audit log. */
export function actorOf(principal: Principal): string {
  return principal.kind === 'master' ? 'master' : `${principal.kind}:${principal.id}`;
}

// Input helpers shared by operation definitions: CLI flags are strings, HTTP bodies are JSON.

export const idString = z.string().min(1).max(200);

export const nameString = z.string().trim().min(1).max(200);

/** A list given as an array or as a comma-separated string (as the CLI passes it). */
export function commaList<T extends z.ZodType>(list: T) {
  return z.preprocess(
    (value) =>
      typeof value === 'string'
        ? value
            .split(',')
            .map((item) => item.trim())
            .filter(Boolean)
        : value,
    list,
  );
}

export const stringList = commaList(z.array(z.string().min(1)).min(1));

export const booleanFlag = z.preprocess((value) => (value === 'true' ? true : value === 'false' ? false : value), z.boolean());

export const nonNegativeNumber = z.coerce.number().nonnegative();

export const positiveInteger = z.coerce.number().int().positive();

/** The JSON Schema `format` of {@link timestamp} fields, by which the CLI knows them. */
export const TIME_FORMAT = 'epoch-ms-or-iso-8601';

/** Epoch milliseconds from a number, an ISO date or a date-time. */
export const timestamp = z
  .preprocess(
    (value) => {
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
      if (typeof value === 'string') {
        const parsed = Date.parse(value);
        return Number.isNaN(parsed) ? value : parsed;
      }
      return value;
    },
    z.number({ error: 'expected a time (epoch ms or ISO 8601)' }),
  )
  .meta({ format: TIME_FORMAT });

const DURATION = /^(\d+)\s*(m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `90m`, `2w` or an ISO date: returns an absolute expiry time. */
export function parseExpiry(value: string, now: number): number | null {
  const match = DURATION.exec(value.trim());
  if (match) return now + Number(match[1]) * UNIT_MS[match[2]];
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : date;
}

/** USD (decimal) to integer micro-dollars. */
export function toMicros(usd: number): number {
  return Math.round(usd * 1_000_000);
}

export function fromMicros(micros: number): number {
  return micros / 1_000_000;
}
