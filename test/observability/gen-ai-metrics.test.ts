import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultUpstream, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { MASTER_KEY, startCerulean, type RunningCerulean } from '../helpers/cerulean.js';

/**
 * OpenTelemetry's GenAI metrics on `/metrics`, in Prometheus' spelling: token usage by type,
 * operation duration (failures by their status), time to first token of streams; once per request.
 */
let upstream: FaultUpstream;
let cerulean: RunningCerulean;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startFaultUpstream();
  cerulean = await startCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
deployments:
  chat: { provider: up, model: small-model }
`);
  client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

/** The value of the sample `name{labels}` (labels in any order, all of them given), or undefined. */
async function sample(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const text = await (await fetch(`${cerulean.url}/metrics`)).text();
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...match[2].matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]));
    if (Object.keys(found).length === Object.keys(labels).length && Object.entries(labels).every(([key, value]) => found[key] === value))
      return Number(match[3]);
  }
  return undefined;
}

const LABELS = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai_compatible', gen_ai_request_model: 'chat', gen_ai_response_model: 'small-model' };

describe('GenAI metrics', () => {
  it('records token usage by type, and the duration of an answer', async () => {
    const completion = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Count the tokens of this prompt' }] });
    const usage = completion.usage as NonNullable<typeof completion.usage>;
    expect(await sample('gen_ai_client_token_usage_sum', { ...LABELS, gen_ai_token_type: 'input' })).toBe(usage.prompt_tokens);
    expect(await sample('gen_ai_client_token_usage_sum', { ...LABELS, gen_ai_token_type: 'output' })).toBe(usage.completion_tokens);
    expect(await sample('gen_ai_client_token_usage_count', { ...LABELS, gen_ai_token_type: 'output' })).toBe(1);
    // Bucket boundaries are the conventions' powers of four.
    expect(await sample('gen_ai_client_token_usage_bucket', { ...LABELS, gen_ai_token_type: 'output', le: '16' })).toBe(1);
    expect(await sample('gen_ai_client_operation_duration_seconds_count', { ...LABELS, error_type: '' })).toBe(1);
    expect(await sample('gen_ai_server_time_to_first_token_seconds_count', LABELS)).toBeUndefined();
  });

  it('records the time to first token of a stream', async () => {
    const stream = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Stream please' }], stream: true });
    for await (const chunk of stream) void chunk;
    expect(await sample('gen_ai_server_time_to_first_token_seconds_count', LABELS)).toBe(1);
    expect(await sample('gen_ai_client_operation_duration_seconds_count', { ...LABELS, error_type: '' })).toBe(2);
    expect(await sample('gen_ai_client_token_usage_count', { ...LABELS, gen_ai_token_type: 'input' })).toBe(2);
  });

  it('labels a failed request with its status and no answering model', async () => {
    upstream.script([{ kind: 'status', status: 503 }], 'small-model');
    const failed = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(OpenAI.APIError);
    const status = String((failed as InstanceType<typeof OpenAI.APIError>).status);
    const labels = { ...LABELS, gen_ai_response_model: '' };
    expect(await sample('gen_ai_client_operation_duration_seconds_count', { ...labels, error_type: status })).toBe(1);
    expect(await sample('gen_ai_client_token_usage_count', { ...labels, gen_ai_token_type: 'input' })).toBeUndefined();
  });
});
