import { Buffer } from 'node:buffer';

/**
 * Normalisation and tokenisation for the local classifier: text in, a stream of normalised word
 * tokens out, each with its sentence, a hash and a few flags. The lexicons are tokenised by this
 * same function when they are compiled, so a phrase and the text it should match always agree on
 * spelling ("self-harm" and "self harm" are both the tokens `self`, `harm`).
 *
 * What it undoes, in one pass over the text:
 * - Unicode compatibility forms and diacritics: NFKD, then combining marks dropped, so
 *   fullwidth, ligature, mathematical-alphabet and accented letters become plain Latin
 *   ("ｋｉｌｌ", "kíll" → "kill").
 * - Case, zero-width characters and soft hyphens inside words ("ki\u200Bll" → "kill").
 * - A short table of Cyrillic and Greek letters that look Latin ("kіll" with U+0456 → "kill").
 *   Real Cyrillic or Greek text is mangled by this; nothing in the lexicons is non-Latin, so
 *   that costs nothing but means those languages are not classified at all.
 * - Apostrophes inside words are dropped ("don't" → "dont", "I'll" → "ill").
 * - Leetspeak, only inside a token that has at least one real letter, so plain numbers survive
 *   ("k1ll", "a$$", "sh!t" → "kill", "ass", "shit"; "2024" and "kill -9" are left alone).
 * - Letters spelled out one at a time with the same separator ("k.i.l.l", "k i l l",
 *   "k-1-l-l" → "kill"); the run ends where the separator changes, so "k.i.l.l y.o.u" gives two
 *   words.
 * - Masking characters inside a word are kept as `*` ("f*ck", "f#ck" → "f*ck") and flagged; the
 *   matcher knows the masked spellings of its terms.
 * - Runs of three or more of one letter are flagged, not rewritten ("kiiilll"): the matcher
 *   tries the shortened spellings against its vocabulary, which rewriting here could not
 *   (rewriting "ass" and "as" to one form would confuse them).
 *
 * Sentences: a boundary is `.`, `!`, `?` or `;` followed by something other than a letter or
 * digit (so not "99.9" or "node.js"), a blank line, or every
 * MAX_SENTENCE_TOKENS tokens, so that co-occurrence rules never span a whole run-on document.
 *
 * Cost: the text's UTF-16 code units are copied natively into a scratch buffer, checked for
 * characters NFKD could change, then tokenised in one pass over that buffer; no string per token (the
 * matcher looks tokens up by hash and compares characters in place), and scratch buffers reused
 * across calls. Reading a typed array rather than the string keeps the hot loop monomorphic: a
 * `charCodeAt` loop that has seen both one-byte and two-byte strings (any non-Latin1 text) runs
 * about half as fast, for every text after. The price of the reuse: a TokenStream is valid only
 * until the next call to `tokenise`.
 */

/** Token flag: a run of three or more of one letter ("kiiill"). */
export const ELONGATED = 1;
/** Token flag: contains a masking `*` ("f*ck"). */
export const MASKED = 2;
/** Token flag: began with an upper-case letter in the source text. */
export const CAPITALISED = 4;
/** Token flag: only digits. */
export const NUMERIC = 8;
/** Token flag: first token of its sentence. */
export const SENTENCE_START = 16;

/**
 * FNV-1a (32-bit) parameters, the offset basis as a signed 32-bit number so that the running hash
 * stays a small integer in V8 (0x811c9dc5 itself is above 2^31, a heap number).
 */
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/** TokenStream.mixedCase of the (usual) text without any such token: shared, never written. */
const NO_HINTS: readonly number[] = Object.freeze([]);

/** Longest sentence, in tokens, before a boundary is forced. */
export const MAX_SENTENCE_TOKENS = 60;
/** Shortest token that can set TokenStream.mixedCase. */
export const MIXED_CASE_LENGTH = 12;
const MAX_MIXED_CASE_HINTS = 16;

