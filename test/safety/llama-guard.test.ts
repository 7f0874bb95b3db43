import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { DeploymentTable } from '../../src/pipeline/pick-target.js';
import { DeploymentCaller } from '../../src/safety/adapters/deployment-caller.js';
import { LlamaGuardClassifier } from '../../src/safety/adapters/llama-guard-classifier.js';
import { ClassifierUnavailableError, type HarmCategory, type Severity } from '../../src/safety/classifier.js';
import { startLlamaGuardUpstream, type LlamaGuardUpstream } from '../fixtures/llama-guard-upstream.js';
import { startScriptedUpstream, type ScriptedUpstream } from '../fixtures/scripted-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * The Llama Guard adapter against a server that answers as Llama Guard 3 does behind vLLM, Ollama
 * or the llama.cpp server (OpenAI-compatible chat, the model's own template, "safe" or
 * "unsafe\nS1,S10"), reached through a Cerulean deployment; and a policy that runs the built-in
 * classifier and the guard together, with the official SDK as the caller.
 */
const CODES = Array.from({ length: 14 }, (_, i) => `S${i + 1}`);
/** Each hazard code's marker is its own name ("[S7]"), so a text earns exactly the codes it names. */
const hazards = Object.fromEntries(CODES.map((code) => [`[${code}]`, [code]]));

let vllm: LlamaGuardUpstream;
let ollama: LlamaGuardUpstream;
let table: DeploymentTable;

beforeAll(async () => {
  vllm = await startLlamaGuardUpstream({ hazards, style: 'vllm' });
  ollama = await startLlamaGuardUpstream({ hazards, style: 'ollama' });
  const config = parseConfig(
    `providers:
  vllm: { type: openai-compatible, base_url: "${vllm.url}/v1", retry: { max_attempts: 1 } }
  ollama: { type: openai-compatible, base_url: "${ollama.url}/v1", retry: { max_attempts: 1 } }
deployments:
  guard-vllm: { provider: vllm, model: meta-llama/Llama-Guard-3-8B }
  guard-ollama: { provider: ollama, model: "llama-guard3:8b" }
`,
    'test.yaml',
    {},
  );
  table = new DeploymentTable(config);
});

afterAll(async () => {
  await table?.close();
  await vllm?.close();
  await ollama?.close();
});

const guard = (deployment: string) => new LlamaGuardClassifier('guard', new DeploymentCaller(() => table), deployment, 2_000);

type Expected = Partial<Record<HarmCategory, Severity>>;
/** Llama Guard 3's taxonomy and what each code means for Cerulean's four categories. */
const MAPPING: Array<[string, Expected]> = [
  ['S1', { violence: 'high' }], // violent crimes
  ['S2', {}], // non-violent crimes
  ['S3', { sexual: 'high' }], // sex-related crimes
  ['S4', { sexual: 'high' }], // child sexual exploitation
  ['S5', {}], // defamation
  ['S6', {}], // specialized advice
  ['S7', {}], // privacy
  ['S8', {}], // intellectual property
  ['S9', { violence: 'high' }], // indiscriminate weapons
  ['S10', { hate: 'medium' }], // hate
  ['S11', { self_harm: 'high' }], // suicide and self-harm
  ['S12', { sexual: 'medium' }], // sexual content
  ['S13', {}], // elections
  ['S14', {}], // code interpreter abuse
];

const severities = (expected: Expected): Record<HarmCategory, Severity> => ({
  hate: expected.hate ?? 'safe',
  sexual: expected.sexual ?? 'safe',
  violence: expected.violence ?? 'safe',
  self_harm: expected.self_harm ?? 'safe',
});

