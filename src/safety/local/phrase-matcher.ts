import { ELONGATED, MASKED, NUMERIC, tokenStrings, type TokenStream } from './text-normaliser.js';

/**
 * One matcher for every lexicon: a trie over normalised tokens, compiled once, that finds every
 * phrase of every lexicon in one left-to-right pass (each token costs one Map lookup to resolve
 * its spelling and one to step into the trie; a phrase is only followed while it still matches).
 * No regular expression runs per request.
 *
 * Tokens are looked up by the FNV-1a hash the tokeniser computed, in an open-addressing table
 * that compares characters in place, so no string is made per token.
 *
 * Phrase syntax (lexicon files):
 * - Words separated by spaces; each is tokenised exactly as text is (`self-harm` = `self harm`).
 * - `a/b/c`: alternatives for one position; `_` joins words inside an alternative
 *   (`going_to/gonna`).
 * - `[a/b]`: an optional position.
 * - `kill{,s,ed,ing}`: brace expansion, for inflections; lexicons list forms explicitly rather
 *   than stemming, because stems collide ("rape"/"rap", "hate"/"hat").
 * Every combination is expanded at build time, so matching never backtracks.
 */

export interface PhraseRule {
  /** Tags every match of these phrases contributes (see lexicon-tags.ts). */
  readonly tags: readonly number[];
  readonly phrases: readonly string[];
  /**
   * Also match spellings with letters masked by `*` ("f*ck", "f**k", "sh*t"), for single-word
   * phrases. Meant for profanity and vulgar terms, whose masked forms are unambiguous.
   */
  readonly maskable?: boolean;
}

export interface MatcherOptions {
  /**
   * Terms matched by hash rather than by spelling (FNV-1a, 32-bit, over the normalised token),
   * so that the lexicon source does not spell them out; hash → tag.
   */
  readonly hashedTerms?: ReadonlyMap<number, number>;
  /**
   * Tag of "benign idiom" phrases ("kill the process", "killer feature"): every other match that
   * starts inside such a phrase is dropped.
   */
  readonly benignTag?: number;
}

/**
 * Matches, as parallel arrays ordered by start token: match h is tag[h], tokens [start[h], end[h])
 * for h < count. The arrays are the matcher's scratch buffers, longer than `count` (views of the
 * right length would cost an allocation each per call). Like the TokenStream it comes from, valid
 * only until the next `match`.
 */
export interface PhraseHits {
  readonly count: number;
  readonly tag: Int32Array;
  readonly start: Int32Array;
  readonly end: Int32Array;
  /** 1 where token t (t < the stream's count) is a word of some lexicon (after spelling repairs). */
  readonly known: Uint8Array;
}

/** PhraseHits as the matcher fills it in. */
interface Hits {
  count: number;
  tag: Int32Array;
  start: Int32Array;
  end: Int32Array;
  known: Uint8Array;
}

interface TrieNode {
  /** Children by word id. */
  next: Map<number, TrieNode> | undefined;
  tags: number[] | undefined;
}

/**
 * The trie in typed arrays. Nodes are numbered from 0; node i's tags are
 * `tagList[tagStart[i] .. tagStart[i + 1])`, its children `childIds` / `childNodes` over
 * `[childStart[i] .. childStart[i + 1])`, sorted by word id. `root[wordId]` is the node a phrase
 * starting with that word begins at, or -1. Tens of thousands of phrases as objects and Maps made
 * every major garbage collection of the process walk them; arrays of numbers it does not walk.
 */
interface CompiledTrie {
  readonly root: Int32Array;
  readonly tagStart: Int32Array;
  readonly tagList: Int32Array;
  readonly childStart: Int32Array;
  readonly childIds: Int32Array;
  readonly childNodes: Int32Array;
}

const EMPTY_TRIE: CompiledTrie = {
  root: new Int32Array(0),
  tagStart: new Int32Array(1),
  tagList: new Int32Array(0),
  childStart: new Int32Array(1),
  childIds: new Int32Array(0),
  childNodes: new Int32Array(0),
};

