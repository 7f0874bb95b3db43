#!/usr/bin/env node
/**
 * Evaluates the built-in local content-safety classifier (the BUILT code in dist/) against the
 * labelled set in eval/content-safety/, and measures its latency.
 *
 *   npm run build && node eval/evaluate.mjs [--misses] [--iterations N]
 *
 * Prints markdown tables:
 * - per harm category, precision / recall / F1 with "flagged" meaning severity >= medium (the
 *   Azure default threshold) and again with severity >= low, plus exact-severity agreement;
 * - jailbreak and indirect-attack precision / recall / F1;
 * - latency p50 / p99 of one `classify` call for a ~200-token and a ~4,000-token prompt.
 * Files named heldout*.jsonl are reported separately: they were written after the lexicons were
 * tuned on the rest and never used for tuning.
 *
 * --misses lists every example the classifier got wrong at either threshold.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const showMisses = args.includes('--misses');
const iterationsArg = args.indexOf('--iterations');
const ITERATIONS = iterationsArg >= 0 ? Number(args[iterationsArg + 1]) : 2000;

const builtClassifier = join(root, 'dist/safety/local/local-classifier.js');
const builtCounter = join(root, 'dist/ratelimit/prompt-token-counter.js');
let LocalClassifier;
try {
  ({ LocalClassifier } = await import(pathToFileURL(builtClassifier).href));
} catch (error) {
  console.error(`Cannot load ${builtClassifier}: build first (npm run build).\n${error.message}`);
  process.exit(1);
}

const CATEGORIES = ['hate', 'sexual', 'violence', 'self_harm'];
/**
 * The kinds set (kinds.jsonl, heldout-kinds.jsonl) is split mechanically: an example whose text's
 * SHA-256 starts with a byte divisible by 3 is held out. The split is checked on every run.
 */
const KINDS_TUNING = 'kinds.jsonl';
const KINDS_HELDOUT = 'heldout-kinds.jsonl';
const heldOutByHash = (text) => createHash('sha256').update(text).digest()[0] % 3 === 0;
const RANK = { safe: 0, low: 1, medium: 2, high: 3 };

function load(dir) {
  const sets = { development: [], heldout: [], kinds: [], heldoutKinds: [] };
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()) {
    const lines = readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const target =
      file === KINDS_TUNING ? sets.kinds : file === KINDS_HELDOUT ? sets.heldoutKinds : file.startsWith('heldout') ? sets.heldout : sets.development;
    lines.forEach((line, index) => {
      const example = JSON.parse(line);
      example.where = `${file}:${index + 1}`;
      if ((file === KINDS_TUNING || file === KINDS_HELDOUT) && heldOutByHash(example.text) !== (file === KINDS_HELDOUT)) {
        console.error(`${example.where} is in the wrong part of the kinds set (the split is by SHA-256 of the text)`);
        process.exit(1);
      }
      target.push(example);
    });
  }
  return sets;
}

const classifier = new LocalClassifier();

async function judge(example) {
  return classifier.classify({ text: example.text, direction: 'prompt', documents: example.documents });
}

