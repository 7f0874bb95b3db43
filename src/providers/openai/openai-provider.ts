import { UpstreamUnreachableError } from '../../errors/catalogue.js';
import type { ProviderConfig, ProviderType } from '../../config/schema.js';
import {
  errorDetailFromBody,
  type JsonObject,
  type Operation,
  type Provider,
  type ProviderResponse,
  type SseEvent,
  type StreamTranslator,
  type Target,
  type UpstreamErrorDetail,
  type UpstreamRequest,
  type Usage,
} from '../provider.js';

const OPERATION_PATHS: Record<Operation, string> = {
  chat: '/chat/completions',
  completions: '/completions',
  embeddings: '/embeddings',
  images: '/images/generations',
};

const ALL_OPERATIONS: ReadonlySet<Operation> = new Set(['chat', 'completions', 'embeddings', 'images']);

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * Upstreams that speak OpenAI's own wire format: requests go through with only `model` replaced
 * (unknown fields included), responses come back as they are. Subclasses change where requests go
 * and how they authenticate, never the translation.
 */
export class OpenAIProvider implements Provider {
  readonly name: string;
  readonly type: ProviderType;
  readonly region: string | undefined;
  readonly origin: string;
  readonly operations: ReadonlySet<Operation> = ALL_OPERATIONS;
  readonly missingCredential: string | null;
  readonly speaksOpenAI = true;
  /** Path prefix of the base URL, e.g. `/v1`. */
  protected readonly basePath: string;
  protected readonly staticHeaders: Record<string, string>;
  private readonly streamUsage: boolean;

  constructor(name: string, config: ProviderConfig, missingVariables: readonly string[], baseUrl: string) {
    this.name = name;
    this.type = config.type;
    this.region = config.region;
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.streamUsage = config.stream_usage;
    this.missingCredential = config.api_key === '' || config.api_key === undefined ? (missingVariables[0] ?? this.credentialFallback()) : null;
    this.staticHeaders = { 'content-type': 'application/json', ...config.headers, ...this.authHeaders(config) };
  }

  /** The name reported when the credential is absent without an unset variable to blame. */
  protected credentialFallback(): string | null {
    return 'api_key';
  }

  protected authHeaders(config: ProviderConfig): Record<string, string> {
    return config.api_key ? { authorization: `Bearer ${config.api_key}` } : {};
  }

  protected pathFor(operation: Operation, _target: Target): string {
    return this.basePath + OPERATION_PATHS[operation];
  }

  /** Where the upstream answers the Responses API. */
  protected responsesPath(): string {
    return `${this.basePath}/responses`;
  }

  /** The caller's Responses API request, to deployments that chose `responses_api: native`. */
  nativeRequest(api: string, body: JsonObject, target: Target, stream: boolean): UpstreamRequest | undefined {
    if (api !== 'responses' || target.config.responses_api !== 'native') return undefined;
    return {
      method: 'POST',
      path: this.responsesPath(),
      headers: this.staticHeaders,
      body: JSON.stringify({ ...body, model: target.model, stream }),
      answerInCallerApi: true,
    };
  }

  buildRequest(operation: Operation, body: JsonObject, target: Target, stream: boolean): UpstreamRequest {
    const outgoing: JsonObject = { ...body, model: target.model };
    if (stream && this.streamUsage) {
      const options = body.stream_options;
      outgoing.stream_options = { ...(options && typeof options === 'object' ? options : {}), include_usage: true };
    }
    return { method: 'POST', path: this.pathFor(operation, target), headers: this.staticHeaders, body: JSON.stringify(outgoing) };
  }

  /**
   * A request to the upstream's `/moderations` endpoint (OpenAI and servers that implement it),
   * used by the content-safety classifier that delegates to such a model.
   */
  buildModerationRequest(input: string[], target: Target): UpstreamRequest {
    return {
      method: 'POST',
      path: `${this.basePath}/moderations`,
      headers: this.staticHeaders,
      body: JSON.stringify({ model: target.model, input }),
    };
  }

  parseResponse(_operation: Operation, json: unknown): ProviderResponse {
    const body = json as JsonObject;
    return { body, usage: readUsage(body.usage) };
  }

  createStreamTranslator(): StreamTranslator {
    return new OpenAIStreamTranslator();
  }

  mapError(status: number, bodyText: string): UpstreamErrorDetail {
    return errorDetailFromBody(status, bodyText);
  }
}

/** OpenAI's own stream needs no translation: each event is already a chunk. */
class OpenAIStreamTranslator implements StreamTranslator {
  /** Whether the stream said it was complete: `[DONE]`, or a finish reason. */
  private terminated = false;

  push(event: SseEvent): JsonObject[] {
    if (event.data === '') return [];
    if (event.data === '[DONE]') {
      this.terminated = true;
      return [];
    }
    const chunk = JSON.parse(event.data) as JsonObject;
    if (!this.terminated && Array.isArray(chunk.choices)) {
      for (const choice of chunk.choices as Array<{ finish_reason?: unknown }>) if (choice?.finish_reason) this.terminated = true;
    }
    return [chunk];
  }

  /**
   * A body that ended before the stream said it was complete was cut, however cleanly the
   * connection closed: the caller gets an error event, never a `[DONE]` that would pass a
   * truncated answer off as whole.
   */
  end(): JsonObject[] {
    if (!this.terminated) throw new UpstreamUnreachableError('The upstream ended its stream before it was complete (no finish reason, no [DONE]).');
    return [];
  }
}

/** Reads an OpenAI usage object, tolerating upstreams that omit parts of it. */
export function readUsage(value: unknown): Usage | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const usage = value as Usage;
  if (typeof usage.prompt_tokens !== 'number') return undefined;
  const completion = typeof usage.completion_tokens === 'number' ? usage.completion_tokens : 0;
  return {
    ...usage,
    completion_tokens: completion,
    total_tokens: typeof usage.total_tokens === 'number' ? usage.total_tokens : usage.prompt_tokens + completion,
  };
}
