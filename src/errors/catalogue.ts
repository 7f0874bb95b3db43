/**
 * One catalogue of the errors Cerulean answers with. Every error carries its HTTP status, an
 * OpenAI `type`, a stable `code` and, where one field is at fault, the `param`. The edge
 * (`render.ts`) turns any of them into the OpenAI or Azure envelope; anything that is not a
 * `CeruleanError` is rendered as a plain 500 whose message is never echoed.
 */
export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  /** OpenAI names the exhausted measure as the type of a rate-limit refusal. */
  | 'tokens'
  | 'requests'
  | 'server_error'
  | 'service_unavailable'
  | 'timeout_error'
  | 'insufficient_quota';

export interface ErrorOptions {
  param?: string | null;
  code?: string | null;
  /** Seconds the caller should wait, rendered as `retry-after` and `retry-after-ms`. */
  retryAfterSeconds?: number;
  /** Extra headers the reply must carry (e.g. rate-limit headers). */
  headers?: Record<string, string>;
  cause?: unknown;
}

export class CeruleanError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;
  readonly code: string | null;
  readonly retryAfterSeconds: number | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(status: number, type: ErrorType, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = status;
    this.type = type;
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.headers = options.headers;
  }
}

/** 400: the body or the query is not what the operation accepts. */
export class InvalidRequestError extends CeruleanError {
  constructor(message: string, param: string | null = null, code: string | null = null) {
    super(400, 'invalid_request_error', message, { param, code });
  }
}

/** 401: no credential, or one that matches nothing. */
export class AuthenticationError extends CeruleanError {
  constructor(message = 'Incorrect API key provided.') {
    super(401, 'authentication_error', message, { code: 'invalid_api_key' });
  }
}

/** 403: the credential is valid but may not do this. */
export class PermissionError extends CeruleanError {
  constructor(message: string, code = 'permission_denied') {
    super(403, 'permission_error', message, { code });
  }
}

/** 404 for a deployment name that is not configured. */
export class DeploymentNotFoundError extends CeruleanError {
  readonly deployment: string;
  constructor(deployment: string) {
    super(404, 'invalid_request_error', `The model \`${deployment}\` does not exist or you do not have access to it.`, {
      param: 'model',
      code: 'model_not_found',
    });
    this.deployment = deployment;
  }
}

/** 404 from `GET /v1/models/{id}`: no such deployment, or one the caller's credential may not use. */
export class ModelNotFoundError extends CeruleanError {
  constructor(id: string) {
    super(404, 'invalid_request_error', `The model '${id}' does not exist`, { param: 'model', code: 'model_not_found' });
  }
}

/** A client error the HTTP framework raised that has no entry of its own (its status and code are kept). */
export class MalformedRequestError extends CeruleanError {
  constructor(status: number, message: string, code: string | null) {
    super(status, 'invalid_request_error', message, { code });
  }
}

/** 404 for a route that does not exist (or, on Azure routes, a missing or unknown api-version). */
export class RouteNotFoundError extends CeruleanError {
  constructor(method: string, url: string) {
    super(404, 'invalid_request_error', `Unknown request URL: ${method} ${url}.`, { code: 'unknown_url' });
  }
}

export class UnsupportedApiVersionError extends CeruleanError {
  constructor(apiVersion: string | undefined) {
    super(404, 'invalid_request_error', apiVersion ? `Unsupported api-version "${apiVersion}".` : 'Missing api-version query parameter.', {
      code: 'api_version_not_found',
    });
  }
}

export class MethodNotAllowedError extends CeruleanError {
  constructor(method: string, url: string) {
    super(405, 'invalid_request_error', `Method ${method} is not allowed for ${url}.`, { code: 'method_not_allowed' });
  }
}

export class PayloadTooLargeError extends CeruleanError {
  constructor(limitBytes: number) {
    super(413, 'invalid_request_error', `Request body is larger than the limit of ${limitBytes} bytes.`, { code: 'request_too_large' });
  }
}

export class UnsupportedMediaTypeError extends CeruleanError {
  constructor(contentType: string | undefined) {
    super(415, 'invalid_request_error', `Unsupported content type ${contentType ? `"${contentType}"` : '(none)'}; send application/json.`, {
      code: 'unsupported_media_type',
    });
  }
}

