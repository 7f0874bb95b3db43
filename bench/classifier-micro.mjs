#!/usr/bin/env node
// Micro-benchmark of the built-in content-safety path, in-process, on the BUILT code in dist/:
// per-call time of
//   - LocalClassifier.classifySync (the classifier alone),
//   - ContentFilter.check under the default policy (what the filter stage calls per text),
//   - ContentSafetyStage.checkPrompt + checkResponse for one chat request (the whole stage),
// on
//   (a) a tiny chat request: prompt "You are a terse assistant." + "Say hello.", completion
//       "Hello! How can I help you today?" (what the gateway saturation profile sends),
//   (b) a ~4,000-token benign prompt (eval/content-safety/benign.jsonl, repeated),
//   (c) both again after the process has also classified non-Latin text (Chinese, Cyrillic,
//       Greek, Arabic, emoji): V8 then sees two-byte strings in the tokeniser's loops, which used
//       to make them polymorphic and slower.
// Each figure is the median over several repetitions of a timed batch, except the long text's
// p50/p99 rows, which time 1,000 single calls one by one (run under `taskset -c 0` for one core).
//
//   npm run build && taskset -c 0 node bench/classifier-micro.mjs [--reps N] [--scale F] [--json] [--dist DIR]
//
// --dist runs another build (say a copy of dist/ from before a change), for before/after numbers
// taken under the same conditions; it must sit where it can resolve node_modules.
//
// Cheap enough for a 2-core machine (a few seconds); it runs nothing in the background.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  options: {
    reps: { type: 'string', default: '9' },
    scale: { type: 'string', default: '1' },
    json: { type: 'boolean', default: false },
    dist: { type: 'string', default: join(root, 'dist') },
  },
});
const REPS = Number(flags.reps);
const SCALE = Number(flags.scale);

const load = async (path) => import(pathToFileURL(join(flags.dist, path)).href);
let modules;
try {
  modules = await Promise.all([
    load('safety/local/local-classifier.js'),
    load('safety/content-filter.js'),
    load('safety/filter-registry.js'),
    load('safety/content-safety-stage.js'),
    load('api/openai/chat.js'),
  ]);
} catch (error) {
  console.error(`Cannot load dist/: build first (npm run build).\n${error.message}`);
  process.exit(1);
}
const [{ LocalClassifier }, { ContentFilter }, { defaultPolicy, DEFAULT_POLICY }, { ContentSafetyStage }, { chatOperation }] = modules;
const chatApi = chatOperation.api;

// Built the way FilterRegistry builds the default policy: the local classifier alone, PII off.
const classifier = new LocalClassifier();
const filter = new ContentFilter(DEFAULT_POLICY, defaultPolicy(), [classifier]);
const stage = new ContentSafetyStage({
  resolver: { filterFor: () => filter, blocklistsFor: () => undefined },
  observers: [],
});

const TINY_MESSAGES = [
  { role: 'system', content: 'You are a terse assistant.' },
  { role: 'user', content: 'Say hello.' },
];
// The prompt text as the chat operation's prompt reader (src/api/openai/chat.ts) makes it, for the classifier and filter rows.
const TINY_PROMPT = chatApi.prompt.read({ messages: TINY_MESSAGES }).text;
const TINY_COMPLETION = 'Hello! How can I help you today?';

