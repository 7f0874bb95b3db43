import { z } from 'zod';

/** Provider types Cerulean can call; each has a folder under src/providers/. */
export const PROVIDER_TYPES = ['openai', 'openai-compatible', 'azure-openai', 'anthropic', 'gemini'] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

const duration = z.number().int().positive();

const timeoutsSchema = z
  .strictObject({
    connect_ms: duration.default(5_000).describe('Milliseconds to open a connection to the upstream; 504 when exceeded.'),
    first_byte_ms: duration.default(60_000).describe("Milliseconds until the upstream's first response byte; 504 when exceeded."),
    total_ms: duration.default(600_000).describe('Milliseconds for the whole upstream exchange, streams included; 504 when exceeded.'),
    idle_ms: duration
      .optional()
      .describe(
        "Milliseconds a stream may stay silent between chunks once it began (a stall); the stream then ends in the API's error event. Unset: `first_byte_ms`.",
      ),
  })
  .prefault({})
  .describe('Upstream timeouts.');

const retrySchema = z
  .strictObject({
    max_attempts: z
      .number()
      .int()
      .min(1)
      .max(10)
      .default(3)
      .describe('Attempts in all (1 = no retry); connect errors, 429 and 5xx are retried, only before anything was sent to the caller.'),
    base_delay_ms: z.number().int().min(0).default(200).describe('First backoff delay in milliseconds; doubled on each further attempt, with jitter.'),
    max_delay_ms: z
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe("Longest wait Cerulean accepts from an upstream's retry-after before giving up and passing the 429 on."),
  })
  .prefault({})
  .describe('Retries of failed upstream calls.');

const providerSchema = z.strictObject({
  type: z.string().describe('openai, openai-compatible, azure-openai, anthropic or gemini.'),
  api_key: z.string().optional().describe('The upstream credential, usually "${VARIABLE}"; unset variables leave the provider\'s deployments answering 503.'),
  auth: z.enum(['api-key', 'bearer']).optional().describe('Azure: send `api_key` as the `api-key` header (default) or as a bearer token (an Entra ID token).'),
  endpoint: z.string().optional().describe('Azure: the resource endpoint, e.g. https://NAME.openai.azure.com.'),
  base_url: z
    .string()
    .optional()
    .describe("The API's base URL (openai-compatible: required, e.g. http://gpu-node:8000/v1; others: to override the public one)."),
  api_version: z.string().optional().describe('Azure: the api-version sent upstream.'),
  region: z.string().optional().describe('Reported in `x-ms-region` and usage records for its deployments.'),
  data_zone: z
    .string()
    .min(1)
    .optional()
    .describe('The data zone its region belongs to (e.g. `eu`, `us`, or `global` for an endpoint that may process anywhere): what residency rules compare.'),
  anthropic_version: z.string().optional().describe('Anthropic: value of the `anthropic-version` header.'),
  stream_usage: z.boolean().default(true).describe('Ask OpenAI-shaped upstreams for usage on streams (stream_options.include_usage), so streams are metered.'),
  headers: z.record(z.string(), z.string()).default({}).describe('Extra headers sent with every upstream request.'),
  max_connections: z.number().int().positive().default(128).describe('Keep-alive connection pool size towards this upstream.'),
  timeouts: timeoutsSchema,
  retry: retrySchema,
});

/** The failures that move a request on to a deployment's fallbacks. */
export const FALLBACK_CAUSES = ['unavailable', 'rate_limited', 'timeout', 'context_length', 'content_filter'] as const;
export type FallbackCause = (typeof FALLBACK_CAUSES)[number];

const targetSchema = z.strictObject({
  provider: z.string().describe('Name of a provider under `providers`.'),
  model: z.string().min(1).describe("The upstream's model (or Azure deployment) name."),
  weight: z.number().positive().default(1).describe('Share of requests among targets of the same tier (weighted strategies).'),
  priority: z.number().int().min(0).default(0).describe('Tier: lower tiers are tried first by the `priority` strategy.'),
  region: z.string().min(1).optional().describe("The region this target serves from, when it is not its provider's (`x-ms-region`, usage records)."),
  capacity: z
    .enum(['provisioned', 'standard'])
    .default('standard')
    .describe('Provisioned targets are tried before standard ones of the same tier by the `priority` strategy (spillover).'),
  tpm: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      "The target's own tokens-per-minute capacity (e.g. its Azure deployment's quota): each attempt reserves its estimate (prompt plus max_tokens) in a 60 s window shared by every replica on Redis, and a target whose window cannot hold it is skipped. Unset: not counted.",
    ),
  rpm: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("The target's own requests-per-minute capacity: each attempt counts 1 in a 60 s window, and a full target is skipped. Unset: not counted."),
});

