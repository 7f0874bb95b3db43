import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import {
  AuthenticationError,
  CeruleanError,
  InvalidRequestError,
  MalformedRequestError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RouteNotFoundError,
  ShuttingDownError,
  StorageUnavailableError,
  UnsupportedApiVersionError,
  UnsupportedMediaTypeError,
} from '../errors/catalogue.js';
import { Metrics } from '../observability/metrics.js';
import { traceHeadersFor } from '../observability/trace-context.js';
import type { Tracing } from '../observability/tracing.js';
import { TraceSpans } from '../pipeline/trace-spans.js';
import type { Authenticator, Principal } from '../pipeline/authenticate.js';
import type { InferenceContext } from '../pipeline/context.js';
import type { AdmitStage } from '../pipeline/admit.js';
import type { FilterStage } from '../pipeline/filter.js';
import type { ContentFilter } from '../safety/content-filter.js';
import { MetricsMeter, type Meter } from '../pipeline/meter.js';
import { registerAdminRoutes, type AdminDependencies } from '../admin/admin-routes.js';
import { DeploymentTable } from '../pipeline/pick-target.js';
import { Pipeline, type ResponseWriter } from '../pipeline/pipeline.js';
import { failover } from '../pipeline/failover.js';
import { targetQuotaMeter } from '../pipeline/target-quota-meter.js';
import { MemoryRateLimitStore } from '../ratelimit/memory/memory-rate-limit-store.js';
import { TargetQuota } from '../routing/target-quota.js';
import { HealthSharing } from '../routing/health-sharing.js';
import { MemoryHealthStore } from '../routing/shared-health-store.js';
import { ClientAbortedError } from '../providers/upstream-client.js';
import { AZURE_API_VERSIONS, AZURE_V1_API_VERSIONS } from './azure-api-versions.js';
import { maxConnections } from './connection-limit.js';
import { writeEventStream } from './event-stream.js';
import { DEFAULT_PORTAL_DIRECTORY, registerPortalRoutes } from './portal-routes.js';
import { portalConnectOrigins, portalIdentityProviders } from './portal-sign-in.js';
import type { ApiFamily, DirectOperation, InferenceOperation, RouteSpec } from '../api/api-operation.js';
import { openAIFamily } from '../api/openai/openai-family.js';
import { azureFamily } from '../api/azure/azure-family.js';
import { anthropicFamily } from '../api/anthropic/anthropic-family.js';
import { inboundOperations } from '../api/operations.js';
import type { ResponsesDependencies } from '../api/openai/responses/responses-operation.js';
import { isStorageUnavailable } from '../storage/storage-availability.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The inference request's pipeline state, for the access line. */
    inference?: InferenceContext;
  }
  interface FastifyContextConfig {
    /** The API family whose envelope the route's errors are rendered in. */
    family?: ApiFamily;
  }
}

export interface AppOptions {
  config: Config;
  authenticator: Authenticator;
  logger?: FastifyBaseLogger;
  metrics?: Metrics;
  /** Governance: the admit stage, further meters (usage ledger) and the admin API. */
  admit?: AdmitStage;
  /** Content safety: the filter stages, and the policy that answers `/v1/moderations`. */
  filter?: FilterStage;
  moderation?: { filter(model?: string): ContentFilter | undefined };
  /** Told about every configuration accepted by a reload (after the deployment table is swapped). */
  onReload?: (config: Config) => void;
  meters?: readonly Meter[];
  admin?: Omit<AdminDependencies, 'deployments' | 'routes'>;
  /** Where Responses API answers are stored and their deletions audited; absent: nothing is stored. */
  responses?: Pick<ResponsesDependencies, 'store' | 'audit'>;
  /** Dependencies' state for `/readyz` (e.g. storage); `ready: false` answers 503. */
  readiness?: () => Readiness;
  /** Where targets' own tpm/rpm are counted (governance's store, shared on Redis); absent: in this process's memory. */
  targetQuota?: TargetQuota;
  /** OpenTelemetry tracing, when configured: spans per request and attempt. The server flushes and stops it at shutdown. */
  tracing?: Tracing;
  /**
   * Target health shared with other replicas, reading the table through `deployments()` (the
   * caller starts and closes it); absent: this replica's own, drains kept in memory.
   */
  health?: HealthSharing;
}

