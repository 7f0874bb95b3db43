import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import OpenAI, { APIError, BadRequestError, InternalServerError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEXT, startFaultUpstream, type Fault, type FaultUpstream } from '../fixtures/fault-upstream.js';
import { DEFAULT_RATE_LIMIT_COOLDOWN_MS } from '../../src/routing/target-health.js';
import { startGovernedCerulean, type GovernedCerulean } from '../helpers/governed.js';
import { redisAvailable, REDIS_URL } from '../helpers/services.js';

/**
 * The fault matrix: every way an upstream can fail, for JSON and streams, driven by the official
 * SDK through Cerulean with governance on (a project with a TPM quota and a daily budget, counters
 * in Redis). Each case asserts what the caller saw (the SDK's error class, status and code; for
 * streams the raw events: an error event and never `[DONE]` after a cut), the attempts and the
 * target that answered (headers and the requests the upstream received, per target), the usage
 * record (tokens, cost, status, estimated), and the project's quota and budget counters afterwards:
 * failed attempts cost nothing, a cut stream is metered as what it delivered.
 *
 * Every case has a deployment of its own (targets `<case>-a`, then `<case>-b`, and a fallback
 * deployment `<case>-long` for context-length refusals), so no case's failures touch another's
 * target health, and a project of its own, so its counters are its alone.
 */

const run = randomBytes(4).toString('hex');
const PROMPT = 'Tell me something';
/** What the fixture bills: message characters / 4, and one completion token per word. */
const PROMPT_TOKENS = Math.ceil(PROMPT.length / 4);
const WORDS = DEFAULT_TEXT.split(/(?<=\s)(?=\S)/);
/** Prices set on every deployment: USD per million tokens, so micro-dollars per token. */
const INPUT_PRICE = 1_000;
const OUTPUT_PRICE = 2_000;
const MAX_TOKENS = 50;
/** Timeouts of the upstream: a silence longer than FIRST_BYTE_MS fails the attempt over. */
const FIRST_BYTE_MS = 300;
const TOTAL_MS = 1_500;
/**
 * The stall case's provider: the total timeout cuts a stalled stream. (Its first-byte timeout is
 * longer, since it also bounds a silence in the middle of a body.)
 */
const PATIENT = { first_byte_ms: 5_000, total_ms: 800 };

type Which = 'a' | 'b' | 'long';

interface Case {
  name: string;
  stream: boolean;
  /** The provider of the case's targets: `up`, or `patient` for a stall the total timeout ends. */
  provider?: 'up' | 'patient';
  /** Faults queued for the case's targets, in order; a target with none answers normally. */
  faults: Partial<Record<Which, Fault[]>>;
  /** How long the first target cools down for afterwards (ms): only a 429 cools it, for its retry-after or else a default. */
  cools?: number;
  /** The targets the upstream received the request on, in order. */
  tried: Which[];
  /**
   * How it ends for the caller: a whole answer from `target`; an error before any byte (the SDK's
   * class, status and code); or a stream cut after `delivered` content chunks with an error event.
   */
  outcome:
    | { kind: 'answer'; target: Which }
    | { kind: 'refused'; error: new (...args: never[]) => APIError; status: number; code: string | null }
    | { kind: 'cut'; delivered: number; code: string };
}

const answeredBy = (target: Which, tried: Which[] = [target]) => ({ tried, outcome: { kind: 'answer', target } as const });
const failsOver = (fault: Fault) => ({ faults: { a: [fault] }, ...answeredBy('b', ['a', 'b']) });
const cut = (fault: Fault & { afterChunks?: number }, delivered: number, code: string, provider: Case['provider'] = 'up') => ({
  provider,
  faults: { a: [fault] },
  tried: ['a'] as Which[],
  outcome: { kind: 'cut', delivered, code } as const,
});

