import { z } from 'zod';

/** Provider types Cerulean can call; each has a folder under src/providers/. */
export const PROVIDER_TYPES = ['openai', 'openai-compatible', 'azure-openai', 'anthropic', 'gemini'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

const duration = z.number().int().positive();

const timeoutsSchema = z
  .strictObject({
    connect_ms: duration.default(5_000),
    first_byte_ms: duration.default(60_000),
    total_ms: duration.default(600_000),
  })
  .prefault({});

const retrySchema = z
  .strictObject({
    max_attempts: z.number().int().min(1).max(10).default(3),
    base_delay_ms: z.number().int().min(0).default(200),
    /** Longest wait Cerulean accepts from an upstream's retry-after before giving up and passing the 429 on. */
    max_delay_ms: z.number().int().min(0).default(10_000),
  })
  .prefault({});

const providerSchema = z.strictObject({
  type: z.string(),
  api_key: z.string().optional(),
  /** Azure: `api-key` header (default) or `bearer` (an Entra ID token in `api_key`). */
  auth: z.enum(['api-key', 'bearer']).optional(),
  endpoint: z.string().optional(),
  base_url: z.string().optional(),
  api_version: z.string().optional(),
  region: z.string().optional(),
  /** Anthropic: value of the `anthropic-version` header. */
  anthropic_version: z.string().optional(),
  /** Ask OpenAI-shaped upstreams for usage on streams (stream_options.include_usage). */
  stream_usage: z.boolean().default(true),
  headers: z.record(z.string(), z.string()).default({}),
  max_connections: z.number().int().positive().default(128),
  timeouts: timeoutsSchema,
  retry: retrySchema,
});

const deploymentSchema = z.strictObject({
  provider: z.string(),
  model: z.string().min(1),
  /** Anthropic requires max_tokens; used when the caller sends none. */
  default_max_tokens: z.number().int().positive().optional(),
});

const serverSchema = z
  .strictObject({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /** Largest accepted request body, in bytes. */
    body_limit: z
      .number()
      .int()
      .positive()
      .default(8 * 1024 * 1024),
    /** Region this instance reports in `x-ms-region` when the deployment's provider names none. */
    region: z.string().default('local'),
    /** How long SIGTERM waits for in-flight requests and streams before closing them. */
    shutdown_grace_ms: z.number().int().min(0).default(30_000),
    /**
     * After SIGTERM, the least time the listener stays open answering `/readyz` with 503 (and new
     * requests with 503 `shutting_down`), so a load balancer sees the instance leave before its port
     * closes. Draining in-flight requests may keep it open longer, up to `shutdown_grace_ms`.
     */
    drain_delay_ms: z.number().int().min(0).default(0),
    /**
     * Which peers' `x-forwarded-for` to believe, so that logs and the audit log record the caller's
     * address rather than a reverse proxy's: `false` (default, the socket's address), `true` (any
     * peer: only when nothing but the proxy can reach Cerulean), or a list of proxy addresses and
     * CIDR ranges. (No hop count: it cannot check the peer, so anyone could forge the header.)
     */
    trust_proxy: z.union([z.boolean(), z.array(z.string().min(1)).min(1)]).default(false),
  })
  .prefault({});

const oidcIssuerSchema = z.strictObject({
  issuer: z.string().min(1),
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  /** The issuer's JWKS URL (Entra ID: https://login.microsoftonline.com/TENANT/discovery/v2.0/keys). */
  jwks_uri: z.url(),
  /** Users signing in through this issuer belong to this organization. */
  organization: z.string().min(1),
  roles_claim: z.string().default('roles'),
  role_map: z.record(z.string(), z.enum(['owner', 'admin', 'contributor', 'user', 'reader'])).default({}),
  email_claim: z.string().default('email'),
});

const threshold = z.enum(['low', 'medium', 'high', 'annotate', 'off']);
const directionThresholds = z
  .strictObject({
    hate: threshold.default('medium'),
    sexual: threshold.default('medium'),
    violence: threshold.default('medium'),
    self_harm: threshold.default('medium'),
  })
  .prefault({});
const shieldAction = z.enum(['block', 'annotate', 'off']);

const filterPolicySchema = z.strictObject({
  /** Classifiers whose verdicts are combined (the highest severity wins). `local` is built in. */
  classifiers: z.array(z.string().min(1)).min(1).default(['local']),
  /** Per category: block at this severity and above (low, medium, high), annotate only, or off. */
  prompt: directionThresholds,
  completion: directionThresholds,
  jailbreak: shieldAction.default('block'),
  indirect_attack: shieldAction.default('off'),
  profanity: shieldAction.default('off'),
  pii: z
    .strictObject({
      action: z.enum(['redact', 'block', 'annotate', 'off']).default('off'),
      types: z.array(z.enum(['email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'secret'])).optional(),
      directions: z.array(z.enum(['prompt', 'completion'])).default(['prompt', 'completion']),
    })
    .prefault({}),
  /** Streams: `buffered` releases text only once checked; `async` relays at once and checks behind. */
  stream_mode: z.enum(['buffered', 'async']).default('buffered'),
  /** Characters of completion text checked at a time in streams (the first windows are smaller: 32, 64, … up to this). */
  stream_check_chars: z.number().int().min(50).max(10_000).default(1000),
  /** Send Azure's extra stream frames (prompt annotations with empty choices, annotation-only frames). */
  stream_annotations: z.boolean().default(true),
  /** When a classifier cannot answer: annotate `content_filter_error` and go on (open) or refuse (closed). */
  on_error: z.enum(['fail_open', 'fail_closed']).default('fail_open'),
});

const classifierSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('local') }),
  /** An OpenAI-compatible `/moderations` endpoint, reached through one of Cerulean's deployments. */
  z.strictObject({ type: z.literal('openai-moderation'), deployment: z.string().min(1), timeout_ms: z.number().int().positive().default(5_000) }),
  /** A Llama Guard-style chat model, reached through one of Cerulean's deployments. */
  z.strictObject({ type: z.literal('llama-guard'), deployment: z.string().min(1), timeout_ms: z.number().int().positive().default(10_000) }),
  /** Azure AI Content Safety's text API (text:analyze, text:shieldPrompt). */
  z.strictObject({
    type: z.literal('azure-content-safety'),
    endpoint: z.url(),
    api_key: z.string(),
    api_version: z.string().default('2024-09-01'),
    timeout_ms: z.number().int().positive().default(5_000),
  }),
]);