/**
 * Azure's deployment types: Global (any region), Data Zone (the regions of one data zone) and
 * Regional ("Standard": one region). Declaring one makes `cerulean check` hold the targets to it.
 */
export const DEPLOYMENT_TYPES = ['global', 'data_zone', 'regional'] as const;
export type DeploymentType = (typeof DEPLOYMENT_TYPES)[number];

const fallbackSchema = z.strictObject({
  deployment: z.string().describe('Another deployment to try when every target of this one failed.'),
  on: z
    .array(z.enum(FALLBACK_CAUSES))
    .default(['unavailable', 'rate_limited', 'timeout'])
    .describe('Which failures move on to it: unavailable (connect errors, 5xx), rate_limited (429), timeout, context_length, content_filter.'),
});

const deploymentSchema = z
  .strictObject({
    provider: z.string().optional().describe('Name of a provider under `providers` (a deployment with one target; or `targets`).'),
    model: z.string().min(1).optional().describe("The upstream's model (or Azure deployment) name (with `provider`)."),
    targets: z.array(targetSchema).min(1).optional().describe('Several upstream targets behind this one deployment name, instead of `provider` and `model`.'),
    type: z
      .enum(DEPLOYMENT_TYPES)
      .optional()
      .describe(
        "Where its targets may process data, as Azure's deployment types: `global` (anywhere), `data_zone` (every target's provider declares the same `data_zone`, not `global`), `regional` (every target in one region, its own or its provider's); `cerulean check` reports a target that breaks it, and a fallback that leaves the zone or region.",
      ),
    strategy: z
      .enum(['weighted', 'priority', 'least_outstanding', 'lowest_latency'])
      .optional()
      .describe(
        'How a request picks among healthy targets (default `weighted`): weighted random, priority tiers (provisioned before standard), least outstanding requests, lowest recent time to first byte.',
      ),
    fallbacks: z
      .array(fallbackSchema)
      .optional()
      .describe('Deployments tried, in order, when every target failed with one of the listed causes, before any byte reached the caller.'),
    default_max_tokens: z.number().int().positive().optional().describe('max_tokens sent when the caller sends none (Anthropic requires one).'),
    responses_api: z
      .enum(['translate', 'native'])
      .optional()
      .describe(
        "How the Responses API reaches this deployment: `translate` (default) through chat completions, for any provider; `native` sends the request to the upstream's own `/responses` as it came and relays its answer unchanged (openai, azure-openai and openai-compatible providers), whenever no content-filter policy applies to the request (with one, it is translated, so the filter can judge it).",
      ),
    deadline_ms: duration.optional().describe("This deployment's overall deadline across its attempts, instead of `routing.deadline_ms`."),
    response_model: z
      .enum(['requested', 'upstream'])
      .optional()
      .describe(
        'The `model` an answer names (JSON and every stream chunk): `requested`, the name the caller sent (default for a deployment with several targets or fallbacks), or `upstream`, the model that answered (default for one target, and for native Responses pass-through).',
      ),
    aliases: z
      .array(z.string().min(1))
      .optional()
      .describe(
        'Other model names callers may send for this deployment (e.g. the dated ids Claude Code sends); `*` matches any characters, so `claude-*` takes every Claude name. An exact name wins over a pattern, a longer pattern over a shorter.',
      ),
  })
  .superRefine((deployment, context) => {
    // One target by `provider` and `model`, or several by `targets`: never both, never half of one.
    const single = deployment.provider !== undefined || deployment.model !== undefined;
    if (single === (deployment.targets !== undefined) || (single && (deployment.provider === undefined || deployment.model === undefined))) {
      context.addIssue({ code: 'custom', message: 'give either `provider` and `model`, or `targets`' });
    }
  });