const CASES: Case[] = [];
for (const stream of [false, true]) {
  const mode = stream ? 'stream' : 'json';
  const add = (name: string, rest: Omit<Case, 'name' | 'stream'>): void => void CASES.push({ name: `${mode}-${name}`, stream, ...rest });
  add('healthy', { faults: {}, ...answeredBy('a') });
  add('429-retry-after', { ...failsOver({ kind: 'status', status: 429, retryAfter: '30' }), cools: 30_000 });
  add('429', { ...failsOver({ kind: 'status', status: 429 }), cools: DEFAULT_RATE_LIMIT_COOLDOWN_MS });
  add('500', failsOver({ kind: 'status', status: 500 }));
  add('502', failsOver({ kind: 'status', status: 502, body: '<html><body>502 Bad Gateway</body></html>' }));
  add('503', failsOver({ kind: 'status', status: 503 }));
  add('reset-before-body', failsOver({ kind: 'reset_before' }));
  add('silence-before-first-byte', failsOver({ kind: 'silent' }));
  add('slow-first-byte', { faults: { a: [{ kind: 'slow_first_byte', delayMs: FIRST_BYTE_MS / 3 }] }, ...answeredBy('a') });
  add('context-length-to-fallback', { faults: { a: [{ kind: 'context_length' }] }, ...answeredBy('long', ['a', 'long']) });
  add('context-length-everywhere', {
    faults: { a: [{ kind: 'context_length' }], long: [{ kind: 'context_length' }] },
    tried: ['a', 'long'],
    outcome: { kind: 'refused', error: BadRequestError, status: 400, code: 'context_length_exceeded' },
  });
  add('content-filter', {
    faults: { a: [{ kind: 'content_filter' }] },
    tried: ['a'],
    outcome: { kind: 'refused', error: BadRequestError, status: 400, code: 'content_filter' },
  });
  add('every-target-fails', {
    faults: { a: [{ kind: 'status', status: 503 }], b: [{ kind: 'reset_before' }] },
    tried: ['a', 'b'],
    outcome: { kind: 'refused', error: InternalServerError, status: 502, code: 'upstream_unreachable' },
  });
  if (!stream) {
    // The JSON body is read whole before anything is handed on: a broken body is still a failure before the first byte.
    add('reset-during-body', failsOver({ kind: 'reset_during', afterChunks: 0 }));
    add('malformed-body', failsOver({ kind: 'malformed', afterChunks: 0 }));
    add('body-without-end', failsOver({ kind: 'no_terminator' }));
  } else {
    add('cut-after-3-chunks', cut({ kind: 'reset_during', afterChunks: 3 }, 3, 'upstream_unreachable'));
    add('stall-after-2-chunks', cut({ kind: 'stall', afterChunks: 2, stallMs: 10 * PATIENT.total_ms }, 2, 'upstream_timeout', 'patient'));
    add('malformed-chunk', cut({ kind: 'malformed', afterChunks: 2 }, 2, 'upstream_unreachable'));
    add('no-terminator', cut({ kind: 'no_terminator', afterChunks: 4 }, 4, 'upstream_unreachable'));
  }
}

const model = (name: string, which: Which): string => `${name}-${which}`;
const deploymentYaml = (name: string, provider = 'up'): string => `  ${name}:
    strategy: priority
    targets:
      - { provider: ${provider}, model: ${model(name, 'a')} }
      - { provider: ${provider}, model: ${model(name, 'b')}, priority: 1 }
    fallbacks:
      - { deployment: ${name}-long, on: [context_length] }
  ${name}-long: { provider: ${provider}, model: ${model(name, 'long')} }
`;

let upstream: FaultUpstream;
let cerulean: GovernedCerulean;
let redis: Redis;

