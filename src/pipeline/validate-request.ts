import { z } from 'zod';
import { InvalidRequestError } from '../errors/catalogue.js';
import type { JsonObject, Operation } from '../providers/provider.js';

/**
 * Checks the fields Cerulean itself relies on, per operation. Objects are loose: fields the schema
 * does not name pass through untouched to OpenAI-shaped upstreams. Schemas are built once at load.
 */
const positiveInt = z.number().int().positive();
const nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

const tokenArray = z.array(z.number().int().nonnegative());
const textOrTokens = z.union([z.string(), z.array(z.string()), tokenArray, z.array(tokenArray)]);

const message = z.looseObject({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]).optional(),
});

const streamFields = {
  stream: nullable(z.boolean()),
  stream_options: nullable(z.looseObject({ include_usage: z.boolean().optional() })),
};

const chat = z.looseObject({
  messages: z.array(message).min(1, 'must contain at least one message'),
  n: nullable(z.number().int().min(1).max(128)),
  max_tokens: nullable(positiveInt),
  max_completion_tokens: nullable(positiveInt),
  temperature: nullable(z.number().min(0).max(2)),
  top_p: nullable(z.number().min(0).max(1)),
  seed: nullable(z.number().int()),
  logprobs: nullable(z.boolean()),
  top_logprobs: nullable(z.number().int().min(0).max(20)),
  tools: nullable(z.array(z.looseObject({ type: z.string() }))),
  response_format: nullable(z.looseObject({ type: z.enum(['text', 'json_object', 'json_schema']) })),
  user: nullable(z.string()),
  ...streamFields,
});

const completions = z.looseObject({
  prompt: textOrTokens,
  n: nullable(z.number().int().min(1).max(128)),
  best_of: nullable(z.number().int().min(1).max(128)),
  max_tokens: nullable(z.number().int().nonnegative()),
  logprobs: nullable(z.number().int().min(0).max(5)),
  echo: nullable(z.boolean()),
  user: nullable(z.string()),
  ...streamFields,
});

const embeddings = z.looseObject({
  input: textOrTokens.refine((value) => !(Array.isArray(value) && value.length === 0), 'must not be empty'),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
});

const images = z.looseObject({
  prompt: z.string().min(1),
  n: nullable(z.number().int().min(1).max(10)),
  size: nullable(z.string()),
  response_format: nullable(z.enum(['url', 'b64_json'])),
  user: z.string().optional(),
});

const SCHEMAS: Record<Operation, z.ZodType<JsonObject>> = { chat, completions, embeddings, images };

function paramName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

function describe(issue: z.core.$ZodIssue): string {
  const param = paramName(issue.path);
  if (issue.code === 'invalid_type' && issue.input === undefined) return `Missing required parameter: '${param}'.`;
  if (issue.code === 'invalid_type') return `Invalid type for '${param}': expected ${issue.expected}.`;
  if (issue.code === 'invalid_value') return `Invalid value for '${param}': expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`;
  if (issue.code === 'invalid_union') return `Invalid type for '${param}'.`;
  return `Invalid value for '${param}': ${issue.message}.`;
}

/**
 * Validates a parsed body for an operation. `requireModel` is false on Azure deployment routes,
 * where the path names the deployment. Returns the body unchanged (same object) when valid.
 */
export function validateRequest(operation: Operation, body: unknown, requireModel: boolean): JsonObject {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError('The request body must be a JSON object.', null, 'invalid_body');
  }
  const object = body as JsonObject;
  if (requireModel && (typeof object.model !== 'string' || object.model === '')) {
    throw new InvalidRequestError(
      object.model === undefined ? "Missing required parameter: 'model'." : "Invalid type for 'model': expected a deployment name (string).",
      'model',
    );
  }
  const result = SCHEMAS[operation].safeParse(object);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidRequestError(describe(issue), paramName(issue.path) || null);
  }
  return object;
}
