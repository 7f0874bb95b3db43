import { LEARNED_MODEL } from './learned-weights.js';
export { LEARNED_MODEL };
import type { TokenStream } from './text-normaliser.js';

/**
 * The learned part of the built-in classifier: one logistic regression per harm category over
 * hashed word unigrams and bigrams of a sentence, trained by eval/train-model.mjs on the
 * project's own labelled examples (never on the held-out files) and shipped as
 * learned-weights.ts. It answers one question per sentence and category, "is this at least
 * medium?", and catches wording no lexicon lists ("I don't see the point in living anymore",
 * "you're a waste of space"); the severity rules decide everything else, and whether a
 * sentence's framing (news, history, fiction, counter-speech) lets it count at all.
 *
 * Features are the tokens' FNV-1a hashes from the tokeniser, mixed and folded into 2^BITS
 * buckets; nothing is allocated per call. The weights are expanded once per process into one
 * dense table (4 floats a bucket).
 */

export const CATEGORY_ORDER = ['hate', 'sexual', 'violence', 'self_harm'] as const;
const CATEGORIES = CATEGORY_ORDER.length;

/** Bucket of a unigram and of a bigram (tokens' FNV-1a hashes), in [0, 2^bits). */
export function unigramBucket(hash: number, bits: number): number {
  return Math.imul(hash ^ 0x5bd1e995, 0x9e3779b1) >>> (32 - bits);
}

export function bigramBucket(previous: number, hash: number, bits: number): number {
  return Math.imul(Math.imul(previous, 0x85ebca6b) ^ hash, 0xc2b2ae35) >>> (32 - bits);
}

/** Calls `visit(bucket)` for every feature of tokens [from, to) (one sentence). */
export function forEachFeature(stream: TokenStream, from: number, to: number, bits: number, visit: (bucket: number) => void): void {
  const { hash } = stream;
  for (let t = from; t < to; t++) {
    visit(unigramBucket(hash[t], bits));
    if (t > from) visit(bigramBucket(hash[t - 1], hash[t], bits));
  }
}

let table: Float32Array | undefined;

function weights(): Float32Array {
  if (table) return table;
  const { bits, buckets, values } = LEARNED_MODEL;
  const dense = new Float32Array((1 << bits) * CATEGORIES);
  for (let i = 0; i < buckets.length; i++) {
    for (let c = 0; c < CATEGORIES; c++) dense[buckets[i] * CATEGORIES + c] = values[i * CATEGORIES + c];
  }
  table = dense;
  return dense;
}

/** Prepares the weight table (first construction of the classifier), so no call pays for it. */
export function loadLearnedModel(): void {
  weights();
}

/**
 * Per-category logit of sentence tokens [from, to) into `out` (length 4, CATEGORY_ORDER).
 * A sentence whose logit reaches LEARNED_MODEL.thresholds[c] reads as at least medium.
 */
export function scoreSentence(stream: TokenStream, from: number, to: number, out: Float64Array): void {
  const { bits, bias } = LEARNED_MODEL;
  const dense = weights();
  const { hash } = stream;
  for (let c = 0; c < CATEGORIES; c++) out[c] = bias[c];
  for (let t = from; t < to; t++) {
    let b = unigramBucket(hash[t], bits) * CATEGORIES;
    out[0] += dense[b];
    out[1] += dense[b + 1];
    out[2] += dense[b + 2];
    out[3] += dense[b + 3];
    if (t > from) {
      b = bigramBucket(hash[t - 1], hash[t], bits) * CATEGORIES;
      out[0] += dense[b];
      out[1] += dense[b + 1];
      out[2] += dense[b + 2];
      out[3] += dense[b + 3];
    }
  }
}
