import type { z } from 'zod';
import { InvalidRequestError } from '../errors/catalogue.js';
import type { JsonObject } from '../providers/provider.js';

/** `messages[0].content` as OpenAI names a parameter in its errors. */
export function paramName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${String(part)}` : String(part);
  return out;
}

/** One validation issue in OpenAI's wording. */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const param = paramName(issue.path);
  if (issue.code === 'invalid_type' && issue.input === undefined) return `Missing required parameter: '${param}'.`;
  if (issue.code === 'invalid_type') return `Invalid type for '${param}': expected ${issue.expected}.`;
  if (issue.code === 'invalid_value') return `Invalid value for '${param}': expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}.`;
  if (issue.code === 'invalid_union') return `Invalid type for '${param}'.`;
  return `Invalid value for '${param}': ${issue.message}.`;
}

/** The body must be a JSON object; anything else is the caller's 400. */
export function requireObject(body: unknown): JsonObject {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError('The request body must be a JSON object.', null, 'invalid_body');
  }
  return body as JsonObject;
}

/**
 * Validates a parsed body against an operation's schema, in OpenAI's wording. `requireModel` is
 * false on Azure deployment routes, where the path names the deployment. Returns the body unchanged
 * (same object) when valid: objects are loose, so fields the schema does not name pass through.
 */
export function validateBody(schema: z.ZodType, body: unknown, requireModel: boolean): JsonObject {
  const object = requireObject(body);
  if (requireModel && (typeof object.model !== 'string' || object.model === '')) {
    throw new InvalidRequestError(
      object.model === undefined ? "Missing required parameter: 'model'." : "Invalid type for 'model': expected a deployment name (string).",
      'model',
    );
  }
  // reportInput: zod leaves `input` out of issues otherwise, and a wrong type would read as a missing parameter.
  const result = schema.safeParse(object, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InvalidRequestError(describeIssue(issue), paramName(issue.path) || null);
  }
  return object;
}
