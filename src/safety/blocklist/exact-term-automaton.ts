/**
 * An Aho–Corasick automaton over case-folded, whitespace-collapsed text: it finds every occurrence
 * of every exact blocklist term in one pass, whatever the number of terms (a single alternation
 * RegExp of thousands of terms costs a try of every alternative at every position: ~0.5 s for 2,000
 * terms over 16,000 characters, against well under a millisecond here).
 *
 * Folding is per code point, `toUpperCase()` then `toLowerCase()`, which follows Unicode full case
 * mapping: "STRASSE" finds "straße", "ΟΔΟΣ" finds "οδος", and "ﬁle" finds "file". A run of whitespace
 * folds to one space. Each folded code unit remembers the original span it came from, so hits are
 * reported in offsets of the original text.
 */

const SPACE = 0x20;
/** Code points cached after folding; Unicode has more, but text uses few. */
const FOLD_CACHE_LIMIT = 4096;
const foldCache = new Map<number, string>();

/** ECMAScript `\s`: WhiteSpace and LineTerminator. */
function isWhitespace(codePoint: number): boolean {
  if (codePoint < 0x80) return codePoint === 0x20 || (codePoint >= 0x09 && codePoint <= 0x0d);
  return (
    codePoint === 0xa0 ||
    codePoint === 0x1680 ||
    (codePoint >= 0x2000 && codePoint <= 0x200a) ||
    codePoint === 0x2028 ||
    codePoint === 0x2029 ||
    codePoint === 0x202f ||
    codePoint === 0x205f ||
    codePoint === 0x3000 ||
    codePoint === 0xfeff
  );
}

function foldCodePoint(codePoint: number): string {
  let folded = foldCache.get(codePoint);
  if (folded === undefined) {
    folded = String.fromCodePoint(codePoint).toUpperCase().toLowerCase();
    if (foldCache.size < FOLD_CACHE_LIMIT) foldCache.set(codePoint, folded);
  }
  return folded;
}

/**
 * Feeds the folded form of `text` to `sink`, one UTF-16 code unit at a time, with the span of the
 * original text it came from and whether it is the first / last unit of its code point's folding.
 */
function foldText(text: string, sink: (unit: number, start: number, end: number, first: boolean, last: boolean) => void): void {
  let index = 0;
  while (index < text.length) {
    const unit = text.charCodeAt(index);
    if (unit < 0x80) {
      if (isWhitespace(unit)) {
        const start = index;
        while (index < text.length && isWhitespace(text.codePointAt(index)!)) index += text.codePointAt(index)! > 0xffff ? 2 : 1;
        sink(SPACE, start, index, true, true);
        continue;
      }
      sink(unit >= 0x41 && unit <= 0x5a ? unit + 32 : unit, index, index + 1, true, true);
      index++;
      continue;
    }
    const codePoint = text.codePointAt(index)!;
    const width = codePoint > 0xffff ? 2 : 1;
    if (isWhitespace(codePoint)) {
      const start = index;
      while (index < text.length && isWhitespace(text.codePointAt(index)!)) index += text.codePointAt(index)! > 0xffff ? 2 : 1;
      sink(SPACE, start, index, true, true);
      continue;
    }
    const folded = foldCodePoint(codePoint);
    for (let offset = 0; offset < folded.length; offset++) {
      sink(folded.charCodeAt(offset), index, index + width, offset === 0, offset === folded.length - 1);
    }
    index += width;
  }
}

/** The folded form of a term, as code units: what the automaton is built from. */
export function foldTerm(term: string): number[] {
  const units: number[] = [];
  foldText(term.trim(), (unit) => units.push(unit));
  return units;
}

export interface AutomatonHit {
  /** Index of the pattern, in the order given to the constructor. */
  readonly pattern: number;
  /** UTF-16 offsets into the original text; a hit always covers whole code points. */
  readonly start: number;
  readonly end: number;
}

export class ExactTermAutomaton {
  /** Goto function: key `state * 65536 + unit`. One map for all states keeps memory flat. */
  private readonly transitions = new Map<number, number>();
  private readonly failure: Int32Array;
  /** Nearest state on the failure chain (itself excluded) that ends a pattern, or -1. */
  private readonly outputLink: Int32Array;
  /** Patterns ending exactly at each state. */
  private readonly ends: ReadonlyArray<readonly number[] | undefined>;
  private readonly patternLengths: readonly number[];

  constructor(patterns: ReadonlyArray<readonly number[]>) {
    const ends: Array<number[] | undefined> = [undefined];
    const children: Array<Array<[number, number]>> = [[]];
    let stateCount = 1;
    patterns.forEach((units, pattern) => {
      let state = 0;
      for (const unit of units) {
        const key = state * 65536 + unit;
        let next = this.transitions.get(key);
        if (next === undefined) {
          next = stateCount++;
          this.transitions.set(key, next);
          children[state].push([unit, next]);
          children.push([]);
          ends.push(undefined);
        }
        state = next;
      }
      (ends[state] ??= []).push(pattern);
    });
    // Breadth-first, so that a state's failure target is final before its children need it.
    this.failure = new Int32Array(stateCount);
    this.outputLink = new Int32Array(stateCount).fill(-1);
    const queue: number[] = [];
    for (const [, child] of children[0]) queue.push(child);
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head];
      for (const [unit, child] of children[state]) {
        let fallback = this.failure[state];
        while (fallback !== 0 && !this.transitions.has(fallback * 65536 + unit)) fallback = this.failure[fallback];
        const target = this.transitions.get(fallback * 65536 + unit);
        const failure = target !== undefined && target !== child ? target : 0;
        this.failure[child] = failure;
        this.outputLink[child] = ends[failure] !== undefined ? failure : this.outputLink[failure];
        queue.push(child);
      }
    }
    this.ends = ends;
    this.patternLengths = patterns.map((units) => units.length);
  }

  /**
   * Every occurrence of every pattern, overlapping ones included, in order of their end. A hit must
   * start at the first and end at the last folded unit of a code point, so "ss" is not found in half
   * of an "ß".
   */
  search(text: string): AutomatonHit[] {
    const hits: AutomatonHit[] = [];
    // Original spans of the folded units seen so far, to translate a hit's folded start back.
    const starts: number[] = [];
    const firsts: boolean[] = [];
    let state = 0;
    foldText(text, (unit, start, end, first, last) => {
      const position = starts.length;
      starts.push(start);
      firsts.push(first);
      let next = this.transitions.get(state * 65536 + unit);
      while (next === undefined && state !== 0) {
        state = this.failure[state];
        next = this.transitions.get(state * 65536 + unit);
      }
      state = next ?? 0;
      if (!last) return;
      for (let output = this.ends[state] !== undefined ? state : this.outputLink[state]; output !== -1; output = this.outputLink[output]) {
        for (const pattern of this.ends[output]!) {
          const startUnit = position - this.patternLengths[pattern] + 1;
          if (!firsts[startUnit]) continue;
          hits.push({ pattern, start: starts[startUnit], end });
        }
      }
    });
    return hits;
  }
}