/** 400: the deployment's provider cannot perform this operation (e.g. embeddings on Anthropic). */
export class OperationNotSupportedError extends CeruleanError {
  constructor(deployment: string, operation: string) {
    super(400, 'invalid_request_error', `Deployment "${deployment}" does not support the ${operation} operation.`, {
      code: 'operation_not_supported',
    });
  }
}

/**
 * 503: the deployment's provider has no credential configured. Only an operator can cure it, so
 * `x-should-retry: false` keeps SDKs from retrying (they retry any 5xx otherwise).
 */
export class ProviderNotConfiguredError extends CeruleanError {
  constructor(deployment: string, provider: string, missingVariable: string) {
    super(
      503,
      'service_unavailable',
      `Deployment "${deployment}" is unavailable: provider "${provider}" has no credential; set the environment variable ${missingVariable} and restart Cerulean (a reload re-reads the file, not the environment).`,
      { code: 'provider_not_configured', headers: { 'x-should-retry': 'false' } },
    );
  }
}

/**
 * An upstream answered with an error status that is passed on to the caller. `status` is what the
 * OpenAI and Azure routes answer; `upstreamStatus` is what the upstream said, which differs where
 * OpenAI clients would not understand it (Anthropic's 529 overload becomes 503) and lets an API
 * family that knows the upstream's status (the Messages API's 529) answer with it.
 */
