import { afterEach, describe, expect, it } from 'vitest';
import { InvalidRequestError } from '../../src/errors/catalogue.js';
import { compileBlocklists, MAX_TERM_LENGTH, validateTerm, type BlocklistDefinition } from '../../src/safety/blocklist/blocklist-matcher.js';
import { findBacktrackingRisk } from '../../src/safety/blocklist/pattern-safety-check.js';

const exact = (value: string) => ({ kind: 'exact' as const, value });
const regex = (value: string) => ({ kind: 'regex' as const, value });

function hits(lists: readonly BlocklistDefinition[], text: string): Array<[string, string, string]> {
  return compileBlocklists(lists)
    .match(text)
    .map((hit) => [hit.listId, hit.term, text.slice(hit.start, hit.end)]);
}

/** Runs `action` and returns the InvalidRequestError it throws. */
function rejection(action: () => unknown): InvalidRequestError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return error as InvalidRequestError;
  }
  throw new Error('expected an InvalidRequestError');
}

describe('blocklists: exact terms', () => {
  it('match case-insensitively and report offsets and the configured term', () => {
    const matcher = compileBlocklists([{ id: 'projects', terms: [exact('Project Falcon')] }]);
    expect(matcher.match('About PROJECT falcon and project FALCON.')).toEqual([
      { listId: 'projects', term: 'Project Falcon', start: 6, end: 20 },
      { listId: 'projects', term: 'Project Falcon', start: 25, end: 39 },
    ]);
  });

  it('match whole words only', () => {
    const lists = [{ id: 'words', terms: [exact('ass'), exact('cat')] }];
    expect(hits(lists, 'class assessment cats concatenate _cat cat_ 2cat')).toEqual([]);
    expect(hits(lists, 'ass! (cat) "cat", ass.')).toEqual([
      ['words', 'ass', 'ass'],
      ['words', 'cat', 'cat'],
      ['words', 'cat', 'cat'],
      ['words', 'ass', 'ass'],
    ]);
  });

  it('know word boundaries in every script, including combining marks', () => {
    const lists = [{ id: 'intl', terms: [exact('café'), exact('привет'), exact('straße'), exact('naïve')] }];
    expect(hits(lists, 'cafés приветствие straßenbahn naïvety')).toEqual([]);
    expect(hits(lists, 'Un café. ПРИВЕТ, мир! So naïve')).toEqual([
      ['intl', 'café', 'café'],
      ['intl', 'привет', 'ПРИВЕТ'],
      ['intl', 'naïve', 'naïve'],
    ]);
    // "cafe" followed by a combining acute accent is a different, longer word than "cafe".
    expect(hits([{ id: 'ascii', terms: [exact('cafe')] }], 'cafe\u0301')).toEqual([]);
  });

  it('fold case the Unicode way: ß and SS, final sigma, ligatures', () => {
    expect(hits([{ id: 'de', terms: [exact('straße')] }], 'Die STRASSE, die Straße, die strasse')).toEqual([
      ['de', 'straße', 'STRASSE'],
      ['de', 'straße', 'Straße'],
      ['de', 'straße', 'strasse'],
    ]);
    expect(hits([{ id: 'el', terms: [exact('ΟΔΟΣ')] }], 'η οδος.')).toEqual([['el', 'ΟΔΟΣ', 'οδος']]);
    expect(hits([{ id: 'lig', terms: [exact('file')] }], 'the ﬁle')).toEqual([['lig', 'file', 'ﬁle']]);
    // "ss" is not found in half of an ß.
    expect(hits([{ id: 'ss', terms: [exact('stras')] }], 'straße')).toEqual([]);
  });

  it('match inside runs of scripts written without spaces', () => {
    expect(hits([{ id: 'zh', terms: [exact('坏蛋')] }], '你是坏蛋吗')).toEqual([['zh', '坏蛋', '坏蛋']]);
  });

  it('let any whitespace run stand for the spaces of a term, and normalise the term itself', () => {
    const lists = [{ id: 'places', terms: [exact('  new   york ')] }];
    expect(hits(lists, 'from New\n\t York today')).toEqual([['places', '  new   york ', 'New\n\t York']]);
    expect(hits(lists, 'newyork')).toEqual([]);
  });

  it('report overlapping terms, longer first at the same start', () => {
    const lists = [
      { id: 'short', terms: [exact('new york'), exact('york')] },
      { id: 'long', terms: [exact('new york city')] },
    ];
    expect(hits(lists, 'I love New York City and new york.')).toEqual([
      ['long', 'new york city', 'New York City'],
      ['short', 'new york', 'New York'],
      ['short', 'york', 'York'],
      ['short', 'new york', 'new york'],
      ['short', 'york', 'york'],
    ]);
  });

  it('scale to thousands of terms', () => {
    const terms = Array.from({ length: 5000 }, (_, index) => exact(`term${index.toString(36)}`));
    const matcher = compileBlocklists([{ id: 'many', terms }]);
    const text = `${'plain words and numbers 123 '.repeat(600)} term3x and TERM9Z.`;
    const started = performance.now();
    expect(matcher.match(text).map((hit) => hit.term)).toEqual(['term3x', 'term9z']);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('report a term held by several lists once per list, in list order', () => {
    const lists = [
      { id: 'a', terms: [exact('secret'), exact('SECRET')] },
      { id: 'b', terms: [exact('Secret')] },
    ];
    expect(hits(lists, 'a secret')).toEqual([
      ['a', 'secret', 'secret'],
      ['b', 'Secret', 'secret'],
    ]);
  });

  it('treat regex syntax in exact terms literally', () => {
    const lists = [{ id: 'code', terms: [exact('C++'), exact('a.b'), exact('$(rm -rf)'), exact('x|y')] }];
    expect(hits(lists, 'I write C++, not a.b or axb; $(rm -rf) and x|y')).toEqual([
      ['code', 'C++', 'C++'],
      ['code', 'a.b', 'a.b'],
      ['code', '$(rm -rf)', '$(rm -rf)'],
      ['code', 'x|y', 'x|y'],
    ]);
    expect(hits(lists, 'axb xy')).toEqual([]);
  });

  it('find nothing with no lists or in empty text', () => {
    expect(compileBlocklists([]).match('anything')).toEqual([]);
    expect(compileBlocklists([{ id: 'x', terms: [exact('a')] }]).match('')).toEqual([]);
  });
});

describe('blocklists: regex terms', () => {
  it('run with the giu flags', () => {
    const lists = [{ id: 'codes', terms: [regex('project\\s+[a-z]+'), regex('\\p{Lu}{3}-\\d{4}')] }];
    expect(hits(lists, 'PROJECT Falcon and ABC-1234 and Ω')).toEqual([
      ['codes', 'project\\s+[a-z]+', 'PROJECT Falcon'],
      ['codes', '\\p{Lu}{3}-\\d{4}', 'ABC-1234'],
    ]);
  });

  it('interleave with exact hits, sorted by position', () => {
    const lists = [
      { id: 'exact', terms: [exact('alpha'), exact('gamma')] },
      { id: 'pattern', terms: [regex('b[e]ta')] },
    ];
    expect(hits(lists, 'gamma beta alpha')).toEqual([
      ['exact', 'gamma', 'gamma'],
      ['pattern', 'b[e]ta', 'beta'],
      ['exact', 'alpha', 'alpha'],
    ]);
  });

  it('skip empty matches of lookaround-only patterns', () => {
    // (?<=a)b* matches nothing in '' (so validation passes) but the empty string after any lone "a".
    expect(hits([{ id: 'look', terms: [regex('(?<=a)b*')] }], 'ab a abb')).toEqual([
      ['look', '(?<=a)b*', 'b'],
      ['look', '(?<=a)b*', 'bb'],
    ]);
  });
});

describe('blocklists: validation', () => {
  it('rejects an invalid pattern, naming the list and the term', () => {
    const error = rejection(() => compileBlocklists([{ id: 'ops', terms: [exact('fine'), regex('(unclosed')] }]));
    expect(error.message).toContain('Blocklist "ops"');
    expect(error.message).toContain('"(unclosed"');
    expect(error.message).toMatch(/not a valid regular expression/);
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_blocklist_term');
    expect(error.param).toBe('lists[0].terms[1]');
  });

  it.each(['(a+)+', '(a*)*b', '(\\w+\\s?)*$', '(?:x{1,5}){2,}', '((ab)+c)*', '(a|ab)*c', '(x|x)+', '([a-z]+)*@', '(?<word>\\d+)+'])(
    'rejects %s as prone to catastrophic backtracking',
    (pattern) => {
      const error = rejection(() => compileBlocklists([{ id: 'risky', terms: [regex(pattern)] }]));
      expect(error.message).toContain('Blocklist "risky"');
      expect(error.message).toContain(JSON.stringify(pattern));
      expect(error.message).toMatch(/catastrophic backtracking/);
    },
  );

  it.each(['(\\d{3}-)+\\d{4}', '(ab)+', '(cat|dog)s?', '\\d+\\.\\d+', '[(+]+x', '\\(a+\\)+', '[a+]+', 'a{2}(b{3})+', '\\p{L}+'])('accepts %s', (pattern) => {
    expect(findBacktrackingRisk(pattern)).toBeNull();
    expect(validateTerm('regex', pattern)).toBeInstanceOf(RegExp);
  });

  it('rejects over-long, empty and empty-matching terms', () => {
    expect(rejection(() => validateTerm('regex', 'a'.repeat(MAX_TERM_LENGTH + 1), { listId: 'big' })).message).toMatch(
      /Blocklist "big" regex term ".*…" is longer than 500 characters/,
    );
    expect(rejection(() => validateTerm('exact', 'b'.repeat(501))).message).toMatch(/longer than 500/);
    expect(rejection(() => validateTerm('exact', '   ')).message).toMatch(/is empty/);
    expect(rejection(() => validateTerm('regex', '')).message).toMatch(/is empty/);
    expect(rejection(() => validateTerm('regex', 'a*')).message).toMatch(/matches the empty string/);
    expect(rejection(() => validateTerm('nope' as 'exact', 'x')).message).toMatch(/kind must be "exact" or "regex"/);
  });

  it('validateTerm returns the compiled pattern for regex terms, null for exact ones', () => {
    const compiled = validateTerm('regex', 'foo\\d+');
    expect(compiled?.flags).toBe('giu');
    expect(validateTerm('exact', 'anything goes (here)')).toBeNull();
    expect(rejection(() => validateTerm('regex', '[z-a]')).message).toMatch(/^Blocklist regex term "\[z-a\]" is not a valid regular expression/);
  });

  it('rejects lists without an id or with a duplicate id', () => {
    expect(rejection(() => compileBlocklists([{ id: ' ', terms: [] }])).message).toMatch(/has no id/);
    expect(
      rejection(() =>
        compileBlocklists([
          { id: 'a', terms: [] },
          { id: 'a', terms: [] },
        ]),
      ).message,
    ).toMatch(/used twice/);
  });
});

describe('blocklists: compiled once', () => {
  const OriginalRegExp = globalThis.RegExp;
  let constructed = 0;
  function countConstructions(): void {
    constructed = 0;
    globalThis.RegExp = new Proxy(OriginalRegExp, {
      construct(target, args, newTarget) {
        constructed++;
        return Reflect.construct(target, args, newTarget);
      },
    });
  }
  afterEach(() => {
    globalThis.RegExp = OriginalRegExp;
  });

  it('compiles all exact terms of all lists into one automaton (no RegExp), and each regex term into one', () => {
    countConstructions();
    const matcher = compileBlocklists([
      { id: 'a', terms: [exact('one'), exact('two words'), exact('three')] },
      { id: 'b', terms: [exact('four'), exact('five'), regex('six\\d'), regex('seven+')] },
    ]);
    expect(constructed).toBe(2);
    expect(matcher.termCount).toBe(7);
  });

  it('builds no RegExp while matching', () => {
    const matcher = compileBlocklists([
      { id: 'a', terms: [exact('alpha'), exact('beta gamma'), regex('d[e]lta')] },
      { id: 'b', terms: [exact('alpha'), regex('\\bep+silon\\b')] },
    ]);
    countConstructions();
    for (let run = 0; run < 100; run++) expect(matcher.match('alpha, beta   gamma, delta and epsilon')).toHaveLength(5);
    expect(constructed).toBe(0);
  });
});