/** ~4,000 tokens (about 16,000 characters at four per token) of benign prompts, one after another. */
function longBenignPrompt() {
  const examples = readFileSync(join(root, 'eval/content-safety/benign.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line).text);
  let text = '';
  for (let i = 0; text.length < 16_000; i++) text += (text ? ' ' : '') + examples[i % examples.length];
  return text;
}
const LONG_PROMPT = longBenignPrompt();

const NON_LATIN = [
  '你好，世界！请用一句话介绍一下你自己。我想了解机器学习的基本概念。',
  'Привет! Расскажи, пожалуйста, как приготовить борщ. Спасибо большое.',
  'Καλημέρα σας, πώς είστε σήμερα; Θα ήθελα να μάθω για την ιστορία της Αθήνας.',
  'مرحبا، كيف حالك اليوم؟ أريد أن أتعلم البرمجة.',
  'Hello 👋🌍 can you help me 🙏 plan a trip to Tokyo 🗼 and Kyoto ⛩️?',
  'こんにちは。今日はいい天気ですね。東京タワーに行きたいです。',
  'Mixed: the naïve café served crème brûlée; Zürich → Köln ✈️ 東京.',
];

// One signal for every request: making an AbortController per request would cost more than the
// stage itself, and the server makes it whether or not a filter runs.
const controller = new AbortController();

// The stage reads the prompt through the request's inbound operation (`context.api.prompt`), as the pipeline builds it.
function chatContext(messages) {
  const body = { model: 'bench', messages };
  return {
    id: 'bench',
    shape: 'openai',
    api: chatApi,
    operation: 'chat',
    request: body,
    deployment: 'bench',
    body,
    stream: false,
    includeUsage: false,
    principal: {},
    signal: controller.signal,
    abort: (reason) => controller.abort(reason),
    startedAt: 0,
    receivedAt: 0,
    projectHint: undefined,
    apiVersion: undefined,
  };
}
const completionBody = (content) => ({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 0,
  model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
});

/** Runs `fn` `calls` times per repetition; returns the median ns per call over REPS repetitions. */
async function measure(fn, calls) {
  calls = Math.max(1, Math.round(calls * SCALE));
  for (let i = 0; i < Math.max(50, calls >> 2); i++) await fn(); // warm-up
  const perCall = [];
  for (let r = 0; r < REPS; r++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    perCall.push(((performance.now() - start) * 1e6) / calls);
  }
  perCall.sort((a, b) => a - b);
  return perCall[perCall.length >> 1];
}

function measureSync(fn, calls) {
  calls = Math.max(1, Math.round(calls * SCALE));
  for (let i = 0; i < Math.max(50, calls >> 2); i++) fn();
  const perCall = [];
  for (let r = 0; r < REPS; r++) {
    const start = performance.now();
    for (let i = 0; i < calls; i++) fn();
    perCall.push(((performance.now() - start) * 1e6) / calls);
  }
  perCall.sort((a, b) => a - b);
  return perCall[perCall.length >> 1];
}

/** Times `calls` single calls of `fn` one by one (after warm-up); returns [p50, p99] in ns per call. */
function percentilesSync(fn, calls) {
  calls = Math.max(100, Math.round(calls * SCALE));
  for (let i = 0; i < Math.max(50, calls >> 2); i++) fn();
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const start = performance.now();
    fn();
    times[i] = (performance.now() - start) * 1e6;
  }
  times.sort();
  return [times[calls >> 1], times[Math.min(calls - 1, Math.ceil(calls * 0.99) - 1)]];
}

const tinyPrompt = { text: TINY_PROMPT, direction: 'prompt', documents: [] };
const tinyCompletion = { text: TINY_COMPLETION, direction: 'completion' };
const longPrompt = { text: LONG_PROMPT, direction: 'prompt', documents: [] };
const tinyBody = completionBody(TINY_COMPLETION);

async function suite(label) {
  const rows = [];
  const row = (name, ns) => rows.push({ phase: label, case: name, ns });
  row(
    'tiny: classifySync(prompt) + classifySync(completion)',
    measureSync(() => {
      classifier.classifySync(tinyPrompt);
      classifier.classifySync(tinyCompletion);
    }, 20_000),
  );
  row(
    'tiny: filter.check(prompt) + filter.check(completion)',
    await measure(async () => {
      await filter.check(tinyPrompt);
      await filter.check(tinyCompletion);
    }, 20_000),
  );
  row(
    'tiny: stage.checkPrompt + stage.checkResponse',
    await measure(async () => {
      const context = chatContext(TINY_MESSAGES);
      await stage.checkPrompt(context);
      await stage.checkResponse(context, tinyBody);
    }, 20_000),
  );
  row(
    `long (${LONG_PROMPT.length} chars): classifySync(prompt)`,
    measureSync(() => classifier.classifySync(longPrompt), 300),
  );
  row(`long (${LONG_PROMPT.length} chars): filter.check(prompt)`, await measure(() => filter.check(longPrompt), 300));
  const [p50, p99] = percentilesSync(() => classifier.classifySync(longPrompt), 1_000);
  row(`long (${LONG_PROMPT.length} chars): classifySync(prompt), p50 of single calls`, p50);
  row(`long (${LONG_PROMPT.length} chars): classifySync(prompt), p99 of single calls`, p99);
  return rows;
}

const results = [];
results.push(...(await suite('fresh process')));
// Let the process see two-byte strings, as a gateway serving any non-English traffic does.
let sink = 0;
for (let round = 0; round < 200; round++) {
  for (const text of NON_LATIN) {
    sink += classifier.classifySync({ text, direction: round % 2 === 0 ? 'prompt' : 'completion' }).categories.hate.score;
    sink += (await filter.check({ text, direction: 'prompt' })).blocked ? 1 : 0;
  }
}
results.push(...(await suite('after non-Latin text')));
results.push({
  phase: 'after non-Latin text',
  case: 'non-Latin mix: classifySync(prompt) per text',
  ns:
    measureSync(() => {
      for (const text of NON_LATIN) classifier.classifySync({ text, direction: 'prompt' });
    }, 2_000) / NON_LATIN.length,
});

if (flags.json) {
  console.log(JSON.stringify({ node: process.version, reps: REPS, results, sink }, null, 2));
} else {
  console.log(`Node ${process.version}, ${process.platform}/${process.arch}; median of ${REPS} repetitions\n`);
  console.log('| Phase | Case | per call |');
  console.log('|---|---|---|');
  for (const { phase, case: name, ns } of results) {
    const shown = ns >= 10_000 ? `${(ns / 1000).toFixed(1)} µs` : `${Math.round(ns)} ns`;
    console.log(`| ${phase} | ${name} | ${shown} |`);
  }
}
