import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScriptedUpstream, type ScriptedUpstream } from '../fixtures/scripted-upstream.js';
import { MASTER_KEY } from '../helpers/cerulean.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';

/**
 * Streams chunk by chunk on the wire. On OpenAI routes every chunk must be valid against OpenAI's
 * ChatCompletionChunk (strict clients in other languages parse each one), whatever content
 * filtering does; Azure's extra frames belong on the Azure routes, in the order Azure sends them.
 */
let upstream: ScriptedUpstream;
let cerulean: GovernedCerulean;

const LONG_SAFE = 'The quick brown fox jumps over the lazy dog near the river bank. '.repeat(20);

beforeAll(async () => {
  upstream = await startScriptedUpstream();
  cerulean = await startGovernedCerulean(`
providers:
  up: { type: openai-compatible, base_url: "${upstream.url}/v1", retry: { max_attempts: 1 } }
deployments:
  chat: { provider: up, model: m }
  chat-async: { provider: up, model: m }
  chat-optin: { provider: up, model: m }
  chat-optin-async: { provider: up, model: m }
  chat-off: { provider: up, model: m }
  guard: { provider: up, model: guard }
content_safety:
  classifiers:
    guard: { type: llama-guard, deployment: guard }
  policies:
    default: { classifiers: [guard], jailbreak: off }
    async: { classifiers: [guard], jailbreak: off, stream_mode: async, stream_check_chars: 200 }
    optin: { classifiers: [guard], jailbreak: off, stream_annotations_openai: true }
    optin-async: { classifiers: [guard], jailbreak: off, stream_mode: async, stream_check_chars: 200, stream_annotations_openai: true }
  deployments:
    guard: none
    chat-async: async
    chat-optin: optin
    chat-optin-async: optin-async
    chat-off: none
`);
});

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
});

type Chunk = Record<string, any>;

/** The JSON frames of one streamed chat, on the OpenAI route or Azure's deployment route. */
async function frames(route: 'openai' | 'azure', model: string, content: string, includeUsage: boolean): Promise<Chunk[]> {
  const url =
    route === 'openai' ? `${cerulean.url}/v1/chat/completions` : `${cerulean.url}/openai/deployments/${model}/chat/completions?api-version=2024-10-21`;
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model,
      messages: [{ role: 'user', content }],
      stream: true,
      ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
    }),
  });
  expect(response.status).toBe(200);
  const text = await response.text();
  const events = text.split('\n\n').filter((event) => event.startsWith('data: '));
  expect(events.at(-1)).toBe('data: [DONE]');
  return events.slice(0, -1).map((event) => JSON.parse(event.slice(6)) as Chunk);
}

const FINISH_REASONS = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);

/**
 * What OpenAI's published ChatCompletionChunk requires of each chunk: id, object
 * `chat.completion.chunk`, created, model, choices each with an index and a delta object; `usage`
 * only on the final chunk, whose choices are empty (and only that chunk's).
 */
function openAIViolations(chunks: Chunk[], includeUsage: boolean): string[] {
  const problems: string[] = [];
  chunks.forEach((chunk, at) => {
    const where = `chunk ${at}`;
    const last = at === chunks.length - 1;
    if (typeof chunk.id !== 'string' || chunk.id === '') problems.push(`${where}: id`);
    if (chunk.object !== 'chat.completion.chunk') problems.push(`${where}: object ${JSON.stringify(chunk.object)}`);
    if (!Number.isInteger(chunk.created)) problems.push(`${where}: created`);
    if (typeof chunk.model !== 'string') problems.push(`${where}: model`);
    if (!Array.isArray(chunk.choices)) {
      problems.push(`${where}: choices`);
      return;
    }
    if (chunk.choices.length === 0 && !(includeUsage && last && chunk.usage)) problems.push(`${where}: no choices outside the final usage chunk`);
    for (const choice of chunk.choices) {
      if (!Number.isInteger(choice.index)) problems.push(`${where}: choice index`);
      if (typeof choice.delta !== 'object' || choice.delta === null || Array.isArray(choice.delta)) problems.push(`${where}: choice without a delta object`);
      if (choice.finish_reason != null && !FINISH_REASONS.has(choice.finish_reason)) problems.push(`${where}: finish_reason ${choice.finish_reason}`);
    }
    if (chunk.usage != null) {
      if (!last) problems.push(`${where}: usage before the last chunk`);
      if (chunk.choices.length !== 0) problems.push(`${where}: usage chunk with choices`);
      for (const field of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
        if (!Number.isInteger(chunk.usage[field])) problems.push(`${where}: usage.${field}`);
      }
    }
  });
  if (includeUsage && chunks.at(-1)?.usage == null) problems.push('no usage chunk at the end');
  return problems;
}

