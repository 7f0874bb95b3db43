import { z } from 'zod';
import type { PromptReader } from '../../pipeline/inbound-api.js';
import { redactPromptField } from '../../safety/prompt-text.js';
import { openAIOperation } from './openai-inference.js';
import { nullable, streamFields, textOrTokens } from './schema-parts.js';

/** POST /v1/completions (legacy text completions). */

const completionsSchema = z.looseObject({
  prompt: textOrTokens,
  n: nullable(z.number().int().min(1).max(128)),
  best_of: nullable(z.number().int().min(1).max(128)),
  max_tokens: nullable(z.number().int().nonnegative()),
  logprobs: nullable(z.number().int().min(0).max(5)),
  echo: nullable(z.boolean()),
  user: nullable(z.string()),
  ...streamFields,
});

/** The prompt strings, one per line (token-array prompts carry no text to judge). */
export const promptFieldReader = (field: string): PromptReader => ({
  read(body) {
    const prompt = body[field];
    const lines: string[] = [];
    if (typeof prompt === 'string') lines.push(prompt);
    else if (Array.isArray(prompt)) for (const item of prompt) if (typeof item === 'string') lines.push(item);
    return { text: lines.join('\n'), documents: [] };
  },
  redact: (body, redactText) => redactPromptField(body, field, redactText),
});

export const completionsOperation = openAIOperation({
  name: 'completions',
  operation: 'completions',
  path: 'completions',
  schema: completionsSchema,
  prompt: promptFieldReader('prompt'),
  streams: true,
});