/**
 * Abuse monitoring (src/safety/abuse/): flagged (anything detected) and blocked filter verdicts are
 * counted per API key, per project and per end user (the request's `user` field) over sliding
 * windows. `flag_threshold` flagged requests within `window_minutes` open a review and notify;
 * `block_threshold` blocked requests within it throttle the subject (429 for `throttle_minutes`);
 * `suspend_threshold` blocked requests within `long_window_hours` suspend it (keys: 403
 * `key_suspended` until an operator reinstates them). Each step happens only if listed in `actions`;
 * throttling and suspension apply to keys and end users (a project only by an operator's decision).
 */
const abuseMonitoringSchema = z.strictObject({
  window_minutes: z.number().int().positive().default(15),
  long_window_hours: z.number().int().positive().default(24),
  flag_threshold: z.number().int().positive().default(10),
  block_threshold: z.number().int().positive().default(5),
  /** Blocked requests within the long window; default three times `block_threshold`. */
  suspend_threshold: z.number().int().positive().optional(),
  actions: z.array(z.enum(['notify', 'throttle', 'suspend'])).default(['notify', 'throttle']),
  /** Receives a JSON POST per escalation when `notify` is on (fire-and-forget, never delays a request). */
  webhook_url: z.url().optional(),
  webhook_timeout_ms: z.number().int().positive().default(5_000),
  throttle_minutes: z.number().int().positive().default(15),
  /** Days offending text is kept for reviewers; 0 stores no text at all. */
  sample_retention_days: z.number().int().min(0).default(30),
});

export const configSchema = z.strictObject({
  server: serverSchema,
  data_dir: z.string().default('./data'),
  logging: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  providers: z.record(z.string(), providerSchema).default({}),
  deployments: z.record(z.string(), deploymentSchema).default({}),
  /** Governance state: `sqlite:PATH` (default `sqlite:<data_dir>/cerulean.db`) or `postgres://…`. */
  storage: z.strictObject({ url: z.string().min(1).optional() }).prefault({}),
  /** Shared rate-limit and budget counters for several replicas. */
  redis: z.strictObject({ url: z.string().min(1) }).optional(),
  auth: z.strictObject({ oidc: z.array(oidcIssuerSchema).default([]) }).prefault({}),
  usage: z
    .strictObject({
      flush_interval_ms: z.number().int().positive().default(1_000),
      /** Where usage records are journaled until committed; default `<data_dir>/spool`. */
      spool_dir: z.string().optional(),
    })
    .prefault({}),
  audit: z.strictObject({ retention_days: z.number().int().min(0).default(400) }).prefault({}),
  quotas: z
    .strictObject({
      /** Completion tokens the admission estimate assumes when a request sets no max_tokens. */
      default_max_tokens: z.number().int().positive().default(4096),
    })
    .prefault({}),
  content_safety: z
    .strictObject({
      classifiers: z.record(z.string(), classifierSchema).default({}),
      /** Named policies; `default` applies to every deployment not listed under `deployments`. */
      policies: z.record(z.string(), filterPolicySchema).default({}),
      /** Deployment name -> policy name (`none` turns filtering off for it). */
      deployments: z.record(z.string(), z.string()).default({}),
      /** Counting filter verdicts per key, project and end user, and acting on repeat offenders; absent = off. */
      abuse_monitoring: abuseMonitoringSchema.optional(),
    })
    .prefault({}),
});

export type RawConfig = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerSchema> & { type: ProviderType };
export type DeploymentConfig = z.infer<typeof deploymentSchema>;
export type ServerConfig = z.infer<typeof serverSchema>;
export type OidcIssuerConfig = z.infer<typeof oidcIssuerSchema>;
export type FilterPolicyConfig = z.infer<typeof filterPolicySchema>;
export type ClassifierConfig = z.infer<typeof classifierSchema>;
export type AbuseMonitoringConfig = z.infer<typeof abuseMonitoringSchema>;
export type Threshold = z.infer<typeof threshold>;

/** The validated, frozen configuration the service runs on. */
export interface Config extends Omit<RawConfig, 'providers'> {
  readonly providers: Readonly<Record<string, ProviderConfig>>;
  /** Per provider name: the environment variables its credential referenced that are unset. */
  readonly missingVariables: Readonly<Record<string, readonly string[]>>;
  /** Where the file was read from, for reload and messages. */
  readonly source: string;
}
