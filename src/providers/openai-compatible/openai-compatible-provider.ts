import type { ProviderConfig } from '../../config/schema.js';
import { OpenAIProvider } from '../openai/openai-provider.js';

/**
 * Self-hosted servers that implement OpenAI's API (vLLM, Ollama, llama.cpp server, LM Studio):
 * OpenAI's wire format at `base_url`, with a key only where the server was started with one.
 */
export class OpenAICompatibleProvider extends OpenAIProvider {
  constructor(name: string, config: ProviderConfig, missingVariables: readonly string[]) {
    super(name, config, missingVariables, config.base_url as string);
  }

  /** A key is optional here: only an unset variable the config referenced makes it unavailable. */
  protected override credentialFallback(): string | null {
    return null;
  }
}
