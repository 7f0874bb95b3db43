import type { Usage } from '../providers/provider.js';
import type { Principal } from './authenticate.js';
import type { InferenceContext } from './context.js';

/**
 * Stage "admit": decides whether a request may go ahead — its principal may call this deployment,
 * it has limited access where the deployment is gated, and its quota and budget have room — and
 * reserves what it will consume. Throws the refusal (403, 429) otherwise.
 */
export interface AdmitStage {
  admit(context: InferenceContext): Promise<AdmissionTicket | undefined>;
  /**
   * Whether `principal` may call `deployment` at all (its key's scope, its project role, limited
   * access), reserving nothing: the model list shows only these.
   */
  mayUse(principal: Principal, deployment: string, projectHint: string | undefined): boolean;
  /**
   * The project `principal` acts for outside a model call (stored responses): its key's, or the one
   * a token caller names and may call models for; undefined for the master key. Throws the refusal.
   */
  projectOf(principal: Principal, projectHint: string | undefined): string | undefined;
}

/** What an admitted request holds until it ends. */
export interface AdmissionTicket {
  /** Headers every response to this request carries (x-ratelimit-*). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Replaces the reservations by what the request actually consumed (usage undefined and cost 0
   * when nothing reached the upstream). Called exactly once, by the meter stage.
   */
  settle(usage: Usage | undefined, cost: number): void;
}
