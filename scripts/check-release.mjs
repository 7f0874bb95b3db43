#!/usr/bin/env node
// Release check: packs the package as `npm publish` would, installs the tarball with production
// dependencies only into an empty directory, starts `cerulean serve` from there on a minimal
// configuration, and requires `/healthz` and `/readyz` to answer 200 and SIGTERM to stop it cleanly.
// It proves that what ships is complete: the built service, its entry point, the example
// configuration, the built portal (served at /portal), and no dependency that only a development
// install provides.
//
// Usage: node scripts/check-release.mjs   (needs the registry for the install; about a minute,
// most of it better-sqlite3's native module)
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'cerulean-release-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function step(message) {
  process.stdout.write(`check-release: ${message}\n`);
}

function fail(message) {
  throw new Error(`check-release: ${message}`);
}

/** Runs a command to completion; its output is returned and shown only when it fails. */
function run(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0) fail(`${command} ${args.join(' ')} exited ${result.status}\n${output}`);
  return output;
}

/**
 * Starts a server, waits for its "listening" line, requires 200 from /healthz and /readyz, then
 * sends SIGTERM. `viaNpm`: npm itself dies of the signal, so only the server's own exit is judged
 * when it is started directly.
 */
async function serveAndProbe(label, command, args, cwd, viaNpm = false) {
  step(`${label}: starting`);
  // Its own process group, so that SIGTERM reaches the server even when npm runs it.
  const child = spawn(command, args, {
    cwd,
    detached: true,
    env: { ...process.env, CERULEAN_MASTER_KEY: 'cer-release-check-master-key' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
  try {
    const url = await new Promise((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`check-release: ${label}: no "listening" line within 30 s\n${output}`)), 30_000);
      child.stdout.on('data', () => {
        const match = /Cerulean listening on (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[1]);
        }
      });
      exited.then(({ code }) => {
        clearTimeout(timer);
        reject(new Error(`check-release: ${label}: exited ${code} before listening\n${output}`));
      });
    });
    for (const path of ['/healthz', '/readyz']) {
      const response = await fetch(`${url}${path}`);
      if (response.status !== 200) fail(`${label}: ${path} answered ${response.status}: ${await response.text()}`);
    }
    const portal = await fetch(`${url}/portal/`);
    const page = await portal.text();
    if (portal.status !== 200 || !page.includes('<div id="root">')) fail(`${label}: /portal/ answered ${portal.status}: ${page.slice(0, 200)}`);
    if (!portal.headers.get('content-security-policy')?.includes("script-src 'self'")) fail(`${label}: /portal/ lacks its Content-Security-Policy`);
    step(`${label}: /healthz and /readyz answer 200, /portal/ serves the portal`);
  } finally {
    if (child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  }
  const { code, signal } = await exited;
  if (viaNpm ? code !== 0 && signal !== 'SIGTERM' : code !== 0) fail(`${label}: exited ${code ?? signal} on SIGTERM\n${output}`);
  step(`${label}: stopped`);
}

async function main() {
  step('packing (prepack builds dist/ and adds the lock file as npm-shrinkwrap.json)');
  run(npm, ['pack', '--pack-destination', work], root);
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
  if (!tarball) fail('npm pack wrote no tarball');
  const tarballPath = join(work, tarball);

  const listing = run('tar', ['-tzf', tarballPath], work).split('\n');
  for (const required of [
    'package/bin/cerulean.js',
    'package/dist/cli/main.js',
    'package/dist/portal/index.html',
    'package/cerulean.example.yaml',
    'package/npm-shrinkwrap.json',
  ]) {
    if (!listing.includes(required)) fail(`the tarball lacks ${required}`);
  }
  const stray = listing.filter((path) => /^package\/(src|test|bench|eval|portal)\//.test(path));
  if (stray.length > 0) fail(`the tarball ships development files: ${stray.slice(0, 5).join(', ')}`);

  const configFile = join(work, 'cerulean.yaml');
  writeFileSync(configFile, `server: { host: 127.0.0.1, port: 0 }\ndata_dir: ${JSON.stringify(join(work, 'data'))}\nlogging: { level: warn }\n`);

  // 1. The release unpacked: `npm ci --omit=dev`, then `npm start`.
  step('unpacking; npm ci --omit=dev');
  run('tar', ['-xzf', tarballPath, '-C', work], work);
  const unpacked = join(work, 'package');
  const ci = run(npm, ['ci', '--omit=dev', '--no-audit', '--no-fund'], unpacked);
  if (/EBADENGINE/.test(ci)) fail(`npm ci warns about an unsupported engine:\n${ci}`);
  await serveAndProbe('npm start in the unpacked release', npm, ['start', '--', '--config', configFile], unpacked, true);

  // 2. The tarball installed as a dependency: its `cerulean` command. npm applies only the root
  // project's `overrides` and `allowScripts`, so the project carries Cerulean's (as the README says).
  step(`npm install --omit=dev ${tarball} into an empty project`);
  const app = join(work, 'app');
  mkdirSync(app);
  const shipped = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8'));
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'cerulean-release-check', private: true, overrides: shipped.overrides, allowScripts: shipped.allowScripts }),
  );
  const installed = run(npm, ['install', '--omit=dev', '--no-audit', '--no-fund', tarballPath], app);
  if (/EBADENGINE/.test(installed)) fail(`the install warns about an unsupported engine:\n${installed}`);
  await serveAndProbe('the installed cerulean command', join(app, 'node_modules', '.bin', 'cerulean'), ['serve', '--config', configFile], app);
  step('ok: the packed release installs without devDependencies and serves');
}

main()
  .catch((error) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