export interface TokenStream {
  readonly count: number;
  /** Every token's normalised characters, back to back; token i is chars[start[i], end[i]). */
  readonly chars: Uint16Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** FNV-1a (32-bit) of each token's normalised characters; see phrase-matcher.ts fnv1a. */
  readonly hash: Int32Array;
  /** Sentence number of each token, from 0, non-decreasing. */
  readonly sentence: Int32Array;
  /** ELONGATED | MASKED | CAPITALISED | NUMERIC | SENTENCE_START per token. */
  readonly flags: Uint8Array;
  readonly sentenceCount: number;
  /**
   * Where in `source` tokens begin that have at least MIXED_CASE_LENGTH characters and upper- and
   * lower-case letters after their first character, as base64 does ("SWdub3JlIGFsbCBw…");
   * ordinary prose has none, so callers look for encoded payloads only around these (at most
   * MAX_MIXED_CASE_HINTS).
   */
  readonly mixedCase: readonly number[];
  /** The text after NFKD normalisation; `mixedCase` offsets point into it. */
  readonly source: string;
  /** Token i as a string (allocates; for the rare paths and for tests). */
  token(i: number): string;
}

// Character classes. Built once at module load; the hot loop only indexes arrays.
const SEPARATOR = 0;
const LETTER = 1;
const DIGIT = 2;
/** `@` and `$`: may start a word ("$hit", "@ss"). */
const LEET_START = 3;
/** `!` and `|`: a letter only between word characters ("k!ll"), otherwise punctuation. */
const LEET_INNER = 4;
/** `*` and `#` inside a word: a masked letter. */
const MASK = 5;
/** Dropped without ending the word: apostrophes, zero-width characters, combining marks. */
const SKIP = 6;
const SENTENCE_END = 7;
const NEWLINE = 8;

/**
 * Class and replacement character of every UTF-16 code unit, so the hot loop is one array read
 * per character whatever the script (a range test there, with a call for the rare side, made the
 * loop slower for every text once any non-Latin text had taken the call). Below TABLE_SIZE
 * (Latin, Greek, Cyrillic) they come from the case mappings and the lists below; above it from
 * classAboveTable, with no case folding. 192 KiB in all.
 */
const CODE_UNITS = 0x10000;
const TABLE_SIZE = 0x500;
const CLASS = new Uint8Array(CODE_UNITS);
const LOWER = new Uint16Array(CODE_UNITS);
/** Letter a leet character stands for inside a word (0 for none). */
const LEET = new Uint16Array(128);
const STAR = 0x2a;

const code = (s: string): number => s.charCodeAt(0);

(function buildTables(): void {
  for (let c = 0; c < TABLE_SIZE; c++) {
    const ch = String.fromCharCode(c);
    const lower = ch.toLowerCase();
    LOWER[c] = lower.length === 1 ? lower.charCodeAt(0) : c;
    if (c >= 0x300 && c <= 0x36f) CLASS[c] = SKIP;
    else if (c >= 0xc0 && c !== 0xd7 && c !== 0xf7 && lower !== ch.toUpperCase()) CLASS[c] = LETTER;
    else CLASS[c] = SEPARATOR;
  }
  for (let c = code('a'); c <= code('z'); c++) CLASS[c] = LETTER;
  for (let c = code('A'); c <= code('Z'); c++) CLASS[c] = LETTER;
  for (let c = code('0'); c <= code('9'); c++) CLASS[c] = DIGIT;
  CLASS[code('@')] = LEET_START;
  CLASS[code('$')] = LEET_START;
  CLASS[code('!')] = LEET_INNER;
  CLASS[code('|')] = LEET_INNER;
  CLASS[code('*')] = MASK;
  CLASS[code('#')] = MASK;
  CLASS[code("'")] = SKIP;
  CLASS[code('`')] = SKIP;
  CLASS[0xad] = SKIP; // soft hyphen
  CLASS[0x2bc] = SKIP; // modifier letter apostrophe
  CLASS[code('.')] = SENTENCE_END;
  CLASS[code('?')] = SENTENCE_END;
  CLASS[code(';')] = SENTENCE_END;
  CLASS[code('\n')] = NEWLINE;
  const leet: Record<string, string> = {
    '0': 'o',
    '1': 'i',
    '3': 'e',
    '4': 'a',
    '5': 's',
    '7': 't',
    '@': 'a',
    $: 's',
    '!': 'i',
    '|': 'i',
  };
  for (const [from, to] of Object.entries(leet)) LEET[code(from)] = code(to);
  // Cyrillic and Greek letters that render like Latin ones (a common filter-evasion trick).
  const lookalikes: Record<string, string> = {
    а: 'a',
    в: 'b',
    е: 'e',
    к: 'k',
    м: 'm',
    н: 'h',
    о: 'o',
    р: 'p',
    с: 'c',
    т: 't',
    у: 'y',
    х: 'x',
    і: 'i',
    ј: 'j',
    ѕ: 's',
    ԁ: 'd',
    ӏ: 'l',
    α: 'a',
    β: 'b',
    ε: 'e',
    ι: 'i',
    κ: 'k',
    ν: 'v',
    ο: 'o',
    ρ: 'p',
    τ: 't',
    υ: 'u',
    χ: 'x',
    η: 'n',
    μ: 'u',
  };
  for (const [from, to] of Object.entries(lookalikes)) {
    for (const variant of [from, from.toUpperCase()]) {
      const c = code(variant);
      if (c < TABLE_SIZE) {
        LOWER[c] = code(to);
        CLASS[c] = LETTER;
      }
    }
  }
  for (let c = TABLE_SIZE; c < CODE_UNITS; c++) {
    CLASS[c] = classAboveTable(c);
    LOWER[c] = c;
  }
})();

