import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import OpenAI, { AzureOpenAI } from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FIXTURE_API_KEY, startAnthropicFixture, type AnthropicFixture } from '../fixtures/anthropic-upstream.js';
import { DEFAULT_FIXTURE_API_KEY, startGeminiFixture, type GeminiFixture } from '../fixtures/gemini-upstream.js';
import { startOpenAIFixture, type OpenAIFixture } from '../fixtures/openai-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * The Responses API end to end with the official SDK (and Azure's client, and the Vercel AI SDK)
 * against an OpenAI-compatible upstream and two translated ones (Anthropic, Gemini). Cerulean runs
 * with storage, so stored responses, their input items and `previous_response_id` are real.
 */
let openaiUpstream: OpenAIFixture;
let anthropic: AnthropicFixture;
let gemini: GeminiFixture;
let cerulean: GovernedCerulean;
let client: OpenAI;

beforeAll(async () => {
  openaiUpstream = await startOpenAIFixture();
  anthropic = await startAnthropicFixture();
  gemini = await startGeminiFixture();
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${openaiUpstream.url}/v1", retry: { max_attempts: 1 } }
  claude: { type: anthropic, api_key: "${FIXTURE_API_KEY}", base_url: "${anthropic.url}", retry: { max_attempts: 1 } }
  google: { type: gemini, api_key: "${DEFAULT_FIXTURE_API_KEY}", base_url: "${gemini.url}", retry: { max_attempts: 1 } }
deployments:
  gpt: { provider: up, model: gpt-4o-mini }
  claude: { provider: claude, model: claude-sonnet-4-5, default_max_tokens: 256 }
  gemini: { provider: google, model: gemini-2.5-flash }
  claude-midstream: { provider: claude, model: fail-stream-overloaded }
`);
  client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
});

afterAll(async () => {
  await cerulean?.close();
  await openaiUpstream?.close();
  await anthropic?.close();
  await gemini?.close();
});

interface Upstream {
  /** The body of the last model call the upstream received. */
  lastBody(): unknown;
  /** How many model calls it has received. */
  calls(): number;
  /** The answer it gives to a plain user text. */
  answers(text: string): RegExp;
}

const UPSTREAMS: Record<string, () => Upstream> = {
  gpt: () => ({
    lastBody: () => openaiUpstream.requests.filter((r) => r.path.endsWith('/chat/completions')).at(-1)?.body,
    calls: () => openaiUpstream.requests.filter((r) => r.path.endsWith('/chat/completions')).length,
    answers: () => /^Hello from the fixture upstream/,
  }),
  claude: () => ({
    lastBody: () => anthropic.requests.filter((r) => r.path.startsWith('/v1/messages')).at(-1)?.body,
    calls: () => anthropic.requests.filter((r) => r.path.startsWith('/v1/messages')).length,
    answers: (text) => new RegExp(`^You said: ${text}`),
  }),
  gemini: () => ({
    lastBody: () => gemini.requests.filter((r) => r.path.includes('enerateContent')).at(-1)?.body,
    calls: () => gemini.requests.filter((r) => r.path.includes('enerateContent')).length,
    answers: (text) => new RegExp(`^Echo: ${text}`),
  }),
};

const weatherTool: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'Current weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  strict: false,
};

/** The raw JSON of a call through fetch, for checking envelopes the SDK turns into exceptions. */
async function raw(method: string, path: string, body?: unknown, headers: Record<string, string> = { authorization: `Bearer ${MASTER_KEY}` }) {
  const response = await fetch(`${cerulean.url}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

/**
 * The event types OpenAI publishes for a response of one assistant message with one text part:
 * created, in_progress, the item and its part opened, the deltas, the part and item closed, completed.
 */
function textEventOrder(deltas: number): string[] {
  return [
    'response.created',
    'response.in_progress',
    'response.output_item.added',
    'response.content_part.added',
    ...Array.from({ length: deltas }, () => 'response.output_text.delta'),
    'response.output_text.done',
    'response.content_part.done',
    'response.output_item.done',
    'response.completed',
  ];
}

describe.each(['gpt', 'claude', 'gemini'])('Responses API on the %s deployment', (model) => {
  const upstream = (): Upstream => UPSTREAMS[model]();

  it('answers a string input and stores the response for retrieve', async () => {
    const response = await client.responses.create({ model, input: 'hello responses' });
    expect(response.object).toBe('response');
    expect(response.id).toMatch(/^resp_[0-9a-f]{48}$/);
    expect(response.status).toBe('completed');
    expect(response.model).toBe(model);
    expect(response.output_text).toMatch(upstream().answers('hello responses'));
    expect(response.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(response.usage?.input_tokens).toBeGreaterThan(0);
    expect(response.usage?.output_tokens).toBeGreaterThan(0);
    expect(response.usage?.total_tokens).toBe((response.usage?.input_tokens ?? 0) + (response.usage?.output_tokens ?? 0));

    const retrieved = await client.responses.retrieve(response.id);
    expect(retrieved).toEqual(response);
  });

  it('takes message items with text and image parts', async () => {
    const response = await client.responses.create({
      model,
      input: [
        {
          role: 'user',
          content: [
            { type: 'input_text', text: 'describe this picture' },
            { type: 'input_image', image_url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'auto' },
          ],
        },
      ],
    });
    expect(response.status).toBe('completed');
    expect(response.output_text).toBeTruthy();
    const sent = JSON.stringify(upstream().lastBody());
    expect(sent).toContain('describe this picture');
    expect(sent).toContain('iVBORw0KGgo=');
  });

  it('streams events in OpenAI order with sequence numbers from 0 and no gaps; finalResponse has the text', async () => {
    const stream = client.responses.stream({ model, input: 'stream this to me' });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalResponse();

    const deltas = events.filter((e) => e.type === 'response.output_text.delta').length;
    expect(deltas).toBeGreaterThan(0);
    expect(events.map((e) => e.type)).toEqual(textEventOrder(deltas));
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, index) => index));

    const created = events[0] as OpenAI.Responses.ResponseCreatedEvent;
    expect(created.response).toMatchObject({ status: 'in_progress', output: [], usage: null });
    const text = events
      .filter((e): e is OpenAI.Responses.ResponseTextDeltaEvent => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    const done = events.find((e): e is OpenAI.Responses.ResponseTextDoneEvent => e.type === 'response.output_text.done');
    expect(done?.text).toBe(text);
    const itemId = (events[2] as OpenAI.Responses.ResponseOutputItemAddedEvent).item.id;
    expect(events.slice(3, -2).every((e) => 'item_id' in e && e.item_id === itemId)).toBe(true);

    expect(final.status).toBe('completed');
    expect(final.output_text).toBe(text);
    expect(final.output_text).toMatch(upstream().answers('stream this to me'));
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
    // Stored before the final event: retrievable at once, the same response.
    const stored = await client.responses.retrieve(final.id);
    expect(stored.output_text).toBe(text);
    expect(stored.status).toBe('completed');
  });

  it('deletes a stored response; afterwards it is 404 in OpenAI’s envelope', async () => {
    const response = await client.responses.create({ model, input: 'soon gone' });
    const deleted = await raw('DELETE', `/v1/responses/${response.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: response.id, object: 'response', deleted: true });
    await expect(client.responses.retrieve(response.id)).rejects.toMatchObject({ status: 404 });
    const gone = await raw('GET', `/v1/responses/${response.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ error: { message: `Response with id '${response.id}' not found.`, type: 'invalid_request_error', param: null, code: null } });
    await expect(client.responses.delete(response.id)).rejects.toMatchObject({ status: 404 });
  });

  it('lists input items newest first by default, ascending on request, with limit and after', async () => {
    const response = await client.responses.create({
      model,
      input: [
        { role: 'developer', content: 'Answer briefly.' },
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: 'second question' },
      ],
    });
    const all = await client.responses.inputItems.list(response.id);
    const texts = (items: OpenAI.Responses.ResponseItem[]): string[] =>
      items.map((item) => (item.type === 'message' ? ((item.content[0] as { text: string }).text ?? '') : item.type));
    expect(texts(all.data)).toEqual(['second question', 'first answer', 'first question', 'Answer briefly.']);
    expect(all.data.every((item) => typeof item.id === 'string' && item.id.startsWith('msg_'))).toBe(true);

    const ascending = await client.responses.inputItems.list(response.id, { order: 'asc' });
    expect(texts(ascending.data)).toEqual(['Answer briefly.', 'first question', 'first answer', 'second question']);

    const page = await client.responses.inputItems.list(response.id, { order: 'asc', limit: 2 });
    expect(texts(page.data)).toEqual(['Answer briefly.', 'first question']);
    expect(page.has_more).toBe(true);
    const rawPage = await raw('GET', `/v1/responses/${response.id}/input_items?order=asc&limit=2`);
    expect(rawPage.body).toMatchObject({ object: 'list', first_id: page.data[0].id, last_id: page.data[1].id, has_more: true });
    const next = await client.responses.inputItems.list(response.id, { order: 'asc', limit: 2, after: page.data[1].id });
    expect(texts(next.data)).toEqual(['first answer', 'second question']);
    expect(next.has_more).toBe(false);

    // The SDK's auto-pagination walks the pages with `after`.
    const walked: OpenAI.Responses.ResponseItem[] = [];
    for await (const item of client.responses.inputItems.list(response.id, { order: 'asc', limit: 1 })) walked.push(item);
    expect(texts(walked)).toEqual(texts(ascending.data));
  });

  it('round-trips a function tool: function_call item, then function_call_output with previous_response_id', async () => {
    const first = await client.responses.create({ model, input: 'Use get_weather for Paris', tools: [weatherTool], tool_choice: 'required' });
    const call = first.output.find((item): item is OpenAI.Responses.ResponseFunctionToolCall => item.type === 'function_call');
    expect(call).toBeDefined();
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
    expect(call?.id).toMatch(/^fc_/);
    expect(() => JSON.parse(call?.arguments ?? '')).not.toThrow();

    const before = upstream().calls();
    const second = await client.responses.create({
      model,
      previous_response_id: first.id,
      tools: [weatherTool],
      input: [{ type: 'function_call_output', call_id: call?.call_id ?? '', output: '{"temperature_c": 21}' }],
    });
    expect(upstream().calls()).toBe(before + 1);
    expect(second.previous_response_id).toBe(first.id);
    expect(second.status).toBe('completed');
    const sent = JSON.stringify(upstream().lastBody());
    expect(sent).toContain('Use get_weather for Paris');
    expect(sent).toContain('get_weather');
    expect(sent).toContain('temperature_c');
    if (model !== 'gemini') expect(sent).toContain(call?.call_id);
    if (model !== 'gemini') expect(second.output_text).toBeTruthy();
  });

  it('streams a function call the SDK assembles', async () => {
    const stream = client.responses.stream({ model, input: 'Use get_weather for Paris', tools: [weatherTool], tool_choice: 'required' });
    const events: ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const final = await stream.finalResponse();
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, index) => index));
    const types = events.map((e) => e.type);
    expect(types.slice(0, 3)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added']);
    expect(types.slice(-3)).toEqual(['response.function_call_arguments.done', 'response.output_item.done', 'response.completed']);
    const call = final.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ name: 'get_weather', status: 'completed' });
    const done = events.find((e): e is OpenAI.Responses.ResponseFunctionCallArgumentsDoneEvent => e.type === 'response.function_call_arguments.done');
    expect(call?.type === 'function_call' && call.arguments).toBe(done?.arguments);
  });

  it('carries the conversation with previous_response_id: the upstream gets the earlier turns', async () => {
    const first = await client.responses.create({ model, input: 'my name is Ada', instructions: 'Be brief.' });
    const second = await client.responses.create({ model, input: 'what is my name', previous_response_id: first.id });
    expect(second.previous_response_id).toBe(first.id);
    const sent = JSON.stringify(upstream().lastBody());
    expect(sent).toContain('my name is Ada');
    expect(sent).toContain(JSON.stringify(first.output_text).slice(1, 30));
    expect(sent).toContain('what is my name');
    // Instructions are not carried over (OpenAI does not either).
    expect(sent).not.toContain('Be brief.');
    const third = await client.responses.create({ model, input: 'and again', previous_response_id: second.id });
    const all = JSON.stringify(upstream().lastBody());
    expect(all.indexOf('my name is Ada')).toBeLessThan(all.indexOf('what is my name'));
    expect(all.indexOf('what is my name')).toBeLessThan(all.indexOf('and again'));
    expect(third.status).toBe('completed');

    // An earlier output item by reference, without previous_response_id (as clients that keep the conversation send it).
    const referenced = await client.responses.create({
      model,
      input: [
        { role: 'user', content: 'my name is Ada' },
        { type: 'item_reference', id: first.output[0].id! },
        { role: 'user', content: 'say my name' },
      ],
    });
    expect(referenced.status).toBe('completed');
    const byReference = JSON.stringify(upstream().lastBody());
    expect(byReference).toContain(JSON.stringify(first.output_text).slice(1, 30));
    expect(byReference.indexOf('my name is Ada')).toBeLessThan(byReference.indexOf('say my name'));
    // Continued later, the stored reference (to a response outside this chain) still resolves.
    const later = await client.responses.create({ model, input: 'once more', previous_response_id: referenced.id });
    expect(later.status).toBe('completed');
    expect(JSON.stringify(upstream().lastBody())).toContain(JSON.stringify(first.output_text).slice(1, 30));
    // Another project's items are not found: see the governance tests.
    const dangling = await raw('POST', '/v1/responses', { model, input: [{ type: 'item_reference', id: 'msg_nope' }] });
    expect(dangling.status).toBe(400);
    expect(dangling.body.error).toMatchObject({ param: 'input[0]', type: 'invalid_request_error' });

    const unknown = await raw('POST', '/v1/responses', { model, input: 'x', previous_response_id: 'resp_nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ param: 'previous_response_id', code: 'previous_response_not_found', type: 'invalid_request_error' });
  });

  it('asks for structured output with text.format json_schema', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const response = await client.responses.create({
      model,
      input: 'answer in JSON',
      text: { format: { type: 'json_schema', name: 'reply', schema, strict: true } },
    });
    expect(response.status).toBe('completed');
    expect(response.text?.format).toMatchObject({ type: 'json_schema', name: 'reply', strict: true });
    const sent = upstream().lastBody() as Record<string, any>;
    if (model === 'gpt') {
      expect(sent.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'reply', schema, strict: true } });
      expect(JSON.parse(response.output_text)).toMatchObject({ answer: 'fixture' });
    } else {
      // Translated: the schema reaches the upstream (Gemini's response schema, or Anthropic's system prompt).
      expect(JSON.stringify(sent)).toContain(model === 'gemini' ? '"answer"' : JSON.stringify(JSON.stringify(schema)).slice(1, -1));
    }
  });

  it('does not store with store: false (retrieve is 404)', async () => {
    const response = await client.responses.create({ model, input: 'forget me', store: false });
    expect((response as unknown as { store: boolean }).store).toBe(false);
    expect(response.output_text).toBeTruthy();
    await expect(client.responses.retrieve(response.id)).rejects.toMatchObject({ status: 404 });
    const continued = await raw('POST', '/v1/responses', { model, input: 'x', previous_response_id: response.id });
    expect(continued.status).toBe(400);
  });

  it('refuses background: true with 400', async () => {
    const before = upstream().calls();
    const refused = await raw('POST', '/v1/responses', { model, input: 'later', background: true });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', param: 'background', code: 'unsupported_parameter' });
    await expect(client.responses.create({ model, input: 'later', background: true })).rejects.toMatchObject({ status: 400, param: 'background' });
    expect(upstream().calls()).toBe(before);
  });
});