const serverSchema = z
  .strictObject({
    host: z.string().default('127.0.0.1').describe('Address to listen on (0.0.0.0 for every interface; `--host` overrides).'),
    port: z.number().int().min(0).max(65535).default(8080).describe('Port to listen on (0 picks a free one; `--port` overrides).'),
    body_limit: z
      .number()
      .int()
      .positive()
      .default(8 * 1024 * 1024)
      .describe('Largest accepted request body, in bytes; larger requests get 413.'),
    region: z.string().default('local').describe("Region this instance reports in `x-ms-region` when the deployment's provider names none."),
    shutdown_grace_ms: z.number().int().min(0).default(30_000).describe('How long SIGTERM waits for in-flight requests and streams before closing them.'),
    /**
     * After SIGTERM, the least time the listener stays open answering `/readyz` with 503 (and new
     * requests with 503 `shutting_down`), so a load balancer sees the instance leave before its port
     * closes. Draining in-flight requests may keep it open longer, up to `shutdown_grace_ms`.
     */
    drain_delay_ms: z
      .number()
      .int()
      .min(0)
      .default(0)
      .describe('After SIGTERM, the least time the port stays open answering 503, so a load balancer sees the instance leave.'),
    /**
     * Which peers' `x-forwarded-for` to believe, so that logs and the audit log record the caller's
     * address rather than a reverse proxy's: `false` (default, the socket's address), `true` (any
     * peer: only when nothing but the proxy can reach Cerulean), or a list of proxy addresses and
     * CIDR ranges. (No hop count: it cannot check the peer, so anyone could forge the header.)
     */
    trust_proxy: z
      .union([z.boolean(), z.array(z.string().min(1)).min(1)])
      .default(false)
      .describe(
        "Whose `x-forwarded-for` to believe for the caller's address in logs and the audit log: false (the socket's address), true (any peer), or proxy addresses and CIDR ranges.",
      ),
    max_connections: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        'Inbound connections accepted at once, so callers cannot take the descriptors the spool and upstreams need (0: no cap; default: half the open-file limit).',
      ),
  })
  .prefault({})
  .describe('The HTTP listener. Not changed by a reload: restart to apply.');

const oidcIssuerSchema = z.strictObject({
  issuer: z.string().min(1).describe('Expected `iss` claim (Entra ID: https://login.microsoftonline.com/TENANT/v2.0).'),
  audience: z
    .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
    .describe('Accepted `aud` value or values (Entra ID: the application ID URI or client ID).'),
  jwks_uri: z.url().describe("The issuer's JWKS URL (Entra ID: https://login.microsoftonline.com/TENANT/discovery/v2.0/keys)."),
  organization: z.string().min(1).describe('Users signing in through this issuer belong to this organization (its id).'),
  roles_claim: z.string().default('roles').describe('Claim holding app roles, mapped through `role_map`.'),
  role_map: z
    .record(z.string(), z.enum(['owner', 'admin', 'contributor', 'user', 'reader']))
    .default({})
    .describe("App role -> Cerulean role on the issuer's organization (owner, admin, contributor, user, reader)."),
  email_claim: z.string().default('email').describe("Claim recorded as the user's email."),
  client_id: z
    .string()
    .min(1)
    .optional()
    .describe(
      "The portal's public client id at this issuer (a client without a secret, redirect URI `<server>/portal/sign-in/callback`, authorization code flow with PKCE); absent: the portal offers no single sign-on through this issuer.",
    ),
  scopes: z
    .string()
    .min(1)
    .default('openid profile email')
    .describe('Scopes the portal asks for when signing in (Entra ID: add your API scope, e.g. `openid api://cerulean/.default`).'),
  authorization_endpoint: z
    .url()
    .optional()
    .describe("Where the portal sends people to sign in; default the issuer's discovery document (`<issuer>/.well-known/openid-configuration`)."),
  token_endpoint: z
    .url()
    .optional()
    .describe("Where the portal exchanges the code for a token (from the browser: its origin is allowed in the portal's CSP); default from discovery."),
});

const threshold = z.enum(['low', 'medium', 'high', 'annotate', 'off']);
const directionThresholds = z
  .strictObject({
    hate: threshold.default('medium').describe('Block at this severity and above (low, medium, high), annotate only, or off.'),
    sexual: threshold.default('medium').describe('As `hate`.'),
    violence: threshold.default('medium').describe('As `hate`.'),
    self_harm: threshold.default('medium').describe('As `hate`.'),
  })
  .prefault({});
const shieldAction = z.enum(['block', 'annotate', 'off']);