/** Class of a code unit at or above TABLE_SIZE (only used to fill CLASS). */
function classAboveTable(c: number): number {
  // Zero-width spaces and joiners, word joiner, BOM: dropped so they cannot split a word.
  if ((c >= 0x200b && c <= 0x200f) || (c >= 0x2060 && c <= 0x2064) || c === 0xfeff) return SKIP;
  if (c === 0x2018 || c === 0x2019) return SKIP; // curly apostrophes
  // Combining marks outside the main block.
  if ((c >= 0x1ab0 && c <= 0x1aff) || (c >= 0x1dc0 && c <= 0x1dff) || (c >= 0x20d0 && c <= 0x20ff)) return SKIP;
  if (c >= 0xfe20 && c <= 0xfe2f) return SKIP;
  if (c === 0x2028 || c === 0x2029) return NEWLINE;
  // General and CJK punctuation, symbols, surrogates (emoji), private use: separators.
  if (c >= 0x2000 && c <= 0x2bff) return SEPARATOR;
  if (c >= 0x3000 && c <= 0x303f) return SEPARATOR;
  if (c >= 0xd800 && c <= 0xf8ff) return SEPARATOR;
  if (c >= 0xfe30 && c <= 0xfe6f) return SEPARATOR;
  // Any other character is part of a word and has no case to fold.
  return LETTER;
}

/**
 * Whether NFKD could change how code unit `c` tokenises: it is outside ASCII and neither
 * punctuation the tables already handle (curly quotes, dashes, ellipses) nor a Greek or Cyrillic
 * letter (looked up directly). Most English text, smart quotes included, skips the normalisation
 * and the copy it makes.
 */
function mayDecompose(c: number): boolean {
  if (c < 0xc0) return false;
  return !((c >= 0x2000 && c <= 0x206f) || (c >= 0x370 && c <= 0x4ff) || c === 0xd7 || c === 0xf7);
}

/** Whether a Uint16Array reads UTF-16LE bytes as code units (little-endian hosts: x64, arm64 …). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Copy `text`'s code units into `units`: natively where the byte order allows (a memory copy,
 * tens of times faster than a loop), else with a `charCodeAt` loop. After this nothing reads the
 * string, so no hot loop depends on how V8 happens to represent it.
 */
function copyUnits(text: string): void {
  if (LITTLE_ENDIAN) {
    unitBytes.write(text, 0, 'utf16le');
    return;
  }
  const out = units;
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
}

/** Whether NFKD could change how the first `n` units of `units` tokenise (see mayDecompose). */
function needsDecomposition(n: number): boolean {
  const input = units;
  for (let i = 0; i < n; i++) {
    const c = input[i];
    if (c >= 0xc0 && mayDecompose(c)) return true;
  }
  return false;
}

