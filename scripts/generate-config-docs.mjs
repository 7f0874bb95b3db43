#!/usr/bin/env node
// Rewrites the generated part of docs/configuration.md (between its markers) from the built schema.
// Run through `npm run docs`, which builds first; test/config/config-reference.test.ts fails when
// the file is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { REFERENCE_BEGIN, REFERENCE_END, renderConfigReference } from '../dist/config/config-reference.js';

const file = resolve(import.meta.dirname, '..', 'docs', 'configuration.md');
const text = readFileSync(file, 'utf8');
const begin = text.indexOf(REFERENCE_BEGIN);
const end = text.indexOf(REFERENCE_END);
if (begin < 0 || end < begin) {
  process.stderr.write(
    `docs/configuration.md: the reference markers are missing; put these two lines where the reference goes:\n${REFERENCE_BEGIN}\n${REFERENCE_END}\n`,
  );
  process.exit(1);
}
writeFileSync(file, text.slice(0, begin) + renderConfigReference() + text.slice(end + REFERENCE_END.length));
process.stdout.write('docs/configuration.md: reference regenerated\n');