beforeAll(async () => {
  if (!redisAvailable) return;
  upstream = await startFaultUpstream();
  redis = new Redis(REDIS_URL);
  const names = [...CASES.map((c) => c.name), 'flap'];
  cerulean = await startGovernedCerulean(`
redis: { url: "${REDIS_URL}" }
providers:
  up:
    type: openai-compatible
    base_url: "${upstream.url}/v1"
    retry: { max_attempts: 1 }
    timeouts: { first_byte_ms: ${FIRST_BYTE_MS}, total_ms: ${TOTAL_MS} }
  patient:
    type: openai-compatible
    base_url: "${upstream.url}/v1"
    retry: { max_attempts: 1 }
    timeouts: { first_byte_ms: ${PATIENT.first_byte_ms}, total_ms: ${PATIENT.total_ms} }
routing:
  breaker: { failure_threshold: 2, minimum_requests: 1000, open_ms: 400 }
deployments:
${[...CASES.map((c) => deploymentYaml(c.name, c.provider)), deploymentYaml('flap')].join('')}content_safety:
  deployments: { ${names.flatMap((name) => [`${name}: none`, `${name}-long: none`]).join(', ')} }
`);
  expect((await cerulean.admin('POST', '/organizations', { name: 'Faults', id: `org_faults_${run}` })).status).toBe(201);
  for (const name of names) {
    for (const deployment of [name, `${name}-long`]) {
      const priced = await cerulean.admin('PATCH', `/deployments/${deployment}`, { input_per_million: INPUT_PRICE, output_per_million: OUTPUT_PRICE });
      expect(priced.status, deployment).toBe(200);
    }
  }
}, 60_000);

afterAll(async () => {
  await cerulean?.close();
  await upstream?.close();
  redis?.disconnect();
});

interface Exchange {
  status: number;
  headers: Headers;
  /** Everything the caller received, as bytes on the wire. */
  text: Promise<string>;
}

/** A project with a TPM quota on every deployment and a daily budget, and an SDK client on its key that records every exchange's raw bytes. */
async function governedProject(label: string): Promise<{ project: string; client: OpenAI; exchanges: Exchange[] }> {
  const project = `proj_${label.replace(/-/g, '_')}_${run}`;
  expect((await cerulean.admin('POST', '/projects', { organization: `org_faults_${run}`, name: label, id: project })).status).toBe(201);
  expect((await cerulean.admin('PUT', `/projects/${project}/quotas/*`, { tpm: 100_000 })).status).toBe(200);
  expect((await cerulean.admin('PUT', `/budgets/project/${project}`, { daily_usd: 10 })).status).toBe(200);
  const key = (await cerulean.admin('POST', `/projects/${project}/keys`, {})).body.key as string;
  const exchanges: Exchange[] = [];
  const client = new OpenAI({
    baseURL: `${cerulean.url}/v1`,
    apiKey: key,
    maxRetries: 0,
    fetch: async (url, init) => {
      const response = await fetch(url, init);
      exchanges.push({ status: response.status, headers: response.headers, text: response.clone().text() });
      return response;
    },
  });
  return { project, client, exchanges };
}

/** Sums the project's counters in Redis: tokens in its quota windows, micro-dollars in its budget periods. */
async function counters(project: string): Promise<{ quotaTokens: number; quotaRequests: number; budget: number }> {
  const sum = async (pattern: string): Promise<number> => {
    const keys = await redis.keys(pattern);
    const values = keys.length === 0 ? [] : await redis.mget(...keys);
    return values.reduce((total, value) => total + Number(value ?? 0), 0);
  };
  const scope = `p:${project.length}:${project}:*`;
  return {
    quotaTokens: await sum(`{cerulean}:rl:${scope}:tokens:*`),
    quotaRequests: await sum(`{cerulean}:rl:${scope}:requests:*`),
    budget: await sum(`{cerulean-budget}:project:${project}:*`),
  };
}

/** The `data:` payloads of an event stream, in order. */
const events = (text: string): string[] =>
  text
    .split('\n\n')
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice('data: '.length));

