import type { IncomingHttpHeaders } from 'node:http';
import type { Principal } from '../pipeline/authenticate.js';
import type { ApiFamilyName, InboundApi } from '../pipeline/inbound-api.js';
import type { JsonObject } from '../providers/provider.js';

/**
 * The seam for inbound APIs. An API family (OpenAI, Azure OpenAI, Anthropic) owns how a caller
 * authenticates and how errors are enveloped; each operation is one module that owns its routes in
 * each family, its request schema and everything the pipeline asks of it (`InboundApi`). The edge
 * (src/server/app.ts) only walks `operations.ts` and registers what each declares.
 */

/** What an error becomes on the wire in a family's envelope. */
export interface RenderedError {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

export interface ApiFamily {
  readonly name: ApiFamilyName;
  /** The caller's credential from the headers this family's clients send, or undefined when there is none. */
  credential(headers: IncomingHttpHeaders): string | undefined;
  /** What a caller that sent no credential is told: the headers this family's clients use. */
  readonly missingCredential: string;
  /**
   * Any thrown value as this family's error reply (unknown errors become a plain 500 that echoes
   * nothing); `requestId` is the request's id, for a family whose envelope carries it.
   */
  renderError(error: unknown, requestId?: string): RenderedError;
  /** Headers every response on this family's routes carries besides `x-request-id`. */
  responseHeaders?(requestId: string, region: string): Record<string, string>;
}

/** One route of an operation: the family that answers it and how the path and query are read. */
export interface RouteSpec {
  readonly family: ApiFamily;
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** fastify path pattern, e.g. `/openai/deployments/:deployment/chat/completions`. */
  readonly url: string;
  /** The path names the deployment (`:deployment`), so the body need not. */
  readonly deploymentInPath?: boolean;
  /** Azure's `api-version` query: `dated` requires a dated version, `v1` accepts v1/preview/latest or a dated one, or none. */
  readonly apiVersion?: 'dated' | 'v1';
}

/** A caller's body turned into what the pipeline runs. */
export interface AcceptedRequest {
  /** The deployment the body names (undefined on routes whose path names it). */
  readonly model: string | undefined;
  /** The request in the internal schema, as the provider will be sent it. */
  readonly internal: JsonObject;
  /** The caller's body as received (validated). */
  readonly original: JsonObject;
  readonly stream: boolean;
  /** Whether the caller asked to see the stream's usage chunk (OpenAI's `stream_options.include_usage`). */
  readonly includeUsage: boolean;
  /** What the operation keeps about the request for its later stages (`InferenceContext.apiState`). */
  readonly state?: unknown;
}

/** An operation that calls a model: runs through the whole pipeline. */
export interface InferenceOperation {
  readonly kind: 'inference';
  readonly api: InboundApi;
  readonly routes: readonly RouteSpec[];
  /** Validates the body (throwing the caller's 400) and translates it to the internal request. */
  accept(body: unknown, route: RouteSpec, headers: IncomingHttpHeaders): AcceptedRequest;
}

/** What a direct operation is given: the parsed request and who asks. */
export interface DirectCall {
  readonly route: RouteSpec;
  readonly body: unknown;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: IncomingHttpHeaders;
  readonly principal: Principal;
  /** The project a token caller named in `x-cerulean-project`. */
  readonly projectHint: string | undefined;
  readonly requestId: string;
  readonly ip: string;
  /** Aborted when the caller goes away. */
  readonly signal: AbortSignal;
}

/** An operation answered by Cerulean itself (model lists, moderations, stored responses, token counts). */
export interface DirectOperation {
  readonly kind: 'direct';
  readonly routes: readonly RouteSpec[];
  handle(call: DirectCall): Promise<unknown>;
}

export type ApiOperation = InferenceOperation | DirectOperation;