/** Numbers the nodes breadth-first and lays them out in typed arrays (see CompiledTrie). */
function compile(roots: readonly (TrieNode | undefined)[]): CompiledTrie {
  const order: TrieNode[] = [];
  const number = new Map<TrieNode, number>();
  const visit = (node: TrieNode): void => {
    number.set(node, order.length);
    order.push(node);
  };
  for (const node of roots) if (node) visit(node);
  for (let i = 0; i < order.length; i++) {
    const next = order[i].next;
    if (next) for (const id of [...next.keys()].sort((a, b) => a - b)) visit(next.get(id)!);
  }
  const root = new Int32Array(roots.length).fill(-1);
  roots.forEach((node, id) => {
    if (node) root[id] = number.get(node)!;
  });
  const tagStart = new Int32Array(order.length + 1);
  const childStart = new Int32Array(order.length + 1);
  for (let i = 0; i < order.length; i++) {
    tagStart[i + 1] = tagStart[i] + (order[i].tags?.length ?? 0);
    childStart[i + 1] = childStart[i] + (order[i].next?.size ?? 0);
  }
  const tagList = new Int32Array(tagStart[order.length]);
  const childIds = new Int32Array(childStart[order.length]);
  const childNodes = new Int32Array(childStart[order.length]);
  for (let i = 0; i < order.length; i++) {
    const { tags, next } = order[i];
    if (tags) tagList.set(tags, tagStart[i]);
    if (next) {
      let k = childStart[i];
      for (const id of [...next.keys()].sort((a, b) => a - b)) {
        childIds[k] = id;
        childNodes[k] = number.get(next.get(id)!)!;
        k++;
      }
    }
  }
  return { root, tagStart, tagList, childStart, childIds, childNodes };
}

/** Scratch sizes (tokens) above which buffers are given back when a much shorter text follows. */
const RETAIN_TOKENS = 1 << 18;

/** Largest expansion one phrase may produce; more is a lexicon mistake, reported at build. */
const MAX_EXPANSION = 20_000;

let builds = 0;

/** How many matchers this process has compiled; tests use it to prove compilation is not per call. */
export function phraseMatcherBuilds(): number {
  return builds;
}

/** FNV-1a, 32-bit, over UTF-16 code units. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Expand one phrase into token sequences. Exported for tests of the lexicon syntax. */
export function expandPhrase(phrase: string): string[][] {
  let sequences: string[][] = [[]];
  for (const slot of phrase.trim().split(/\s+/)) {
    const optional = slot.startsWith('[') && slot.endsWith(']');
    const body = optional ? slot.slice(1, -1) : slot;
    const alternatives: string[][] = [];
    for (const alternative of body.split('/')) {
      for (const word of expandBraces(alternative)) {
        const tokens = tokenStrings(word.replace(/_/g, ' '));
        if (tokens.length > 0) alternatives.push(tokens);
      }
    }
    if (optional) alternatives.push([]);
    if (alternatives.length === 0) throw new Error(`lexicon phrase "${phrase}": empty position "${slot}"`);
    const next: string[][] = [];
    for (const sequence of sequences) {
      for (const alternative of alternatives) next.push([...sequence, ...alternative]);
    }
    if (next.length > MAX_EXPANSION) throw new Error(`lexicon phrase "${phrase}" expands to too many phrases`);
    sequences = next;
  }
  return sequences.filter((sequence) => sequence.length > 0);
}

function expandBraces(word: string): string[] {
  const open = word.indexOf('{');
  if (open < 0) return [word];
  const close = word.indexOf('}', open);
  if (close < 0) throw new Error(`lexicon word "${word}": unclosed brace`);
  const head = word.slice(0, open);
  const tails = expandBraces(word.slice(close + 1));
  const out: string[] = [];
  for (const option of word.slice(open + 1, close).split(',')) {
    for (const tail of tails) out.push(head + option + tail);
  }
  return out;
}

