#!/usr/bin/env node
// Checks the deployment files where no Docker daemon is at hand:
//
// 1. deploy/compose.yaml parses, and what it refers to exists: build context and Dockerfile,
//    bind-mounted files, named volumes, `depends_on` services (with a health check where it waits
//    for `service_healthy`), and the nginx upstreams are the compose services on Cerulean's port.
// 2. The Dockerfile's steps are replayed in a clean temporary directory: the build context copied
//    as .dockerignore leaves it, each stage's COPY and RUN carried out as written with WORKDIR
//    mapped under the stage's directory. Not replayed, and said so: system package installs
//    (apt-get: the base image's business), `chown` to the image's user, USER, VOLUME and EXPOSE.
// 3. The replayed runtime stage validates deploy/cerulean.yaml (`cerulean check`), then runs the
//    ENTRYPOINT on a local configuration and its HEALTHCHECK command must pass; /portal/ must serve
//    the portal built in the image.
//
// Usage: node scripts/check-deploy.mjs [--compose-only]   (the replay installs dependencies twice: minutes)
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parse } from 'yaml';

const root = resolve(import.meta.dirname, '..');
const deploy = join(root, 'deploy');

function step(message) {
  process.stdout.write(`check-deploy: ${message}\n`);
}

function fail(message) {
  throw new Error(`check-deploy: ${message}`);
}

function checkCompose() {
  const compose = parse(readFileSync(join(deploy, 'compose.yaml'), 'utf8'), { merge: true });
  const services = compose.services ?? {};
  const volumes = new Set(Object.keys(compose.volumes ?? {}));
  for (const [name, service] of Object.entries(services)) {
    if (!service.image && !service.build) fail(`services.${name}: neither image nor build`);
    if (service.build) {
      const context = resolve(deploy, service.build.context ?? service.build);
      if (!existsSync(join(context, service.build.dockerfile ?? 'Dockerfile'))) fail(`services.${name}.build: no Dockerfile in ${relative(root, context)}`);
    }
    for (const mount of service.volumes ?? []) {
      const [source] = String(mount).split(':');
      if (source.startsWith('.') || source.startsWith('/')) {
        if (!existsSync(resolve(deploy, source))) fail(`services.${name}.volumes: ${source} does not exist`);
      } else if (!volumes.has(source)) fail(`services.${name}.volumes: named volume ${source} is not declared`);
    }
    for (const [dependency, condition] of Object.entries(service.depends_on ?? {})) {
      const target = services[dependency];
      if (!target) fail(`services.${name}.depends_on: no service ${dependency}`);
      const healthChecked = target.healthcheck || (target.build && /^HEALTHCHECK /m.test(readFileSync(join(root, 'Dockerfile'), 'utf8')));
      if (condition?.condition === 'service_healthy' && !healthChecked)
        fail(`services.${name}.depends_on.${dependency}: waits for a health check it does not have`);
    }
  }
  const config = parse(readFileSync(join(deploy, 'cerulean.yaml'), 'utf8'));
  const upstreams = [...readFileSync(join(deploy, 'nginx.conf'), 'utf8').matchAll(/^\s*server\s+([\w-]+):(\d+)/gm)];
  if (upstreams.length < 2) fail('nginx.conf: fewer than two upstream servers');
  for (const [, host, port] of upstreams) {
    if (!services[host]?.build) fail(`nginx.conf: upstream ${host} is not a Cerulean service in compose.yaml`);
    if (Number(port) !== config.server.port) fail(`nginx.conf: upstream ${host}:${port} is not server.port ${config.server.port}`);
  }
  step(`compose.yaml: ${Object.keys(services).length} services, references and nginx upstreams consistent`);
}

/** .dockerignore as a predicate on paths relative to the context (plain names, globs, `!` exceptions). */
function dockerIgnore(context) {
  const file = join(context, '.dockerignore');
  const rules = existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith('#'))
    : [];
  const compiled = rules.map((rule) => {
    const negate = rule.startsWith('!');
    const pattern = (negate ? rule.slice(1) : rule).replace(/^\/+|\/+$/g, '');
    const source = pattern
      .split('**')
      .map((part) =>
        part
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]'),
      )
      .join('.*');
    return { negate, regex: new RegExp(`^${source}(/.*)?$`) };
  });
  return (path) => compiled.reduce((ignored, rule) => (rule.regex.test(path) ? !rule.negate : ignored), false);
}

function copyContext(destination) {
  const ignored = dockerIgnore(root);
  cpSync(root, destination, { recursive: true, filter: (source) => source === root || !ignored(relative(root, source)) });
}

