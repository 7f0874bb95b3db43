import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponsesRequest } from '../../../../src/api/openai/responses/responses-request.js';
import { chatToResponse, failedResponse, responseUsage } from '../../../../src/api/openai/responses/responses-response.js';

const META = { id: 'resp_0123', createdAt: 1_700_000_000 };

function completion(message: Record<string, unknown>, finishReason = 'stop', usage?: Record<string, unknown>) {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'upstream-model',
    choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: finishReason }],
    ...(usage ? { usage } : {}),
  };
}

describe('chatToResponse', () => {
  it('answers text as one completed assistant message, with every Response field OpenAI sends', () => {
    const request = parseResponsesRequest({ model: 'my-deployment', input: 'hi', instructions: 'Be kind.', metadata: { team: 'a' } });
    const response = chatToResponse(
      completion({ content: 'Hello!' }, 'stop', { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 } }),
      request,
      META,
    );
    expect(response).toEqual({
      id: 'resp_0123',
      object: 'response',
      created_at: 1_700_000_000,
      status: 'completed',
      background: false,
      completed_at: expect.any(Number),
      error: null,
      incomplete_details: null,
      instructions: 'Be kind.',
      max_output_tokens: null,
      max_tool_calls: null,
      model: 'my-deployment',
      output: [
        {
          id: expect.stringMatching(/^msg_[0-9a-f]{48}$/),
          type: 'message',
          status: 'completed',
          content: [{ type: 'output_text', text: 'Hello!', annotations: [], logprobs: [] }],
          role: 'assistant',
        },
      ],
      parallel_tool_calls: true,
      previous_response_id: null,
      prompt_cache_key: null,
      prompt_cache_retention: null,
      reasoning: { effort: null, summary: null },
      safety_identifier: null,
      service_tier: 'default',
      store: true,
      temperature: 1,
      text: { format: { type: 'text' }, verbosity: 'medium' },
      tool_choice: 'auto',
      tools: [],
      top_logprobs: 0,
      top_p: 1,
      truncation: 'disabled',
      usage: {
        input_tokens: 12,
        input_tokens_details: { cached_tokens: 4, cache_write_tokens: 0 },
        output_tokens: 3,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 15,
      },
      user: null,
      metadata: { team: 'a' },
    });
    expect(response).not.toHaveProperty('output_text');
  });

  it('echoes the request settings', () => {
    const request = parseResponsesRequest({
      model: 'm',
      input: 'x',
      tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      temperature: 0.3,
      top_p: 0.5,
      max_output_tokens: 64,
      reasoning: { effort: 'low' },
      text: { format: { type: 'json_object' } },
      previous_response_id: 'resp_prev',
      store: false,
      user: 'u',
      truncation: 'auto',
      service_tier: 'flex',
    });
    const response = chatToResponse(completion({ content: '{}' }), request, META);
    expect(response).toMatchObject({
      tools: [{ type: 'function', name: 'f', description: null, parameters: { type: 'object' }, strict: true }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      temperature: 0.3,
      top_p: 0.5,
      max_output_tokens: 64,
      reasoning: { effort: 'low', summary: null },
      text: { format: { type: 'json_object' }, verbosity: 'medium' },
      previous_response_id: 'resp_prev',
      store: false,
      user: 'u',
      truncation: 'auto',
      service_tier: 'flex',
      usage: null,
    });
  });

  it('gives reasoning, text and each tool call their own items, in that order', () => {
    const request = parseResponsesRequest({ model: 'm', input: 'x' });
    const response = chatToResponse(
      completion(
        {
          content: 'Checking both.',
          reasoning_content: 'Two cities, two calls.',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        'tool_calls',
        { prompt_tokens: 20, completion_tokens: 30, total_tokens: 50, completion_tokens_details: { reasoning_tokens: 10 } },
      ),
      request,
      META,
    );
    expect(response.status).toBe('completed');
    expect(response.output).toEqual([
      { id: expect.stringMatching(/^rs_/), type: 'reasoning', summary: [], content: [{ type: 'reasoning_text', text: 'Two cities, two calls.' }] },
      expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: 'Checking both.' })] }),
      { id: expect.stringMatching(/^fc_/), type: 'function_call', status: 'completed', arguments: '{"city":"Paris"}', call_id: 'call_a', name: 'weather' },
      { id: expect.stringMatching(/^fc_/), type: 'function_call', status: 'completed', arguments: '{"city":"Rome"}', call_id: 'call_b', name: 'weather' },
    ]);
    expect((response.usage as any).output_tokens_details).toEqual({ reasoning_tokens: 10 });
  });

  it('has no message item when the model only called a tool', () => {
    const response = chatToResponse(
      completion({ content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }, 'tool_calls'),
      parseResponsesRequest({ model: 'm', input: 'x' }),
      META,
    );
    expect((response.output as any[]).map((item) => item.type)).toEqual(['function_call']);
  });

  it('is incomplete with reason max_output_tokens when the answer hit the length limit', () => {
    const response = chatToResponse(
      completion({ content: 'Once upon' }, 'length'),
      parseResponsesRequest({ model: 'm', input: 'x', max_output_tokens: 16 }),
      META,
    );
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(response.completed_at).toBeNull();
    expect((response.output as any[])[0].status).toBe('incomplete');
  });

  it('is incomplete with reason content_filter when a filter cut the answer', () => {
    const response = chatToResponse(completion({ content: null }, 'content_filter'), parseResponsesRequest({ model: 'm', input: 'x' }), META);
    expect(response.status).toBe('incomplete');
    expect(response.incomplete_details).toEqual({ reason: 'content_filter' });
    expect(response.output).toEqual([]);
  });

  it('carries a refusal as a refusal part', () => {
    const response = chatToResponse(completion({ content: null, refusal: "I can't help with that." }), parseResponsesRequest({ model: 'm', input: 'x' }), META);
    expect((response.output as any[])[0].content).toEqual([{ type: 'refusal', refusal: "I can't help with that." }]);
  });
});

