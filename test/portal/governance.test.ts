import { describe, expect, it } from 'vitest';
import { checkTerm, checkUseCase, decisionsFor, describePolicy } from '../../portal/src/api/governance.js';
import { validateTerm } from '../../src/safety/blocklist/blocklist-matcher.js';

describe('checkUseCase', () => {
  it('asks for 20 characters once trimmed, and keeps the trimmed text', () => {
    expect(checkUseCase('   chat bot   ')).toEqual({ problem: 'Describe the use case in at least 20 characters (8 so far).' });
    expect(checkUseCase('  Summarising lab notebooks.  ')).toEqual({ value: 'Summarising lab notebooks.' });
    expect(checkUseCase('x'.repeat(5001))).toEqual({ problem: 'The use case is 5001 characters long; at most 5,000 are kept.' });
  });
});

describe('checkTerm', () => {
  it('sends an exact term with its white space collapsed, refusing an empty one', () => {
    expect(checkTerm('exact', '  secret \n  project ')).toEqual({ value: 'secret project' });
    expect(checkTerm('exact', ' \t ')).toEqual({ problem: 'Give the word or phrase to block.' });
    expect(checkTerm('exact', 'a'.repeat(501))).toEqual({ problem: 'A term is at most 500 characters long.' });
  });

  it('refuses a pattern that does not compile or matches the empty string, as the API does', () => {
    expect(checkTerm('regex', 'code\\s*name\\d+')).toEqual({ value: 'code\\s*name\\d+' });
    expect(checkTerm('regex', '')).toEqual({ problem: 'Give the pattern to block.' });
    expect(checkTerm('regex', 'a(b')).toMatchObject({ problem: expect.stringMatching(/^Not a valid regular expression: /) });
    // Valid without the u flag, not with it: the matcher compiles with `giu`.
    expect(checkTerm('regex', '\\-')).toMatchObject({ problem: expect.stringMatching(/^Not a valid regular expression: /) });
    expect(checkTerm('regex', 'x*')).toEqual({ problem: 'The pattern matches the empty string: it would block everything.' });
  });

  it('accepts nothing the server refuses among these, and refuses what it refuses (but backtracking, the server’s to judge)', () => {
    const cases: Array<['exact' | 'regex', string]> = [
      ['exact', 'hello world'],
      ['exact', '   '],
      ['regex', 'a(b'],
      ['regex', '\\-'],
      ['regex', 'x*'],
      ['regex', '\\bforbidden\\b'],
    ];
    for (const [kind, value] of cases) {
      const server = (() => {
        try {
          validateTerm(kind, value);
          return true;
        } catch {
          return false;
        }
      })();
      expect('value' in checkTerm(kind, value), `${kind} ${JSON.stringify(value)}`).toBe(server);
    }
  });
});

describe('decisionsFor', () => {
  it('offers the decisions the API allows from each state', () => {
    expect(decisionsFor('open')).toEqual(['dismiss', 'suspend']);
    expect(decisionsFor('dismissed')).toEqual(['suspend']);
    expect(decisionsFor('reinstated')).toEqual(['suspend']);
    expect(decisionsFor('suspended')).toEqual(['reinstate']);
  });
});

describe('describePolicy', () => {
  it('says what none and default mean', () => {
    expect(describePolicy('none')).toBe('none (no filtering)');
    expect(describePolicy('strict')).toBe('strict');
  });
});
