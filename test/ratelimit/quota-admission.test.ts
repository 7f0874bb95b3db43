import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { QuotaTooSmallError, RateLimitedError } from '../../src/errors/catalogue.js';
import { renderError } from '../../src/errors/render.js';
import type { JsonObject, Operation } from '../../src/providers/provider.js';
import { MemoryRateLimitStore } from '../../src/ratelimit/memory/memory-rate-limit-store.js';
import { countPromptTokens } from '../../src/ratelimit/prompt-token-counter.js';
import { DEFAULT_MAX_TOKENS, estimateRequestTokens, QuotaAdmission, type AdmissionRequest } from '../../src/ratelimit/quota-admission.js';
import type { RateLimitStore, WindowSpec } from '../../src/ratelimit/rate-limit-store.js';
import { RedisRateLimitStore } from '../../src/ratelimit/redis/redis-rate-limit-store.js';
import { countTokens, tokenizer, type EncodingName } from '../../src/tokens/tokenizer.js';
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from './redis-test-support.js';
import { redisAvailable } from '../helpers/services.js';

const MINUTE = 60_000;
const T0 = 28_333_334 * MINUTE;
const cl = (text: string): number => countTokens(text, 'cl100k_base');

describe('estimateRequestTokens', () => {
  it('counts chat messages by OpenAI recipe: 3 per message + role + content, 3 for the reply, plus max_tokens', () => {
    const body = {
      messages: [
        { role: 'system', content: 'You are a terse assistant.' },
        { role: 'user', content: 'What is the capital of France? Answer in one word.' },
      ],
      max_tokens: 100,
    };
    const prompt = 3 + (3 + cl('system') + cl('You are a terse assistant.')) + (3 + cl('user') + cl('What is the capital of France? Answer in one word.'));
    expect(estimateRequestTokens('chat', body, 'gpt-4')).toBe(prompt + 100);
  });

  it('counts names, text parts, a flat 85 per image, tool calls and tool definitions', () => {
    const base = { max_tokens: 0 };
    const named = estimateRequestTokens('chat', { ...base, messages: [{ role: 'user', name: 'alice', content: 'hi' }] }, 'gpt-4');
    expect(named).toBe(3 + 3 + cl('user') + cl('hi') + cl('alice') + 1);

    const parts = estimateRequestTokens(
      'chat',
      {
        ...base,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Describe these two pictures.' },
              { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'high' } },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
              { type: 'text', text: 'Be brief.' },
            ],
          },
        ],
      },
      'gpt-4o',
    );
    const o200 = (text: string): number => countTokens(text, 'o200k_base');
    expect(parts).toBe(3 + 3 + o200('user') + o200('Describe these two pictures.') + 85 + 85 + o200('Be brief.'));

    const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };
    const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }];
    const withTools = estimateRequestTokens(
      'chat',
      {
        ...base,
        tools,
        messages: [
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: 'call_1', content: '18C' },
        ],
      },
      'gpt-4',
    );
    const expected =
      3 + (3 + cl('assistant') + cl('get_weather') + cl('{"city":"Paris"}')) + (3 + cl('tool') + cl('call_1') + cl('18C')) + cl(JSON.stringify(tools));
    expect(withTools).toBe(expected);
  });

  it('reserves max_completion_tokens before max_tokens, for max(n, best_of) choices, else the default', () => {
    const messages = [{ role: 'user', content: 'hi' }];
    const prompt = 3 + 3 + cl('user') + cl('hi');
    expect(estimateRequestTokens('chat', { messages }, 'gpt-4')).toBe(prompt + 4096);
    expect(estimateRequestTokens('chat', { messages, max_tokens: 50, n: 3 }, 'gpt-4')).toBe(prompt + 150);
    expect(estimateRequestTokens('chat', { messages, max_tokens: 50, max_completion_tokens: 20 }, 'gpt-4')).toBe(prompt + 20);
    expect(estimateRequestTokens('chat', { messages, max_tokens: 10, n: 2, best_of: 5 }, 'gpt-4')).toBe(prompt + 50);
    expect(estimateRequestTokens('chat', { messages, max_tokens: 'many', n: -1 }, 'gpt-4')).toBe(prompt + 4096);
    expect(estimateRequestTokens('chat', { messages }, 'gpt-4', { ...DEFAULT_MAX_TOKENS, chat: 256 })).toBe(prompt + 256);
    expect(estimateRequestTokens('chat', { messages: 'not a list' }, 'gpt-4')).toBe(3 + 4096);
  });

  it('counts completions prompts as text or token ids, reserving completion tokens per prompt', () => {
    expect(estimateRequestTokens('completions', { prompt: 'Once upon a time', max_tokens: 16 }, 'gpt-3.5-turbo-instruct')).toBe(cl('Once upon a time') + 16);
    expect(estimateRequestTokens('completions', { prompt: ['One', 'Two two'], max_tokens: 10, n: 2 }, 'gpt-3.5-turbo-instruct')).toBe(
      cl('One') + cl('Two two') + 10 * 2 * 2,
    );
    expect(estimateRequestTokens('completions', { prompt: [1, 2, 3, 4], max_tokens: 5 }, 'davinci-002')).toBe(4 + 5);
    expect(estimateRequestTokens('completions', { prompt: [[1, 2], [3]], max_tokens: 5 }, 'davinci-002')).toBe(3 + 10);
    expect(estimateRequestTokens('completions', { prompt: 'Hi', suffix: ' end.', max_tokens: 0 }, 'davinci-002')).toBe(cl('Hi') + cl(' end.'));
    expect(estimateRequestTokens('completions', { prompt: 'Hi' }, 'davinci-002')).toBe(cl('Hi') + 4096);
  });

  it('counts embeddings inputs only, and image prompts', () => {
    expect(estimateRequestTokens('embeddings', { input: 'The food was delicious.', max_tokens: 999 }, 'text-embedding-3-small')).toBe(
      cl('The food was delicious.'),
    );
    expect(estimateRequestTokens('embeddings', { input: ['a b', 'c d e'] }, 'text-embedding-3-small')).toBe(cl('a b') + cl('c d e'));
    expect(estimateRequestTokens('embeddings', { input: [[1, 2, 3], [4]] }, 'text-embedding-3-small')).toBe(4);
    expect(estimateRequestTokens('images', { prompt: 'A watercolour of a lighthouse', n: 4 }, 'dall-e-3')).toBe(cl('A watercolour of a lighthouse'));
  });

  it('counts exactly what js-tiktoken counts, in both encodings', () => {
    const samples = [
      "It's   a test\n\n  with   spaces\t\tand tabs ",
      '我们今天讨论的是一个非常复杂的问题，因为它涉及到很多方面的知识。'.repeat(4),
      'emoji 😀😀😀 family 👩‍👩‍👧‍👦 flags 🇫🇷',
      'Special text <|endoftext|> is plain text here.',
      'function add(a, b) {\n    return a + b;\n}\n'.repeat(5),
      "ÄÖÜ äöü ß Ελληνικά русский текст 1234567890 DON'T",
    ];
    for (const encoding of ['cl100k_base', 'o200k_base'] as EncodingName[]) {
      for (const text of samples) {
        expect(countPromptTokens(text, encoding), `${encoding}: ${text.slice(0, 20)}`).toBe(exact(text, encoding));
      }
    }
  });

  it('counts very long pieces in bounded time, close to the exact count', () => {
    // One piece each of 300 to 1,000 characters, counted in 64-character chunks: a few tokens off per chunk at most.
    for (const run of ['abcdefghij'.repeat(30), 'a'.repeat(1_000), 'internationalization'.repeat(20), ' '.repeat(500)]) {
      const boundaries = Math.ceil(run.length / 64) - 1;
      expect(Math.abs(countPromptTokens(run, 'cl100k_base') - exact(run, 'cl100k_base'))).toBeLessThanOrEqual(3 * boundaries);
    }

    const started = performance.now();
    const huge = countPromptTokens('我们今天讨论的是一个非常复杂的问题'.repeat(20_000), 'cl100k_base');
    expect(huge).toBeGreaterThan(300_000);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('stays cheap on the hot path (generous bound; the measured cost is ~15 µs)', () => {
    const body = { messages: [{ role: 'user', content: 'The quick brown fox jumps over the lazy dog. '.repeat(20) }], max_tokens: 200 };
    for (let i = 0; i < 200; i++) estimateRequestTokens('chat', body, 'gpt-4');
    const started = performance.now();
    for (let i = 0; i < 1_000; i++) estimateRequestTokens('chat', body, 'gpt-4');
    expect((performance.now() - started) / 1_000).toBeLessThan(0.5);
  });
});

