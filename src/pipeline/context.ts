import type { Span } from '@opentelemetry/api';
import type { JsonObject, Operation, Usage } from '../providers/provider.js';
import type { AdmissionTicket } from './admit.js';
import type { ApiFamilyName, InboundApi } from './inbound-api.js';
import type { Principal } from './authenticate.js';
import type { Route } from './pick-target.js';
import type { TargetReservation } from '../routing/target-quota.js';
import type { ResidencyPin } from '../routing/residency.js';

/** One inference request as it moves through the pipeline. Stages fill the optional fields. */
export interface InferenceContext {
  readonly id: string;
  /** The family of the route the request came in on (its error envelope and stream conventions). */
  readonly shape: ApiFamilyName;
  /** The inbound operation: how its prompt is read, its estimate, how its answer is framed. */
  readonly api: InboundApi;
  /** What the provider is asked for (`api.operation`). */
  readonly operation: Operation;
  /** The caller's body as received and validated; `body` is the internal request built from it. */
  readonly request: JsonObject;
  /** What the operation keeps about this request between its stages (its own type, opaque to the pipeline). */
  readonly apiState?: unknown;
  /** The deployment the caller named (body `model` or the Azure path segment). */
  readonly deployment: string;
  /** The internal request sent to the provider; `api.prepare` may complete it and the prompt filter replace it (PII redaction). */
  body: JsonObject;
  readonly stream: boolean;
  /** Whether the caller asked for usage on the stream (`stream_options.include_usage`). */
  readonly includeUsage: boolean;
  readonly principal: Principal;
  /** Aborted when the caller disconnects (or the upstream times out); passed to the upstream call. */
  readonly signal: AbortSignal;
  /** Aborts `signal` with a reason. */
  readonly abort: (reason: unknown) => void;
  /** `performance.now()` at arrival. */
  readonly startedAt: number;
  /** Wall-clock arrival (ms since the epoch), for the usage record. */
  readonly receivedAt: number;
  /** The project named by a token caller in `x-cerulean-project` (keys carry their own). */
  readonly projectHint: string | undefined;
  /** The caller's api-version on Azure routes. */
  readonly apiVersion: string | undefined;
  /**
   * W3C trace context sent to the upstream (`traceparent`, `tracestate`): the caller's trace
   * continued, or a new one; with tracing on, each attempt's own span (set per attempt).
   */
  traceHeaders?: Readonly<Record<string, string>>;
  /** The request's span, when tracing is on: each attempt's span is its child; the meter stage ends it. */
  readonly span?: Span;
  /** Organization and project the request is charged to, once admitted (none for the master key). */
  organizationId?: string;
  projectId?: string;
  admission?: AdmissionTicket;
  /** Where the request may be processed (its project's pin narrowed by its key's): routing never sends it to a target outside it. */
  residency?: ResidencyPin;
  /** Whether a content-filter policy applies to the request (known once it is admitted). */
  filterApplies?: boolean;
  /** Whether the upstream answered in the caller's own API (a native request relayed as it is). */
  answeredNatively?: boolean;
  /** Micro-dollars, set by the meter stage. */
  cost?: number;
  route?: Route;
  usage?: Usage;
  /** The model the upstream said answered (`model` of its answer or first stream chunk). */
  responseModel?: string;
  /** Characters of generated text (content, reasoning, tool arguments) a stream carried so far. */
  streamedChars?: number;
  /** Whether `usage` is Cerulean's estimate: the stream ended (cut, abandoned, broken) before the upstream reported its own. */
  usageEstimated?: boolean;
  /** `performance.now()` when the first token was relayed (streams). */
  firstTokenAt?: number;
  /** Final HTTP status, or 499 when the caller went away. */
  status?: number;
  attempts?: number;
  /** Whether another target may take the request if this attempt fails: each attempt then gets its own abort signal, so a timeout ends the attempt, not the request. */
  failoverPossible?: boolean;
  /** The targets (`provider/model`) tried, in order, the last the one that answered (or failed last). */
  targetsTried?: string[];
  /** What the answering attempt reserved of its target's own capacity; settled once the request is metered. */
  targetReservation?: TargetReservation;
  /** Why each attempt that did not answer failed, in order (none when the first answered). */
  attemptErrors?: AttemptError[];
  /** When the request's overall deadline across attempts ends (ms since the epoch), set by the routing stage. */
  deadlineAt?: number;
  /**
   * A deployment the caller named to spill over to when the requested one is at capacity or
   * unavailable (Azure's `x-ms-spillover-deployment` request header): a per-request fallback.
   */
  readonly spillover?: string;
  /** Set once the request spilled over: the deployment it left and the status of the failure that moved it (Azure's response headers). */
  spilledOver?: { readonly from: string; readonly to: string; readonly error: number };
  /** The model name the caller sent (body `model`, or the Azure path's deployment): what a routing deployment's answers name. */
  readonly requestedModel?: string;
  /** The `model` written over the upstream's in the answer and every stream chunk (see name-model.ts), if any. */
  renameModel?: string;
  /** The `model` an answer Cerulean frames itself (Responses, Messages translated from chat) names, when not the caller's own. */
  answerModel?: string;
  /** Whether a content filter blocked, cut or redacted the prompt or completion. */
  filtered?: boolean;
  /** Annotations of the prompt, repeated on the response (`prompt_filter_results`). */
  promptFilterResults?: unknown;
  /** Set once the meter stage has run, so it runs once. */
  metered?: boolean;
}

/** One failed attempt, as the usage record keeps it: the target, why it failed, and the upstream's status if it answered one. */
export interface AttemptError {
  readonly target: string;
  /** connect, timeout, status_5xx, rate_limited, stream_broken, deadline, or caller_error (a refusal passed on, or moved to a fallback). */
  readonly cause: string;
  readonly status: number | null;
}

/** What the provider call and the output filter yield: one internal answer, or a stream of internal chunks. */
export type PipelineResult = { kind: 'json'; body: JsonObject; raw?: string } | { kind: 'stream'; chunks: AsyncIterable<JsonObject> };
