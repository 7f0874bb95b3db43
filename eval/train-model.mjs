#!/usr/bin/env node
/**
 * Trains the built-in classifier's learned component (src/safety/local/learned-scorer.ts): one
 * logistic regression per harm category, "is this at least medium?", over hashed word unigrams
 * and bigrams, on every file of eval/content-safety/ except the held-out ones (heldout*.jsonl).
 * Writes src/safety/local/learned-weights.ts; deterministic (no randomness, fixed order), so the
 * same examples always give the same file.
 *
 *   npm run build && node eval/train-model.mjs && npm run build
 *
 * Thresholds are chosen by 5-fold cross-validation on the training examples (folds by a hash of
 * the text): per category, the lowest threshold whose cross-validated precision is at least
 * MIN_PRECISION (and at least 1 standard logit, so a sentence needs real evidence). The model is
 * then trained on all of them. Tokens come from the built tokeniser, so a change to the
 * normaliser needs a retrain.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const BITS = 18;
const CATEGORIES = ['hate', 'sexual', 'violence', 'self_harm'];
const RANK = { safe: 0, low: 1, medium: 2, high: 3 };
const EPOCHS = 60;
const RATE = 0.5;
const L2 = 1e-4;
const FOLDS = 5;
const MIN_PRECISION = 0.9;
const MIN_THRESHOLD = 1;

const load = async (path) => import(pathToFileURL(join(root, 'dist/safety/local', path)).href);
const { tokenise } = await load('text-normaliser.js');
const { forEachFeature } = await load('learned-scorer.js');

const dir = join(here, 'content-safety');
const examples = [];
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.jsonl') && !f.startsWith('heldout'))
  .sort()) {
  for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const { text, labels } = JSON.parse(line);
    const stream = tokenise(text);
    // Features of the whole example (for training) and of each sentence (as the classifier scores).
    const all = [];
    const sentences = [];
    let from = 0;
    for (let t = 1; t <= stream.count; t++) {
      if (t === stream.count || stream.sentence[t] !== stream.sentence[from]) {
        const features = [];
        forEachFeature(stream, from, t, BITS, (b) => features.push(b));
        sentences.push(Int32Array.from(features));
        all.push(...features);
        from = t;
      }
    }
    const fold = createHash('sha256').update(text).digest()[1] % FOLDS;
    const y = CATEGORIES.map((c) => (RANK[labels[c]] >= 2 ? 1 : 0));
    examples.push({ features: Int32Array.from(all), sentences, y, fold });
  }
}

const sigmoid = (z) => 1 / (1 + Math.exp(-z));

/** Per-category weights (Map bucket -> Float64Array(4)) and biases, by AdaGrad in a fixed order. */
function train(set) {
  const w = new Map();
  const g2 = new Map();
  const bias = new Float64Array(4);
  const biasG2 = new Float64Array(4).fill(1e-8);
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    for (const { features, y } of set) {
      for (let c = 0; c < 4; c++) {
        let z = bias[c];
        for (const f of features) z += w.get(f)?.[c] ?? 0;
        const grad = sigmoid(z) - y[c];
        biasG2[c] += grad * grad;
        bias[c] -= (RATE * grad) / Math.sqrt(biasG2[c]);
        for (const f of features) {
          let wf = w.get(f);
          if (!wf) w.set(f, (wf = new Float64Array(4)));
          let gf = g2.get(f);
          if (!gf) g2.set(f, (gf = new Float64Array(4).fill(1e-8)));
          const g = grad + L2 * wf[c];
          gf[c] += g * g;
          wf[c] -= (RATE * g) / Math.sqrt(gf[c]);
        }
      }
    }
  }
  return { w, bias };
}

/** Highest sentence logit of an example per category, as the classifier computes it. */
function score(model, example) {
  const best = new Float64Array(4).fill(-Infinity);
  for (const sentence of example.sentences) {
    for (let c = 0; c < 4; c++) {
      let z = model.bias[c];
      for (const f of sentence) z += model.w.get(f)?.[c] ?? 0;
      if (z > best[c]) best[c] = z;
    }
  }
  return best;
}

// Cross-validated scores.
const cv = examples.map(() => null);
for (let k = 0; k < FOLDS; k++) {
  const model = train(examples.filter((e) => e.fold !== k));
  examples.forEach((e, i) => {
    if (e.fold === k) cv[i] = score(model, e);
  });
}
const thresholds = [];
for (let c = 0; c < 4; c++) {
  let chosen = Infinity;
  let report = 'never';
  for (let t = MIN_THRESHOLD; t <= 8; t += 0.25) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    examples.forEach((e, i) => {
      const p = cv[i][c] >= t;
      if (p && e.y[c]) tp++;
      else if (p) fp++;
      else if (e.y[c]) fn++;
    });
    const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
    if (precision >= MIN_PRECISION && tp > 0) {
      chosen = t;
      report = `precision ${precision.toFixed(3)} recall ${(tp / (tp + fn)).toFixed(3)} (5-fold cross-validated)`;
      break;
    }
  }
  thresholds.push(chosen === Infinity ? 1e9 : chosen);
  console.log(`${CATEGORIES[c]}: threshold ${chosen}, ${report}`);
}

const model = train(examples);
const buckets = [...model.w.keys()].filter((b) => model.w.get(b).some((v) => Math.abs(v) >= 0.01)).sort((a, b) => a - b);
const values = [];
for (const b of buckets) for (const v of model.w.get(b)) values.push(Math.round(v * 1e4) / 1e4);
const out = join(root, 'src/safety/local/learned-weights.ts');
writeFileSync(
  out,
  `// Generated by eval/train-model.mjs from ${examples.length} examples; do not edit.\n` +
    `// prettier-ignore\n` +
    `export const LEARNED_MODEL = {\n` +
    `  bits: ${BITS},\n` +
    `  bias: [${Array.from(model.bias, (v) => Math.round(v * 1e4) / 1e4).join(', ')}],\n` +
    `  thresholds: [${thresholds.join(', ')}],\n` +
    `  buckets: [${buckets.join(',')}],\n` +
    `  values: [${values.join(',')}],\n` +
    `};\n`,
);
console.log(`${examples.length} examples, ${buckets.length} features: wrote ${out}`);
