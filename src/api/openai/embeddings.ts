import { z } from 'zod';
import { openAIOperation } from './openai-inference.js';
import { textOrTokens } from './schema-parts.js';

/** POST /v1/embeddings. */

const embeddingsSchema = z.looseObject({
  input: textOrTokens.refine((value) => !(Array.isArray(value) && value.length === 0), 'must not be empty'),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
});

export const embeddingsOperation = openAIOperation({
  name: 'embeddings',
  operation: 'embeddings',
  path: 'embeddings',
  schema: embeddingsSchema,
  // Embeddings produce no text for anyone to read: their input is not judged (as on Azure, whose
  // content filter applies to completions and images).
  prompt: { read: () => null, redact: () => undefined },
  streams: false,
});