/** Spellings of `word` with an inner span masked: by as many `*` as letters, or by one `*`. */
function maskedSpellings(word: string): string[] {
  const out: string[] = [];
  if (word.length < 3) return out;
  for (let from = 1; from < word.length - 1; from++) {
    for (let to = from + 1; to <= word.length - 1; to++) {
      const head = word.slice(0, from);
      const tail = word.slice(to);
      out.push(head + '*'.repeat(to - from) + tail);
      if (to - from > 1) out.push(head + '*' + tail);
    }
  }
  return out;
}

/** Runs of three or more of one character shortened to `keep` characters; shorter runs kept. */
function shortenRuns(word: string, keep: number): string {
  let out = '';
  let i = 0;
  while (i < word.length) {
    let j = i;
    while (j < word.length && word[j] === word[i]) j++;
    out += word[i].repeat(j - i >= 3 ? keep : j - i);
    i = j;
  }
  return out;
}

/** Every run of a repeated character shortened to one. */
function squeeze(word: string): string {
  let out = '';
  for (let i = 0; i < word.length; i++) if (i === 0 || word[i] !== word[i - 1]) out += word[i];
  return out;
}

/** A small set of 32-bit hashes with a tag each; open addressing, sized at four times its contents. */
class HashedTerms {
  private hashes = new Int32Array(0);
  private tags = new Int32Array(0);
  size = 0;
  private readonly pending: [number, number][] = [];

  add(hash: number, tag: number): void {
    this.pending.push([hash, tag]);
    this.size = this.pending.length;
    let capacity = 16;
    while (capacity < this.size * 4) capacity *= 2;
    this.hashes = new Int32Array(capacity);
    this.tags = new Int32Array(capacity).fill(-1);
    for (const [h, t] of this.pending) {
      let slot = h & (capacity - 1);
      while (this.tags[slot] >= 0) slot = (slot + 1) & (capacity - 1);
      this.hashes[slot] = h;
      this.tags[slot] = t;
    }
  }

  get(hash: number): number | undefined {
    const mask = this.tags.length - 1;
    if (mask < 0) return undefined;
    for (let slot = hash & mask; this.tags[slot] >= 0; slot = (slot + 1) & mask) {
      if (this.hashes[slot] === hash) return this.tags[slot];
    }
    return undefined;
  }
}

/**
 * Spelling → word id, open addressing on FNV-1a hashes, so that a token can be looked up from
 * its characters in the tokeniser's buffer without making a string of it. Each slot's spelling is
 * also kept as code units in one pool, so the per-token comparison reads typed arrays only
 * (lexicon strings built by concatenation are cons strings, slow to index with charCodeAt).
 */
class WordTable {
  private hashes: Int32Array;
  private ids: Int32Array;
  private spellings: string[];
  /** Where each slot's spelling starts in `pool`, and its length. */
  private spellingAt: Int32Array;
  private spellingLength: Int32Array;
  private pool = new Uint16Array(8192);
  private pooled = 0;
  private size = 0;

  constructor(capacity = 1024) {
    this.hashes = new Int32Array(capacity);
    this.ids = new Int32Array(capacity).fill(-1);
    this.spellings = new Array<string>(capacity);
    this.spellingAt = new Int32Array(capacity);
    this.spellingLength = new Int32Array(capacity);
  }

  /** Adds `spelling` unless present; returns its id. */
  add(spelling: string, id: number): number {
    const existing = this.get(spelling);
    if (existing >= 0) return existing;
    if ((this.size + 1) * 2 > this.ids.length) this.grow();
    this.place(fnv1a(spelling) | 0, spelling, id);
    this.size++;
    return id;
  }

