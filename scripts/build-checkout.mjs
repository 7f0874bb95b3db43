#!/usr/bin/env node
// `npm start`'s first step. In a checkout (src/ is present) it builds dist/ with the development
// tools, so a change is never served stale; in an installed release (no src/, dist/ shipped, no
// devDependencies) there is nothing to build and it does nothing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
if (existsSync(resolve(root, 'src')) && existsSync(resolve(root, 'tsconfig.json'))) {
  const result = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exitCode = result.status ?? 1;
} else if (!existsSync(resolve(root, 'dist', 'cli', 'main.js'))) {
  process.stderr.write('cerulean: dist/ is missing and there is no source to build it from; reinstall the package\n');
  process.exitCode = 1;
}