/** Does a character of class `k` continue a word (so a `!`, `|` or `*` before it is inside one)? */
function continuesWord(k: number): boolean {
  return k === LETTER || k === DIGIT || k === LEET_START || k === LEET_INNER || k === MASK || k === SKIP;
}

/** Scratch buffers, grown on demand and reused by every call (see "Cost" above). */
/** The source text's code units (see copyUnits). */
let units: Uint16Array<ArrayBuffer> = new Uint16Array(16_384);
/** `units` as bytes, for Buffer#write. */
let unitBytes = Buffer.from(units.buffer);
let chars: Uint16Array<ArrayBuffer> = new Uint16Array(16_384);
let rawStart: Int32Array<ArrayBuffer> = new Int32Array(4096);
let rawEnd: Int32Array<ArrayBuffer> = new Int32Array(4096);
let rawFlags: Uint8Array<ArrayBuffer> = new Uint8Array(4096);
let rawHash: Int32Array<ArrayBuffer> = new Int32Array(4096);
/** Gap before each raw token: its first character, its length, whether it ends a sentence. */
let gapCode: Int32Array<ArrayBuffer> = new Int32Array(4096);
let gapLength: Int32Array<ArrayBuffer> = new Int32Array(4096);
let gapBreaks: Uint8Array<ArrayBuffer> = new Uint8Array(4096);
let outStart: Int32Array<ArrayBuffer> = new Int32Array(4096);
let outEnd: Int32Array<ArrayBuffer> = new Int32Array(4096);
let outHash: Int32Array<ArrayBuffer> = new Int32Array(4096);
let outSentence: Int32Array<ArrayBuffer> = new Int32Array(4096);
let outFlags: Uint8Array<ArrayBuffer> = new Uint8Array(4096);

/**
 * Buffers larger than this many characters are given back when a much smaller text comes next,
 * so that one huge input does not pin its buffers for the life of the process.
 */
const RETAIN_CHARACTERS = 1 << 20;

/** Make room for `characters` characters; token arrays start at a typical density and grow. */
function ensureCapacity(characters: number): void {
  if (chars.length > RETAIN_CHARACTERS && characters < chars.length >> 3) {
    chars = new Uint16Array(Math.max(characters, 16_384));
    units = new Uint16Array(chars.length);
    unitBytes = Buffer.from(units.buffer);
    resizeTokens(Math.max(characters >> 3, 4096), false);
  }
  if (chars.length < characters) {
    chars = new Uint16Array(Math.max(characters, chars.length * 2));
    units = new Uint16Array(chars.length);
    unitBytes = Buffer.from(units.buffer);
  }
  // English averages one token per five or six characters; grow from there if needed.
  if (rawStart.length < (characters >> 2) + 1) resizeTokens((characters >> 2) + 1, false);
}

/** Reallocate the per-token arrays at `size`, keeping the raw tokens found so far if `keep`. */
function resizeTokens(size: number, keep: boolean): void {
  const resize32 = (from: Int32Array): Int32Array<ArrayBuffer> => {
    const to = new Int32Array(size);
    if (keep) to.set(from.subarray(0, Math.min(from.length, size)));
    return to;
  };
  const resize8 = (from: Uint8Array): Uint8Array<ArrayBuffer> => {
    const to = new Uint8Array(size);
    if (keep) to.set(from.subarray(0, Math.min(from.length, size)));
    return to;
  };
  rawStart = resize32(rawStart);
  rawEnd = resize32(rawEnd);
  rawFlags = resize8(rawFlags);
  rawHash = resize32(rawHash);
  gapCode = resize32(gapCode);
  gapLength = resize32(gapLength);
  gapBreaks = resize8(gapBreaks);
  outStart = new Int32Array(size);
  outEnd = new Int32Array(size);
  outHash = new Int32Array(size);
  outSentence = new Int32Array(size);
  outFlags = new Uint8Array(size);
}

/**
 * Tokenise `text`. The result shares scratch buffers with every other call: use it before the
 * next call, or copy what you need.
 */
