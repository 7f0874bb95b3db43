import type { z } from 'zod';

/**
 * Plain wording for the validation issues of admin input, used as the per-parse error map: a
 * message an operation's schema sets itself (a refinement, `{ error }`) wins over these, so only the
 * schema library's stock wording ("Invalid input: expected number, received NaN") is replaced.
 * The text names no field: the caller prefixes it (`tpm: …` over HTTP, `--tpm: …` in the CLI).
 */
export function describeIssue(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return EXPECTED[issue.expected] ?? `expected ${issue.expected}`;
    case 'too_small':
      return bound(issue.origin, 'at least', issue.minimum, issue.inclusive);
    case 'too_big':
      return bound(issue.origin, 'at most', issue.maximum, issue.inclusive);
    case 'invalid_value':
      if (issue.input === undefined) return 'is required';
      return issue.values.length === 1 ? `expected ${String(issue.values[0])}` : `expected one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'email' ? 'expected an e-mail address' : issue.format === 'regex' ? 'is not in the expected form' : `expected ${issue.format}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}`;
    default:
      return undefined;
  }
}

const EXPECTED: Record<string, string> = {
  number: 'expected a number',
  int: 'expected a whole number',
  boolean: 'expected true or false',
  string: 'expected text',
  array: 'expected a list (comma-separated)',
  object: 'expected an object',
};

function bound(origin: string, which: 'at least' | 'at most', limit: number | bigint, inclusive: boolean | undefined): string {
  const value = Number(limit);
  switch (origin) {
    case 'string':
      return which === 'at least' && value === 1 ? 'must not be empty' : `must be ${which} ${value} characters long`;
    case 'array':
    case 'set':
      return `needs ${which} ${value} item${value === 1 ? '' : 's'}`;
    default:
      if (inclusive === false) return `must be ${which === 'at least' ? 'greater' : 'less'} than ${value}`;
      return `must be ${which} ${value}`;
  }
}
