import type { ApiShape } from '../errors/render.js';
import type { JsonObject, Operation, Usage } from '../providers/provider.js';
import type { Principal } from './authenticate.js';
import type { Route } from './pick-target.js';

/** One inference request as it moves through the pipeline. Stages fill the optional fields. */
export interface InferenceContext {
  readonly id: string;
  readonly shape: ApiShape;
  readonly operation: Operation;
  /** The deployment the caller named (body `model` or the Azure path segment). */
  readonly deployment: string;
  readonly body: JsonObject;
  readonly stream: boolean;
  /** Whether the caller asked for usage on the stream (`stream_options.include_usage`). */
  readonly includeUsage: boolean;
  readonly principal: Principal;
  /** Aborted when the caller disconnects; passed to the upstream call. */
  readonly signal: AbortSignal;
  /** `performance.now()` at arrival. */
  readonly startedAt: number;
  route?: Route;
  usage?: Usage;
  /** `performance.now()` when the first token was relayed (streams). */
  firstTokenAt?: number;
  /** Final HTTP status, or 499 when the caller went away. */
  status?: number;
  attempts?: number;
}

/** What the edge writes: one JSON document, or a stream of chunks sent as server-sent events. */
export type PipelineResult =
  | { kind: 'json'; body: JsonObject; raw?: string }
  | { kind: 'stream'; chunks: AsyncIterable<JsonObject> };
