import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliReference } from '../../src/cli/command-help.js';
import { USAGE } from '../../src/cli/main.js';

/** docs/cli.md is generated from the operations table; this fails when the code has moved on without it. */
describe('docs/cli.md', () => {
  it('is what `cerulean help --markdown` writes today', () => {
    const committed = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    expect(committed, 'docs/cli.md is out of date: run `npm run build && node bin/cerulean.js help --markdown > docs/cli.md`').toBe(cliReference(USAGE));
  });
});
