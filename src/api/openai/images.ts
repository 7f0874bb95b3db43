import { z } from 'zod';
import { openAIOperation } from './openai-inference.js';
import { promptFieldReader } from './completions.js';
import { nullable } from './schema-parts.js';

/** POST /v1/images/generations. */

const imagesSchema = z.looseObject({
  prompt: z.string().min(1),
  n: nullable(z.number().int().min(1).max(10)),
  size: nullable(z.string()),
  response_format: nullable(z.enum(['url', 'b64_json'])),
  user: z.string().optional(),
});

export const imagesOperation = openAIOperation({
  name: 'images',
  operation: 'images',
  path: 'images/generations',
  schema: imagesSchema,
  prompt: promptFieldReader('prompt'),
  streams: false,
  billedImages: (body) => (typeof body.n === 'number' ? body.n : 1),
});