/** Annotation frames (annotations and no text) sent twice; content chunks may repeat their text. */
function repeatedAnnotations(chunks: Chunk[]): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const chunk of chunks) {
    const annotated = chunk.prompt_filter_results || chunk.choices?.some((choice: Chunk) => choice.content_filter_results);
    if (!annotated || contentOf([chunk]) !== '') continue;
    const text = JSON.stringify(chunk);
    if (seen.has(text)) repeated.push(text);
    seen.add(text);
  }
  return repeated;
}

const contentOf = (chunks: Chunk[]): string => chunks.map((chunk) => chunk.choices?.[0]?.delta?.content ?? '').join('');

describe('streams on OpenAI routes are valid chunk by chunk', () => {
  for (const model of ['chat', 'chat-async', 'chat-optin', 'chat-optin-async', 'chat-off']) {
    for (const includeUsage of [true, false]) {
      it(`${model}, ${includeUsage ? 'with' : 'without'} include_usage`, async () => {
        const chunks = await frames('openai', model, `ECHO:${LONG_SAFE}`, includeUsage);
        expect(openAIViolations(chunks, includeUsage)).toEqual([]);
        expect(repeatedAnnotations(chunks)).toEqual([]);
        expect(contentOf(chunks)).toBe(LONG_SAFE);
        const annotations = chunks.filter((chunk) => chunk.choices.some((choice: Chunk) => choice.content_filter_results));
        if (model.startsWith('chat-optin')) {
          // Opted in: the prompt's annotations on the first chunk, the completion's on frames with an empty delta.
          expect(chunks[0].prompt_filter_results[0].content_filter_results.violence).toEqual({ filtered: false, severity: 'safe' });
          expect(annotations.length).toBeGreaterThan(0);
        } else {
          expect(chunks.some((chunk) => chunk.prompt_filter_results)).toBe(false);
          expect(annotations).toEqual([]);
        }
      });
    }
  }

  it('a stream stopped by the filter is valid too', async () => {
    const violating = `${LONG_SAFE}then something {{V}} here.${LONG_SAFE}`;
    for (const model of ['chat', 'chat-async', 'chat-optin']) {
      const chunks = await frames('openai', model, `ECHO:${violating}`, false);
      expect(openAIViolations(chunks, false), model).toEqual([]);
      expect(chunks.at(-1)?.choices[0].finish_reason, model).toBe('content_filter');
    }
  });

  it('the official SDK reads them', async () => {
    const client = new OpenAI({ baseURL: `${cerulean.url}/v1`, apiKey: MASTER_KEY, maxRetries: 0 });
    for (const model of ['chat', 'chat-async', 'chat-optin']) {
      const stream = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: `ECHO:${LONG_SAFE}` }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let usage: unknown;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        usage = chunk.usage ?? usage;
      }
      expect(text, model).toBe(LONG_SAFE);
      expect(usage, model).toMatchObject({ prompt_tokens: 10, completion_tokens: 5 });
    }
  });
});

describe('streams on Azure routes carry Azure frames, in Azure order', () => {
  for (const model of ['chat', 'chat-async']) {
    it(`${model}: prompt annotations first, completion annotations before the usage chunk, none repeated`, async () => {
      const chunks = await frames('azure', model, `ECHO:${LONG_SAFE}`, true);
      expect(chunks[0]).toMatchObject({ id: '', object: '', created: 0, model: '', choices: [] });
      expect(chunks[0].prompt_filter_results[0].content_filter_results.violence).toEqual({ filtered: false, severity: 'safe' });
      const last = chunks.at(-1) as Chunk;
      expect(last.choices).toEqual([]);
      expect(last.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 5 });
      // Only the first frame and the usage chunk have no choices.
      expect(chunks.slice(1, -1).every((chunk) => chunk.choices.length > 0)).toBe(true);
      // Buffered: the verdict on the last content chunk of each released batch; async: annotation
      // frames (no delta) with content_filter_offsets.
      const annotated = chunks.filter((chunk) => chunk.choices.some((choice: Chunk) => choice.content_filter_results));
      expect(annotated.length).toBeGreaterThan(0);
      if (model === 'chat-async') expect(annotated.every((chunk) => !('delta' in chunk.choices[0]) && chunk.choices[0].content_filter_offsets)).toBe(true);
      else expect(annotated.every((chunk) => 'delta' in chunk.choices[0])).toBe(true);
      expect(repeatedAnnotations(chunks)).toEqual([]);
      expect(contentOf(chunks)).toBe(LONG_SAFE);
    });
  }
});
