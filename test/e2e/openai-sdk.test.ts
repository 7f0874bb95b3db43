import OpenAI, { AzureOpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY, startCerulean, type RunningCerulean } from '../helpers/cerulean.js';

let upstream: OpenAIFixture;
let azureUpstream: OpenAIFixture;
let cerulean: RunningCerulean;
let client: OpenAI;
let azure: AzureOpenAI;

beforeAll(async () => {
  upstream = await startOpenAIFixture({ apiKey: 'sk-upstream' });
  azureUpstream = await startOpenAIFixture({ azureKey: 'azure-secret' });
  cerulean = await startCerulean(
    `
server: { region: swedencentral }
providers:
  up: { type: openai, api_key: "\${UP_KEY}", base_url: "${upstream.url}/v1", region: eastus }
  az: { type: azure-openai, endpoint: "${azureUpstream.url}", api_key: "azure-secret", api_version: "2024-10-21", region: westeurope }
deployments:
  chat: { provider: up, model: gpt-4o-mini }
  embed: { provider: up, model: text-embedding-3-small }
  images: { provider: up, model: gpt-image-1 }
  instruct: { provider: up, model: gpt-3.5-turbo-instruct }
  az-chat: { provider: az, model: my-azure-gpt4o }
`,
    { UP_KEY: 'sk-upstream' },
  );
  client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
  azure = new AzureOpenAI({ endpoint: cerulean.url, apiKey: MASTER_KEY, apiVersion: '2024-10-21', maxRetries: 0 });
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
  await azureUpstream?.close();
});

describe('OpenAI client on /v1', () => {
  it('completes a chat and relays the upstream answer with the deployment mapped to the model', async () => {
    const completion = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Say hello' }] });
    expect(completion.choices[0].message.content).toContain('Hello from the fixture upstream');
    expect(completion.usage?.prompt_tokens).toBeGreaterThan(0);
    const sent = upstream.requests.at(-1);
    expect(sent?.body?.model).toBe('gpt-4o-mini');
    expect(sent?.headers.authorization).toBe('Bearer sk-upstream');
    expect(sent?.path).toBe('/v1/chat/completions');
  });

  it('passes n, seed, logprobs, JSON mode and unknown fields through', async () => {
    const completion = await client.chat.completions.create({
      model: 'chat',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'describe' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
          ],
        },
      ],
      n: 2,
      seed: 7,
      logprobs: true,
      response_format: { type: 'json_object' },
      // @ts-expect-error: a field the SDK does not know must still reach the upstream
      vendor_extension: { keep: true },
    });
    expect(completion.choices).toHaveLength(2);
    expect(JSON.parse(completion.choices[1].message.content ?? '{}')).toEqual({ answer: 'fixture', seed: 7 });
    expect(completion.choices[0].logprobs?.content?.length).toBeGreaterThan(0);
    expect(upstream.requests.at(-1)?.body?.vendor_extension).toEqual({ keep: true });
  });

  it('streams chunk by chunk and hides the usage chunk the caller did not ask for', async () => {
    const stream = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      expect(chunk.choices.length).toBeGreaterThan(0);
      expect(chunk).not.toHaveProperty('usage');
      text += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(text).toBe('Hello from the fixture upstream, one word at a time.');
    expect(chunks).toBeGreaterThan(5);
    // Cerulean asked the upstream for usage anyway, for metering.
    expect((upstream.requests.at(-1)?.body?.stream_options as { include_usage?: boolean }).include_usage).toBe(true);
  });

  it('relays the usage chunk when the caller asks for it', async () => {
    const stream = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('calls tools, plain and streaming', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { location: { type: 'string' } } } },
      },
    ];
    const completion = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools });
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    const call = completion.choices[0].message.tool_calls?.[0];
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({ location: 'Paris' });

    const runner = client.chat.completions.stream({ model: 'chat', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools });
    const final = await runner.finalChatCompletion();
    const streamed = final.choices[0].message.tool_calls?.[0];
    expect(streamed?.type === 'function' && streamed.function.name).toBe('get_weather');
    expect(streamed?.type === 'function' && JSON.parse(streamed.function.arguments)).toEqual({ location: 'Paris' });
  });

  it('completes text, plain and streaming', async () => {
    const completion = await client.completions.create({ model: 'instruct', prompt: 'Once upon a time' });
    expect(completion.choices[0].text).toContain('fixture');
    const stream = await client.completions.create({ model: 'instruct', prompt: 'Once', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe('Hello from the fixture upstream, one word at a time.');
  });

  it('embeds with base64 (the SDK default) and float encodings, string and token inputs, dimensions', async () => {
    const viaBase64 = await client.embeddings.create({ model: 'embed', input: ['first', 'second'], dimensions: 4 });
    expect(viaBase64.data).toHaveLength(2);
    expect(viaBase64.data[0].embedding).toHaveLength(4);
    expect(upstream.requests.at(-1)?.body?.encoding_format).toBe('base64');
    const viaFloat = await client.embeddings.create({ model: 'embed', input: ['first', 'second'], dimensions: 4, encoding_format: 'float' });
    expect(viaFloat.data[0].embedding).toEqual(viaBase64.data[0].embedding);
    const tokens = await client.embeddings.create({ model: 'embed', input: [1, 2, 3], encoding_format: 'float' });
    expect(tokens.data[0].embedding).toHaveLength(8);
  });

  it('generates images', async () => {
    const image = await client.images.generate({ model: 'images', prompt: 'a lighthouse', n: 2, response_format: 'b64_json' });
    expect(image.data).toHaveLength(2);
    expect(image.data?.[0].b64_json).toMatch(/^iVBOR/);
  });

  it('lists deployments as models and retrieves one', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models.sort()).toEqual(['az-chat', 'chat', 'embed', 'images', 'instruct']);
    const model = await client.models.retrieve('embed');
    expect(model).toMatchObject({ id: 'embed', object: 'model', owned_by: 'up' });
    await expect(client.models.retrieve('nope')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });
});