export class UpstreamStatusError extends CeruleanError {
  readonly upstreamStatus: number;
  constructor(status: number, message: string, options: ErrorOptions & { type?: ErrorType; upstreamStatus?: number } = {}) {
    super(status, options.type ?? (status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error'), message, options);
    this.upstreamStatus = options.upstreamStatus ?? status;
  }
}

/** 502: the upstream could not be reached or broke the protocol. */
export class UpstreamUnreachableError extends CeruleanError {
  constructor(message: string, cause?: unknown) {
    super(502, 'server_error', message, { code: 'upstream_unreachable', cause });
  }
}

/**
 * Which limit an upstream exchange ran into: its provider's `connect_ms`, `first_byte_ms`,
 * `total_ms` or `idle_ms` (a stream silent between chunks), or what was left of the request's
 * overall deadline across attempts (`deadline`), which ends the request rather than the attempt.
 */
export type TimeoutPhase = 'connect' | 'first_byte' | 'total' | 'idle' | 'deadline';

/** 504: the upstream did not answer within the configured timeout. */
export class UpstreamTimeoutError extends CeruleanError {
  readonly phase: TimeoutPhase | undefined;
  constructor(message: string, cause?: unknown, phase?: TimeoutPhase) {
    super(504, 'timeout_error', message, { code: 'upstream_timeout', cause });
    this.phase = phase;
  }
}

/** 504: the request's overall deadline passed before any attempt answered; no further attempt was started. */
export class DeadlineExceededError extends CeruleanError {
  readonly attempts: number;
  constructor(deployment: string, deadlineMs: number, attempts: number, cause?: unknown) {
    super(
      504,
      'timeout_error',
      `Deployment "${deployment}" did not answer within the request's deadline of ${deadlineMs} ms, after ${attempts} attempt${attempts === 1 ? '' : 's'}.`,
      { code: 'deadline_exceeded', cause },
    );
    this.attempts = attempts;
  }
}

/**
 * 503: the content-filter policy chosen for the request's project no longer exists in the
 * configuration (renamed or removed by a reload). Refused rather than served unfiltered.
 */
export class FilterPolicyUnavailableError extends CeruleanError {
  constructor(deployment: string, policy: string) {
    super(
      503,
      'service_unavailable',
      `Deployment "${deployment}" is unavailable: its content-filter policy "${policy}" is not configured; an operator must configure it or change the project's policy choice.`,
      { code: 'filter_policy_unavailable' },
    );
  }
}

/** 503: the server is shutting down and accepts no new work. */
export class ShuttingDownError extends CeruleanError {
  constructor() {
    super(503, 'service_unavailable', 'The server is shutting down; retry against another instance.', { code: 'shutting_down' });
  }
}

/** 503: `/v1/moderations` is answered only when some content-safety policy is in force. */
export class ModerationUnavailableError extends CeruleanError {
  constructor() {
    super(503, 'service_unavailable', 'Content moderation is turned off on this service.', { code: 'moderation_unavailable' });
  }
}

/** 429: abuse monitoring paused this caller after repeated content-policy violations. */
export class AbuseThrottledError extends CeruleanError {
  constructor(seconds: number) {
    super(429, 'rate_limit_error', `Requests are paused for ${seconds} seconds after repeated content-policy violations.`, {
      code: 'abuse_throttled',
      retryAfterSeconds: seconds,
    });
  }
}

/**
 * 503: the governance database cannot be reached (connection refused or lost, timed out, busy).
 * Requests the cached policy allows are still served; admin calls, which read and write the
 * database, answer this until it is back.
 */
export class StorageUnavailableError extends CeruleanError {
  constructor(cause?: unknown) {
    super(503, 'service_unavailable', 'The governance database is unreachable at the moment; retry shortly.', {
      code: 'storage_unavailable',
      retryAfterSeconds: 5,
      cause,
    });
  }
}

/** 503 on `/portal` when the portal is switched on but its built files are not there (a checkout that was never built). */
export class PortalNotBuiltError extends CeruleanError {
  constructor() {
    super(503, 'service_unavailable', 'The portal is not built on this server: run "npm run build" (or "npm start", which builds it) and restart.', {
      code: 'portal_not_built',
    });
  }
}

/**
 * 503: usage could not be journaled right now (the spool cannot write: no file descriptor to be
 * had, disk failure), so the upstream is not called: its answer could not be metered.
 */
export class MeteringUnavailableError extends CeruleanError {
  constructor() {
    super(503, 'service_unavailable', 'The server cannot record usage right now; retry shortly.', { code: 'metering_unavailable', retryAfterSeconds: 1 });
  }
}

/** 404 for an admin resource (project, key, user, …) that does not exist or is not visible to the caller. */
export class ResourceNotFoundError extends CeruleanError {
  constructor(kind: string, id: string) {
    super(404, 'not_found_error', `No ${kind} "${id}" exists, or the caller may not see it.`, { code: `${kind.replace(/\s+/g, '_')}_not_found` });
  }
}

/** 404: a stored response (Responses API) that does not exist, was deleted or pruned, or belongs to another project. */
export class StoredResponseNotFoundError extends CeruleanError {
  constructor(id: string, param: string | null = null) {
    super(param ? 400 : 404, 'invalid_request_error', param ? `Previous response with id '${id}' not found.` : `Response with id '${id}' not found.`, {
      param,
      code: param ? 'previous_response_not_found' : null,
    });
  }
}

/**
 * 403: the request's residency pin (its project's, narrowed by its key's) allows no target of the
 * deployment, fallbacks included, so nothing was sent. The code says which kind of pin refused:
 * `data_zone_unavailable` when the pin names a data zone, else `region_unavailable`; the message
 * names the whole policy and where each part of it comes from.
 */
export class ResidencyUnavailableError extends CeruleanError {
  constructor(deployment: string, pin: { readonly zone: string | undefined; readonly policy: string }, projectId: string) {
    super(
      403,
      'permission_error',
      `No target of deployment "${deployment}" is allowed by the residency policy of project "${projectId}": ${pin.policy}; nothing was sent.`,
      { code: pin.zone === undefined ? 'region_unavailable' : 'data_zone_unavailable' },
    );
  }
}

/** 409: the change conflicts with the current state (a duplicate, a decided request, …). */
export class ConflictError extends CeruleanError {
  constructor(message: string, code = 'conflict') {
    super(409, 'invalid_request_error', message, { code });
  }
}

/**
 * 429: a token or request quota is spent until its window ends. Each API family words it its own
 * way and clients match on it: `message` is OpenAI's ("Rate limit reached for … Please try again
 * in 7.5s.", with the measure, `tokens` or `requests`, as the type), `azureMessage` Azure's
 * ("Requests to the … Operation … Please retry after 8 seconds."); `headers` carries the
 * x-ratelimit-* headers.
 */
export class RateLimitedError extends CeruleanError {
  readonly azureMessage: string;
  constructor(
    message: string,
    retryAfterSeconds: number,
    headers: Record<string, string> = {},
    options: { azureMessage?: string; measure?: 'tokens' | 'requests' } = {},
  ) {
    super(429, options.measure ?? 'rate_limit_error', message, { code: 'rate_limit_exceeded', retryAfterSeconds, headers });
    this.azureMessage = options.azureMessage ?? message;
  }
}

/**
 * 429: every target the request could go to has used its own declared capacity (`tpm`/`rpm`) for
 * the current window, so none was tried. Cerulean's own refusal, told apart from a 429 an upstream
 * answered by its code (`targets_at_capacity`) and by the fact that no upstream was called;
 * `retry-after` is when the first of those windows ends (capped below 60 s, past which SDKs ignore
 * it and back off on their own).
 */
export class TargetsAtCapacityError extends CeruleanError {
  constructor(deployment: string, retryAfterMs: number) {
    const seconds = Math.min(59, Math.max(1, Math.ceil(retryAfterMs / 1000)));
    super(
      429,
      'rate_limit_error',
      `Every target of deployment "${deployment}" has used its capacity for the current minute, so the request was not sent to any of them. Please retry after ${seconds} seconds.`,
      { code: 'targets_at_capacity', retryAfterSeconds: seconds },
    );
  }
}

/**
 * 429 for a request whose own estimate (prompt plus the `max_tokens` allowance) is more than a
 * token quota holds in a whole window: no wait can admit it. OpenAI answers this case with a 429
 * of type `tokens` ("Request too large for … Limit N, Requested M"), and Azure with its usual 429;
 * both are kept, but with `x-should-retry: false` and no `retry-after`, so SDKs give up at once
 * instead of retrying a request that can never fit, and the text says what to lower.
 */
export class QuotaTooSmallError extends CeruleanError {
  readonly azureMessage: string;
  constructor(message: string, azureMessage: string, headers: Record<string, string> = {}) {
    super(429, 'tokens', message, { code: 'rate_limit_exceeded', headers: { ...headers, 'x-should-retry': 'false' } });
    this.azureMessage = azureMessage;
  }
}

/**
 * 503: the counters shared by every replica (Redis) cannot be reached, so the request's quota,
 * budget or abuse throttle cannot be checked, and `redis.on_outage` is `fail_closed`. Nothing was
 * reserved and no upstream was called; `retry-after` suggests a short wait, since such outages
 * are usually brief (a failover, a restart).
 */
export class CountersUnavailableError extends CeruleanError {
  constructor(retryAfterSeconds: number) {
    super(
      503,
      'service_unavailable',
      `Quota and budget counters are unreachable, so the request cannot be admitted. Please retry after ${retryAfterSeconds} seconds.`,
      {
        code: 'counters_unavailable',
        retryAfterSeconds,
      },
    );
  }
}

/**
 * 429 `insufficient_quota`: a project's or key's spend limit for the period is used up. As OpenAI
 * does for exhausted billing quota; `x-should-retry: false` tells the official SDKs not to retry,
 * since only the next period (or a raised budget) helps.
 */
export class BudgetExceededError extends CeruleanError {
  constructor(message: string) {
    super(429, 'insufficient_quota', message, { code: 'budget_exceeded', headers: { 'x-should-retry': 'false' } });
  }
}

/**
 * 400 `content_filter`: the prompt tripped the content policy. The body is Azure's exactly, on both
 * route shapes, with the results under both spellings clients and the spec use
 * (`innererror.content_filter_result`, `inner_error.content_filter_results`).
 */
export class ContentFilterError extends CeruleanError {
  readonly results: unknown;
  constructor(results: unknown) {
    super(
      400,
      'invalid_request_error',
      "The response was filtered due to the prompt triggering Cerulean's content management policy. Please modify your prompt and retry.",
      { param: 'prompt', code: 'content_filter' },
    );
    this.results = results;
  }

  /** The complete `error` object of the reply. */
  body(): Record<string, unknown> {
    return {
      message: this.message,
      type: null,
      param: 'prompt',
      code: 'content_filter',
      status: 400,
      innererror: { code: 'ResponsibleAIPolicyViolation', content_filter_result: this.results },
      inner_error: { code: 'ResponsibleAIPolicyViolation', content_filter_results: this.results },
    };
  }
}