async function call(client: OpenAI, deployment: string, stream: boolean): Promise<{ content: string; error?: unknown }> {
  const body = { model: deployment, messages: [{ role: 'user' as const, content: PROMPT }], max_tokens: MAX_TOKENS };
  let content = '';
  try {
    if (!stream) return { content: (await client.chat.completions.create(body)).choices[0].message.content ?? '' };
    for await (const chunk of await client.chat.completions.create({ ...body, stream: true })) content += chunk.choices[0]?.delta?.content ?? '';
    return { content };
  } catch (error) {
    return { content, error };
  }
}

describe.skipIf(!redisAvailable)('the fault matrix through the official SDK, governance on', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { project, client, exchanges } = await governedProject(c.name);
      for (const which of ['a', 'b', 'long'] as const) {
        upstream.script(c.faults[which] ?? [], model(c.name, which));
        upstream.setFallback({ kind: 'ok' }, model(c.name, which));
      }
      const since = upstream.requests.length;
      const { content, error } = await call(client, c.name, c.stream);

      // What the caller got.
      expect(exchanges).toHaveLength(1);
      const exchange = exchanges[0];
      const text = await exchange.text;
      const { outcome } = c;
      if (outcome.kind === 'answer') {
        expect(error).toBeUndefined();
        expect(exchange.status).toBe(200);
        expect(content).toBe(DEFAULT_TEXT);
        if (c.stream) expect(events(text).at(-1)).toBe('[DONE]');
      } else if (outcome.kind === 'refused') {
        expect(error).toBeInstanceOf(outcome.error);
        expect(error).toMatchObject({ status: outcome.status, code: outcome.code });
        expect(exchange.status).toBe(outcome.status);
        expect(JSON.parse(text)).toMatchObject({ error: { code: outcome.code } });
        expect(content).toBe('');
      } else {
        // The SDK surfaces the error event as an APIError (no status: the stream had begun with a 200).
        expect(error).toBeInstanceOf(APIError);
        expect(error).toMatchObject({ status: undefined, code: outcome.code });
        expect(exchange.status).toBe(200);
        const delivered = WORDS.slice(0, outcome.delivered).join('');
        expect(content).toBe(delivered);
        const received = events(text);
        expect(received).not.toContain('[DONE]');
        expect(JSON.parse(received.at(-1) as string)).toMatchObject({ error: { code: outcome.code } });
        // Nothing follows the error event, and every event before it is a chunk of the answer.
        for (const event of received.slice(0, -1)) expect(JSON.parse(event)).toMatchObject({ object: 'chat.completion.chunk' });
      }

      // The attempts: headers, and the requests each target received.
      expect(upstream.requests.slice(since).map((request) => request.model)).toEqual(c.tried.map((which) => model(c.name, which)));
      expect(exchange.headers.get('x-cerulean-attempts')).toBe(String(c.tried.length));
      expect(exchange.headers.get('x-cerulean-target')).toBe(`${c.provider ?? 'up'}/${model(c.name, c.tried.at(-1) as Which)}`);
      const [first] = (await cerulean.admin('GET', `/deployments/${c.name}/targets`)).body.targets as Array<{ cooling_until: string | null }>;
      if (c.cools === undefined) expect(first.cooling_until).toBeNull();
      else {
        const left = Date.parse(first.cooling_until as string) - Date.now();
        expect(left).toBeLessThanOrEqual(c.cools);
        expect(left).toBeGreaterThan(c.cools - 2_000);
      }

      // The usage record: settled on the attempt that answered; failed attempts cost nothing.
      await cerulean.governance.ledger.flush();
      const record = await cerulean.governance.storage.usage.get(exchange.headers.get('x-request-id') as string);
      expect(record).toMatchObject({ projectId: project, deployment: c.name, streamed: c.stream });
      if (outcome.kind === 'answer') {
        expect(record).toMatchObject({
          model: model(c.name, outcome.target),
          status: 200,
          promptTokens: PROMPT_TOKENS,
          completionTokens: WORDS.length,
          estimated: false,
        });
      } else if (outcome.kind === 'refused') {
        expect(record).toMatchObject({ status: outcome.status, promptTokens: 0, completionTokens: 0, cost: 0, estimated: false });
      } else {
        // Metered as delivered: the prompt as admission counts it, the relayed text at four characters a token.
        const delivered = WORDS.slice(0, outcome.delivered).join('');
        expect(record).toMatchObject({ model: model(c.name, 'a'), estimated: true, completionTokens: Math.ceil(delivered.length / 4) });
        expect(record?.promptTokens).toBeGreaterThan(0);
      }
      const cost = (record?.promptTokens ?? 0) * INPUT_PRICE + (record?.completionTokens ?? 0) * OUTPUT_PRICE;
      expect(record?.cost).toBe(cost);

      // The quota holds the tokens metered (the admission estimate given back down to them), the budget the cost.
      const expected = { quotaTokens: (record?.promptTokens ?? 0) + (record?.completionTokens ?? 0), quotaRequests: 1, budget: cost };
      await expect.poll(() => counters(project), { timeout: 2_000 }).toEqual(expected);
    });
  }
});

