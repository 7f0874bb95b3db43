import { InvalidRequestError } from '../../errors/catalogue.js';
import { ExactTermAutomaton, foldTerm } from './exact-term-automaton.js';
import { findBacktrackingRisk } from './pattern-safety-check.js';

/**
 * Custom blocklists: operator-defined terms that a policy blocks or flags. Exact terms match whole
 * words, case-insensitively (Unicode full case folding), with any run of whitespace standing for the
 * spaces between their words; regex terms are ECMAScript patterns run with the `giu` flags.
 * Everything is validated and compiled once, by `compileBlocklists`: all exact terms of all lists
 * into one Aho–Corasick automaton, each regex term into one RegExp. `match` only runs the result.
 */
export type BlocklistTermKind = 'exact' | 'regex';

export interface BlocklistTerm {
  readonly kind: BlocklistTermKind;
  readonly value: string;
}

export interface BlocklistDefinition {
  readonly id: string;
  readonly terms: readonly BlocklistTerm[];
}

export interface BlocklistMatch {
  readonly listId: string;
  /** The term as configured (not normalised). */
  readonly term: string;
  /** UTF-16 offsets into the matched text. */
  readonly start: number;
  readonly end: number;
}

export interface BlocklistMatcher {
  /**
   * Every hit, sorted by start, longer first, then by list order. Hits may overlap: in "new york city"
   * both "new york city" and "york" are reported when both are terms, so a policy on either list sees
   * its term. A term held by several lists is reported once per list; a regex term reports the
   * non-overlapping matches `RegExp.prototype.exec` finds.
   */
  match(text: string): BlocklistMatch[];
  /** Number of distinct exact terms (after folding) plus regex terms; for diagnostics. */
  readonly termCount: number;
}

export const MAX_TERM_LENGTH = 500;
const ERROR_CODE = 'invalid_blocklist_term';

/** Word characters for whole-word matching: letters, combining marks and digits of any script, and `_`. */
const WORD_CHARACTER = /^[\p{L}\p{M}\p{N}_]$/u;
/** Scripts written without spaces between words, where a term may sit inside a run of letters. */
const UNSPACED_SCRIPT = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]$/u;
const WHITESPACE_RUN = /\s+/gu;
const wordCharacterCache = new Map<number, boolean>();

function isWordCharacter(codePoint: number): boolean {
  if (codePoint < 0x80) {
    return (
      (codePoint >= 0x30 && codePoint <= 0x39) || (codePoint >= 0x41 && codePoint <= 0x5a) || (codePoint >= 0x61 && codePoint <= 0x7a) || codePoint === 0x5f
    );
  }
  let word = wordCharacterCache.get(codePoint);
  if (word === undefined) {
    word = WORD_CHARACTER.test(String.fromCodePoint(codePoint));
    if (wordCharacterCache.size < 4096) wordCharacterCache.set(codePoint, word);
  }
  return word;
}

function codePointBefore(text: string, index: number): number {
  const unit = text.charCodeAt(index - 1);
  if (unit >= 0xdc00 && unit <= 0xdfff && index >= 2) {
    const high = text.charCodeAt(index - 2);
    if (high >= 0xd800 && high <= 0xdbff) return (high - 0xd800) * 0x400 + (unit - 0xdc00) + 0x10000;
  }
  return unit;
}

/** Whether a term edge made of this code point must sit at a word boundary. */
function needsBoundary(codePoint: number): boolean {
  return isWordCharacter(codePoint) && !UNSPACED_SCRIPT.test(String.fromCodePoint(codePoint));
}

export interface TermContext {
  /** The list the term belongs to, named in error messages. */
  readonly listId?: string;
  /** The request field at fault, for the error's `param`. */
  readonly param?: string;
}

function describe(kind: BlocklistTermKind, value: string, context: TermContext): string {
  const shown = value.length > 80 ? `${value.slice(0, 80)}…` : value;
  const list = context.listId === undefined ? 'Blocklist' : `Blocklist "${context.listId}"`;
  return `${list} ${kind} term ${JSON.stringify(shown)}`;
}

function fail(kind: BlocklistTermKind, value: string, context: TermContext, reason: string): never {
  throw new InvalidRequestError(`${describe(kind, value, context)} ${reason}.`, context.param ?? 'value', ERROR_CODE);
}

/** Trims, collapses inner whitespace to one space and applies Unicode NFC. */
export function normalizeExactTerm(value: string): string {
  return value.normalize('NFC').trim().replace(WHITESPACE_RUN, ' ');
}

/**
 * Checks one term as the admin API receives it and throws `InvalidRequestError` (code
 * `invalid_blocklist_term`, message naming the list and the term) when it cannot be used. Returns the
 * compiled pattern of a regex term, or null for an exact term, so callers that go on to compile need
 * not compile twice.
 */
