#!/usr/bin/env node
// Ships the lock file in the release: npm never packs package-lock.json, but it packs
// npm-shrinkwrap.json (same format), which makes `npm ci --omit=dev` in an unpacked release, and
// `npm install` of the tarball, resolve exactly the dependency versions tested here.
// `create` runs before packing, `remove` after, so the checkout keeps a single lock file.
import { copyFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const shrinkwrap = resolve(root, 'npm-shrinkwrap.json');
if (process.argv[2] === 'create') copyFileSync(resolve(root, 'package-lock.json'), shrinkwrap);
else if (process.argv[2] === 'remove') rmSync(shrinkwrap, { force: true });
else {
  process.stderr.write('usage: shrinkwrap.mjs create|remove\n');
  process.exitCode = 2;
}