/** What a dependency says about itself in `/readyz`: `degraded` serves on, `not_ready` takes the replica out. */
export interface Readiness {
  readonly status: 'ready' | 'degraded' | 'not_ready';
  readonly checks: Record<string, unknown>;
}

export interface CeruleanServer {
  readonly app: FastifyInstance;
  readonly metrics: Metrics;
  /** Starts listening; resolves to the URL actually bound (port 0 picks a free port). */
  listen(host?: string, port?: number): Promise<string>;
  /** Swaps in a new configuration; in-flight requests finish on the one they started with. */
  reload(config: Config): Promise<void>;
  /** Stops accepting requests, lets in-flight requests and streams finish (up to the grace period), closes pools. */
  shutdown(): Promise<void>;
  /** The deployment table in force (it changes on reload). */
  deployments(): DeploymentTable;
  /** The configuration in force (it changes on reload). */
  config(): Config;
}

/** A caller's `x-request-id` is kept when it looks like an id: 1-128 of letters, digits and `._:-`. */
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdOf(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && CALLER_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * The fields of the access line an inference request adds: who (project, key prefix), what
 * (deployment, tokens, cost) and how long. The edge adds the request id, method, url, ip, status.
 */
function accessFields(context: InferenceContext): Record<string, unknown> {
  const principal = context.principal;
  const fields: Record<string, unknown> = {
    deployment: context.deployment,
    project: context.projectId,
    principal: principal.kind,
    key_prefix: principal.kind === 'key' ? principal.prefix : undefined,
    user: principal.kind === 'user' ? principal.id : undefined,
    stream: context.stream || undefined,
    prompt_tokens: context.usage?.prompt_tokens,
    completion_tokens: context.usage?.completion_tokens,
    cost_usd: context.cost === undefined ? undefined : context.cost / 1_000_000,
    first_token_ms: context.firstTokenAt === undefined ? undefined : Math.round(context.firstTokenAt - context.startedAt),
    attempts: context.attempts,
    filtered: context.filtered || undefined,
    usage_id: context.id,
  };
  if (context.span) fields.trace_id = context.span.spanContext().traceId;
  else {
    const traceparent = context.traceHeaders?.traceparent;
    if (traceparent) fields.trace_id = traceparent.split('-')[1];
  }
  return fields;
}

/** Paths only Anthropic's clients call: an unknown route or method there is answered in Anthropic's envelope. */
const ANTHROPIC_PATH = /^\/(anthropic\/|v1\/messages(\/|\?|$))/;

/** The family a request's errors are rendered in: its route's, else (unknown routes) guessed from the path. */
function familyOf(request: FastifyRequest): ApiFamily {
  const family = request.routeOptions.config?.family;
  if (family) return family;
  if (request.url.startsWith('/openai/')) return azureFamily;
  return ANTHROPIC_PATH.test(request.url) ? anthropicFamily : openAIFamily;
}

/** Turns the framework's own errors (body parsing, limits), and storage being unreachable (503), into catalogue errors. */
function fromFrameworkError(error: FastifyError, bodyLimit: number): unknown {
  if (error instanceof CeruleanError || error instanceof ClientAbortedError) return error;
  if (isStorageUnavailable(error)) return new StorageUnavailableError(error);
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PayloadTooLargeError(bodyLimit);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError(undefined);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new InvalidRequestError('The request body is empty; send a JSON object.', null, 'invalid_body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new InvalidRequestError('We could not parse the JSON body of your request.', null, 'invalid_json');
  }
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return new InvalidRequestError('We could not parse the JSON body of your request.', null, 'invalid_json');
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    return new MalformedRequestError(error.statusCode, error.message, error.code ?? null);
  }
  return error;
}

