import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.js';

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseConfig(yaml, 'test.yaml', env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('configuration', () => {
  it('names the path and the problem for an unknown provider reference', () => {
    expect(problemsOf('providers: { openai-east: { type: openai, api_key: k } }\ndeployments: { chat: { provider: opnai, model: m } }')).toEqual([
      'deployments.chat.provider: unknown provider "opnai"',
    ]);
  });

  it('lists every problem at once: types, unknown fields, required fields, bad URLs', () => {
    const problems = problemsOf(`
server: { port: "eighty", colour: blue }
providers:
  a: { type: azure-openai, api_key: k }
  b: { type: openai-compatible }
  c: { type: telepathy }
  d: { type: openai-compatible, base_url: "ftp://x" }
deployments: { x: { provider: a } }
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^server\.port: /),
        'server: unknown field "colour"',
        'deployments.x: give either `provider` and `model`, or `targets`',
      ]),
    );
    const cross = problemsOf(`
providers:
  a: { type: azure-openai, api_key: k }
  b: { type: openai-compatible }
  c: { type: telepathy }
  d: { type: openai-compatible, base_url: "ftp://x" }
`);
    expect(cross).toEqual([
      'providers.a.endpoint: required for type azure-openai',
      'providers.a.api_version: required for type azure-openai',
      'providers.b.base_url: required for type openai-compatible',
      expect.stringMatching(/^providers\.c\.type: unknown provider type "telepathy"/),
      'providers.d.base_url: "ftp://x" is not an http(s) URL',
    ]);
  });

  it('names every content-safety reference to something that does not exist, with its path', () => {
    const problems = problemsOf(`
providers: { up: { type: openai-compatible, base_url: "http://127.0.0.1:1/v1" } }
deployments: { chat: { provider: up, model: m } }
content_safety:
  classifiers:
    guard: { type: llama-guard, deployment: guard-modle }
  policies:
    strict: { classifiers: [local, gaurd] }
  deployments:
    chat: strcit
    chta: strict
`);
    expect(problems).toEqual([
      'content_safety.classifiers.guard.deployment: unknown deployment "guard-modle"',
      'content_safety.policies.strict.classifiers.1: unknown classifier "gaurd" (expected one of "local", "guard")',
      'content_safety.deployments.chat: unknown policy "strcit" (expected one of "strict", "default", "none")',
      'content_safety.deployments.chta: unknown deployment "chta"',
    ]);
    // Built-in names need no definition: `local`, `default` and `none`.
    expect(
      problemsOf(`
providers: { up: { type: openai-compatible, base_url: "http://127.0.0.1:1/v1" } }
deployments: { chat: { provider: up, model: m }, raw: { provider: up, model: m } }
content_safety: { policies: { default: { classifiers: [local] } }, deployments: { chat: default, raw: none } }
`),
    ).toEqual([]);
  });

  it('reports YAML syntax errors', () => {
    expect(problemsOf('server: [unclosed')[0]).toMatch(/^\(yaml\): /);
  });

  it('interpolates ${VAR} and ${VAR:-default} and records unset credentials per provider', () => {
    const config = parseConfig(
      `
server: { host: "\${HOST:-0.0.0.0}" }
providers:
  a: { type: openai, api_key: "\${A_KEY}" }
  b: { type: anthropic, api_key: "\${B_KEY}" }
deployments: { chat: { provider: a, model: "\${MODEL}" } }
`,
      'test.yaml',
      { A_KEY: 'sk-a', MODEL: 'gpt-4o' },
    );
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.providers.a.api_key).toBe('sk-a');
    expect(config.deployments.chat.model).toBe('gpt-4o');
    expect(config.missingVariables).toEqual({ b: ['B_KEY'] });
    expect(Object.isFrozen(config.providers.a)).toBe(true);
  });

  it('applies defaults for timeouts, retries and the server', () => {
    const config = parseConfig('providers: { a: { type: openai, api_key: k } }', 'test.yaml', {});
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8080, body_limit: 8 * 1024 * 1024 });
    expect(config.providers.a.timeouts).toEqual({ connect_ms: 5_000, first_byte_ms: 60_000, total_ms: 600_000 });
    expect(config.providers.a.retry).toEqual({ max_attempts: 3, base_delay_ms: 200, max_delay_ms: 10_000 });
  });

  it('accepts the shipped example with no provider key set', () => {
    const text = readFileSync(new URL('../../cerulean.example.yaml', import.meta.url), 'utf8');
    const config = parseConfig(text, 'cerulean.example.yaml', {});
    expect(Object.keys(config.deployments)).toContain('chat');
    expect(config.missingVariables['openai-east']).toEqual(['OPENAI_API_KEY']);
  });
});