/** js-tiktoken's own count, special-token text counted as plain text. */
function exact(text: string, encoding: EncodingName): number {
  return tokenizer(encoding).encode(text, [], []).length;
}

const redisPrefix = testKeyPrefix();
let admin: Redis;
beforeAll(() => {
  if (redisAvailable) admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  if (!redisAvailable) return;
  await deleteKeys(admin, redisPrefix);
  await admin.quit();
});

const stores: Array<{ name: string; create: () => RateLimitStore }> = [
  { name: 'memory', create: () => new MemoryRateLimitStore() },
  { name: 'redis', create: () => new RedisRateLimitStore(TEST_REDIS_URL, { keyPrefix: redisPrefix }) },
];

describe.each(stores.filter(({ name }) => name !== 'redis' || redisAvailable))('QuotaAdmission on $name', ({ create }) => {
  let store: RateLimitStore;
  let admission: QuotaAdmission;
  let deployment: string;
  const chat = (content: string, max_tokens: number): JsonObject => ({ messages: [{ role: 'user', content }], max_tokens });
  const request = (overrides: Partial<AdmissionRequest>): AdmissionRequest => ({
    deployment,
    deploymentTpm: 10_000,
    projectId: 'proj-1',
    projectTpm: null,
    operation: 'chat',
    body: chat('hi', 100),
    model: 'gpt-4',
    now: T0 + 30_000,
    ...overrides,
  });
  const helloEstimate = 3 + 3 + cl('user') + cl('hi') + 100;

  beforeEach(() => {
    store = create();
    admission = new QuotaAdmission(store);
    deployment = `dep-${Math.random().toString(36).slice(2, 10)}`;
  });
  afterEach(async () => {
    await store.close();
  });

  it('admits and reports the x-ratelimit headers; RPM is 6 per 1,000 TPM over 10 s windows', async () => {
    const admitted = await admission.admit(request({}));
    expect(admitted.estimatedTokens).toBe(helloEstimate);
    expect(admitted.headers).toEqual({
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '9',
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': String(10_000 - helloEstimate),
    });
  });

  it('reports the tightest of the deployment and project windows', async () => {
    const admitted = await admission.admit(request({ deploymentTpm: 100_000, projectTpm: 5_000 }));
    expect(admitted.headers).toEqual({
      'x-ratelimit-limit-requests': '5',
      'x-ratelimit-remaining-requests': '4',
      'x-ratelimit-limit-tokens': '5000',
      'x-ratelimit-remaining-tokens': String(5_000 - helloEstimate),
    });
  });

  it('applies no window at all when nothing is limited', async () => {
    const calls: WindowSpec[][] = [];
    const spy: RateLimitStore = {
      take: (specs, now) => (calls.push([...specs]), store.take(specs, now)),
      adjust: (...args) => store.adjust(...args),
      read: (...args) => store.read(...args),
      close: async () => {},
    };
    const admitted = await new QuotaAdmission(spy).admit(request({ deploymentTpm: null, projectTpm: null }));
    expect(admitted.headers).toEqual({});
    await admitted.settle(10);
    expect(calls).toHaveLength(0);
  });

  it("refuses over the token limit in each API's own wording, with retry-after and headers, reserving nothing", async () => {
    await admission.admit(request({ body: chat('hi', 9_000), now: T0 + 15_200 }));
    const error = await admission.admit(request({ body: chat('hi', 2_000), now: T0 + 15_200 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    const limited = error as RateLimitedError;
    expect(limited.status).toBe(429);
    expect(limited.code).toBe('rate_limit_exceeded');
    expect(limited.type).toBe('tokens');
    const used = 3 + 3 + cl('user') + cl('hi') + 9_000;
    const requested = 3 + 3 + cl('user') + cl('hi') + 2_000;
    expect(limited.message).toBe(
      `Rate limit reached for ${deployment} on tokens per min (TPM): Limit 10000, Used ${used}, Requested ${requested}. Please try again in 44.8s.`,
    );
    expect(limited.azureMessage).toBe(
      'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current pricing tier. Please retry after 45 seconds.',
    );
    expect(limited.retryAfterSeconds).toBe(45);
    expect(limited.headers).toEqual({
      'x-ratelimit-limit-requests': '10',
      'x-ratelimit-remaining-requests': '9',
      'x-ratelimit-limit-tokens': '10000',
      'x-ratelimit-remaining-tokens': String(10_000 - used),
    });

    const rendered = renderError(limited, 'azure');
    expect(rendered.status).toBe(429);
    expect(rendered.body).toEqual({ error: { code: '429', message: limited.azureMessage } });
    expect(rendered.headers).toMatchObject({ 'retry-after': '45', 'retry-after-ms': '45000', 'x-ratelimit-remaining-tokens': String(10_000 - used) });
    expect(renderError(limited, 'openai').body).toEqual({ error: { message: limited.message, type: 'tokens', param: null, code: 'rate_limit_exceeded' } });

    // The refusal took nothing: what is left still fits.
    const fits = await admission.admit(request({ body: chat('hi', 10_000 - used - (used - 9_000)), now: T0 + 16_000 }));
    expect(fits.headers['x-ratelimit-remaining-tokens']).toBe('0');
  });

  it('says "call rate limit" when the request window blocks, and names the operation and api-version', async () => {
    const small = request({ deploymentTpm: 2_000, operation: 'embeddings', body: { input: 'x' }, model: 'text-embedding-3-small', now: T0 + 33_500 });
    await admission.admit(small);
    await admission.admit(small);
    const error = (await admission.admit({ ...small, apiVersion: '2024-06-01' }).catch((e: unknown) => e)) as RateLimitedError;
    expect(error.azureMessage).toBe(
      'Requests to the Embeddings_Create Operation under Azure OpenAI API version 2024-06-01 have exceeded call rate limit of your current pricing tier. Please retry after 7 seconds.',
    );
    expect(error.type).toBe('requests');
    expect(error.message).toBe(
      `Rate limit reached for ${deployment} on requests per min (RPM): Limit 12, enforced as 2 per 10 s, Used 2, Requested 1. Please try again in 6.5s.`,
    );
    expect(error.retryAfterSeconds).toBe(7);
    expect(error.headers?.['x-ratelimit-remaining-requests']).toBe('0');
  });

  it.each<[Operation, string, JsonObject]>([
    ['chat', 'ChatCompletions_Create', { messages: [{ role: 'user', content: 'x' }], max_tokens: 2_500 }],
    ['completions', 'Completions_Create', { prompt: 'x', max_tokens: 2_500 }],
    ['embeddings', 'Embeddings_Create', { input: 'word '.repeat(2_500) }],
    ['images', 'ImageGenerations_Create', { prompt: 'word '.repeat(2_500) }],
  ])('names %s as %s, and never advises a wait of 60 s or more', async (operation, name, body) => {
    // At the very start of a window the true wait is 60 s; SDKs ignore that, so 59 is advised.
    await admission.admit(request({ deploymentTpm: 4_000, operation, body, now: T0 }));
    const error = (await admission.admit(request({ deploymentTpm: 4_000, operation, body, now: T0 })).catch((e: unknown) => e)) as RateLimitedError;
    expect(error.azureMessage).toBe(
      `Requests to the ${name} Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current pricing tier. Please retry after 59 seconds.`,
    );
    expect(error.retryAfterSeconds).toBe(59);
  });

  it('refuses at the project window without spending the deployment window', async () => {
    await admission.admit(request({ projectId: 'small', deploymentTpm: 20_000, projectTpm: 3_000, body: chat('hi', 2_500) }));
    await expect(admission.admit(request({ projectId: 'small', deploymentTpm: 20_000, projectTpm: 3_000, body: chat('hi', 2_500) }))).rejects.toThrow(
      /^Rate limit reached for dep-\w+ in project small on tokens per min \(TPM\): Limit 3000, /,
    );
    // Another project on the same deployment sees the deployment window with one request in it.
    const other = await admission.admit(request({ projectId: 'other', deploymentTpm: 20_000, projectTpm: 3_000, body: chat('hi', 2_500) }));
    const estimate = 3 + 3 + cl('user') + cl('hi') + 2_500;
    expect(other.headers['x-ratelimit-remaining-tokens']).toBe(String(3_000 - estimate));
    const deploymentOnly = await admission.admit(request({ deploymentTpm: 20_000, projectTpm: null, body: chat('hi', 0) }));
    expect(deploymentOnly.headers['x-ratelimit-remaining-tokens']).toBe(String(20_000 - 2 * estimate - (estimate - 2_500)));
    expect(deploymentOnly.headers['x-ratelimit-remaining-requests']).toBe(String(20 - 3));
  });

  it('settles every token window to the actual tokens, once, leaving request windows alone', async () => {
    const limits = { deploymentTpm: 50_000, projectTpm: 20_000 };
    const admitted = await admission.admit(request({ ...limits, body: chat('hi', 4_000) }));
    expect(admitted.estimatedTokens).toBe(3 + 3 + cl('user') + cl('hi') + 4_000);
    await admitted.settle(120);
    await admitted.settle(5_000); // ignored: settled already

    const probe = await admission.admit(request({ ...limits, body: chat('hi', 0) }));
    const probeTokens = 3 + 3 + cl('user') + cl('hi');
    expect(probe.headers['x-ratelimit-remaining-tokens']).toBe(String(20_000 - 120 - probeTokens));
    expect(probe.headers['x-ratelimit-remaining-requests']).toBe('18');
    const deploymentView = await admission.admit(request({ deploymentTpm: 50_000, projectTpm: null, body: chat('hi', 0) }));
    expect(deploymentView.headers['x-ratelimit-remaining-tokens']).toBe(String(50_000 - 120 - 2 * probeTokens));

    // Settling above the estimate charges the difference; settling at 0 frees the whole reservation.
    await probe.settle(probeTokens + 1_000);
    await deploymentView.settle(0);
    const last = await admission.admit(request({ deploymentTpm: 50_000, projectTpm: null, body: chat('hi', 0) }));
    expect(last.headers['x-ratelimit-remaining-tokens']).toBe(String(50_000 - 120 - (probeTokens + 1_000) - probeTokens));
    await expect(last.settle(-1)).rejects.toThrow(TypeError);
  });

  it('refuses for good, with x-should-retry: false and what to lower, a request no window can hold', async () => {
    // The default max_tokens allowance (4,096) alone is more than a 1,000 TPM quota.
    const prompt = 3 + 3 + cl('user') + cl('hi');
    const error = (await admission
      .admit(request({ deploymentTpm: 1_000, body: { messages: [{ role: 'user', content: 'hi' }] } }))
      .catch((e: unknown) => e)) as QuotaTooSmallError;
    expect(error).toBeInstanceOf(QuotaTooSmallError);
    expect(error).toMatchObject({ status: 429, type: 'tokens', code: 'rate_limit_exceeded', retryAfterSeconds: undefined });
    expect(error.message).toBe(
      `Request too large for ${deployment} on tokens per min (TPM): Limit 1000, Requested ${prompt + 4_096}. The input or output tokens must be reduced in order to run successfully: ` +
        `a request that sets no max_tokens is counted as its prompt (${prompt} tokens) plus a max_tokens of 4096, so set max_tokens to at most ${1_000 - prompt}.`,
    );
    const openai = renderError(error, 'openai');
    expect(openai.status).toBe(429);
    expect(openai.headers).toEqual({ 'x-should-retry': 'false', 'x-ratelimit-limit-tokens': '1000' });
    const azure = renderError(error, 'azure');
    expect(azure.headers).toEqual(openai.headers);
    expect(azure.body.error).toEqual({
      code: '429',
      message:
        'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current pricing tier. ' +
        `This request alone is estimated at ${prompt + 4_096} tokens, more than the limit of 1000 tokens per minute, so retrying will not help: ` +
        `a request that sets no max_tokens is counted as its prompt (${prompt} tokens) plus a max_tokens of 4096, so set max_tokens to at most ${1_000 - prompt}.`,
    });

    // Nothing was reserved, and the advised max_tokens fits.
    const fits = await admission.admit(request({ deploymentTpm: 1_000, body: chat('hi', 1_000 - prompt) }));
    expect(fits.headers['x-ratelimit-remaining-tokens']).toBe('0');
  });

  it("names the project when its quota is the one too small, the caller's max_tokens and choices, or the input", async () => {
    const prompt = 3 + 3 + cl('user') + cl('hi');
    const choices = (await admission
      .admit(request({ deploymentTpm: 100_000, projectTpm: 2_000, body: { ...chat('hi', 800), n: 3 } }))
      .catch((e: unknown) => e)) as QuotaTooSmallError;
    expect(choices.message).toBe(
      `Request too large for ${deployment} in project proj-1 on tokens per min (TPM): Limit 2000, Requested ${prompt + 2_400}. The input or output tokens must be reduced in order to run successfully: ` +
        `it is counted as its prompt (${prompt} tokens) plus max_tokens (800 for each of 3 choices and prompts), so set max_tokens to at most ${Math.floor((2_000 - prompt) / 3)}.`,
    );
    const input = (await admission
      .admit(request({ deploymentTpm: 1_000, operation: 'embeddings', body: { input: 'word '.repeat(1_500) }, model: 'text-embedding-3-small' }))
      .catch((e: unknown) => e)) as QuotaTooSmallError;
    expect(input).toBeInstanceOf(QuotaTooSmallError);
    expect(input.message).toMatch(/Limit 1000, Requested \d+\. .*: its input alone counts \d+ tokens, so shorten it\.$/);
  });

  it('lets a request settled below its estimate make room for others', async () => {
    const big = await admission.admit(request({ body: chat('hi', 9_900) }));
    await expect(admission.admit(request({ body: chat('hi', 1_000) }))).rejects.toBeInstanceOf(RateLimitedError);
    await big.settle(300);
    await expect(admission.admit(request({ body: chat('hi', 1_000) }))).resolves.toBeDefined();
  });
});

describe('QuotaAdmission options', () => {
  it('uses the configured completion defaults and rejects nonsense', async () => {
    const store = new MemoryRateLimitStore();
    const admission = new QuotaAdmission(store, { defaultMaxTokens: { chat: 100 } });
    const admitted = await admission.admit({
      deployment: 'd',
      deploymentTpm: 1_000,
      projectId: 'p',
      projectTpm: null,
      operation: 'chat',
      body: { messages: [{ role: 'user', content: 'hi' }] },
      model: 'gpt-4',
    });
    expect(admitted.estimatedTokens).toBe(3 + 3 + cl('user') + cl('hi') + 100);
    expect(() => new QuotaAdmission(store, { defaultMaxTokens: { embeddings: -1 } })).toThrow(TypeError);
    await store.close();
  });
});