/** The Dockerfile as stages of instructions (continuation lines joined, comments dropped). */
function readDockerfile() {
  const lines = readFileSync(join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').split('\n');
  const stages = [];
  for (const line of lines.map((text) => text.trim()).filter((text) => text && !text.startsWith('#'))) {
    const [, instruction, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? fail(`Dockerfile: cannot read "${line}"`);
    if (instruction === 'FROM') stages.push({ name: /\bAS\s+(\S+)/i.exec(rest)?.[1] ?? String(stages.length), steps: [] });
    else stages.at(-1).steps.push({ instruction, rest });
  }
  return stages;
}

function run(command, cwd, env) {
  const result = spawnSync('bash', ['-c', command], { cwd, env, encoding: 'utf8' });
  if (result.status !== 0) fail(`RUN ${command} (in ${cwd}) exited ${result.status}\n${result.stdout}${result.stderr}`);
}

function replayDockerfile(work) {
  const context = join(work, 'context');
  copyContext(context);
  for (const forbidden of ['node_modules', 'dist', '.git']) if (existsSync(join(context, forbidden))) fail(`the build context holds ${forbidden}`);
  const stageRoot = (name) => join(work, 'stages', name);
  let runtime;
  for (const stage of readDockerfile()) {
    const fsRoot = stageRoot(stage.name);
    let workdir = fsRoot;
    const env = { ...process.env };
    let entrypoint = [];
    let cmd = [];
    let healthcheck;
    mkdirSync(fsRoot, { recursive: true });
    for (const { instruction, rest } of stage.steps) {
      if (instruction === 'WORKDIR') {
        workdir = join(fsRoot, rest);
        mkdirSync(workdir, { recursive: true });
      } else if (instruction === 'ENV') {
        const [key, value] = rest.split('=');
        env[key] = value;
      } else if (instruction === 'COPY') {
        const words = rest.split(/\s+/);
        const from = words[0].startsWith('--from=') ? words.shift().slice('--from='.length) : undefined;
        const target = words.pop();
        const destination = target.startsWith('/') ? join(fsRoot, target) : join(workdir, target);
        for (const source of words) {
          const origin = from ? join(stageRoot(from), source) : join(context, source);
          if (!existsSync(origin)) fail(`COPY ${rest}: ${source} does not exist${from ? ` in stage ${from}` : ' in the build context'}`);
          const into = target.endsWith('/') || words.length > 1 ? join(destination, source.split('/').pop()) : destination;
          mkdirSync(dirname(into), { recursive: true });
          cpSync(origin, into, { recursive: statSync(origin).isDirectory() });
        }
      } else if (instruction === 'RUN') {
        if (/^apt-get\b/.test(rest)) {
          step(`[${stage.name}] not replayed (system packages of the base image): RUN ${rest.slice(0, 60)}…`);
          continue;
        }
        const parts = rest.split('&&').map((part) => part.trim());
        const replayed = parts.filter((part) => !/^chown\b/.test(part));
        for (const part of parts.filter((part) => /^chown\b/.test(part))) step(`[${stage.name}] not replayed (the image's user): ${part}`);
        step(`[${stage.name}] RUN ${replayed.join(' && ')}`);
        run(replayed.join(' && '), workdir, env);
      } else if (instruction === 'ENTRYPOINT') entrypoint = JSON.parse(rest);
      else if (instruction === 'CMD') cmd = JSON.parse(rest);
      else if (instruction === 'HEALTHCHECK') healthcheck = JSON.parse(rest.slice(rest.indexOf('CMD') + 3).trim());
      else step(`[${stage.name}] not replayed: ${instruction} ${rest}`);
    }
    runtime = { workdir, env, entrypoint, cmd, healthcheck, fsRoot };
  }
  return runtime;
}

async function serveReplayedImage(runtime, work) {
  const [command, ...args] = runtime.entrypoint;
  const checked = spawnSync(command, [...args, 'check', '--config', join(deploy, 'cerulean.yaml')], {
    cwd: runtime.workdir,
    env: { ...runtime.env, POSTGRES_PASSWORD: 'check', OPENAI_API_KEY: 'check' },
    encoding: 'utf8',
  });
  if (checked.status !== 0) fail(`cerulean check deploy/cerulean.yaml failed:\n${checked.stdout}${checked.stderr}`);
  step('the image validates deploy/cerulean.yaml');

  // The CMD as written, on a free port instead of 8080 (this machine may be serving something there).
  const configFile = join(work, 'local.yaml');
  writeFileSync(configFile, `data_dir: ${JSON.stringify(join(runtime.workdir, 'data'))}\nlogging: { level: warn }\n`);
  const cmd = runtime.cmd.map((word) => (word === '8080' ? '0' : word));
  const child = spawn(command, [...args, ...cmd, '--config', configFile], {
    cwd: runtime.workdir,
    env: { ...runtime.env, CERULEAN_MASTER_KEY: 'cer-deploy-check' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  try {
    const url = await new Promise((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`check-deploy: the image's command did not listen within 30 s\n${output}`)), 30_000);
      child.stdout.on('data', () => {
        const match = /Cerulean listening on (http:\/\/\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[1]);
        }
      });
      exited.then((code) => reject(new Error(`check-deploy: the image's command exited ${code}\n${output}`)));
    });
    const port = new URL(url).port;
    const [hcCommand, ...hcArgs] = runtime.healthcheck.map((word) => word.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
    const health = spawnSync(hcCommand, hcArgs, { encoding: 'utf8' });
    if (health.status !== 0) fail(`HEALTHCHECK failed (${health.status}): ${health.stderr}`);
    const portal = await fetch(`${url}/portal/`);
    if (portal.status !== 200 || !(await portal.text()).includes('<div id="root">')) fail(`/portal/ answered ${portal.status} in the image`);
    step(`the image's command serves (the portal too) and its HEALTHCHECK passes (port ${port} for 8080)`);
  } finally {
    child.kill('SIGTERM');
  }
  if ((await exited) !== 0) fail(`the image's command did not stop cleanly on SIGTERM\n${output}`);
}

async function main() {
  checkCompose();
  if (process.argv.includes('--compose-only')) return;
  const work = mkdtempSync(join(tmpdir(), 'cerulean-deploy-'));
  try {
    const runtime = replayDockerfile(work);
    const shipped = readdirSync(runtime.workdir).sort();
    step(`runtime stage holds: ${shipped.join(', ')}`);
    if (existsSync(join(runtime.workdir, 'src'))) fail('the runtime stage holds the sources');
    await serveReplayedImage(runtime, work);
    step('ok');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