export function tokenise(text: string): TokenStream {
  let source = text;
  ensureCapacity(source.length);
  copyUnits(source);
  if (needsDecomposition(source.length)) {
    source = text.normalize('NFKD');
    ensureCapacity(source.length);
    copyUnits(source);
  }
  const n = source.length;
  // Locals for everything the per-character loop touches (module bindings cost a load each time).
  const input = units;
  const out = chars;
  const classes = CLASS;
  const lower = LOWER;
  let length = 0;
  let raw = 0;
  let gapFirst = -1;
  let gapChars = 0;
  let gapSentence = 0;
  let gapNewlines = 0;
  let mixedCase: number[] | undefined;
  let i = 0;
  while (i < n) {
    const c = input[i];
    const cls = classes[c];
    if (cls !== LETTER && cls !== DIGIT && cls !== LEET_START) {
      if (cls !== SKIP) {
        if (gapFirst < 0) gapFirst = c;
        gapChars++;
        if (cls === SENTENCE_END || c === 0x21 /* ! */) {
          // "99.9", "e.g", "node.js": a full stop between word characters ends nothing.
          const nextClass = i + 1 < n ? classes[input[i + 1]] : SEPARATOR;
          if (nextClass !== LETTER && nextClass !== DIGIT) gapSentence = 1;
        } else if (cls === NEWLINE && ++gapNewlines >= 2) gapSentence = 1;
      }
      i++;
      continue;
    }
    // A word: write its characters lower-cased, leet characters as they are for now, hashing
    // them and watching for runs on the way.
    const start = length;
    let letters = 0;
    let digits = 0;
    let others = 0;
    let inner = 0;
    let flags = 0;
    let hash = FNV_OFFSET;
    let previous = -1;
    let run = 0;
    // Upper case is a letter whose lower case differs (which, as before the tables covered every
    // code unit, includes the Cyrillic and Greek look-alikes folded to Latin).
    if (lower[c] !== c) flags |= CAPITALISED;
    let j = i;
    while (j < n) {
      const cc = input[j];
      const k = classes[cc];
      let mapped: number;
      if (k === LETTER) {
        mapped = lower[cc];
        letters++;
        if (mapped !== cc && j > i) inner++;
      } else if (k === DIGIT) {
        mapped = cc;
        digits++;
      } else if (k === LEET_START) {
        mapped = cc;
        others++;
      } else if (k === SKIP) {
        j++;
        continue;
      } else if (k === LEET_INNER || k === MASK) {
        // Only inside a word: the next character must continue it.
        if (j + 1 >= n || !continuesWord(classes[input[j + 1]])) break;
        if (k === MASK) {
          mapped = STAR;
          flags |= MASKED;
        } else {
          mapped = cc;
          others++;
        }
      } else break;
      out[length++] = mapped;
      hash = Math.imul(hash ^ mapped, FNV_PRIME);
      if (mapped === previous) {
        if (++run === 3 && mapped !== STAR) flags |= ELONGATED;
      } else {
        previous = mapped;
        run = 1;
      }
      j++;
    }
    if (length > start) {
      if (inner > 0 && length - start >= MIXED_CASE_LENGTH && inner < letters - 1) {
        mixedCase ??= [];
        if (mixedCase.length < MAX_MIXED_CASE_HINTS) mixedCase.push(i);
      }
      // Leet characters stand for letters only in a word that has letters (rare: rewrite, rehash).
      if (letters > 0 && others + digits > 0) {
        hash = FNV_OFFSET;
        flags &= ~ELONGATED;
        for (let p = start; p < length; p++) {
          const m = out[p];
          if (m < 128 && LEET[m] !== 0) out[p] = LEET[m];
          hash = Math.imul(hash ^ out[p], FNV_PRIME);
          if (p >= start + 2 && out[p] === out[p - 1] && out[p] === out[p - 2] && out[p] !== STAR) {
            flags |= ELONGATED;
          }
        }
      } else if (letters === 0 && others === 0 && (flags & MASKED) === 0) flags |= NUMERIC;
      if (raw === rawStart.length) resizeTokens(raw * 2, true);
      rawStart[raw] = start;
      rawEnd[raw] = length;
      rawFlags[raw] = flags;
      rawHash[raw] = hash;
      gapCode[raw] = gapFirst;
      gapLength[raw] = gapChars;
      gapBreaks[raw] = gapSentence;
      raw++;
    }
    gapFirst = -1;
    gapChars = 0;
    gapSentence = 0;
    gapNewlines = 0;
    i = j;
  }
  return assemble(raw, mixedCase ?? NO_HINTS, source);
}

