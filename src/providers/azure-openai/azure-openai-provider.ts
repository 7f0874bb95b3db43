import type { ProviderConfig } from '../../config/schema.js';
import { OpenAIProvider } from '../openai/openai-provider.js';
import type { Operation, Target } from '../provider.js';

const OPERATION_SEGMENTS: Record<Operation, string> = {
  chat: 'chat/completions',
  completions: 'completions',
  embeddings: 'embeddings',
  images: 'images/generations',
};

/**
 * Azure OpenAI resources: OpenAI's wire format on deployment URLs
 * (`/openai/deployments/{model}/{op}?api-version=`), authenticated by `api-key` or by an Entra ID
 * bearer token (`auth: bearer`). The deployment's `model` names the Azure deployment.
 */
export class AzureOpenAIProvider extends OpenAIProvider {
  private readonly apiVersion: string;

  constructor(name: string, config: ProviderConfig, missingVariables: readonly string[]) {
    super(name, config, missingVariables, config.endpoint as string);
    this.apiVersion = encodeURIComponent(config.api_version as string);
  }

  protected override authHeaders(config: ProviderConfig): Record<string, string> {
    if (!config.api_key) return {};
    return config.auth === 'bearer' ? { authorization: `Bearer ${config.api_key}` } : { 'api-key': config.api_key };
  }

  /** Azure's v1 API: `model` in the body names the Azure deployment. */
  protected override responsesPath(): string {
    return `${this.basePath}/openai/v1/responses`;
  }

  protected override pathFor(operation: Operation, target: Target): string {
    return `${this.basePath}/openai/deployments/${encodeURIComponent(target.model)}/${OPERATION_SEGMENTS[operation]}?api-version=${this.apiVersion}`;
  }
}