const filterPolicySchema = z.strictObject({
  classifiers: z
    .array(z.string().min(1))
    .min(1)
    .default(['local'])
    .describe('Classifiers whose verdicts are combined (the highest severity wins); `local` is built in, others are named under `content_safety.classifiers`.'),
  prompt: directionThresholds.describe('Thresholds per category for prompts.'),
  completion: directionThresholds.describe('Thresholds per category for completions.'),
  jailbreak: shieldAction.default('block').describe('Prompt shield for jailbreak attempts: block, annotate or off.'),
  indirect_attack: shieldAction.default('off').describe('Shield for attacks inside `<documents>…</documents>` and tool results: block, annotate or off.'),
  profanity: shieldAction.default('off').describe('Profanity: block, annotate or off.'),
  pii: z
    .strictObject({
      action: z.enum(['redact', 'block', 'annotate', 'off']).default('off').describe('What to do with personal data found: redact, block, annotate or off.'),
      types: z
        .array(z.enum(['email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'secret']))
        .optional()
        .describe('Kinds of personal data looked for; all when absent.'),
      directions: z
        .array(z.enum(['prompt', 'completion']))
        .default(['prompt', 'completion'])
        .describe('Where to look: prompt, completion.'),
    })
    .prefault({})
    .describe('Personal data detection.'),
  stream_mode: z
    .enum(['buffered', 'async'])
    .default('buffered')
    .describe('Streams: `buffered` releases text only once checked; `async` relays at once and checks behind.'),
  stream_check_chars: z
    .number()
    .int()
    .min(50)
    .max(10_000)
    .default(1000)
    .describe('Characters of completion text checked at a time in streams (the first windows are smaller: 32, 64, … up to this).'),
  stream_annotations: z.boolean().default(true).describe("Send Azure's extra stream frames (prompt annotations with empty choices, annotation-only frames)."),
  stream_annotations_openai: z
    .boolean()
    .default(false)
    .describe(
      "OpenAI routes: send annotations in streams too, in frames valid against OpenAI's chunk schema (annotation frames with an empty delta; prompt annotations on the first chunk).",
    ),
  on_error: z
    .enum(['fail_open', 'fail_closed'])
    .default('fail_open')
    .describe('When a classifier cannot answer: annotate `content_filter_error` and go on (fail_open) or refuse (fail_closed).'),
});

const classifierSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('local').describe('The built-in classifier (no network).') }).describe('local'),
  z
    .strictObject({
      type: z.literal('openai-moderation').describe("An OpenAI-compatible `/moderations` endpoint, reached through one of Cerulean's deployments."),
      deployment: z.string().min(1).describe('The deployment that serves it.'),
      timeout_ms: z.number().int().positive().default(5_000).describe('Milliseconds to wait for a verdict (then `on_error` applies).'),
    })
    .describe('openai-moderation'),
  z
    .strictObject({
      type: z.literal('llama-guard').describe("A Llama Guard-style chat model, reached through one of Cerulean's deployments."),
      deployment: z.string().min(1).describe('The chat deployment that serves it.'),
      timeout_ms: z.number().int().positive().default(10_000).describe('Milliseconds to wait for a verdict (then `on_error` applies).'),
    })
    .describe('llama-guard'),
  z
    .strictObject({
      type: z.literal('azure-content-safety').describe("Azure AI Content Safety's text API (text:analyze, text:shieldPrompt)."),
      endpoint: z.url().describe('The resource endpoint, e.g. https://NAME.cognitiveservices.azure.com.'),
      api_key: z.string().describe('Its key, usually "${VARIABLE}".'),
      api_version: z.string().default('2024-09-01').describe('The api-version sent.'),
      timeout_ms: z.number().int().positive().default(5_000).describe('Milliseconds to wait for a verdict (then `on_error` applies).'),
    })
    .describe('azure-content-safety'),
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
  window_minutes: z.number().int().positive().default(15).describe('The short sliding window, in minutes.'),
  long_window_hours: z.number().int().positive().default(24).describe('The long sliding window (for suspension), in hours.'),
  flag_threshold: z.number().int().positive().default(10).describe('Flagged requests within the short window that open a review (and notify).'),
  block_threshold: z.number().int().positive().default(5).describe('Blocked requests within the short window that throttle the key or end user.'),
  suspend_threshold: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('Blocked requests within the long window that suspend it; default three times `block_threshold`.'),
  actions: z
    .array(z.enum(['notify', 'throttle', 'suspend']))
    .default(['notify', 'throttle'])
    .describe('Which escalations happen: notify, throttle, suspend.'),
  webhook_url: z.url().optional().describe('Receives a JSON POST per escalation when `notify` is on (fire-and-forget, never delays a request).'),
  webhook_timeout_ms: z.number().int().positive().default(5_000).describe('Milliseconds to wait for the webhook.'),
  throttle_minutes: z.number().int().positive().default(15).describe('How long a throttled key or end user gets 429.'),
  sample_retention_days: z.number().int().min(0).default(30).describe('Days offending text is kept for reviewers; 0 stores no text at all.'),
});

const tracesSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe('Export OpenTelemetry traces over OTLP/HTTP: a span per inference request and a child span per upstream attempt. Off: no tracer at all.'),
    endpoint: z
      .url()
      .optional()
      .describe(
        'The OTLP/HTTP traces URL, e.g. http://collector:4318/v1/traces; unset: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, else http://localhost:4318/v1/traces.',
      ),
    headers: z
      .record(z.string(), z.string())
      .default({})
      .describe('Headers sent with each export, e.g. `{ authorization: "Bearer ${OTLP_TOKEN}" }`; added to `OTEL_EXPORTER_OTLP_HEADERS`. Never logged.'),
    sample_ratio: z
      .number()
      .min(0)
      .max(1)
      .default(1)
      .describe("Share of new traces recorded; a request that continues a caller's `traceparent` follows the caller's sampled flag instead."),
    service_name: z.string().min(1).optional().describe('`service.name` of the spans; unset: `OTEL_SERVICE_NAME`, else `cerulean`.'),
    resource_attributes: z
      .record(z.string(), z.string())
      .default({})
      .describe('Further resource attributes (e.g. `deployment.environment.name`), over those in `OTEL_RESOURCE_ATTRIBUTES`.'),
    export_timeout_ms: z
      .number()
      .int()
      .positive()
      .default(10_000)
      .describe('Longest wait for one export, and for the last one at shutdown; spans that cannot be sent in time are dropped, never waited on by a request.'),
  })
  .prefault({})
  .describe('OpenTelemetry tracing.');