describe('Llama Guard adapter', () => {
  for (const deployment of ['guard-vllm', 'guard-ollama']) {
    it(`${deployment}: maps each of S1..S14 to the four categories`, async () => {
      for (const [code, expected] of MAPPING) {
        const result = await guard(deployment).classify({ text: `a text judged [${code}]`, direction: 'prompt' });
        const got = Object.fromEntries(Object.entries(result.categories ?? {}).map(([category, value]) => [category, value.severity]));
        expect({ code, got }).toEqual({ code, got: severities(expected) });
      }
    });
  }

  it('reads several codes on one line and keeps the highest severity per category', async () => {
    const result = await guard('guard-vllm').classify({ text: 'judged [S1] [S10] [S12] [S4]', direction: 'prompt' });
    expect(result.categories).toEqual({
      hate: { severity: 'medium', score: 1 },
      sexual: { severity: 'high', score: 1 },
      violence: { severity: 'high', score: 1 },
      self_harm: { severity: 'safe', score: 0 },
    });
    expect(vllm.requests.at(-1)).toMatchObject({ path: '/v1/chat/completions' });
  });

  it('sends the model only turns its chat template accepts: a prompt as the user turn, a completion as the agent turn', async () => {
    const safe = await guard('guard-ollama').classify({ text: 'What is the capital of France?', direction: 'prompt' });
    expect(Object.values(safe.categories ?? {}).every((value) => value.severity === 'safe')).toBe(true);
    expect(ollama.requests.at(-1)?.body).toMatchObject({
      model: 'llama-guard3:8b',
      messages: [{ role: 'user', content: 'What is the capital of France?' }],
      temperature: 0,
    });
    // The agent's turn is judged, not the placeholder user turn before it.
    const answer = await guard('guard-ollama').classify({ text: 'Here is how to do it [S11]', direction: 'completion' });
    expect(answer.categories?.self_harm.severity).toBe('high');
    expect(ollama.requests.at(-1)?.body.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);
  });

  it('reports a deployment whose server refuses the request as unavailable', async () => {
    const config = parseConfig(
      `providers:\n  chatty: { type: openai-compatible, base_url: "${vllm.url}/nowhere", retry: { max_attempts: 1 } }\ndeployments:\n  lost: { provider: chatty, model: m }\n`,
      'test.yaml',
      {},
    );
    const lost = new DeploymentTable(config);
    const classifier = new LlamaGuardClassifier('guard', new DeploymentCaller(() => lost), 'lost', 2_000);
    await expect(classifier.classify({ text: 'x', direction: 'prompt' })).rejects.toBeInstanceOf(ClassifierUnavailableError);
    await lost.close();
  });
});

describe('the built-in classifier and Llama Guard in one policy', () => {
  let upstream: ScriptedUpstream;
  let guardServer: LlamaGuardUpstream;
  let cerulean: GovernedCerulean;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = await startScriptedUpstream();
    // The guard flags a self-harm plan the built-in classifier has no words for, and nothing else.
    guardServer = await startLlamaGuardUpstream({ hazards: { 'the bridge on Friday': ['S11'] }, style: 'vllm' });
    cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
  guard-server: { type: openai-compatible, base_url: "${guardServer.url}/v1", retry: { max_attempts: 1 } }
deployments:
  chat: { provider: up, model: m }
  llama-guard: { provider: guard-server, model: meta-llama/Llama-Guard-3-8B }
content_safety:
  classifiers:
    guard: { type: llama-guard, deployment: llama-guard, timeout_ms: 5000 }
  policies:
    both: { classifiers: [local, guard] }
  deployments:
    chat: both
    llama-guard: none
`);
    client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  });

  afterAll(async () => {
    await cerulean?.close();
    await upstream?.close();
    await guardServer?.close();
  });

  const ask = (content: string) => ({ model: 'chat', messages: [{ role: 'user' as const, content }] });

  it('blocks what either classifier flags and passes what both judge safe', async () => {
    const byGuard = (await client.chat.completions.create(ask('I picked the bridge on Friday, it is decided.')).catch((e: unknown) => e)) as any;
    expect(byGuard.status).toBe(400);
    expect(byGuard.error.innererror.content_filter_result.self_harm).toEqual({ filtered: true, severity: 'high' });

    const byLocal = (await client.chat.completions.create(ask('I am going to kill you tonight, I know where you live.')).catch((e: unknown) => e)) as any;
    expect(byLocal.status).toBe(400);
    expect(['medium', 'high']).toContain(byLocal.error.innererror.content_filter_result.violence.severity);

    const fine = (await client.chat.completions.create(ask('What is a good name for a golden retriever?'))) as any;
    expect(fine.choices[0].message.content).toBe('All good.');
    expect(fine.prompt_filter_results[0].content_filter_results.self_harm).toEqual({ filtered: false, severity: 'safe' });
  });
});
