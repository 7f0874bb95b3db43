/** The admin API's answers the portal reads (see src/admin/operations/*). */
export interface Listing<T> {
  readonly data: T[];
}

export interface Project {
  readonly id: string;
  readonly organizationId: string;
  readonly name: string;
  readonly keyAuthEnabled: boolean;
  readonly createdAt: number;
}

export interface ApiKey {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly prefix: string;
  readonly deployments: string[] | null;
  readonly expiresAt: number | null;
  readonly revokedAt: number | null;
  readonly createdAt: number;
  readonly lastUsedAt: number | null;
  readonly createdBy: string | null;
}

/** `keys.create`'s answer: the key record plus the secret, shown once. */
export interface CreatedKey extends ApiKey {
  readonly key: string;
}

export interface Prices {
  readonly input_per_million: number;
  readonly cached_input_per_million: number;
  readonly cache_write_per_million: number;
  readonly output_per_million: number;
  readonly per_image: number;
}

export interface DeploymentPolicy {
  readonly deployment: string;
  readonly gated: boolean;
  readonly tpm: number | null;
  readonly prices: Prices | null;
  /** The content-filter policy the configuration gives it (`content_safety.deployments`, else `default`). */
  readonly content_filter: string;
}

export interface TargetState {
  readonly id: string;
  readonly provider: string;
  readonly model: string;
  readonly region: string;
  readonly state: string;
  readonly drained: boolean;
  readonly cooling_until: string | null;
  readonly latency_ewma_ms: number | null;
}

export interface DeploymentTargets {
  readonly deployment: string;
  readonly type: string | null;
  readonly strategy: string;
  readonly fallbacks: ReadonlyArray<{ deployment: string; on: string[] }>;
  readonly health_sharing: string;
  readonly targets: TargetState[];
}