describe('stream endings', () => {
  /** The events of a raw streamed call, in order, each with its SSE event name. */
  async function events(body: Record<string, unknown>): Promise<Array<{ event: string; data: Record<string, any> }>> {
    const response = await fetch(`${cerulean.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true }),
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    // Unlike chat completions, the Responses stream has no `data: [DONE]`.
    expect(text).not.toContain('[DONE]');
    return text
      .split('\n\n')
      .filter((frame) => frame.trim() !== '')
      .map((frame) => {
        const [eventLine, dataLine] = frame.split('\n');
        return { event: eventLine.replace(/^event: /, ''), data: JSON.parse(dataLine.replace(/^data: /, '')) as Record<string, any> };
      });
  }

  it('names every event after its type', async () => {
    const all = await events({ model: 'gpt', input: 'names' });
    expect(all.every(({ event, data }) => event === data.type)).toBe(true);
    expect(all.map(({ data }) => data.sequence_number)).toEqual(all.map((_, index) => index));
  });

  it('ends in response.failed, stored as such, when the upstream fails mid-stream', async () => {
    const all = await events({ model: 'claude-midstream', input: 'hi' });
    expect(all.map(({ data }) => data.sequence_number)).toEqual(all.map((_, index) => index));
    const last = all.at(-1)!.data;
    expect(last.type).toBe('response.failed');
    expect(last.response).toMatchObject({ status: 'failed', error: { code: expect.any(String), message: expect.stringMatching(/overloaded/i) } });
    // Whatever was written before the failure stays, marked incomplete.
    expect(last.response.output.every((item: { status: string }) => item.status === 'incomplete')).toBe(true);
    const stored = await client.responses.retrieve(last.response.id);
    expect(stored.status).toBe('failed');
    // The SDK takes response.failed as the stream's last word.
    const final = await client.responses.stream({ model: 'claude-midstream', input: 'fail half way' }).finalResponse();
    expect(final.status).toBe('failed');
  });

  it('numbers the error event that ends a stream whose response could not be stored', async () => {
    const responses = cerulean.governance.storage.responses;
    const put = responses.put;
    responses.put = () => Promise.reject(new Error('disk full'));
    try {
      const all = await events({ model: 'gpt', input: 'store me if you can' });
      const last = all.at(-1)!;
      expect(last.event).toBe('error');
      expect(last.data).toMatchObject({ type: 'error', message: expect.any(String) });
      expect(all.map(({ data }) => data.sequence_number)).toEqual(all.map((_, index) => index));
    } finally {
      responses.put = put;
    }
  });
});

describe('Azure routes', () => {
  it('serves the v1 route to the AzureOpenAI client (api-version preview)', async () => {
    const azure = new AzureOpenAI({ baseURL: `${cerulean.url}/openai/v1`, apiKey: MASTER_KEY, apiVersion: 'preview', maxRetries: 0 });
    const response = await azure.responses.create({ model: 'gpt', input: 'azure v1' });
    expect(response.output_text).toMatch(/^Hello from the fixture upstream/);
    const { data, response: http } = await azure.responses.retrieve(response.id).withResponse();
    expect(data.id).toBe(response.id);
    expect(http.headers.get('apim-request-id')).toBeTruthy();
    // The same stored response under the OpenAI route: one store, whatever the route.
    expect((await client.responses.retrieve(response.id)).id).toBe(response.id);

    const stream = azure.responses.stream({ model: 'claude', input: 'azure streams' });
    const final = await stream.finalResponse();
    expect(final.output_text).toMatch(/^You said: azure streams/);
  });

  it('serves the dated route with api-version, and refuses in Azure’s envelope', async () => {
    const headers = { 'api-key': MASTER_KEY };
    const created = await raw('POST', '/openai/responses?api-version=2025-04-01-preview', { model: 'gpt', input: 'azure dated' }, headers);
    expect(created.status).toBe(200);
    expect(created.headers.get('apim-request-id')).toBeTruthy();
    expect(created.body).toMatchObject({ object: 'response', status: 'completed', model: 'gpt' });
    const retrieved = await raw('GET', `/openai/responses/${created.body.id}?api-version=2025-04-01-preview`, undefined, headers);
    expect(retrieved.body.id).toBe(created.body.id);
    const items = await raw('GET', `/openai/responses/${created.body.id}/input_items?api-version=2025-04-01-preview`, undefined, headers);
    expect(items.body.data[0].content[0]).toEqual({ type: 'input_text', text: 'azure dated' });

    // Refusals: Azure's envelope (always a string code: the status where OpenAI's is null; Azure's own texts for auth and deployments).
    const background = await raw('POST', '/openai/responses?api-version=2025-04-01-preview', { model: 'gpt', input: 'x', background: true }, headers);
    expect(background.status).toBe(400);
    expect(background.body.error).toMatchObject({ type: 'invalid_request_error', param: 'background', code: 'unsupported_parameter' });
    expect(background.body.error.message).toContain('Background responses are not offered');
    const unknown = await raw('POST', '/openai/responses?api-version=2025-04-01-preview', { model: 'nope', input: 'x' }, headers);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'DeploymentNotFound' });
    const denied = await raw('POST', '/openai/responses?api-version=2025-04-01-preview', { model: 'gpt', input: 'x' }, { 'api-key': 'wrong' });
    expect(denied.status).toBe(401);
    expect(denied.body.error.code).toBe('401');
    const missing = await raw('GET', `/openai/responses/resp_nope?api-version=2025-04-01-preview`, undefined, headers);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({
      message: "Response with id 'resp_nope' not found.",
      type: 'invalid_request_error',
      param: null,
      code: '404',
      status: 404,
    });

    const azure = new AzureOpenAI({ endpoint: cerulean.url, apiKey: MASTER_KEY, apiVersion: '2025-04-01-preview', maxRetries: 0 });
    const viaSdk = await azure.responses.create({ model: 'gemini', input: 'azure dated sdk' });
    expect(viaSdk.output_text).toMatch(/^Echo: azure dated sdk/);
  });
});

describe('Vercel AI SDK', () => {
  const seen: string[] = [];
  const provider = () =>
    createOpenAI({
      baseURL: `${cerulean.url}/v1`,
      apiKey: MASTER_KEY,
      fetch: (input, init) => {
        seen.push(`${init?.method ?? 'GET'} ${new URL(String(input instanceof Request ? input.url : input)).pathname}`);
        return fetch(input, init);
      },
    });

  it.each(['gpt', 'claude', 'gemini'])('generateText and streamText on %s go through /v1/responses', async (model) => {
    seen.length = 0;
    const openai = provider();
    const generated = await generateText({ model: openai(model), prompt: 'vercel says hi' });
    expect(generated.text).toMatch(UPSTREAMS[model]().answers('vercel says hi'));
    expect(generated.finishReason).toBe('stop');
    expect(generated.usage.inputTokens).toBeGreaterThan(0);

    const streamed = streamText({ model: openai(model), prompt: 'vercel streams' });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    expect(text).toMatch(UPSTREAMS[model]().answers('vercel streams'));
    expect(await streamed.finishReason).toBe('stop');
    expect(seen).toEqual(['POST /v1/responses', 'POST /v1/responses']);
  });

  it.each(['gpt', 'claude'])('runs a tool loop on %s: the call goes back by reference with its output', async (model) => {
    const openai = provider();
    const calls: unknown[] = [];
    const result = await generateText({
      model: openai(model),
      prompt: 'Use get_weather for Paris',
      tools: {
        get_weather: tool({
          description: 'Current weather in a city',
          // Loose: each fixture makes up its own arguments.
          inputSchema: z.looseObject({}),
          execute: async (input) => {
            calls.push(input);
            return { temperature_c: 21 };
          },
        }),
      },
      stopWhen: stepCountIs(2),
    });
    expect(calls).toHaveLength(1);
    expect(result.steps).toHaveLength(2);
    expect(result.text).toBeTruthy();
    const sent = JSON.stringify(UPSTREAMS[model]().lastBody());
    expect(sent).toContain('get_weather');
    expect(sent).toContain('temperature_c');
  });

  it('continues a conversation: the earlier answer goes back as an item reference, which Cerulean resolves', async () => {
    const openai = provider();
    const first = await generateText({ model: openai('gpt'), prompt: 'remember the word cobalt' });
    const second = await generateText({
      model: openai('gpt'),
      messages: [{ role: 'user', content: 'remember the word cobalt' }, ...first.response.messages, { role: 'user', content: 'which word was it' }],
    });
    expect(second.text).toMatch(/^Hello from the fixture upstream/);
    const sent = openaiUpstream.requests.filter((r) => r.path.endsWith('/chat/completions')).at(-1)?.body as { messages: unknown[] };
    expect(sent.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'remember the word cobalt' }] },
      { role: 'assistant', content: first.text },
      { role: 'user', content: [{ type: 'text', text: 'which word was it' }] },
    ]);
  });
});