export function validateTerm(kind: BlocklistTermKind, value: string, context: TermContext = {}): RegExp | null {
  if (kind !== 'exact' && kind !== 'regex') {
    throw new InvalidRequestError(`Blocklist term kind must be "exact" or "regex", not ${JSON.stringify(kind)}.`, context.param ?? 'kind', ERROR_CODE);
  }
  if (typeof value !== 'string') fail(kind, String(value), context, 'must be a string');
  if (value.length > MAX_TERM_LENGTH) fail(kind, value, context, `is longer than ${MAX_TERM_LENGTH} characters`);
  if (kind === 'exact') {
    if (normalizeExactTerm(value).length === 0) fail(kind, value, context, 'is empty');
    return null;
  }
  if (value.length === 0) fail(kind, value, context, 'is empty');
  let compiled: RegExp;
  try {
    compiled = new RegExp(value, 'giu');
  } catch (error) {
    fail(kind, value, context, `is not a valid regular expression: ${(error as Error).message}`);
  }
  const risk = findBacktrackingRisk(value);
  if (risk !== null) fail(kind, value, context, `is refused because it risks catastrophic backtracking: ${risk}`);
  if (compiled.test('')) fail(kind, value, context, 'matches the empty string');
  compiled.lastIndex = 0;
  return compiled;
}

interface Owner {
  readonly listId: string;
  readonly listIndex: number;
  readonly term: string;
}

interface ExactPattern {
  readonly owners: Owner[];
  /** Whether the term starts / ends with a word character of a spaced script. */
  readonly boundaryBefore: boolean;
  readonly boundaryAfter: boolean;
}

interface RegexTerm {
  readonly pattern: RegExp;
  readonly owner: Owner;
}

class CompiledBlocklists implements BlocklistMatcher {
  readonly termCount: number;

  constructor(
    private readonly automaton: ExactTermAutomaton | null,
    private readonly exactPatterns: readonly ExactPattern[],
    private readonly regexTerms: readonly RegexTerm[],
  ) {
    this.termCount = exactPatterns.length + regexTerms.length;
    Object.freeze(this);
  }

  match(text: string): BlocklistMatch[] {
    const hits: Array<BlocklistMatch & { listIndex: number }> = [];
    if (this.automaton !== null) {
      for (const { pattern, start, end } of this.automaton.search(text)) {
        const exact = this.exactPatterns[pattern];
        if (exact.boundaryBefore && start > 0 && isWordCharacter(codePointBefore(text, start))) continue;
        if (exact.boundaryAfter && end < text.length && isWordCharacter(text.codePointAt(end)!)) continue;
        for (const owner of exact.owners) hits.push({ listId: owner.listId, listIndex: owner.listIndex, term: owner.term, start, end });
      }
    }
    for (const { pattern, owner } of this.regexTerms) {
      pattern.lastIndex = 0;
      for (let found = pattern.exec(text); found !== null; found = pattern.exec(text)) {
        if (found[0].length === 0) {
          // Refused at validation, but a lookaround can still match empty in context; step over it.
          pattern.lastIndex = found.index + 1;
          continue;
        }
        hits.push({ listId: owner.listId, listIndex: owner.listIndex, term: owner.term, start: found.index, end: found.index + found[0].length });
      }
    }
    if (hits.length > 1) hits.sort((a, b) => a.start - b.start || b.end - a.end || a.listIndex - b.listIndex);
    return hits.map(({ listId, term, start, end }) => ({ listId, term, start, end }));
  }
}

/**
 * Validates every list and term and compiles them into one matcher: all exact terms of all lists
 * into a single Aho–Corasick automaton (one pass over the text finds them all, whatever their
 * number), each regex term into its own RegExp. Throws `InvalidRequestError` naming the list and
 * term at fault.
 */
export function compileBlocklists(lists: readonly BlocklistDefinition[]): BlocklistMatcher {
  const seenIds = new Set<string>();
  const exactByFolding = new Map<string, { units: number[]; pattern: ExactPattern }>();
  const regexTerms: RegexTerm[] = [];
  lists.forEach((list, listIndex) => {
    if (typeof list.id !== 'string' || list.id.trim().length === 0) {
      throw new InvalidRequestError(`Blocklist at index ${listIndex} has no id.`, `lists[${listIndex}].id`, ERROR_CODE);
    }
    if (seenIds.has(list.id)) throw new InvalidRequestError(`Blocklist id "${list.id}" is used twice.`, `lists[${listIndex}].id`, ERROR_CODE);
    seenIds.add(list.id);
    list.terms.forEach((term, termIndex) => {
      const context = { listId: list.id, param: `lists[${listIndex}].terms[${termIndex}]` };
      const compiled = validateTerm(term.kind, term.value, context);
      const owner: Owner = { listId: list.id, listIndex, term: term.value };
      if (compiled !== null) {
        regexTerms.push({ pattern: compiled, owner });
        return;
      }
      const normalized = normalizeExactTerm(term.value);
      const units = foldTerm(normalized);
      const key = String.fromCharCode(...units);
      const existing = exactByFolding.get(key);
      if (existing === undefined) {
        const boundaryBefore = needsBoundary(normalized.codePointAt(0)!);
        const boundaryAfter = needsBoundary(codePointBefore(normalized, normalized.length));
        exactByFolding.set(key, { units, pattern: { owners: [owner], boundaryBefore, boundaryAfter } });
      } else if (!existing.pattern.owners.some((other) => other.listId === owner.listId)) {
        existing.pattern.owners.push(owner);
      }
    });
  });
  const exact = [...exactByFolding.values()];
  const automaton = exact.length === 0 ? null : new ExactTermAutomaton(exact.map(({ units }) => units));
  return new CompiledBlocklists(
    automaton,
    exact.map(({ pattern }) => pattern),
    regexTerms,
  );
}
