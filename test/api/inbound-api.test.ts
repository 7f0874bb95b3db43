import { describe, expect, it } from 'vitest';
import type { InboundApi } from '../../src/pipeline/inbound-api.js';
import { inboundOperations } from '../../src/api/operations.js';
import { chatSchema } from '../../src/api/openai/chat.js';
import { validateBody } from '../../src/api/validation.js';
import { DeploymentTable } from '../../src/pipeline/pick-target.js';
import { parseConfig } from '../../src/config/load.js';

const loadConfigText = (text: string) => parseConfig(text, 'test.yaml', {});

describe('the inbound API seam', () => {
  it('does not compile an operation that does not say how its prompt is read', () => {
    // `npm test` type-checks the tests: were `prompt` optional, this directive would be unused and fail the build.
    // @ts-expect-error -- `prompt` is missing
    const unfiltered: InboundApi = {
      name: 'chat',
      operation: 'chat',
      estimateTokens: () => 0,
      billedImages: () => 0,
      answer: (answer) => answer,
      stream: async function* () {},
      streamError: () => ({ data: {} }),
    };
    expect(unfiltered.name).toBe('chat');
  });

  it('declares every route once, each in one family', () => {
    const table = new DeploymentTable(loadConfigText('deployments: {}\nproviders: {}\n'));
    const routes = inboundOperations({ table: () => table, moderation: () => undefined, projectOf: () => undefined }).flatMap((operation) =>
      operation.routes.map((route) => `${route.method} ${route.url} ${route.family.name}`),
    );
    expect(new Set(routes).size).toBe(routes.length);
    expect(routes).toContain('POST /v1/chat/completions openai');
    expect(routes).toContain('POST /openai/deployments/:deployment/chat/completions azure');
    expect(routes).toContain('GET /openai/models azure');
  });

  it('gives every inference operation a prompt reader; embeddings alone are deliberately not judged', () => {
    const table = new DeploymentTable(loadConfigText('deployments: {}\nproviders: {}\n'));
    for (const operation of inboundOperations({ table: () => table, projectOf: () => undefined })) {
      if (operation.kind !== 'inference') continue;
      const body = { messages: [{ role: 'user', content: 'hello' }], prompt: 'hello', input: 'hello' };
      const read = operation.api.prompt.read(body);
      if (operation.api.name === 'embeddings') expect(read).toBeNull();
      else expect(read?.text).toContain('hello');
    }
  });
});

describe('request validation', () => {
  it('names a wrong type as a wrong type, not as a missing parameter', () => {
    expect(() => validateBody(chatSchema, { model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 'warm' }, true)).toThrow(
      "Invalid type for 'temperature': expected number.",
    );
    expect(() => validateBody(chatSchema, { model: 'm' }, true)).toThrow("Missing required parameter: 'messages'.");
  });
});