export const configSchema = z.strictObject({
  server: serverSchema,
  data_dir: z.string().default('./data').describe('Local state: the SQLite database (by default), the master key hash, the usage spool. One per replica.'),
  logging: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Least severity written.'),
      format: z
        .enum(['json', 'pretty'])
        .optional()
        .describe('`json` (one object per line) or `pretty` (`HH:MM:SS LEVEL message key=value`); unset: pretty on a terminal, else json.'),
    })
    .prefault({})
    .describe('Logs.'),
  providers: z.record(z.string(), providerSchema).default({}).describe('Upstreams by name.'),
  deployments: z.record(z.string(), deploymentSchema).default({}).describe('Deployments by name: what callers put in `model` (or the Azure path).'),
  routing: z
    .strictObject({
      deadline_ms: duration
        .default(600_000)
        .describe(
          "One deadline over all of a request's attempts (failover included): once spent, no attempt starts and the running one is aborted (504). Each attempt's budget is the lesser of its provider's timeouts and what is left.",
        ),
      breaker: z
        .strictObject({
          failure_threshold: z.number().int().min(1).default(5).describe("Consecutive failures that open a target's circuit breaker."),
          failure_rate: z.number().gt(0).max(1).default(0.5).describe('Share of failed requests within `window_ms` that opens the breaker.'),
          minimum_requests: z.number().int().min(1).default(20).describe('Requests within the window before the failure rate counts.'),
          window_ms: z.number().int().min(1000).default(30_000).describe('The window the failure rate is measured over.'),
          open_ms: z.number().int().min(100).default(30_000).describe('How long an open breaker keeps requests away before letting probes through.'),
          half_open_probes: z.number().int().min(1).default(1).describe('Requests let through at once to probe a half-open target.'),
        })
        .default({ failure_threshold: 5, failure_rate: 0.5, minimum_requests: 20, window_ms: 30_000, open_ms: 30_000, half_open_probes: 1 })
        .describe('Per-target circuit breaker of deployments with several targets (or fallbacks).'),
    })
    .default({
      deadline_ms: 600_000,
      breaker: { failure_threshold: 5, failure_rate: 0.5, minimum_requests: 20, window_ms: 30_000, open_ms: 30_000, half_open_probes: 1 },
    })
    .describe("How requests are spread over a deployment's targets and moved on when one fails."),
  responses: z
    .strictObject({
      retention_days: z
        .number()
        .int()
        .min(0)
        .default(30)
        .describe('Stored Responses API answers (`store: true`, the default) older than this many days are deleted, checked hourly; 0 keeps them.'),
    })
    .default({ retention_days: 30 })
    .describe('The Responses API: how long stored responses are kept.'),
  storage: z
    .strictObject({
      url: z
        .string()
        .min(1)
        .optional()
        .describe('Governance state: `sqlite:PATH` (default `sqlite:<data_dir>/cerulean.db`) or `postgres://…` (`?schema=NAME` for a schema).'),
      refresh_interval_ms: z
        .number()
        .int()
        .min(100)
        .default(60_000)
        .describe('How often each replica rereads keys and policies without a change message: the longest a lost message can go unnoticed.'),
    })
    .prefault({})
    .describe('Where governance state lives.'),
  redis: z
    .strictObject({
      url: z.string().min(1).describe('redis://HOST:PORT (rediss:// for TLS).'),
      on_outage: z
        .enum(['fail_closed', 'fail_open'])
        .default('fail_closed')
        .describe(
          "While Redis is unreachable: refuse what needs its counters with 503 (`fail_closed`), or count in each replica's memory (`fail_open`). Set the same on every replica.",
        ),
      command_timeout_ms: z
        .number()
        .int()
        .positive()
        .default(500)
        .describe('Longest wait for one Redis command before the outage policy applies; well above a healthy round trip.'),
    })
    .optional()
    .describe(
      'Shared quota and budget counters, and target health (open breakers, cooldowns, drains), for several replicas; absent = each replica keeps its own in memory.',
    ),
  auth: z
    .strictObject({ oidc: z.array(oidcIssuerSchema).default([]).describe('OIDC issuers whose tokens are accepted as `Authorization: Bearer <JWT>`.') })
    .prefault({})
    .describe('Callers besides API keys and the master key.'),
  usage: z
    .strictObject({
      flush_interval_ms: z.number().int().positive().default(1_000).describe('How often journaled usage records are committed to storage.'),
      spool_dir: z.string().optional().describe('Where usage records are journaled until committed; default `<data_dir>/spool`.'),
    })
    .prefault({})
    .describe('Usage metering.'),
  audit: z
    .strictObject({ retention_days: z.number().int().min(0).default(400).describe('Days audit entries are kept.') })
    .prefault({})
    .describe('The audit log.'),
  quotas: z
    .strictObject({
      default_max_tokens: z
        .number()
        .int()
        .positive()
        .default(4096)
        .describe('Completion tokens the admission estimate assumes when a request sets no max_tokens.'),
    })
    .prefault({})
    .describe('Quota admission.'),
  content_safety: z
    .strictObject({
      classifiers: z.record(z.string(), classifierSchema).default({}).describe('Classifiers by name, for policies to use besides `local`.'),
      policies: z
        .record(z.string(), filterPolicySchema)
        .default({})
        .describe('Named filter policies; `default` applies to every deployment not listed under `deployments`.'),
      deployments: z.record(z.string(), z.string()).default({}).describe('Deployment name -> policy name (`none` turns filtering off for it).'),
      abuse_monitoring: abuseMonitoringSchema
        .optional()
        .describe('Counting filter verdicts per key, project and end user, and acting on repeat offenders; absent = off.'),
    })
    .prefault({})
    .describe('Content filtering of prompts and completions.'),
  telemetry: z.strictObject({ traces: tracesSchema }).prefault({}).describe('OpenTelemetry export (the GenAI metrics are on `/metrics` whatever this says).'),
  portal: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Serve the web portal (the built single-page app) at `/portal`; false: `/portal` is an unknown URL.'),
      directory: z
        .string()
        .min(1)
        .optional()
        .describe("Where the built portal is (its `index.html` and `assets/`), read once at start; default the package's own `dist/portal`."),
    })
    .prefault({})
    .describe('The web portal for operators, project owners and developers, served from this process.'),
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
export type TracesConfig = z.infer<typeof tracesSchema>;

/** The validated, frozen configuration the service runs on. */
export interface Config extends Omit<RawConfig, 'providers'> {
  readonly providers: Readonly<Record<string, ProviderConfig>>;
  /** Per provider name: the environment variables its credential referenced that are unset. */
  readonly missingVariables: Readonly<Record<string, readonly string[]>>;
  /** Per dotted path anywhere in the file: the `${VAR}` references there that were unset (and had no default). */
  readonly unsetVariables: Readonly<Record<string, readonly string[]>>;
  /** Where the file was read from, for reload and messages. */
  readonly source: string;
}

export type TargetConfig = z.infer<typeof targetSchema>;

/** A deployment's targets: its `targets`, or the one its `provider` and `model` name. */
export function targetsOf(deployment: DeploymentConfig): TargetConfig[] {
  if (deployment.targets) return deployment.targets;
  if (deployment.provider === undefined || deployment.model === undefined) return [];
  return [{ provider: deployment.provider, model: deployment.model, weight: 1, priority: 0, capacity: 'standard' }];
}
