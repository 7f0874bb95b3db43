/**
 * A static screen for regular expressions whose matching time can explode on a crafted input
 * (catastrophic backtracking, the ReDoS family): a group repeated a variable number of times that
 * itself contains such a repetition, as in `(a+)+`, `(\w+\s?)*` or `(?:x{1,5}){2,}`, and a repeated
 * group whose alternatives overlap, as in `(a|ab)*` or `(x|x)+`. Exact counts (`(\d{3}-)+`) are fine.
 * It is deliberately simple and errs on the side of refusal (`((ab)+c)*` is refused though safe); it
 * does not catch polynomial cases such as `\w+\w+` or `.*.*.*`, slow but bounded by the input length.
 *
 * It reads the pattern as the `u` flag parses it, and is meant to run after the pattern compiled, so
 * syntax errors are the RegExp constructor's to report.
 */

interface GroupFrame {
  /** Whether anything inside may repeat more than once. */
  hasRepetition: boolean;
  /** Source offsets where each alternative starts; an alternative ends at the next `|` or `)`. */
  readonly branchStarts: number[];
  readonly branches: string[];
}

/** What precedes a quantifier: a plain atom, or a group with what was learnt about it. */
type Atom = { readonly kind: 'simple' } | { readonly kind: 'group'; readonly hasRepetition: boolean; readonly branches: readonly string[] } | null;

const BRACE_QUANTIFIER = /^\d+(?:,\d*)?$/;

/**
 * Reads a quantifier at `index`; returns its length and whether it repeats a variable number of times
 * (`*`, `+`, `{2,}`, `{1,5}`), the kind that lets the engine split the same text in many ways. An
 * exact count (`{3}`) and `?` do not.
 */
function readQuantifier(source: string, index: number): { length: number; repeats: boolean } | null {
  const char = source[index];
  let length: number;
  let repeats: boolean;
  if (char === '*' || char === '+') {
    length = 1;
    repeats = true;
  } else if (char === '?') {
    length = 1;
    repeats = false;
  } else if (char === '{') {
    const close = source.indexOf('}', index);
    if (close === -1) return null;
    const body = source.slice(index + 1, close);
    if (!BRACE_QUANTIFIER.test(body)) return null;
    const comma = body.indexOf(',');
    const min = Number(comma === -1 ? body : body.slice(0, comma));
    const max = comma === -1 ? min : comma === body.length - 1 ? Infinity : Number(body.slice(comma + 1));
    length = close - index + 1;
    repeats = max > 1 && max !== min;
  } else {
    return null;
  }
  if (source[index + length] === '?') length++; // lazy
  return { length, repeats };
}

/** Whether two alternatives can match the same text at the same place, judged on their source. */
function overlaps(branches: readonly string[]): boolean {
  for (let a = 0; a < branches.length; a++) {
    for (let b = a + 1; b < branches.length; b++) {
      const first = branches[a];
      const second = branches[b];
      if (first === '' || second === '' || first.startsWith(second) || second.startsWith(first)) return true;
    }
  }
  return false;
}

/**
 * Returns why the pattern risks catastrophic backtracking, or null when the screen finds nothing.
 * Offsets are UTF-16 indexes into `source`.
 */
export function findBacktrackingRisk(source: string): string | null {
  const stack: GroupFrame[] = [{ hasRepetition: false, branchStarts: [0], branches: [] }];
  let previous: Atom = null;
  let index = 0;
  while (index < source.length) {
    const char = source[index];
    if (char === '\\') {
      index += escapeLength(source, index);
      previous = { kind: 'simple' };
      continue;
    }
    if (char === '[') {
      index = classEnd(source, index);
      previous = { kind: 'simple' };
      continue;
    }
    if (char === '(') {
      const bodyStart = index + groupPrefixLength(source, index);
      stack.push({ hasRepetition: false, branchStarts: [bodyStart], branches: [] });
      index = bodyStart;
      previous = null;
      continue;
    }
    if (char === '|') {
      const frame = stack[stack.length - 1];
      frame.branches.push(source.slice(frame.branchStarts[frame.branchStarts.length - 1], index));
      frame.branchStarts.push(index + 1);
      index++;
      previous = null;
      continue;
    }
    if (char === ')' && stack.length > 1) {
      const frame = stack.pop()!;
      frame.branches.push(source.slice(frame.branchStarts[frame.branchStarts.length - 1], index));
      if (frame.hasRepetition) stack[stack.length - 1].hasRepetition = true;
      previous = { kind: 'group', hasRepetition: frame.hasRepetition, branches: frame.branches };
      index++;
      continue;
    }
    const quantifier = readQuantifier(source, index);
    if (quantifier !== null && previous !== null) {
      if (quantifier.repeats) {
        if (previous.kind === 'group') {
          if (previous.hasRepetition) return `a repeated group contains another repetition (nested quantifier) near offset ${index}`;
          if (previous.branches.length > 1 && overlaps(previous.branches)) {
            return `a repeated group has overlapping alternatives near offset ${index}`;
          }
        }
        stack[stack.length - 1].hasRepetition = true;
      }
      index += quantifier.length;
      previous = null;
      continue;
    }
    previous = { kind: 'simple' };
    index++;
  }
  return null;
}

/** Length of the escape at `index` (`\d`, `\u{1F600}`, `\p{Script=Greek}`, `\k<name>`, `\cJ`, `\x41` …). */
function escapeLength(source: string, index: number): number {
  const next = source[index + 1];
  if ((next === 'p' || next === 'P' || next === 'u') && source[index + 2] === '{') {
    const close = source.indexOf('}', index + 3);
    return close === -1 ? 2 : close - index + 1;
  }
  if (next === 'k' && source[index + 2] === '<') {
    const close = source.indexOf('>', index + 3);
    return close === -1 ? 2 : close - index + 1;
  }
  if (next === 'u') return 6;
  if (next === 'x') return 4;
  if (next === 'c') return 3;
  if (next !== undefined && next >= '1' && next <= '9') {
    let end = index + 2;
    while (end < source.length && source[end] >= '0' && source[end] <= '9') end++;
    return end - index;
  }
  // A lone surrogate pair escaped as an identity escape is not valid under `u`; one code unit is enough.
  return 2;
}

/** Offset just past the character class opening at `index`. */
function classEnd(source: string, index: number): number {
  let cursor = index + 1;
  if (source[cursor] === '^') cursor++;
  while (cursor < source.length && source[cursor] !== ']') {
    cursor += source[cursor] === '\\' ? escapeLength(source, cursor) : 1;
  }
  return cursor + 1;
}

/** Length of a group's opening syntax: `(`, `(?:`, `(?=`, `(?!`, `(?<=`, `(?<!`, `(?<name>`, `(?i:`. */
function groupPrefixLength(source: string, index: number): number {
  if (source[index + 1] !== '?') return 1;
  const kind = source[index + 2];
  if (kind === ':' || kind === '=' || kind === '!') return 3;
  if (kind === '<') {
    if (source[index + 3] === '=' || source[index + 3] === '!') return 4;
    const close = source.indexOf('>', index + 3);
    return close === -1 ? 3 : close - index + 1;
  }
  // Modifier groups such as (?i:…) where the engine supports them.
  const colon = source.indexOf(':', index + 2);
  return colon === -1 ? 2 : colon - index + 1;
}
