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

/** 503: the deployment's provider has no credential configured. */
export class ProviderNotConfiguredError extends CeruleanError {
  constructor(deployment: string, provider: string, missingVariable: string) {
    super(
      503,
      'service_unavailable',
      `Deployment "${deployment}" is unavailable: provider "${provider}" has no credential; set the environment variable ${missingVariable} and reload.`,
      { code: 'provider_not_configured' },
    );
  }
}

/** An upstream answered with an error status that is passed on to the caller. */
export class UpstreamStatusError extends CeruleanError {
  constructor(status: number, message: string, options: ErrorOptions & { type?: ErrorType } = {}) {
    super(status, options.type ?? (status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error'), message, options);
  }
}

/** 502: the upstream could not be reached or broke the protocol. */
export class UpstreamUnreachableError extends CeruleanError {
  constructor(message: string, cause?: unknown) {
    super(502, 'server_error', message, { code: 'upstream_unreachable', cause });
  }
}

/** 504: the upstream did not answer within the configured timeout. */
export class UpstreamTimeoutError extends CeruleanError {
  constructor(message: string, cause?: unknown) {
    super(504, 'timeout_error', message, { code: 'upstream_timeout', cause });
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

/** 404 for an admin resource (project, key, user, …) that does not exist or is not visible to the caller. */
export class ResourceNotFoundError extends CeruleanError {
  constructor(kind: string, id: string) {
    super(404, 'not_found_error', `No ${kind} "${id}" exists, or the caller may not see it.`, { code: `${kind.replace(/\s+/g, '_')}_not_found` });
  }
}

/** 409: the change conflicts with the current state (a duplicate, a decided request, …). */
export class ConflictError extends CeruleanError {
  constructor(message: string, code = 'conflict') {
    super(409, 'invalid_request_error', message, { code });
  }
}

/**
 * 429: a token or request quota is spent until its window ends. The message is the caller-facing
 * text (Azure's wording, which clients match on); `headers` carries the x-ratelimit-* headers.
 */
export class RateLimitedError extends CeruleanError {
  constructor(message: string, retryAfterSeconds: number, headers: Record<string, string> = {}) {
    super(429, 'rate_limit_error', message, { code: 'rate_limit_exceeded', retryAfterSeconds, headers });
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
