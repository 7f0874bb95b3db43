import type { ProviderConfig } from '../config/schema.js';
import { AnthropicProvider } from './anthropic/anthropic-provider.js';
import { AzureOpenAIProvider } from './azure-openai/azure-openai-provider.js';
import { GeminiProvider } from './gemini/gemini-provider.js';
import { OpenAICompatibleProvider } from './openai-compatible/openai-compatible-provider.js';
import { OPENAI_BASE_URL, OpenAIProvider } from './openai/openai-provider.js';
import type { Provider } from './provider.js';

/** Builds the provider a configuration entry names. The only place that switches on provider type. */
export function createProvider(name: string, config: ProviderConfig, missingVariables: readonly string[]): Provider {
  switch (config.type) {
    case 'openai':
      return new OpenAIProvider(name, config, missingVariables, config.base_url ?? OPENAI_BASE_URL);
    case 'openai-compatible':
      return new OpenAICompatibleProvider(name, config, missingVariables);
    case 'azure-openai':
      return new AzureOpenAIProvider(name, config, missingVariables);
    case 'anthropic':
      return new AnthropicProvider(name, config, missingVariables);
    case 'gemini':
      return new GeminiProvider(name, config, missingVariables);
  }
}