/** Is raw token `r` a single letter, or a single leet character that can stand for one? */
function singleLetter(r: number): boolean {
  if (rawEnd[r] - rawStart[r] !== 1) return false;
  const c = chars[rawStart[r]];
  return (c >= 0x61 && c <= 0x7a) || (c < 128 && LEET[c] !== 0);
}

/**
 * Join runs of single letters spelled out with one repeated separator ("k.i.l.l"), hash the
 * tokens and assign sentences.
 */
function assemble(raw: number, mixedCase: readonly number[], source: string): TokenStream {
  let count = 0;
  let sentence = 0;
  let inSentence = 0;
  let r = 0;
  while (r < raw) {
    // A run: at least three single letters, separated by gaps identical to the first one, of at
    // most two characters. Gaps of spaced-out letters are never treated as sentence ends.
    let runEnd = r + 1;
    if (singleLetter(r)) {
      while (
        runEnd < raw &&
        singleLetter(runEnd) &&
        gapLength[runEnd] >= 1 &&
        gapLength[runEnd] <= 2 &&
        gapCode[runEnd] !== 0x0a &&
        gapCode[runEnd] === gapCode[r + 1] &&
        gapLength[runEnd] === gapLength[r + 1]
      ) {
        runEnd++;
      }
    }
    const start = rawStart[r];
    let end = rawEnd[r];
    let flags = rawFlags[r];
    let hash = rawHash[r];
    if (runEnd - r >= 3) {
      // The letters are one apart in `chars` only if nothing came between; copy them together.
      let letters = 0;
      for (let k = r; k < runEnd; k++) {
        const c = chars[rawStart[k]];
        if (c >= 0x61 && c <= 0x7a) letters++;
      }
      if (letters >= 2) {
        for (let k = r; k < runEnd; k++) {
          const c = chars[rawStart[k]];
          chars[start + (k - r)] = c >= 0x61 && c <= 0x7a ? c : LEET[c];
        }
        end = start + (runEnd - r);
        flags &= CAPITALISED;
        hash = FNV_OFFSET;
        for (let p = start; p < end; p++) hash = Math.imul(hash ^ chars[p], FNV_PRIME);
      } else runEnd = r + 1;
    } else runEnd = r + 1;
    if (count > 0 && (gapBreaks[r] === 1 || inSentence >= MAX_SENTENCE_TOKENS)) {
      sentence++;
      inSentence = 0;
    }
    outStart[count] = start;
    outEnd[count] = end;
    outHash[count] = hash;
    outSentence[count] = sentence;
    outFlags[count] = flags | (inSentence === 0 ? SENTENCE_START : 0);
    inSentence++;
    count++;
    r = runEnd;
  }
  return new Tokens(count, count === 0 ? 0 : sentence + 1, mixedCase, source);
}

/** The TokenStream over the scratch buffers as they are now (one object, no closure, per call). */
class Tokens implements TokenStream {
  readonly chars = chars;
  readonly start = outStart;
  readonly end = outEnd;
  readonly hash = outHash;
  readonly sentence = outSentence;
  readonly flags = outFlags;

  constructor(
    readonly count: number,
    readonly sentenceCount: number,
    readonly mixedCase: readonly number[],
    readonly source: string,
  ) {}

  token(t: number): string {
    return decode(this.chars, this.start[t], this.end[t]);
  }
}

function decode(units: Uint16Array, from: number, to: number): string {
  let out = '';
  for (let p = from; p < to; p++) out += String.fromCharCode(units[p]);
  return out;
}

/** Tokenise and copy the tokens out as strings (for lexicon compilation and tests). */
export function tokenStrings(text: string): string[] {
  const stream = tokenise(text);
  const out: string[] = [];
  for (let t = 0; t < stream.count; t++) out.push(stream.token(t));
  return out;
}
