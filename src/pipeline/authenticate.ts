import type { ResidencyPin } from '../routing/residency.js';
import type { Role, Scope } from '../storage/storage.js';

/** A role held on an organization or a project. */
export interface RoleGrant {
  readonly scope: Scope;
  readonly scopeId: string;
  readonly role: Role;
}

/**
 * Who is calling:
 * - `master`: the bootstrap owner credential, allowed everything;
 * - `key`: a managed API key, scoped to one project (and optionally some deployments);
 * - `user`: a person or workload with a validated OIDC token, holding roles.
 */
export type Principal =
  | { readonly kind: 'master'; readonly id: 'master' }
  | {
      readonly kind: 'key';
      readonly id: string;
      readonly organizationId: string;
      readonly projectId: string;
      readonly deployments: ReadonlySet<string> | null;
      /** The key's visible prefix (never the key), for access logs. */
      readonly prefix?: string;
      /** Where its requests may be processed: its project's pin narrowed by its own, built once per policy snapshot; absent: anywhere. */
      readonly residency?: ResidencyPin;
    }
  | { readonly kind: 'user'; readonly id: string; readonly organizationId: string; readonly roles: readonly RoleGrant[] };

/** Stage 1: turns the presented credential into a principal or throws AuthenticationError. */
export interface Authenticator {
  authenticate(credential: string | undefined): Principal | Promise<Principal>;
}