describe.skipIf(!redisAvailable)('a target that flaps', () => {
  it('opens its breaker after consecutive failures, is kept out while open, and a half-open probe that succeeds closes it', async () => {
    const { project, client, exchanges } = await governedProject('flap');
    const a = model('flap', 'a');
    // Two failures, then two answers, and so on, counting the requests that reach it.
    upstream.flap({ kind: 'status', status: 503 }, { kind: 'ok' }, 2, a);
    const stateOfA = async (): Promise<string> =>
      ((await cerulean.admin('GET', '/deployments/flap/targets')).body.targets as Array<{ state: string }>)[0].state;
    const since = upstream.requests.length;

    for (let i = 0; i < 2; i++) expect((await call(client, 'flap', i === 1)).error).toBeUndefined();
    expect(await stateOfA()).toBe('open');
    // While open, the target is not tried: the other answers at the first attempt.
    expect((await call(client, 'flap', false)).error).toBeUndefined();
    expect(exchanges.map((exchange) => exchange.headers.get('x-cerulean-target'))).toEqual(['up/flap-b', 'up/flap-b', 'up/flap-b']);
    expect(exchanges.map((exchange) => exchange.headers.get('x-cerulean-attempts'))).toEqual(['2', '2', '1']);

    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(await stateOfA()).toBe('half_open');
    // The probe reaches the flapping target in its good phase: it answers, and the breaker closes.
    expect((await call(client, 'flap', true)).error).toBeUndefined();
    expect(exchanges.at(-1)?.headers.get('x-cerulean-target')).toBe('up/flap-a');
    expect(exchanges.at(-1)?.headers.get('x-cerulean-attempts')).toBe('1');
    expect(await stateOfA()).toBe('closed');
    expect(upstream.requests.slice(since).map((request) => request.model)).toEqual([a, 'flap-b', a, 'flap-b', 'flap-b', a]);

    // Four answers were delivered; the two failed attempts cost nothing.
    await cerulean.governance.ledger.flush();
    const records = await Promise.all(exchanges.map((exchange) => cerulean.governance.storage.usage.get(exchange.headers.get('x-request-id') as string)));
    expect(records.map((record) => record?.status)).toEqual([200, 200, 200, 200]);
    const tokens = records.reduce((sum, record) => sum + (record?.promptTokens ?? 0) + (record?.completionTokens ?? 0), 0);
    expect(tokens).toBe(4 * (PROMPT_TOKENS + WORDS.length));
    await expect
      .poll(() => counters(project), { timeout: 2_000 })
      .toEqual({ quotaTokens: tokens, quotaRequests: 4, budget: 4 * (PROMPT_TOKENS * INPUT_PRICE + WORDS.length * OUTPUT_PRICE) });
  });
});
