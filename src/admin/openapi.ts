import { z } from 'zod';
import type { AdminOperation } from './admin-operation.js';

type JsonSchema = Record<string, unknown> & { properties?: Record<string, unknown>; required?: string[] };

const ERROR_RESPONSE = {
  description: 'Error in the OpenAI envelope',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          error: {
            type: 'object',
            properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: ['string', 'null'] } },
          },
        },
      },
    },
  },
};

/** The OpenAPI 3.1 document of the admin API, generated from the operations' own input schemas. */
export function openApiDocument(operations: readonly AdminOperation[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations) {
    const schema = z.toJSONSchema(operation.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    const properties = schema.properties ?? {};
    const required = new Set(schema.required ?? []);
    const pathParams = [...operation.path.matchAll(/:([a-z_]+)/g)].map((match) => match[1]);
    const openPath = operation.path.replace(/:([a-z_]+)/g, '{$1}');
    const inBody = operation.method === 'POST' || operation.method === 'PUT' || operation.method === 'PATCH';
    const parameters: unknown[] = pathParams.map((name) => ({ name, in: 'path', required: true, schema: properties[name] ?? { type: 'string' } }));
    const bodyProperties: Record<string, unknown> = {};
    for (const [name, property] of Object.entries(properties)) {
      if (pathParams.includes(name)) continue;
      if (inBody) bodyProperties[name] = property;
      else parameters.push({ name, in: 'query', required: required.has(name), schema: property });
    }
    if (operation.csv) parameters.push({ name: 'format', in: 'query', required: false, schema: { enum: ['json', 'csv'] } });
    const bodyRequired = [...required].filter((name) => !pathParams.includes(name));
    paths[`/admin/v1${openPath}`] ??= {};
    paths[`/admin/v1${openPath}`][operation.method.toLowerCase()] = {
      operationId: operation.id,
      summary: operation.summary,
      tags: [operation.id.split('.')[0]],
      parameters,
      ...(inBody
        ? {
            requestBody: {
              required: bodyRequired.length > 0,
              content: { 'application/json': { schema: { type: 'object', properties: bodyProperties, required: bodyRequired } } },
            },
          }
        : {}),
      responses: {
        [String(operation.status ?? 200)]: {
          description: 'Success',
          content: { 'application/json': { schema: { type: 'object' } }, ...(operation.csv ? { 'text/csv': { schema: { type: 'string' } } } : {}) },
        },
        '400': ERROR_RESPONSE,
        '401': ERROR_RESPONSE,
        '403': ERROR_RESPONSE,
        '404': ERROR_RESPONSE,
        '409': ERROR_RESPONSE,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Cerulean admin API', version },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'The master key, or an OIDC access token of a user with a role' },
        apiKey: { type: 'apiKey', in: 'header', name: 'api-key' },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
  };
}
