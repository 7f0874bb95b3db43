import type { ProviderConfig, ProviderType } from '../../config/schema.js';
import { OperationNotSupportedError, UpstreamUnreachableError } from '../../errors/catalogue.js';
import {
  errorDetailFromBody,
  type JsonObject,
  type Operation,
  type Provider,
  type ProviderResponse,
  type StreamTranslator,
  type Target,
  type UpstreamErrorDetail,
  type UpstreamRequest,
} from '../provider.js';
import { buildGenerateContentRequest, isPlainObject } from './gemini-chat-request.js';
import { chatCompletionFromGemini } from './gemini-chat-response.js';
import { buildBatchEmbedRequest, embeddingsFromGemini } from './gemini-embeddings.js';
import { GeminiStreamTranslator } from './gemini-stream-translator.js';
import type { GeminiBatchEmbedResponse, GeminiErrorBody, GeminiGenerateContentResponse } from './gemini-wire.js';

export const GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';

const OPERATIONS: ReadonlySet<Operation> = new Set(['chat', 'embeddings']);

/**
 * Google's Gemini API (AI Studio keys, `x-goog-api-key`), v1beta. Chat goes to `generateContent`
 * (`streamGenerateContent?alt=sse` for streams), embeddings to `batchEmbedContents`; both ways are
 * translated between OpenAI's shapes and Gemini's. Legacy completions and images are not offered.
 */
export class GeminiProvider implements Provider {
  readonly name: string;
  readonly type: ProviderType;
  readonly region: string | undefined;
  readonly origin: string;
  readonly operations: ReadonlySet<Operation> = OPERATIONS;
  readonly missingCredential: string | null;
  /** Path prefix of the base URL (empty for Google's own). */
  private readonly basePath: string;
  private readonly headers: Record<string, string>;

  constructor(name: string, config: ProviderConfig, missingVariables: readonly string[]) {
    this.name = name;
    this.type = config.type;
    this.region = config.region;
    const url = new URL(config.base_url ?? GEMINI_BASE_URL);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
    this.missingCredential = config.api_key ? null : (missingVariables[0] ?? 'api_key');
    this.headers = { 'content-type': 'application/json', ...config.headers, ...(config.api_key ? { 'x-goog-api-key': config.api_key } : {}) };
  }

  buildRequest(operation: Operation, body: JsonObject, target: Target, stream: boolean): UpstreamRequest {
    const model = modelResource(target.model);
    const prefix = `${this.basePath}/v1beta/${encodeResource(model)}`;
    switch (operation) {
      case 'chat':
        return {
          method: 'POST',
          path: stream ? `${prefix}:streamGenerateContent?alt=sse` : `${prefix}:generateContent`,
          headers: this.headers,
          body: JSON.stringify(buildGenerateContentRequest(body)),
        };
      case 'embeddings':
        return { method: 'POST', path: `${prefix}:batchEmbedContents`, headers: this.headers, body: JSON.stringify(buildBatchEmbedRequest(body, model)) };
      default:
        throw new OperationNotSupportedError(target.deployment, operation);
    }
  }

  /**
   * `request`, the caller's OpenAI body, goes beyond the Provider contract: embeddings need it for
   * `encoding_format` and the token estimate (see gemini-embeddings.ts). Chat does not use it.
   */
  parseResponse(operation: Operation, json: unknown, target: Target, request: JsonObject): ProviderResponse {
    if (!isPlainObject(json)) throw new UpstreamUnreachableError(`Gemini answered ${operation} with a body that is not a JSON object.`);
    switch (operation) {
      case 'chat':
        return chatCompletionFromGemini(json as GeminiGenerateContentResponse, target);
      case 'embeddings':
        return embeddingsFromGemini(json as GeminiBatchEmbedResponse, target, request);
      default:
        throw new OperationNotSupportedError(target.deployment, operation);
    }
  }

  createStreamTranslator(operation: Operation, target: Target): StreamTranslator {
    if (operation !== 'chat') throw new OperationNotSupportedError(target.deployment, operation);
    return new GeminiStreamTranslator(target);
  }

  /** Google's errors are google.rpc.Status: `status` (e.g. RESOURCE_EXHAUSTED) is the stable code. */
  mapError(status: number, bodyText: string): UpstreamErrorDetail {
    try {
      const parsed = JSON.parse(bodyText) as GeminiErrorBody | GeminiErrorBody[];
      // The non-SSE stream endpoint wraps its error in an array.
      const error = (Array.isArray(parsed) ? parsed[0] : parsed)?.error;
      if (error && typeof error.status === 'string') {
        return {
          message: error.message ?? `Gemini answered ${status}`,
          type: error.status,
          code: error.status,
          param: null,
          retryAfterSeconds: retryDelaySeconds(error.details),
        };
      }
    } catch {
      // not JSON: the shared reader keeps the text
    }
    return errorDetailFromBody(status, bodyText);
  }
}

/** Google sends the advised wait only in the body: `details[@type=…RetryInfo].retryDelay`, e.g. "7s". */
function retryDelaySeconds(details: unknown[] | undefined): number | undefined {
  for (const detail of details ?? []) {
    const info = detail as { '@type'?: unknown; retryDelay?: unknown };
    if (typeof info['@type'] === 'string' && info['@type'].endsWith('google.rpc.RetryInfo') && typeof info.retryDelay === 'string') {
      const seconds = Number.parseFloat(info.retryDelay);
      if (Number.isFinite(seconds)) return seconds;
    }
  }
  return undefined;
}

/** Deployments name a model (`gemini-2.5-flash`) or a full resource (`models/...`, `tunedModels/...`). */
function modelResource(model: string): string {
  return model.startsWith('models/') || model.startsWith('tunedModels/') ? model : `models/${model}`;
}

function encodeResource(resource: string): string {
  return resource.split('/').map(encodeURIComponent).join('/');
}