describe('responseUsage', () => {
  it('counts cache reads and writes and sums a missing total', () => {
    expect(responseUsage({ prompt_tokens: 100, completion_tokens: 5, prompt_tokens_details: { cached_tokens: 60, cache_creation_tokens: 30 } })).toEqual({
      input_tokens: 100,
      input_tokens_details: { cached_tokens: 60, cache_write_tokens: 30 },
      output_tokens: 5,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 105,
    });
    expect(responseUsage(undefined)).toBeNull();
  });
});

describe('failedResponse', () => {
  it('is failed with the error and no usage', () => {
    const response = failedResponse(parseResponsesRequest({ model: 'm', input: 'x' }), META, { code: 'server_error', message: 'The upstream failed.' });
    expect(response).toMatchObject({
      status: 'failed',
      error: { code: 'server_error', message: 'The upstream failed.' },
      output: [],
      usage: null,
      completed_at: null,
    });
  });
});

describe('the official SDK reads the Response', () => {
  let server: Server;
  let client: OpenAI;
  let body = '';

  beforeAll(async () => {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new OpenAI({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: 'test', maxRetries: 0 });
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('computes output_text and finds the function calls', async () => {
    const request = parseResponsesRequest({ model: 'm', input: 'x' });
    body = JSON.stringify(
      chatToResponse(
        completion({ content: 'Hello there.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] }, 'tool_calls'),
        request,
        META,
      ),
    );
    const response = await client.responses.create({ model: 'm', input: 'x' });
    expect(response.output_text).toBe('Hello there.');
    expect(response.id).toBe('resp_0123');
    const call = response.output.find((item) => item.type === 'function_call');
    expect(call).toMatchObject({ call_id: 'call_1', name: 'f', arguments: '{"a":1}' });
  });
});
