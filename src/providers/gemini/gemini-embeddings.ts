import { InvalidRequestError, UpstreamUnreachableError } from '../../errors/catalogue.js';
import type { JsonObject, ProviderResponse, Target, Usage } from '../provider.js';
import { countTokens } from '../../tokens/tokenizer.js';
import type { GeminiBatchEmbedRequest, GeminiBatchEmbedResponse } from './gemini-wire.js';

/**
 * Gemini's batchEmbedContents reports no token counts, yet OpenAI callers (and Cerulean's metering)
 * expect `usage`. It is estimated with OpenAI's cl100k_base tokenizer: close to, not equal to,
 * what Google bills. The tokenizer is built on first use and shared.
 */

/** The texts of an OpenAI embeddings `input`; token arrays have no Gemini counterpart. */
function embeddingInputs(body: JsonObject): string[] {
  const input = body.input;
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0 && input.every((item): item is string => typeof item === 'string')) return input;
  throw new InvalidRequestError('Gemini deployments accept embeddings input as a string or an array of strings; token arrays are not supported.', 'input');
}

/** An OpenAI embeddings body as a batchEmbedContents body; `modelResource` is `models/{model}`. */
export function buildBatchEmbedRequest(body: JsonObject, modelResource: string): GeminiBatchEmbedRequest {
  const dimensions = typeof body.dimensions === 'number' ? body.dimensions : undefined;
  return {
    requests: embeddingInputs(body).map((text) => ({
      model: modelResource,
      content: { parts: [{ text }] },
      ...(dimensions === undefined ? {} : { outputDimensionality: dimensions }),
    })),
  };
}

/**
 * A batchEmbedContents response in OpenAI's shape. `request` is the caller's OpenAI body: it is
 * needed for the token estimate and for `encoding_format`, which OpenAI-shaped upstreams apply
 * themselves but Gemini knows nothing of. Without it, floats are returned and usage counts 0.
 */
export function embeddingsFromGemini(response: GeminiBatchEmbedResponse, target: Target, request: JsonObject | undefined): ProviderResponse {
  if (!Array.isArray(response.embeddings)) throw new UpstreamUnreachableError('Gemini answered an embeddings request without embeddings.');
  const base64 = request?.encoding_format === 'base64';
  const data = response.embeddings.map((entry, index) => {
    const values = entry.values ?? [];
    return { object: 'embedding', index, embedding: base64 ? float32Base64(values) : values };
  });
  let tokens = 0;
  if (request) for (const text of embeddingInputs(request)) tokens += countTokens(text);
  const usage: Usage = { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens };
  return {
    body: { object: 'list', data, model: target.model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
    usage,
  };
}

/** OpenAI's base64 encoding: the vector's float32 values, little-endian, as base64. */
function float32Base64(values: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(values.length * 4);
  values.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}