  get(spelling: string): number {
    const mask = this.ids.length - 1;
    const hash = fnv1a(spelling) | 0;
    for (let slot = hash & mask; this.ids[slot] >= 0; slot = (slot + 1) & mask) {
      if (this.hashes[slot] === hash && this.spellings[slot] === spelling) return this.ids[slot];
    }
    return -1;
  }

  /** The id of the spelling chars[from, to) whose hash is `hash`, or -1. */
  lookup(chars: Uint16Array, from: number, to: number, hash: number): number {
    const { ids, hashes, spellingAt, spellingLength, pool } = this;
    const mask = ids.length - 1;
    const length = to - from;
    for (let slot = hash & mask; ids[slot] >= 0; slot = (slot + 1) & mask) {
      if (hashes[slot] !== hash || spellingLength[slot] !== length) continue;
      const at = spellingAt[slot];
      let k = 0;
      while (k < length && pool[at + k] === chars[from + k]) k++;
      if (k === length) return ids[slot];
    }
    return -1;
  }

  private place(hash: number, spelling: string, id: number): void {
    const mask = this.ids.length - 1;
    let slot = hash & mask;
    while (this.ids[slot] >= 0) slot = (slot + 1) & mask;
    this.hashes[slot] = hash;
    this.ids[slot] = id;
    this.spellings[slot] = spelling;
    this.spellingAt[slot] = this.intern(spelling);
    this.spellingLength[slot] = spelling.length;
  }

  /** Appends `spelling`'s code units to the pool; returns where they start. */
  private intern(spelling: string): number {
    if (this.pooled + spelling.length > this.pool.length) {
      const pool = new Uint16Array(Math.max(this.pool.length * 2, this.pooled + spelling.length));
      pool.set(this.pool);
      this.pool = pool;
    }
    const at = this.pooled;
    for (let k = 0; k < spelling.length; k++) this.pool[at + k] = spelling.charCodeAt(k);
    this.pooled += spelling.length;
    return at;
  }

  private grow(): void {
    const { hashes, ids, spellings } = this;
    this.hashes = new Int32Array(ids.length * 2);
    this.ids = new Int32Array(ids.length * 2).fill(-1);
    this.spellings = new Array<string>(ids.length * 2);
    this.spellingAt = new Int32Array(ids.length * 2);
    this.spellingLength = new Int32Array(ids.length * 2);
    // Re-placing interns every spelling again: start the pool afresh.
    this.pooled = 0;
    for (let slot = 0; slot < ids.length; slot++) {
      if (ids[slot] >= 0) this.place(hashes[slot], spellings[slot], ids[slot]);
    }
  }
}

export class PhraseMatcher {
  /** Accepted spelling → id of the lexicon word it stands for (masked spellings map to their word). */
  private readonly wordIds = new WordTable();
  private readonly words: string[] = [];
  /** Fully squeezed word → word id, for elongated tokens ("kiiilll" → "kil" → "kill"). */
  private readonly squeezed = new Map<string, number>();
  /** The trie while the constructor builds it; compiled into the arrays below, then dropped. */
  private building: (TrieNode | undefined)[] | undefined = [];
  /** The compiled trie (see `compile`): typed arrays, which the garbage collector never walks. */
  private trie: CompiledTrie = EMPTY_TRIE;
  /** Hashed terms, keyed by the signed 32-bit hash the tokeniser computes. */
  private readonly hashed = new HashedTerms();
  private readonly benignTag: number;
  /** Per-token and per-match scratch, grown on demand and reused by every call. */
  private ids: Int32Array<ArrayBuffer> = new Int32Array(4096);
  private known: Uint8Array<ArrayBuffer> = new Uint8Array(4096);
  private covered: Uint8Array<ArrayBuffer> = new Uint8Array(4096);
  private benignEnd: Int32Array<ArrayBuffer> = new Int32Array(4096);
  private hitTag: Int32Array<ArrayBuffer> = new Int32Array(4096);
  private hitStart: Int32Array<ArrayBuffer> = new Int32Array(4096);
  private hitEnd: Int32Array<ArrayBuffer> = new Int32Array(4096);
  private hitCount = 0;
  /** What `match` returns: one object, refreshed per call, over the scratch above. */
  private readonly hits: Hits = { count: 0, tag: this.hitTag, start: this.hitStart, end: this.hitEnd, known: this.known };