export function createServer(options: AppOptions): CeruleanServer {
  let config = options.config;
  const health: HealthSharing = options.health ?? new HealthSharing(new MemoryHealthStore(), { directory: () => table, resyncIntervalMs: 0 });
  let table: DeploymentTable = new DeploymentTable(config, { health });
  let shuttingDown = false;
  // Requests whose response has not closed yet: shutdown keeps listening until they are done.
  let inFlight = 0;
  let onIdle: (() => void) | undefined;
  const settledOne = (): void => {
    inFlight -= 1;
    if (inFlight === 0) onIdle?.();
  };
  const metrics = options.metrics ?? new Metrics();
  const ownTargetStore = options.targetQuota ? undefined : new MemoryRateLimitStore();
  const targetQuota =
    options.targetQuota ??
    new TargetQuota(ownTargetStore as MemoryRateLimitStore, {
      defaultMaxTokens: { chat: config.quotas.default_max_tokens, completions: config.quotas.default_max_tokens },
    });
  const spans = options.tracing ? new TraceSpans(options.tracing.tracer) : undefined;
  const routing = failover(() => table, metrics.failoverObserver(), targetQuota);
  const pipeline = new Pipeline({
    table: () => table,
    admit: options.admit,
    filter: options.filter,
    // The request's span ends last, once the other meters have settled what the request came to.
    meters: [new MetricsMeter(metrics, (name) => table.get(name) !== undefined), targetQuotaMeter, ...(options.meters ?? []), ...(spans ? [spans.meter] : [])],
    onRetry: (provider, reason) => metrics.upstreamRetries.inc({ provider, reason }),
    onMeterError: (error) => app.log.error({ err: error }, 'metering failed'),
    // Routing tries the targets; with tracing, each attempt it makes gets its own span.
    wrapProviderCall: spans ? (direct) => routing(spans.attempts(direct)) : routing,
  });
  const authenticator = options.authenticator;
  const bodyLimit = config.server.body_limit;

  const app = Fastify({
    loggerInstance: options.logger,
    // One access line per request from the onResponse hook below instead of fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit,
    // A caller's valid x-request-id is kept (logs and the response carry it), else a UUID.
    genReqId: requestIdOf,
    requestIdHeader: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // request.ip (audit entries, access lines) is the caller behind these proxies, not the proxy.
    trustProxy: config.server.trust_proxy,
  });

  // Callers must not be able to take every file descriptor: the spool and the upstreams need some.
  app.server.maxConnections = maxConnections(config.server.max_connections);

  // The APIs take JSON only; anything else is a 415 rather than a string handed to validation.
  app.removeContentTypeParser('text/plain');

  // Per-request hooks take fastify's `done` callback rather than being async: no promise and no
  // extra turn of the microtask queue per hook on every request.

  // Every response carries its request id; Azure routes also `apim-request-id` and `x-ms-region`.
  app.addHook('onRequest', (request, reply, done) => {
    inFlight += 1;
    reply.raw.once('close', settledOne);
    if (shuttingDown) reply.header('connection', 'close');
    reply.header('x-request-id', request.id);
    const familyHeaders = familyOf(request).responseHeaders?.(request.id, config.server.region);
    if (familyHeaders) reply.headers(familyHeaders);
    done();
  });

  // The access line holds only fields built here (a key's public prefix, never a credential), so it
  // skips the logger's redaction, which walked each of its keys on every request (~5% of its CPU).
  const accessLog = app.log.child({}, { redact: [] });
  app.addHook('onResponse', (request, reply, done) => {
    const line: Record<string, unknown> = {
      reqId: request.id,
      method: request.method,
      url: request.url,
      ip: request.ip,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 1000) / 1000,
    };
    accessLog.info(request.inference ? Object.assign(line, accessFields(request.inference)) : line, 'request');
    done();
  });

  /** Stage "authenticate", before the body is read; synchronous unless a token needs its issuer's keys. */
  const authenticate = (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
    if (shuttingDown) return done(new ShuttingDownError());
    let principal: Principal | Promise<Principal>;
    try {
      const family = familyOf(request);
      const credential = family.credential(request.headers);
      // Each family names the headers its own clients send.
      if (credential === undefined) return done(new AuthenticationError(family.missingCredential));
      principal = authenticator.authenticate(credential);
    } catch (error) {
      return done(error as Error);
    }
    if (!(principal instanceof Promise)) {
      request.principal = principal;
      return done();
    }
    principal.then(
      (resolved) => {
        request.principal = resolved;
        done();
      },
      (error: unknown) => done(error as Error),
    );
  };
  const datedApiVersion = (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
    const version = (request.query as Record<string, string | undefined>)['api-version'];
    done(!version || !AZURE_API_VERSIONS.has(version) ? new UnsupportedApiVersionError(version) : undefined);
  };
  const v1ApiVersion = (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void): void => {
    const version = (request.query as Record<string, string | undefined>)['api-version'];
    const unknown = version !== undefined && !AZURE_V1_API_VERSIONS.has(version) && !AZURE_API_VERSIONS.has(version);
    done(unknown ? new UnsupportedApiVersionError(version) : undefined);
  };

  /** Method and path pattern of every route, to tell a wrong method (405) from an unknown path (404). */
  const known: Array<{ method: string; pattern: RegExp }> = [];
  const remember = (method: string, url: string): void => {
    known.push({ method, pattern: new RegExp(`^${url.replace(/:[^/]+/g, '[^/]+')}/?$`) });
  };

  /** Where a request may name the project a token caller charges (`x-cerulean-project`). */
  const projectHintOf = (request: FastifyRequest): string | undefined => {
    const hint = request.headers['x-cerulean-project'];
    return typeof hint === 'string' && hint !== '' ? hint : undefined;
  };
  /** The deployment an Azure caller names to spill over to (`x-ms-spillover-deployment`), if any. */
  const spilloverOf = (request: FastifyRequest): string | undefined => {
    const name = request.headers['x-ms-spillover-deployment'];
    return typeof name === 'string' && name !== '' ? name : undefined;
  };
  /** An AbortController aborted when the caller goes away before the response is complete. */
  const abortOnClose = (reply: FastifyReply): AbortController => {
    const controller = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) controller.abort(new ClientAbortedError());
    });
    return controller;
  };

  const inference = (operation: InferenceOperation, route: RouteSpec) => {
    const api = operation.api;
    return async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const accepted = operation.accept(request.body, route, request.headers);
      const deployment = route.deploymentInPath ? (request.params as { deployment: string }).deployment : table.resolve(accepted.model as string);
      const controller = abortOnClose(reply);
      const query = request.query as Record<string, string | undefined>;
      const startedAt = performance.now() - reply.elapsedTime;
      const context: InferenceContext = {
        // Usage records and abuse counts are keyed by this id and must never collide: a caller's own
        // request id (which it may reuse) gets a unique suffix here.
        id: request.headers['x-request-id'] === request.id ? `${request.id}+${randomUUID()}` : request.id,
        shape: route.family.name,
        api,
        operation: api.operation,
        request: accepted.original,
        apiState: accepted.state,
        deployment,
        requestedModel: route.deploymentInPath ? deployment : (accepted.model as string),
        spillover: route.family === azureFamily ? spilloverOf(request) : undefined,
        body: accepted.internal,
        stream: accepted.stream,
        includeUsage: accepted.includeUsage,
        principal: request.principal as Principal,
        signal: controller.signal,
        abort: (reason) => controller.abort(reason),
        startedAt,
        receivedAt: Date.now(),
        projectHint: projectHintOf(request),
        apiVersion: query['api-version'],
        // With tracing, each attempt sends its own span's context; without, one context for the request.
        traceHeaders: spans ? undefined : traceHeadersFor(request.headers),
        span: spans?.start(request.headers, deployment, api.operation, request.id, api.name, startedAt),
      };
      request.inference = context;
      const writer: ResponseWriter = {
        begin(started) {
          if (route.family === azureFamily && started.route) reply.header('x-ms-region', started.route.region);
          // As Azure answers a request that spilled over, whether the spillover deployment answered or failed too.
          if (started.spilledOver) {
            reply.header('x-ms-spillover-from-deployment', started.spilledOver.from);
            reply.header('x-ms-deployment-name', started.spilledOver.to);
            reply.header('x-ms-spillover-error', String(started.spilledOver.error));
          }
          // Which targets the request took: how many attempts, and the one that answered (or failed last).
          if (started.targetsTried) {
            reply.header('x-cerulean-attempts', String(started.targetsTried.length));
            reply.header('x-cerulean-target', started.targetsTried[started.targetsTried.length - 1]);
          }
          if (started.admission) reply.headers(started.admission.headers);
        },
        json(body, raw) {
          if (raw !== undefined) reply.type('application/json').send(raw);
          else reply.send(body);
        },
        stream: (frames, options) => writeEventStream(reply, frames, context, options),
      };
      await pipeline.handle(context, writer);
      return reply;
    };
  };

  const direct =
    (operation: DirectOperation, route: RouteSpec) =>
    async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      const controller = abortOnClose(reply);
      return operation.handle({
        route,
        body: request.body,
        params: request.params as Record<string, string>,
        query: request.query as Record<string, string | undefined>,
        headers: request.headers,
        principal: request.principal as Principal,
        projectHint: projectHintOf(request),
        requestId: request.id,
        ip: request.ip,
        signal: controller.signal,
      });
    };

  const operations = inboundOperations({
    table: () => table,
    mayUse: options.admit ? (principal, name, hint) => (options.admit as AdmitStage).mayUse(principal, name, hint) : undefined,
    moderation: options.moderation ? (model) => options.moderation?.filter(model) : undefined,
    ...options.responses,
    projectOf: (principal, hint) => options.admit?.projectOf(principal, hint),
  });
  for (const operation of operations) {
    for (const route of operation.routes) {
      const onRequest =
        route.apiVersion === 'dated' ? [datedApiVersion, authenticate] : route.apiVersion === 'v1' ? [v1ApiVersion, authenticate] : [authenticate];
      const handler = operation.kind === 'inference' ? inference(operation, route) : direct(operation, route);
      app.route({ method: route.method, url: route.url, config: { family: route.family }, onRequest, handler });
      remember(route.method, route.url);
    }
  }

  if (options.admin) {
    registerAdminRoutes(
      app,
      { ...options.admin, deployments: () => table.list().map(({ name }) => name), routes: (name) => table.routesOf(name), health },
      authenticate,
    );
  }

  if (config.portal.enabled) {
    registerPortalRoutes(app, {
      directory: config.portal.directory ?? DEFAULT_PORTAL_DIRECTORY,
      connectOrigins: portalConnectOrigins(config.auth.oidc),
      identityProviders: portalIdentityProviders(config.auth.oidc),
    });
  }

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    if (shuttingDown) return reply.code(503).send({ status: 'shutting_down' });
    const readiness = options.readiness?.();
    if (!readiness) return { status: 'ready', deployments: table.list().length };
    return reply.code(readiness.status === 'not_ready' ? 503 : 200).send({ status: readiness.status, deployments: table.list().length, ...readiness.checks });
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.setNotFoundHandler(async (request) => {
    const path = request.url.split('?')[0];
    const other = known.find((route) => route.method !== request.method && route.pattern.test(path));
    throw other ? new MethodNotAllowedError(request.method, path) : new RouteNotFoundError(request.method, path);
  });

  app.setErrorHandler(async (raw: FastifyError, request, reply) => {
    const error = fromFrameworkError(raw, bodyLimit);
    if (error instanceof ClientAbortedError) return reply;
    const rendered = familyOf(request).renderError(error, request.id);
    if (rendered.status >= 500 && !(error instanceof CeruleanError)) request.log.error({ err: raw }, 'unhandled error');
    else if (rendered.status >= 500) request.log.warn({ status: rendered.status, message: (error as Error).message }, 'request failed');
    return reply.code(rendered.status).headers(rendered.headers).send(rendered.body);
  });

  return {
    app,
    metrics,
    async listen(host = config.server.host, port = config.server.port) {
      await app.listen({ host, port });
      const address = app.server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      return `http://${shownHost}:${bound}`;
    },
    async reload(next: Config) {
      const previous = table;
      table = new DeploymentTable(next, { previous, health });
      config = next;
      // Targets new to this table learn the shared drains, open breakers and cooldowns.
      void health.resync();
      options.onReload?.(next);
      // Pools close once their in-flight requests finish; nothing waits on that here.
      previous.close().catch((error: unknown) => app.log.warn({ err: error }, 'closing previous deployment table failed'));
    },
    deployments: () => table,
    config: () => config,
    async shutdown() {
      shuttingDown = true;
      const { shutdown_grace_ms: grace, drain_delay_ms: drainDelay } = config.server;
      // Draining: the port stays open, so readiness probes get a 503 (not a refused connection) and
      // new requests a 503 `shutting_down` with `connection: close`, while requests in flight finish.
      const started = Date.now();
      await Promise.all([
        new Promise<void>((resolve) => setTimeout(resolve, Math.min(drainDelay, grace)).unref()),
        new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, grace);
          timer.unref();
          onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
          if (inFlight === 0) onIdle();
        }),
      ]);
      const force = setTimeout(() => app.server.closeAllConnections(), Math.max(0, grace - (Date.now() - started)));
      force.unref();
      try {
        await app.close();
      } finally {
        clearTimeout(force);
        await table.close();
        await ownTargetStore?.close();
        // The spans of the requests just drained go out before the process ends (bounded by the export timeout).
        await options.tracing?.shutdown();
      }
    },
  };
}
