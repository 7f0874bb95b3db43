import OpenAI, { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE_API_KEY, startAnthropicFixture, type AnthropicFixture } from '../fixtures/anthropic-upstream.js';
import { DEFAULT_FIXTURE_API_KEY, fixtureEmbedding, startGeminiFixture, type GeminiFixture } from '../fixtures/gemini-upstream.js';
import { MASTER_KEY, startCerulean, type RunningCerulean } from '../helpers/cerulean.js';

/** Anthropic and Gemini deployments, called through Cerulean with the official SDK. */
let anthropic: AnthropicFixture;
let gemini: GeminiFixture;
let cerulean: RunningCerulean;
let client: OpenAI;

const weatherTool: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

beforeAll(async () => {
  anthropic = await startAnthropicFixture();
  gemini = await startGeminiFixture();
  cerulean = await startCerulean(`
providers:
  claude: { type: anthropic, api_key: "${FIXTURE_API_KEY}", base_url: "${anthropic.url}", retry: { max_attempts: 1 } }
  google: { type: gemini, api_key: "${DEFAULT_FIXTURE_API_KEY}", base_url: "${gemini.url}", retry: { max_attempts: 1 } }
deployments:
  claude: { provider: claude, model: claude-sonnet-4-5, default_max_tokens: 256 }
  claude-limited: { provider: claude, model: fail-429 }
  claude-midstream: { provider: claude, model: fail-stream-overloaded }
  gemini: { provider: google, model: gemini-2.5-flash }
  gemini-embed: { provider: google, model: text-embedding-004 }
`);
  client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await cerulean?.close();
  await anthropic?.close();
  await gemini?.close();
});

async function streamText(model: string, content: string): Promise<{ text: string; usage?: OpenAI.CompletionUsage | null; finish?: string | null }> {
  const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content }], stream: true, stream_options: { include_usage: true } });
  let text = '';
  let usage: OpenAI.CompletionUsage | null | undefined;
  let finish: string | null | undefined;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    if (chunk.usage) usage = chunk.usage;
  }
  return { text, usage, finish };
}

describe.each(['claude', 'gemini'])('%s deployment through the OpenAI SDK', (model) => {
  it('chats with a system prompt and reports usage', async () => {
    const completion = await client.chat.completions.create({
      model,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello there' },
      ],
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0].message.content).toContain('hello there');
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('streams the same text, with usage when asked', async () => {
    const plain = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'stream me please' }] });
    const streamed = await streamText(model, 'stream me please');
    expect(streamed.text).toBe(plain.choices[0].message.content);
    expect(streamed.finish).toBe('stop');
    expect(streamed.usage).toMatchObject({ prompt_tokens: plain.usage?.prompt_tokens, completion_tokens: plain.usage?.completion_tokens });
  });

  it('calls tools and takes the result back', async () => {
    const first = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: 'Use get_weather for Paris' }],
      tools: [weatherTool],
      tool_choice: 'required',
    });
    expect(first.choices[0].finish_reason).toBe('tool_calls');
    const call = first.choices[0].message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    const second = await client.chat.completions.create({
      model,
      tools: [weatherTool],
      messages: [
        { role: 'user', content: 'Use get_weather for Paris' },
        first.choices[0].message,
        { role: 'tool', tool_call_id: call?.id ?? '', content: '{"temperature": 21}' },
      ],
    });
    expect(second.choices[0].message.content).toBeTruthy();
  });

  it('streams tool calls the SDK can assemble', async () => {
    const runner = client.chat.completions.stream({
      model,
      messages: [{ role: 'user', content: 'Use get_weather for Paris' }],
      tools: [weatherTool],
      tool_choice: 'required',
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0].message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_weather');
    expect(() => JSON.parse(call?.type === 'function' ? call.function.arguments : '')).not.toThrow();
  });

  it('accepts image inputs', async () => {
    const completion = await client.chat.completions.create({
      model,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is this' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
      ],
    });
    expect(completion.choices[0].message.content).toBeTruthy();
  });

  it('works through the Azure client too', async () => {
    const azure = new AzureOpenAI({ endpoint: cerulean.url, apiKey: MASTER_KEY, apiVersion: '2024-10-21', maxRetries: 0 });
    const completion = await azure.chat.completions.create({ model, messages: [{ role: 'user', content: 'azure says hi' }] });
    expect(completion.choices[0].message.content).toContain('azure says hi');
  });
});

describe('provider specifics', () => {
  it('translates Anthropic request fields', async () => {
    await client.chat.completions.create({
      model: 'claude',
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'x' },
      ],
      stop: ['END'],
      user: 'u-1',
    });
    const sent = anthropic.requests.at(-1);
    expect(sent?.path).toBe('/v1/messages');
    expect(sent?.body).toMatchObject({ model: 'claude-sonnet-4-5', system: 'S', max_tokens: 256, stop_sequences: ['END'], metadata: { user_id: 'u-1' } });
  });

  it('passes an Anthropic 429 on with its retry-after', async () => {
    const response = await client.chat.completions
      .create({ model: 'claude-limited', messages: [{ role: 'user', content: 'x' }] })
      .asResponse()
      .catch((e: unknown) => e);
    expect(response).toMatchObject({ status: 429 });
    expect((response as { headers: Headers }).headers.get('retry-after')).toBe('7');
  });

  it('ends a stream with an error event when Anthropic fails mid-stream', async () => {
    await expect(streamText('claude-midstream', 'hello')).rejects.toThrow(/overloaded/i);
  });

  it('embeds with Gemini in base64 (the SDK default) and float', async () => {
    const viaSdk = await client.embeddings.create({ model: 'gemini-embed', input: ['alpha', 'beta'], dimensions: 16 });
    expect(viaSdk.data[1].embedding).toEqual(fixtureEmbedding('beta', 16));
    expect(viaSdk.usage.prompt_tokens).toBeGreaterThan(0);
    const floats = await client.embeddings.create({ model: 'gemini-embed', input: 'alpha', dimensions: 16, encoding_format: 'float' });
    expect(floats.data[0].embedding).toEqual(fixtureEmbedding('alpha', 16));
  });

  it('refuses what a provider cannot do with a 400', async () => {
    await expect(client.embeddings.create({ model: 'claude', input: 'x' })).rejects.toMatchObject({ status: 400 });
    await expect(client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'x' }], n: 2 })).rejects.toMatchObject({
      status: 400,
      param: 'n',
    });
  });
});