  constructor(rules: readonly PhraseRule[], options: MatcherOptions = {}) {
    builds++;
    for (const [hash, tag] of options.hashedTerms ?? []) this.hashed.add(hash | 0, tag);
    this.benignTag = options.benignTag ?? -1;
    const masked: [string, string][] = [];
    for (const rule of rules) {
      for (const phrase of rule.phrases) {
        for (const sequence of expandPhrase(phrase)) {
          this.insert(sequence, rule.tags);
          if (rule.maskable && sequence.length === 1) {
            for (const spelling of maskedSpellings(sequence[0])) masked.push([spelling, sequence[0]]);
          }
        }
      }
    }
    // Masked spellings last, so that a real word always keeps its own id.
    for (const [spelling, word] of masked) this.wordIds.add(spelling, this.wordIds.get(word));
    for (let id = 0; id < this.words.length; id++) {
      const key = squeeze(this.words[id]);
      if (!this.squeezed.has(key)) this.squeezed.set(key, id);
    }
    this.trie = compile(this.building ?? []);
    this.building = undefined;
  }

  private idOf(word: string): number {
    const id = this.wordIds.add(word, this.words.length);
    if (id === this.words.length) this.words.push(word);
    return id;
  }

  private insert(sequence: readonly string[], tags: readonly number[]): void {
    const roots = this.building!;
    const first = this.idOf(sequence[0]);
    let node = roots[first];
    if (!node) {
      node = { next: undefined, tags: undefined };
      roots[first] = node;
    }
    for (let k = 1; k < sequence.length; k++) {
      const id = this.idOf(sequence[k]);
      node.next ??= new Map();
      let child = node.next.get(id);
      if (!child) {
        child = { next: undefined, tags: undefined };
        node.next.set(id, child);
      }
      node = child;
    }
    node.tags ??= [];
    for (const tag of tags) if (!node.tags.includes(tag)) node.tags.push(tag);
  }

  /**
   * Id of the lexicon word an ELONGATED token `t` that is no lexicon word as spelled stands for,
   * or -1. Rare: a drawn-out word ("kiiilll"); try it with its runs shortened.
   */
  private resolveElongated(stream: TokenStream, t: number): number {
    const token = stream.token(t);
    const two = this.wordIds.get(shortenRuns(token, 2));
    if (two >= 0) return two;
    const one = this.wordIds.get(shortenRuns(token, 1));
    if (one >= 0) return one;
    return this.squeezed.get(squeeze(token)) ?? -1;
  }

  private hashedTag(stream: TokenStream, t: number): number | undefined {
    const flags = stream.flags[t];
    if (this.hashed.size === 0 || stream.end[t] - stream.start[t] < 3 || (flags & (NUMERIC | MASKED)) !== 0) {
      return undefined;
    }
    const tag = this.hashed.get(stream.hash[t]);
    if (tag !== undefined || (flags & ELONGATED) === 0) return tag;
    const token = stream.token(t);
    return this.hashed.get(fnv1a(shortenRuns(token, 2)) | 0) ?? this.hashed.get(fnv1a(shortenRuns(token, 1)) | 0);
  }

  private push(tag: number, start: number, end: number): void {
    if (this.hitCount === this.hitTag.length) {
      const grow = (from: Int32Array): Int32Array<ArrayBuffer> => {
        const to = new Int32Array(from.length * 2);
        to.set(from);
        return to;
      };
      this.hitTag = grow(this.hitTag);
      this.hitStart = grow(this.hitStart);
      this.hitEnd = grow(this.hitEnd);
    }
    this.hitTag[this.hitCount] = tag;
    this.hitStart[this.hitCount] = start;
    this.hitEnd[this.hitCount] = end;
    this.hitCount++;
  }