function prf(tp, fp, fn) {
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

const pct = (x) => (x * 100).toFixed(1);

async function evaluate(name, examples) {
  const counts = {};
  for (const c of CATEGORIES) {
    counts[c] = {
      medium: { tp: 0, fp: 0, fn: 0 },
      low: { tp: 0, fp: 0, fn: 0 },
      exact: 0,
      positives: { medium: 0, low: 0 },
    };
  }
  const jb = { tp: 0, fp: 0, fn: 0, n: 0, positives: 0 };
  const ia = { tp: 0, fp: 0, fn: 0, n: 0, positives: 0 };
  const misses = [];
  const flagged = { tp: 0, fp: 0, fn: 0, positives: 0 };
  const kinds = new Map();
  for (const example of examples) {
    const result = await judge(example);
    const truthFlagged = CATEGORIES.some((c) => RANK[example.labels[c]] >= 2);
    const gotFlagged = CATEGORIES.some((c) => RANK[result.categories[c].severity] >= 2);
    if (truthFlagged) flagged.positives++;
    if (truthFlagged && gotFlagged) flagged.tp++;
    else if (!truthFlagged && gotFlagged) flagged.fp++;
    else if (truthFlagged && !gotFlagged) flagged.fn++;
    if (example.kind) {
      const k = kinds.get(example.kind) ?? { n: 0, positives: 0, flagged: 0 };
      k.n++;
      if (truthFlagged) k.positives++;
      if (gotFlagged) k.flagged++;
      kinds.set(example.kind, k);
    }
    for (const c of CATEGORIES) {
      const truth = RANK[example.labels[c]];
      const got = RANK[result.categories[c].severity];
      if (truth === got) counts[c].exact++;
      for (const [threshold, level] of [
        ['medium', 2],
        ['low', 1],
      ]) {
        const t = truth >= level;
        const p = got >= level;
        if (t) counts[c].positives[threshold]++;
        if (t && p) counts[c][threshold].tp++;
        else if (!t && p) counts[c][threshold].fp++;
        else if (t && !p) counts[c][threshold].fn++;
      }
      if (truth >= 2 !== got >= 2 || truth >= 1 !== got >= 1) {
        const got = result.categories[c].severity;
        misses.push(`${example.where} ${c}: expected ${example.labels[c]}, got ${got} — ${example.text.slice(0, 110)}`);
      }
    }
    if (typeof example.jailbreak === 'boolean') {
      jb.n++;
      const detected = result.jailbreak.detected;
      if (example.jailbreak) jb.positives++;
      if (example.jailbreak && detected) jb.tp++;
      else if (!example.jailbreak && detected) jb.fp++;
      else if (example.jailbreak && !detected) jb.fn++;
      if (example.jailbreak !== detected) {
        const got = `${detected} (${result.jailbreak.score})`;
        const text = example.text.slice(0, 110);
        misses.push(`${example.where} jailbreak: expected ${example.jailbreak}, got ${got} — ${text}`);
      }
    }
    if (typeof example.indirect_attack === 'boolean') {
      ia.n++;
      const detected = result.indirect_attack.detected;
      if (example.indirect_attack) ia.positives++;
      if (example.indirect_attack && detected) ia.tp++;
      else if (!example.indirect_attack && detected) ia.fp++;
      else if (example.indirect_attack && !detected) ia.fn++;
      if (example.indirect_attack !== detected) {
        const doc = (example.documents ?? [example.text]).join(' | ');
        const got = `${detected} (${result.indirect_attack.score})`;
        const expected = example.indirect_attack;
        misses.push(`${example.where} indirect_attack: expected ${expected}, got ${got} — ${doc.slice(0, 110)}`);
      }
    }
  }

  console.log(`\n### ${name}: ${examples.length} examples\n`);
  console.log(
    '| Category | Positives (≥ medium / ≥ low) | Precision ≥ medium | Recall ≥ medium | F1 ≥ medium ' +
      '| Precision ≥ low | Recall ≥ low | F1 ≥ low | Exact severity |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const c of CATEGORIES) {
    const m = prf(counts[c].medium.tp, counts[c].medium.fp, counts[c].medium.fn);
    const l = prf(counts[c].low.tp, counts[c].low.fp, counts[c].low.fn);
    console.log(
      `| ${c} | ${counts[c].positives.medium} / ${counts[c].positives.low} ` +
        `| ${pct(m.precision)} | ${pct(m.recall)} | ${pct(m.f1)} ` +
        `| ${pct(l.precision)} | ${pct(l.recall)} | ${pct(l.f1)} | ${pct(counts[c].exact / examples.length)} |`,
    );
  }
  const f = prf(flagged.tp, flagged.fp, flagged.fn);
  console.log(`| **flagged** (any category ≥ medium) | ${flagged.positives} | ${pct(f.precision)} | ${pct(f.recall)} | ${pct(f.f1)} | | | | |`);
  if (kinds.size > 0) {
    console.log('\n| Kind | Examples | Harmful (≥ medium) | Flagged (any category ≥ medium) |');
    console.log('|---|---|---|---|');
    for (const [kind, k] of [...kinds].sort(([a], [b]) => a.localeCompare(b))) {
      console.log(`| ${kind} | ${k.n} | ${k.positives} | ${k.flagged} (${pct(k.flagged / k.n)}%) |`);
    }
  }
  console.log('\n| Signal | Examples (positives) | Precision | Recall | F1 |');
  console.log('|---|---|---|---|---|');
  for (const [label, s] of [
    ['jailbreak', jb],
    ['indirect_attack', ia],
  ]) {
    if (s.n === 0) continue;
    const r = prf(s.tp, s.fp, s.fn);
    console.log(`| ${label} | ${s.n} (${s.positives}) | ${pct(r.precision)} | ${pct(r.recall)} | ${pct(r.f1)} |`);
  }
  if (showMisses && misses.length > 0) {
    console.log(`\n<details><summary>${misses.length} misses</summary>\n`);
    for (const miss of misses) console.log(`- ${miss}`);
    console.log('\n</details>');
  }
}

/** A prompt of about `tokens` tokens (o200k_base), mixing benign and harmful examples. */
function promptOf(tokens, examples, countTokens) {
  const parts = [];
  let text = '';
  for (let i = 0; countTokens(text) < tokens; i++) {
    parts.push(examples[(i * 7) % examples.length].text);
    text = parts.join(' ');
  }
  return { text, tokens: countTokens(text) };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function latency(examples) {
  let countTokens = (text) => Math.ceil(text.length / 4);
  let counter = 'characters / 4';
  try {
    const { countPromptTokens } = await import(pathToFileURL(builtCounter).href);
    countTokens = (text) => countPromptTokens(text, 'o200k_base');
    counter = 'o200k_base';
  } catch {
    // The token counter is optional; fall back to the usual four characters per token.
  }
  console.log(`\n### Latency: one \`classify\` call (prompt direction, all signals), ${ITERATIONS} calls after warm-up\n`);
  console.log(`Node ${process.version}, ${process.platform}/${process.arch}; tokens counted with ${counter}.\n`);
  console.log('| Input | Characters | Tokens | p50 (ms) | p99 (ms) | max (ms) |');
  console.log('|---|---|---|---|---|---|');
  for (const target of [200, 4000]) {
    const { text, tokens } = promptOf(target, examples, countTokens);
    const input = { text, direction: 'prompt' };
    for (let i = 0; i < 200; i++) await classifier.classify(input);
    const times = new Float64Array(ITERATIONS);
    for (let i = 0; i < ITERATIONS; i++) {
      const start = performance.now();
      await classifier.classify(input);
      times[i] = performance.now() - start;
    }
    const sorted = Array.from(times).sort((a, b) => a - b);
    console.log(
      `| ~${target} tokens | ${text.length} | ${tokens} | ${percentile(sorted, 50).toFixed(3)} ` +
        `| ${percentile(sorted, 99).toFixed(3)} | ${sorted[sorted.length - 1].toFixed(3)} |`,
    );
  }
}

const sets = load(join(here, 'content-safety'));
console.log('## Local classifier evaluation');
await evaluate('Development set (lexicons tuned against it)', sets.development);
if (sets.heldout.length > 0) await evaluate('Held-out set (written after tuning, never tuned on)', sets.heldout);
if (sets.kinds.length > 0) await evaluate('Kinds set, tuning part (kinds.jsonl)', sets.kinds);
if (sets.heldoutKinds.length > 0) await evaluate('Kinds set, held-out part (heldout-kinds.jsonl, never tuned on)', sets.heldoutKinds);
await latency([...sets.development, ...sets.heldout]);