describe('AzureOpenAI client on /openai/deployments', () => {
  it('chats through a deployment route to an Azure upstream with api-key auth and Azure headers', async () => {
    const { data, response } = await azure.chat.completions.create({ model: 'az-chat', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(data.choices[0].message.content).toContain('fixture');
    expect(response.headers.get('apim-request-id')).toMatch(/[0-9a-f-]{36}/);
    expect(response.headers.get('x-ms-region')).toBe('westeurope');
    const sent = azureUpstream.requests.at(-1);
    expect(sent?.path).toBe('/openai/deployments/my-azure-gpt4o/chat/completions?api-version=2024-10-21');
    expect(sent?.headers['api-key']).toBe('azure-secret');
  });

  it('uses the client-level deployment and streams', async () => {
    const pinned = new AzureOpenAI({ endpoint: cerulean.url, apiKey: MASTER_KEY, apiVersion: '2024-10-21', deployment: 'chat', maxRetries: 0 });
    const stream = await pinned.chat.completions.create({ model: 'ignored', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toContain('one word at a time');
  });

  it('embeds, completes and generates images through deployment routes', async () => {
    const embedding = await azure.embeddings.create({ model: 'embed', input: 'hello' });
    expect(embedding.data[0].embedding).toHaveLength(8);
    const completion = await azure.completions.create({ model: 'instruct', prompt: 'hi' });
    expect(completion.choices[0].text).toContain('fixture');
    const image = await azure.images.generate({ model: 'images', prompt: 'sea' });
    expect(image.data?.[0].b64_json).toBeTruthy();
  });

  it('answers an unknown deployment with Azure DeploymentNotFound', async () => {
    await expect(azure.chat.completions.create({ model: 'missing', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 404,
      code: 'DeploymentNotFound',
    });
  });

  it('rejects a wrong key with Azure 401', async () => {
    const wrong = new AzureOpenAI({ endpoint: cerulean.url, apiKey: 'nope', apiVersion: '2024-10-21', maxRetries: 0 });
    await expect(wrong.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
      status: 401,
      code: '401',
    });
  });

  it('serves the v1 routes to the plain OpenAI client with baseURL {endpoint}/openai/v1', async () => {
    const v1 = new OpenAI({
      baseURL: `${cerulean.url}/openai/v1`,
      apiKey: 'unused',
      defaultHeaders: { 'api-key': MASTER_KEY, authorization: null },
      maxRetries: 0,
    } as never);
    const completion = await v1.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0].message.content).toContain('fixture');
  });
});