  match(stream: TokenStream): PhraseHits {
    const n = stream.count;
    // Grow for long texts; give a huge buffer back when a much shorter text follows.
    const shrink = this.ids.length > RETAIN_TOKENS && n < this.ids.length >> 3;
    if (this.ids.length < n || shrink) {
      const size = shrink ? Math.max(n, 4096) : Math.max(n, this.ids.length * 2);
      this.ids = new Int32Array(size);
      this.known = new Uint8Array(size);
      this.covered = new Uint8Array(size);
      this.benignEnd = new Int32Array(size);
    }
    const ids = this.ids;
    const known = this.known;
    this.hitCount = 0;
    if (this.hitTag.length > RETAIN_TOKENS && n < this.hitTag.length >> 3) {
      this.hitTag = new Int32Array(4096);
      this.hitStart = new Int32Array(4096);
      this.hitEnd = new Int32Array(4096);
    }
    let benign = false;
    // Each token's word id, from its characters in place.
    const { chars, start, end, hash, flags } = stream;
    const words = this.wordIds;
    for (let t = 0; t < n; t++) {
      let id = words.lookup(chars, start[t], end[t], hash[t]);
      if (id < 0 && (flags[t] & ELONGATED) !== 0) id = this.resolveElongated(stream, t);
      ids[t] = id;
      known[t] = id >= 0 ? 1 : 0;
    }
    const { root, tagStart, tagList, childStart, childIds, childNodes } = this.trie;
    for (let t = 0; t < n; t++) {
      const id = ids[t];
      if (id < 0) {
        const hashed = this.hashedTag(stream, t);
        if (hashed !== undefined) this.push(hashed, t, t + 1);
        continue;
      }
      let node = id < root.length ? root[id] : -1;
      let j = t;
      while (node >= 0) {
        for (let k = tagStart[node], last = tagStart[node + 1]; k < last; k++) {
          const found = tagList[k];
          if (found === this.benignTag) benign = true;
          this.push(found, t, j + 1);
        }
        j++;
        if (j >= n || ids[j] < 0) break;
        // The child for the next word: binary search over the node's children, sorted by word id.
        const want = ids[j];
        let low = childStart[node];
        let high = childStart[node + 1] - 1;
        node = -1;
        while (low <= high) {
          const mid = (low + high) >>> 1;
          const at = childIds[mid];
          if (at === want) {
            node = childNodes[mid];
            break;
          }
          if (at < want) low = mid + 1;
          else high = mid - 1;
        }
      }
    }
    if (benign) this.dropInsideBenign(n);
    const hits = this.hits;
    hits.count = this.hitCount;
    hits.tag = this.hitTag;
    hits.start = this.hitStart;
    hits.end = this.hitEnd;
    hits.known = known;
    return hits;
  }

  /**
   * Drop matches that start inside a benign idiom. The idiom's own matches stay, including other
   * tags of the same phrase ("how to prevent" is both benign and professional framing).
   */
  private dropInsideBenign(n: number): void {
    const { hitTag: tag, hitStart: start, hitEnd: end, covered, benignEnd } = this;
    covered.fill(0, 0, n);
    for (let h = 0; h < this.hitCount; h++) {
      if (tag[h] !== this.benignTag) continue;
      if (covered[start[h]] === 0 || end[h] > benignEnd[start[h]]) benignEnd[start[h]] = end[h];
      for (let t = start[h]; t < end[h]; t++) covered[t] = 1;
    }
    let kept = 0;
    for (let h = 0; h < this.hitCount; h++) {
      const inside = covered[start[h]] === 1 && tag[h] !== this.benignTag && benignEnd[start[h]] !== end[h];
      if (inside) continue;
      tag[kept] = tag[h];
      start[kept] = start[h];
      end[kept] = end[h];
      kept++;
    }
    this.hitCount = kept;
  }
}
