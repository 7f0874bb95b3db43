import type { ProviderType } from '../config/schema.js';
import type { Operation } from '../providers/provider.js';

/**
 * The names the OpenTelemetry GenAI semantic conventions give to what Cerulean does
 * (https://opentelemetry.io/docs/specs/semconv/gen-ai/), shared by the spans and the metrics.
 */

/** `gen_ai.operation.name`: the conventions' well-known values; image generation has none, so it is `generate_content`. */
export const GEN_AI_OPERATION: Readonly<Record<Operation, string>> = {
  chat: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
  images: 'generate_content',
};

/**
 * `gen_ai.provider.name` (formerly `gen_ai.system`) of each provider type: the conventions'
 * well-known values; a self-hosted OpenAI-compatible server is none of them and keeps its own name.
 */
export const GEN_AI_PROVIDER: Readonly<Record<ProviderType, string>> = {
  openai: 'openai',
  'azure-openai': 'azure.ai.openai',
  anthropic: 'anthropic',
  gemini: 'gcp.gemini',
  'openai-compatible': 'openai_compatible',
};
