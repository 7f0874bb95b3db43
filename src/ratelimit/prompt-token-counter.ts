import type { TiktokenBPE } from 'js-tiktoken/lite';
import cl100k from 'js-tiktoken/ranks/cl100k_base';
import o200k from 'js-tiktoken/ranks/o200k_base';
import { tokenizer, type EncodingName } from '../tokens/tokenizer.js';

/**
 * Token counts for admission estimates, on the request's hot path: the same counts as
 * `countTokens` (js-tiktoken), at a fraction of the cost.
 *
 * tiktoken splits text with one regular expression and encodes each piece on its own, so a
 * text's count is the sum of its pieces' counts. Pieces repeat (words, punctuation, indentation),
 * so their counts are kept in a bounded cache per encoding. js-tiktoken's `encode` is slow for this
 * use (~1 µs per token: it compiles its regexes per call and its byte-pair merge joins arrays into
 * strings for every pair on every pass, ~1 ms for a 30-character CJK piece), so a cache miss runs
 * the merge below on js-tiktoken's own rank table instead.
 *
 * Pieces longer than MAX_PIECE_CHARS (long runs without spaces: CJK text, base64, a word
 * repeated without spaces) are counted in chunks of that size, because the merge is quadratic in
 * a piece's length. That bounds the work per character (1 MB of CJK text in ~50 ms) at the price
 * of a few tokens per chunk boundary (measured: 0 to +3), noise for an admission estimate.
 */

const MAX_PIECE_CHARS = 64;
/** Pieces whose counts are kept per encoding; at most ~64 chars each, so a few MB at worst. */
const MAX_CACHED_PIECES = 32_768;

const RANKS: Record<EncodingName, TiktokenBPE> = { cl100k_base: cl100k, o200k_base: o200k };

interface PieceCounter {
  readonly pattern: RegExp;
  readonly cache: Map<string, number>;
  /** js-tiktoken's table from comma-joined byte values to rank, or null if its internals changed. */
  readonly ranks: Map<string, number> | null;
}

const counters = new Map<EncodingName, PieceCounter>();
const utf8 = new TextEncoder();

function pieceCounter(encoding: EncodingName): PieceCounter {
  let counter = counters.get(encoding);
  if (!counter) {
    // `rankMap` is internal to js-tiktoken; if a release renames it, fall back to its public encode.
    const rankMap = (tokenizer(encoding) as unknown as { rankMap?: unknown }).rankMap;
    counter = {
      pattern: new RegExp(RANKS[encoding].pat_str, 'gu'),
      cache: new Map(),
      ranks: rankMap instanceof Map ? (rankMap as Map<string, number>) : null,
    };
    counters.set(encoding, counter);
  }
  return counter;
}

/** Tokens in `text` under `encoding`, special-token text counted as plain text. */
export function countPromptTokens(text: string, encoding: EncodingName): number {
  if (text === '') return 0;
  const counter = pieceCounter(encoding);
  const { pattern } = counter;
  pattern.lastIndex = 0;
  let total = 0;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(text)) !== null) {
    const piece = match[0];
    total += piece.length <= MAX_PIECE_CHARS ? cachedPieceTokens(counter, piece, encoding) : longPieceTokens(counter, piece, encoding);
  }
  return total;
}

function cachedPieceTokens(counter: PieceCounter, piece: string, encoding: EncodingName): number {
  const known = counter.cache.get(piece);
  if (known !== undefined) return known;
  const count = counter.ranks ? mergedTokenCount(utf8.encode(piece), counter.ranks) : tokenizer(encoding).encode(piece, [], []).length;
  // Oldest first out: Maps iterate in insertion order.
  if (counter.cache.size >= MAX_CACHED_PIECES) counter.cache.delete(counter.cache.keys().next().value as string);
  counter.cache.set(piece, count);
  return count;
}

function longPieceTokens(counter: PieceCounter, piece: string, encoding: EncodingName): number {
  let total = 0;
  for (let start = 0; start < piece.length;) {
    let end = Math.min(piece.length, start + MAX_PIECE_CHARS);
    // Never split a surrogate pair: half a character would encode as U+FFFD.
    const last = piece.charCodeAt(end - 1);
    if (end < piece.length && last >= 0xd800 && last <= 0xdbff) end++;
    total += cachedPieceTokens(counter, piece.slice(start, end), encoding);
    start = end;
  }
  return total;
}

/**
 * Byte-pair merge as tiktoken does it: repeatedly merge the adjacent pair with the lowest rank
 * (the leftmost on a tie) until no pair is in the table; the count is the number of parts left.
 * Parts are held as their table keys (comma-joined byte values), so a merge is a concatenation.
 */
function mergedTokenCount(bytes: Uint8Array, ranks: Map<string, number>): number {
  const length = bytes.length;
  if (length <= 1) return length;
  const parts: string[] = new Array(length);
  for (let i = 0; i < length; i++) parts[i] = String(bytes[i]);
  if (ranks.has(parts.join(','))) return 1;
  // pairRank[i]: rank of parts[i] merged with parts[i + 1], Infinity when not in the table.
  const pairRank: number[] = new Array(length - 1);
  for (let i = 0; i < length - 1; i++) pairRank[i] = ranks.get(`${parts[i]},${parts[i + 1]}`) ?? Infinity;
  while (parts.length > 1) {
    let best = 0;
    for (let i = 1; i < pairRank.length; i++) if (pairRank[i] < pairRank[best]) best = i;
    if (pairRank[best] === Infinity) break;
    parts[best] = `${parts[best]},${parts[best + 1]}`;
    parts.splice(best + 1, 1);
    pairRank.splice(best, 1);
    if (best < parts.length - 1) pairRank[best] = ranks.get(`${parts[best]},${parts[best + 1]}`) ?? Infinity;
    if (best > 0) pairRank[best - 1] = ranks.get(`${parts[best - 1]},${parts[best]}`) ?? Infinity;
  }
  return parts.length;
}
