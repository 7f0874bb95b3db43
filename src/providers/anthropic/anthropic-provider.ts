import type { ProviderConfig, ProviderType } from '../../config/schema.js';
import { OperationNotSupportedError } from '../../errors/catalogue.js';
import type { JsonObject, Operation, Provider, ProviderResponse, StreamTranslator, Target, UpstreamErrorDetail, UpstreamRequest } from '../provider.js';
import { anthropicErrorDetail } from './anthropic-error.js';
import { toAnthropicRequest } from './anthropic-request.js';
import { toChatCompletion } from './anthropic-response.js';
import { AnthropicStreamTranslator } from './anthropic-stream.js';

export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
export const ANTHROPIC_DEFAULT_VERSION = '2023-06-01';

const OPERATIONS: ReadonlySet<Operation> = new Set(['chat']);

/**
 * Anthropic's Messages API behind OpenAI's chat completions: requests and responses are translated
 * both ways (see `anthropic-request.ts`, `anthropic-response.ts`, `anthropic-stream.ts`). Chat is
 * the only operation; Anthropic has no embeddings, images or legacy completions.
 */
export class AnthropicProvider implements Provider {
  readonly name: string;
  readonly type: ProviderType;
  readonly region: string | undefined;
  readonly origin: string;
  readonly operations = OPERATIONS;
  readonly missingCredential: string | null;
  private readonly messagesPath: string;
  private readonly countTokensPath: string;
  private readonly headers: Record<string, string>;

  constructor(name: string, config: ProviderConfig, missingVariables: readonly string[]) {
    this.name = name;
    this.type = config.type;
    this.region = config.region;
    const url = new URL(config.base_url ?? ANTHROPIC_BASE_URL);
    this.origin = url.origin;
    this.messagesPath = `${url.pathname.replace(/\/+$/, '')}/v1/messages`;
    this.countTokensPath = `${this.messagesPath}/count_tokens`;
    const key = config.api_key ?? '';
    this.missingCredential = key === '' ? (missingVariables[0] ?? 'api_key') : null;
    // Configured headers may add to (e.g. `anthropic-beta`) but not replace the credential and version.
    this.headers = {
      'content-type': 'application/json',
      ...config.headers,
      ...(key === '' ? {} : { 'x-api-key': key }),
      'anthropic-version': config.anthropic_version ?? ANTHROPIC_DEFAULT_VERSION,
    };
  }

  buildRequest(operation: Operation, body: JsonObject, target: Target, stream: boolean): UpstreamRequest {
    this.assertChat(operation, target);
    return { method: 'POST', path: this.messagesPath, headers: this.headers, body: JSON.stringify(toAnthropicRequest(body, target, stream)) };
  }

  nativeRequest(api: string, body: JsonObject, target: Target, stream: boolean, betas: string | undefined): UpstreamRequest | undefined {
    return api === 'messages' ? this.nativeMessagesRequest(body, target, stream, betas) : undefined;
  }

  /**
   * A Messages API request sent as the caller wrote it (cache_control, thinking, top_k and beta
   * features survive), with only `model` replaced by the deployment's and `stream` set. `betas` is
   * the caller's `anthropic-beta` header, joined to any the provider configures.
   */
  nativeMessagesRequest(body: JsonObject, target: Target, stream: boolean, betas?: string): UpstreamRequest {
    return { method: 'POST', path: this.messagesPath, headers: this.headersWith(betas), body: JSON.stringify({ ...body, model: target.model, stream }) };
  }

  /** `POST /v1/messages/count_tokens` with the caller's body, `model` replaced as for `nativeMessagesRequest`. */
  nativeCountTokensRequest(body: JsonObject, target: Target, betas?: string): UpstreamRequest {
    return { method: 'POST', path: this.countTokensPath, headers: this.headersWith(betas), body: JSON.stringify({ ...body, model: target.model }) };
  }

  parseResponse(operation: Operation, json: unknown, target: Target): ProviderResponse {
    this.assertChat(operation, target);
    return toChatCompletion(json);
  }

  createStreamTranslator(operation: Operation, target: Target): StreamTranslator {
    this.assertChat(operation, target);
    return new AnthropicStreamTranslator(target);
  }

  mapError(status: number, bodyText: string): UpstreamErrorDetail {
    return anthropicErrorDetail(status, bodyText);
  }

  private headersWith(betas: string | undefined): Record<string, string> {
    const caller = betas?.trim();
    if (!caller) return this.headers;
    const configured = this.headers['anthropic-beta'];
    return { ...this.headers, 'anthropic-beta': configured ? `${configured},${caller}` : caller };
  }

  /** The pipeline checks `operations` first; this guards against a caller that does not. */
  private assertChat(operation: Operation, target: Target): void {
    if (operation !== 'chat') throw new OperationNotSupportedError(target.deployment, operation);
  }
}
