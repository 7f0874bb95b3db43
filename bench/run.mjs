#!/usr/bin/env node
// Cerulean benchmark: direct upstream vs a bare Node proxy vs Cerulean vs Portkey, side by side,
// on loopback. Run with `npm run bench` (builds first). See docs/benchmarks.md.
//
//   node bench/run.mjs [--quick] [--profile] [--profile-only] [--skip-portkey] [--wait-quiet=S]
//
//   --quick         short phases (smoke test of the harness, numbers not meaningful)
//   --profile       after the benchmark, run Cerulean under `node --cpu-prof` at saturation and
//                   summarise self time (bench/results/cerulean.cpuprofile, profile.json)
//   --profile-only  only the profile run
//   --profile-api=A the API the profile run sends: chat (default), responses, responses-nostore
//                   (the Responses API with store: false) or messages
//   --skip-portkey  leave the Portkey path out
//   --skip-translation  leave out the translation section (chat completions vs the Responses and
//                   Messages APIs, all through Cerulean to the same upstream)
//   --skip-routing  leave out the routing section (one target vs three weighted targets vs failover
//                   from a target failing every request, all through Cerulean to the same upstream)
//   --no-content-safety  configure Cerulean's deployment with content-safety policy `none`
//                   (default: the built-in default policy applies, as it would for a user)
//   --warmup-ms=N   steady-load warm-up per path before the measured rounds (default 10000: the
//                   proxies' JIT is still settling for tens of seconds after start)
//   --wait-quiet=S  before starting, wait up to S seconds (default 60) for other processes to leave
//                   the CPUs alone (under 0.2 cores busy for a second); then start regardless
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request, Pool } from 'undici';
import { writeCeruleanConfig } from './lib/config.mjs';
import { summarizeProfile } from './lib/cpuprofile.mjs';
import { oneStream, openLoop, saturate, streamLoop } from './lib/load.mjs';
import { backgroundLoad, freePort, procStats, sampleRss, startNode } from './lib/processes.mjs';
import { mergeCounts, NOISY_CORES, selectRounds } from './lib/rounds.mjs';
import { round, summarize } from './lib/stats.mjs';
import { evaluateRouting, routingConfig, routingHeaders, routingMarkdown, routingPaths } from './lib/routing.mjs';
import { evaluateTranslation, streamCpu, streamTimings, translationMarkdown, translationPaths } from './lib/translation.mjs';

const foreignCores = (r) => r.background.foreignCores;

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'profile-only': { type: 'boolean', default: false },
    'profile-api': { type: 'string', default: 'chat' },
    'profile-stream': { type: 'boolean', default: false },
    'skip-portkey': { type: 'boolean', default: false },
    'skip-translation': { type: 'boolean', default: false },
    'skip-routing': { type: 'boolean', default: false },
    'wait-quiet': { type: 'string', default: '60' },
    'warmup-ms': { type: 'string' },
    'no-content-safety': { type: 'boolean', default: false },
  },
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const PORTKEY_BIN = join(ROOT, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
const EXPECTED_CONTENT = 'Hello! How can I help you today?';

const SETTINGS = flags.quick
  ? {
      rate: 200,
      warmupMs: 500,
      steadyMs: 2_000,
      saturationS: 2,
      connections: 50,
      streams: 30,
      streamWarmup: 5,
      chunks: 20,
      chunkDelayMs: 2,
      profileS: 3,
      rounds: 2,
    }
  : {
      rate: 200,
      warmupMs: 10_000,
      steadyMs: 10_000,
      saturationS: 10,
      connections: 50,
      streams: 200,
      streamWarmup: 20,
      chunks: 20,
      chunkDelayMs: 2,
      profileS: 10,
      rounds: 10,
    };

// The translation section runs after the others on the same, warm servers; its paths are new code
// to the JIT, hence a warm-up of its own.
const TRANSLATION = flags.quick
  ? {
      steady: { label: 'translation steady', rate: 200, warmupMs: 300, steadyMs: 1_000, rounds: 2 },
      saturation: { label: 'translation saturation', connections: 50, warmupS: 1, saturationS: 1, rounds: 2 },
      streams: { streams: 10, warmup: 2 },
      streamCpu: { rounds: 2, roundMs: 500, concurrency: 10 },
    }
  : {
      steady: { label: 'translation steady', rate: 200, warmupMs: 2_000, steadyMs: 6_000, rounds: 6 },
      saturation: { label: 'translation saturation', connections: 50, warmupS: 1, saturationS: 4, rounds: 4 },
      streams: { streams: 50, warmup: 5 },
      streamCpu: { rounds: 4, roundMs: 1_000, concurrency: 20 },
    };

// The routing section runs last on the same, warm servers; its deployments are new code paths to the
// JIT, hence a warm-up of its own. About 50 s in all.
const ROUTING = flags.quick
  ? {
      steady: { label: 'routing steady', rate: 200, warmupMs: 300, steadyMs: 1_000, rounds: 2 },
      saturation: { label: 'routing saturation', connections: 50, warmupS: 1, saturationS: 1, rounds: 2 },
      headerRequests: 30,
    }
  : {
      steady: { label: 'routing steady', rate: 200, warmupMs: 2_000, steadyMs: 6_000, rounds: 6 },
      saturation: { label: 'routing saturation', connections: 50, warmupS: 1, saturationS: 6, rounds: 6 },
      headerRequests: 60,
    };

if (flags['warmup-ms'] !== undefined) SETTINGS.warmupMs = Math.max(0, Math.min(60_000, Number(flags['warmup-ms']) || 0));

const TARGETS = { addedP50Ms: 0.75, addedP99Ms: 3, vsBare: 0.7, vsPortkey: 10 };

const WAIT_QUIET_S = Math.max(0, Math.min(600, Number(flags['wait-quiet']) || 0));

// Whole-run watchdog: the run is bounded whatever happens to the servers.
const watchdog = setTimeout(
  () => {
    console.error('bench: watchdog fired; giving up');
    process.exit(2);
  },
  (8 * 60 + WAIT_QUIET_S) * 1000,
);
watchdog.unref();
// Ctrl-C or a kill: exit through process.exit so the servers are killed too (see lib/processes.mjs)
// and the temp dirs removed.
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
const tempDirs = new Set();
process.on('exit', () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
function tempDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

const log = (message) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const fmt = (value, digits = 3) => (value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits));

function chatBody(model, extra = {}) {
  return JSON.stringify({
    model,
    messages: [
      { role: 'system', content: 'You are a terse assistant.' },
      { role: 'user', content: 'Say hello.' },
    ],
    max_tokens: 32,
    temperature: 0,
    ...extra,
  });
}

function meta() {
  // CERULEAN_BENCH_COMMIT names the code measured when the tree is not a git checkout (an exported snapshot).
  let commit = process.env.CERULEAN_BENCH_COMMIT || null;
  if (!commit)
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
      const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim();
      if (dirty) commit += ' (src modified)';
    } catch {
      // not a git checkout
    }
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${release()}`,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    commit,
    settings: SETTINGS,
    ceruleanContentSafety: flags['no-content-safety'] ? 'off (policy none for the deployment)' : 'default policy',
  };
}

async function startUpstream(dir, { name = 'upstream', failStatus } = {}) {
  return startNode({
    name,
    args: [
      join(ROOT, 'bench', 'upstream.mjs'),
      '--port',
      '0',
      '--chunks',
      String(SETTINGS.chunks),
      '--chunk-delay-ms',
      String(SETTINGS.chunkDelayMs),
      ...(failStatus ? ['--fail-status', String(failStatus)] : []),
    ],
    logFile: join(dir, `${name}.log`),
    readyPattern: /upstream listening on (http:\/\/\S+)/,
  });
}

/** Cerulean from the built CLI, default (info) log level, stdout+stderr to a file in the temp dir. */
async function startCerulean(dir, upstreamUrl, key, nodeArgs = [], routing = null) {
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'cerulean.yaml');
  writeCeruleanConfig(configFile, {
    dataDir,
    providers: { fixture: upstreamUrl },
    deployments: { chat: 'fixture' },
    providerLines: routing?.providerLines,
    deploymentLines: routing?.deploymentLines,
    extra: [
      ...(flags['no-content-safety']
        ? ['content_safety:', `  deployments: { ${['chat', ...(routing ? ['routed', 'failover'] : [])].map((name) => `${name}: none`).join(', ')} }`]
        : []),
      ...(routing?.extra ?? []),
    ],
  });
  return startNode({
    name: 'cerulean',
    args: [...nodeArgs, join(ROOT, 'bin', 'cerulean.js'), 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0'],
    env: { CERULEAN_MASTER_KEY: key },
    logFile: join(dir, 'cerulean.log'),
    readyPattern: /Cerulean listening on (http:\/\/\S+)/,
  });
}

const CHAT_ROUTE = '/v1/chat/completions';
const chatContent = (answer) => answer.choices?.[0]?.message?.content;

/**
 * One request through a path (`path.route`, chat completions by default): must be 200 with the
 * fixture's content (read by `path.contentOf`), else the path is flagged.
 */
async function probe(path) {
  try {
    const response = await request(`${path.url}${path.route ?? CHAT_ROUTE}`, {
      method: 'POST',
      headers: path.headers,
      body: path.body,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) return `status ${response.statusCode}: ${text.slice(0, 300)}`;
    const content = (path.contentOf ?? chatContent)(JSON.parse(text));
    return content === EXPECTED_CONTENT ? null : `unexpected body: ${text.slice(0, 300)}`;
  } catch (error) {
    return `request failed: ${error.message}`;
  }
}

function okCount(statuses) {
  return Object.entries(statuses).reduce((sum, [code, n]) => (code >= 200 && code < 300 ? sum + n : sum), 0);
}

/**
 * Open-loop steady load, interleaved: all paths warm up, then `settings.rounds` rounds visit every
 * path in turn. Each path posts its body to its route (chat completions unless `path.route`).
 */
async function steadyAll(paths, servers, settings = SETTINGS) {
  const rounds = Object.fromEntries(paths.map((path) => [path.name, []]));
  const warmupFailed = {};
  for (const path of paths) {
    const warm = await openLoop({
      origin: path.url,
      path: path.route ?? CHAT_ROUTE,
      headers: path.headers,
      body: path.body,
      rate: settings.rate,
      durationMs: settings.warmupMs,
    });
    warmupFailed[path.name] = warm.total - okCount(warm.statuses);
  }
  for (let round = 0; round < settings.rounds; round++) {
    for (const path of round % 2 === 0 ? paths : [...paths].reverse()) {
      const watch = backgroundLoad(servers);
      const run = await openLoop({
        origin: path.url,
        path: path.route ?? CHAT_ROUTE,
        headers: path.headers,
        body: path.body,
        rate: settings.rate,
        durationMs: settings.steadyMs / settings.rounds,
      });
      run.background = watch.stop();
      rounds[path.name].push(run);
      const l = summarize(run.latencyUs);
      log(
        `  ${settings.label ?? 'steady'} round ${round + 1}/${settings.rounds} ${path.name}: p50 ${fmt(l.p50)} p99 ${fmt(l.p99)} ms, background ${fmt(run.background.foreignCores, 2)} cores`,
      );
      await sleep(100);
    }
  }
  const { quietOnly, pick } = selectRounds(rounds, foreignCores);
  const out = {};
  for (const path of paths) {
    const all = rounds[path.name];
    const used = pick(path.name);
    const { statuses, errors } = mergeCounts(all);
    const sent = all.reduce((t, r) => t + r.total, 0);
    const ok = okCount(statuses);
    const concat = (key) => used.flatMap((r) => Array.from(r[key]));
    out[path.name] = {
      rate: settings.rate,
      roundMs: settings.steadyMs / settings.rounds,
      rounds: all.length,
      roundsUsed: used.length,
      quietRoundsOnly: quietOnly,
      sent,
      ok,
      failed: sent - ok,
      statuses,
      errors,
      warmupFailed: warmupFailed[path.name],
      outcomes: all.map((r) => r.result),
      latencyMs: summarize(concat('latencyUs')),
      serviceMs: summarize(concat('serviceUs')),
      sendLagMs: summarize(concat('lagUs')),
      roundBackgroundCores: all.map((r) => r.background.foreignCores),
      backgroundCores: maxForeign(used.map((r) => r.background)),
    };
  }
  return out;
}

const maxForeign = (list) => {
  const values = list.map((b) => b.foreignCores).filter((v) => v !== null);
  return values.length ? Math.max(...values) : null;
};

async function upstreamCount(upstreamUrl) {
  try {
    const response = await request(`${upstreamUrl}/stats`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    return (await response.body.json()).chat_requests;
  } catch {
    return null;
  }
}

async function saturationRound(path, processes, upstreamUrl, durationS, connections) {
  const countBefore = await upstreamCount(upstreamUrl);
  const before = processes.map((p) => procStats(p.pid));
  const result = await saturate({
    url: `${path.url}${path.route ?? CHAT_ROUTE}`,
    headers: path.headers,
    body: path.body,
    connections,
    durationS,
  });
  const after = processes.map((p) => procStats(p.pid));
  await sleep(100); // let requests cut off at the end of the run reach the upstream
  const countAfter = await upstreamCount(upstreamUrl);
  // What reached the upstream: should match what the client counted, up to the requests still in
  // flight when autocannon stopped (at most one per connection).
  const upstreamRequests = countBefore === null || countAfter === null ? null : countAfter - countBefore;
  const cpu = Object.fromEntries(
    processes.map((p, i) => [p.name, before[i] && after[i] ? { userMs: after[i].userMs - before[i].userMs, sysMs: after[i].sysMs - before[i].sysMs } : null]),
  );
  return { ...result, cpu, upstreamRequests };
}

/** Closed-loop saturation, interleaved: `settings.rounds` rounds visit every path in turn; totals are summed. */
async function saturationAll(paths, servers, upstreamUrl, settings = SETTINGS) {
  const rounds = Object.fromEntries(paths.map((path) => [path.name, []]));
  // Optional closed-loop warm-up, not counted: code first driven this hard (a path the steady phase
  // ran only at 200 req/s) still gets faster for a few seconds.
  for (const path of settings.warmupS ? paths : []) {
    await saturate({
      url: `${path.url}${path.route ?? CHAT_ROUTE}`,
      headers: path.headers,
      body: path.body,
      connections: settings.connections,
      durationS: settings.warmupS,
    });
  }
  for (let round = 0; round < settings.rounds; round++) {
    for (const path of round % 2 === 0 ? paths : [...paths].reverse()) {
      const watch = backgroundLoad(servers);
      const result = await saturationRound(path, path.processes, upstreamUrl, settings.saturationS / settings.rounds, settings.connections);
      result.background = watch.stop();
      rounds[path.name].push(result);
      log(
        `  ${settings.label ?? 'saturation'} round ${round + 1}/${settings.rounds} ${path.name}: ${fmt(result.rps, 0)} req/s, non-2xx ${result.non2xx}, errors ${result.errors}, background ${fmt(result.background.foreignCores, 2)} cores`,
      );
      await sleep(100);
    }
  }
  const { quietOnly, pick } = selectRounds(rounds, foreignCores);
  const out = {};
  for (const path of paths) {
    const all = rounds[path.name];
    const list = pick(path.name);
    const sum = (from, key) => from.reduce((total, r) => total + (r[key] ?? 0), 0);
    const durationS = sum(list, 'durationS');
    const ok = sum(list, 'ok');
    const requests = ok + sum(list, 'non2xx');
    const statusCodes = {};
    for (const r of all) for (const [code, n] of Object.entries(r.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + n;
    const cpuUsPerRequest = {};
    const kernelShareOfCpu = {};
    for (const p of path.processes) {
      const userMs = list.reduce((t, r) => t + (r.cpu[p.name]?.userMs ?? NaN), 0);
      const sysMs = list.reduce((t, r) => t + (r.cpu[p.name]?.sysMs ?? NaN), 0);
      cpuUsPerRequest[p.name] = requests && Number.isFinite(userMs + sysMs) ? round(((userMs + sysMs) * 1000) / requests, 1) : null;
      kernelShareOfCpu[p.name] = userMs + sysMs > 0 ? round(sysMs / (userMs + sysMs), 2) : null;
    }
    out[path.name] = {
      connections: settings.connections,
      roundS: settings.saturationS / settings.rounds,
      rounds: all.length,
      roundsUsed: list.length,
      quietRoundsOnly: quietOnly,
      durationS: round(durationS, 2),
      rps: round(ok / durationS, 1),
      roundRps: all.map((r) => round(r.rps, 0)),
      roundBackgroundCores: all.map((r) => r.background.foreignCores),
      // Error counts cover every round, used or not.
      ok: sum(all, 'ok'),
      non2xx: sum(all, 'non2xx'),
      errors: sum(all, 'errors'),
      timeouts: sum(all, 'timeouts'),
      statusCodes,
      upstreamRequests: all.every((r) => r.upstreamRequests !== null) ? sum(all, 'upstreamRequests') : null,
      // autocannon histograms cannot be merged here: the median round's p50, the worst round's p99 and max.
      latencyMs: {
        p50: list.map((r) => r.latencyMs.p50).sort((x, y) => x - y)[Math.floor((list.length - 1) / 2)],
        p99: Math.max(...list.map((r) => r.latencyMs.p99)),
        max: Math.max(...list.map((r) => r.latencyMs.max)),
      },
      cpuUsPerRequest,
      kernelShareOfCpu,
      backgroundCores: maxForeign(list.map((r) => r.background)),
    };
  }
  return out;
}

async function streaming(direct, cerulean) {
  const pools = { direct: new Pool(direct.url, { connections: 2 }), cerulean: new Pool(cerulean.url, { connections: 2 }) };
  const spec = (path) => ({
    path: '/v1/chat/completions',
    headers: path.headers,
    body: chatBody(path.model, { stream: true, stream_options: { include_usage: true } }),
  });
  const specs = { direct: spec(direct), cerulean: spec(cerulean) };
  const samples = { direct: [], cerulean: [] };
  const problems = { direct: [], cerulean: [] };
  const deadline = Date.now() + 90_000;
  const one = async (name, keep) => {
    try {
      const result = await oneStream(pools[name], specs[name]);
      if (result.error) problems[name].push(result.error);
      else if (result.contentUs.length !== SETTINGS.chunks || !result.done || !result.usage) {
        problems[name].push(`incomplete stream: ${result.contentUs.length}/${SETTINGS.chunks} content chunks, done=${result.done}, usage=${result.usage}`);
      } else if (keep) samples[name].push(result);
    } catch (error) {
      problems[name].push(String(error.message));
    }
  };
  for (let i = 0; i < SETTINGS.streamWarmup && Date.now() < deadline; i++) {
    await one('direct', false);
    await one('cerulean', false);
  }
  // Alternate which path goes first so neither gets a systematic advantage.
  for (let i = 0; i < SETTINGS.streams && Date.now() < deadline; i++) {
    const order = i % 2 === 0 ? ['direct', 'cerulean'] : ['cerulean', 'direct'];
    for (const name of order) await one(name, true);
  }
  await Promise.all(Object.values(pools).map((pool) => pool.destroy()));

  const describe = (name) => {
    const list = samples[name];
    const gaps = list.map((s) => (s.contentUs[s.contentUs.length - 1] - s.contentUs[0]) / (s.contentUs.length - 1));
    return {
      streams: list.length,
      problems: problems[name].length,
      firstProblems: problems[name].slice(0, 3),
      ttftMs: summarize(list.map((s) => s.contentUs[0])),
      meanInterChunkMs: summarize(gaps),
      totalMs: summarize(list.map((s) => s.totalUs)),
    };
  };
  const d = describe('direct');
  const c = describe('cerulean');
  const diff = (a, b) => (a === null || b === null ? null : round(a - b));
  return {
    chunks: SETTINGS.chunks,
    chunkDelayMs: SETTINGS.chunkDelayMs,
    direct: d,
    cerulean: c,
    added: {
      ttftP50Ms: diff(c.ttftMs.p50, d.ttftMs.p50),
      ttftP99Ms: diff(c.ttftMs.p99, d.ttftMs.p99),
      interChunkMeanMs: diff(c.meanInterChunkMs.mean, d.meanInterChunkMs.mean),
      totalP50Ms: diff(c.totalMs.p50, d.totalMs.p50),
      perChunkFromTotalMs: c.totalMs.p50 === null || d.totalMs.p50 === null ? null : round((c.totalMs.p50 - d.totalMs.p50) / SETTINGS.chunks),
    },
  };
}

/**
 * The translation section: chat completions, the Responses API and the Messages API through the same
 * Cerulean to the same upstream, with the upstream itself as the floor. Problems flag the path.
 */
async function translation(upstream, cerulean, key, servers) {
  const t = { settings: { ...TRANSLATION, chunks: SETTINGS.chunks, chunkDelayMs: SETTINGS.chunkDelayMs }, flags: {} };
  const plain = translationPaths({ upstream, cerulean, key, chatBody });
  for (const path of plain) {
    const problem = await probe(path);
    t.flags[path.name] = problem ? [`probe failed: ${problem}`] : [];
    if (problem) log(`translation ${path.name}: PROBE FAILED, path skipped: ${problem}`);
  }
  const usable = (list, names) => list.filter((path) => names.includes(path.name) && t.flags[path.name].length === 0);

  const steady = TRANSLATION.steady;
  log(
    `translation steady ${steady.rate} req/s: warm-up ${steady.warmupMs} ms per path, then ${steady.rounds} interleaved rounds of ${steady.steadyMs / steady.rounds} ms`,
  );
  t.steady = await steadyAll(usable(plain, ['direct', 'chat', 'responses', 'messages']), servers, steady);
  for (const [name, result] of Object.entries(t.steady)) {
    if (result.failed > 0)
      t.flags[name].push(`steady: ${result.failed} of ${result.sent} failed (${JSON.stringify({ ...result.statuses, ...result.errors })})`);
    if (result.warmupFailed > 0) t.flags[name].push(`steady warm-up: ${result.warmupFailed} failed`);
  }

  const sat = TRANSLATION.saturation;
  log(`translation saturation: ${sat.connections} connections, ${sat.rounds} interleaved rounds of ${sat.saturationS / sat.rounds} s per path`);
  t.saturation = await saturationAll(usable(plain, ['chat', 'responses', 'responses-nostore', 'messages']), servers, upstream.url, sat);
  for (const [name, result] of Object.entries(t.saturation)) {
    const answered = result.ok + result.non2xx;
    // A mismatch beyond the requests cut off at the end of each round (one per connection) is worth
    // knowing, but the path's other measurements stand: a note, not a flag that drops the path.
    if (result.upstreamRequests !== null && Math.abs(result.upstreamRequests - answered) > sat.connections * result.rounds)
      (t.notes ??= []).push(`${name} saturation: client counted ${answered} responses, the upstream answered ${result.upstreamRequests} requests`);
    if (result.non2xx || result.errors || result.timeouts)
      t.flags[name].push(`saturation: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts (${JSON.stringify(result.statusCodes)})`);
  }

  const streamed = usable(translationPaths({ upstream, cerulean, key, chatBody, stream: true }), ['direct', 'chat', 'responses', 'messages']);
  log(
    `translation streams: ${TRANSLATION.streams.streams} sequential streams per path, then CPU rounds of ${TRANSLATION.streamCpu.concurrency} concurrent streams`,
  );
  const watch = backgroundLoad(servers);
  t.streamTimings = await streamTimings(streamed, { ...TRANSLATION.streams, chunks: SETTINGS.chunks, deadlineMs: 60_000 });
  t.streamTimingsBackgroundCores = watch.stop().foreignCores;
  t.streamCpu = await streamCpu(
    streamed.filter((path) => path.name !== 'direct'),
    servers,
    { ...TRANSLATION.streamCpu, chunks: SETTINGS.chunks },
    log,
  );
  for (const [name, v] of Object.entries(t.streamTimings))
    if (v.problems) t.flags[name].push(`streams: ${v.problems} problems (${v.firstProblems.join(' | ')})`);
  for (const [name, v] of Object.entries(t.streamCpu))
    if (v.failed) t.flags[name].push(`stream CPU rounds: ${v.failed} of ${v.streams} failed (${v.firstProblems.join(' | ')})`);
  t.flaggedPaths = Object.entries(t.flags)
    .filter(([, list]) => list.length)
    .map(([name]) => name);
  return evaluateTranslation(t);
}

/**
 * The routing section: the one-target deployment, a deployment of three weighted targets on the same
 * upstream, and a deployment whose first target fails every request, through the same Cerulean.
 * Failed requests flag the one-target and weighted paths; the failover path's failures are its
 * measurement (the share that succeeds), reported rather than flagged.
 */
async function routing(upstream, failing, cerulean, key, servers) {
  const r = { settings: ROUTING, flags: {}, notes: [] };
  const paths = routingPaths({ cerulean, upstream, failing, key, chatBody });
  r.describe = Object.fromEntries(paths.map((path) => [path.name, path.targets]));
  const failingBefore = await upstreamCount(failing.url);
  for (const path of paths) {
    const problem = await probe(path);
    r.flags[path.name] = problem ? [`probe failed: ${problem}`] : [];
    if (problem) log(`routing ${path.name}: PROBE FAILED, path skipped: ${problem}`);
  }
  const usable = paths.filter((path) => r.flags[path.name].length === 0);

  const steady = ROUTING.steady;
  log(
    `routing steady ${steady.rate} req/s: warm-up ${steady.warmupMs} ms per path, then ${steady.rounds} interleaved rounds of ${steady.steadyMs / steady.rounds} ms`,
  );
  r.steady = await steadyAll(usable, servers, steady);
  const sat = ROUTING.saturation;
  log(`routing saturation: ${sat.connections} connections, ${sat.rounds} interleaved rounds of ${sat.saturationS / sat.rounds} s per path`);
  r.saturation = await saturationAll(usable, servers, upstream.url, sat);
  for (const path of usable) {
    const st = r.steady[path.name];
    const result = r.saturation[path.name];
    const answered = result.ok + result.non2xx;
    if (result.upstreamRequests !== null && Math.abs(result.upstreamRequests - answered) > sat.connections * result.rounds)
      r.notes.push(`${path.name} saturation: client counted ${answered} responses, the upstream answered ${result.upstreamRequests} requests`);
    if (path.name === 'failover') continue;
    if (st.failed > 0) r.flags[path.name].push(`steady: ${st.failed} of ${st.sent} failed (${JSON.stringify({ ...st.statuses, ...st.errors })})`);
    if (st.warmupFailed > 0) r.flags[path.name].push(`steady warm-up: ${st.warmupFailed} failed`);
    if (result.non2xx || result.errors || result.timeouts)
      r.flags[path.name].push(
        `saturation: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts (${JSON.stringify(result.statusCodes)})`,
      );
  }
  r.headers = {};
  for (const path of usable.filter((p) => p.name !== 'single')) r.headers[path.name] = await routingHeaders(path, ROUTING.headerRequests);
  const failingAfter = await upstreamCount(failing.url);
  r.failingSaw = failingBefore === null || failingAfter === null ? null : failingAfter - failingBefore;
  r.flaggedPaths = Object.entries(r.flags)
    .filter(([, list]) => list.length)
    .map(([name]) => name);
  return evaluateRouting(r);
}

function evaluate(results) {
  const s = results.paths;
  const diff = (a, b, key) =>
    a?.steady?.latencyMs?.[key] == null || b?.steady?.latencyMs?.[key] == null ? null : round(a.steady.latencyMs[key] - b.steady.latencyMs[key]);
  const ratio = (a, b) => (a?.saturation?.rps && b?.saturation?.rps ? round(a.saturation.rps / b.saturation.rps, 3) : null);
  results.added = {
    ceruleanOverDirect: { p50Ms: diff(s.cerulean, s.direct, 'p50'), p90Ms: diff(s.cerulean, s.direct, 'p90'), p99Ms: diff(s.cerulean, s.direct, 'p99') },
    ceruleanOverBare: { p50Ms: diff(s.cerulean, s.bare, 'p50'), p90Ms: diff(s.cerulean, s.bare, 'p90'), p99Ms: diff(s.cerulean, s.bare, 'p99') },
    bareOverDirect: { p50Ms: diff(s.bare, s.direct, 'p50'), p99Ms: diff(s.bare, s.direct, 'p99') },
    portkeyOverDirect: { p50Ms: diff(s.portkey, s.direct, 'p50'), p99Ms: diff(s.portkey, s.direct, 'p99') },
  };
  results.ratios = {
    ceruleanOverBare: ratio(s.cerulean, s.bare),
    ceruleanOverPortkey: ratio(s.cerulean, s.portkey),
    bareOverDirect: ratio(s.bare, s.direct),
    portkeyOverDirect: ratio(s.portkey, s.direct),
    ceruleanOverDirect: ratio(s.cerulean, s.direct),
  };
  const flagged = Object.entries(s)
    .filter(([, p]) => p.flags.length > 0)
    .map(([name]) => name);
  const check = (name, value, op, limit) => ({
    name,
    value,
    limit: `${op} ${limit}`,
    pass: value === null ? false : op === '<' ? value < limit : value >= limit,
  });
  results.targets = [
    check('Cerulean added latency p50 over direct at 200 rps (ms)', results.added.ceruleanOverDirect.p50Ms, '<', TARGETS.addedP50Ms),
    check('Cerulean added latency p99 over direct at 200 rps (ms)', results.added.ceruleanOverDirect.p99Ms, '<', TARGETS.addedP99Ms),
    check('Cerulean saturated throughput / bare proxy', results.ratios.ceruleanOverBare, '>=', TARGETS.vsBare),
    check('Cerulean saturated throughput / Portkey', results.ratios.ceruleanOverPortkey, '>=', TARGETS.vsPortkey),
  ];
  results.flaggedPaths = flagged;
  const phases = [...Object.values(s).flatMap((p) => [p.steady?.backgroundCores, p.saturation?.backgroundCores]), results.streaming?.backgroundCores].filter(
    (v) => typeof v === 'number',
  );
  results.maxBackgroundCores = phases.length ? Math.max(...phases) : null;
  if (results.maxBackgroundCores > NOISY_CORES) {
    results.notes.push(
      `Other processes used up to ${results.maxBackgroundCores} of the ${results.meta.cpus} cores during a measured phase (whole run: ${results.meta.backgroundDuringRunCores}); throughput and tail latency of this run are noisy. Rerun on a quiet machine before drawing conclusions.`,
    );
  }
  for (const phase of ['steady', 'saturation']) {
    const left = Object.values(s)
      .map((p) => p[phase])
      .filter((x) => x && x.quietRoundsOnly && x.roundsUsed < x.rounds);
    if (left.length) {
      results.notes.push(
        `${phase}: rounds during which other processes used more than ${NOISY_CORES} cores were left out (${Object.entries(s)
          .filter(([, p]) => p[phase])
          .map(([n, p]) => `${n} ${p[phase].roundsUsed}/${p[phase].rounds}`)
          .join(', ')} rounds used).`,
      );
    }
  }
  const cpu = (name, proc) => s[name]?.saturation?.cpuUsPerRequest?.[proc] ?? null;
  results.cpuPerRequest = {
    ceruleanUs: cpu('cerulean', 'cerulean'),
    bareUs: cpu('bare', 'bare-proxy'),
    portkeyUs: cpu('portkey', 'portkey'),
    ceruleanOverBare: cpu('cerulean', 'cerulean') && cpu('bare', 'bare-proxy') ? round(cpu('cerulean', 'cerulean') / cpu('bare', 'bare-proxy'), 2) : null,
    portkeyOverCerulean: cpu('portkey', 'portkey') && cpu('cerulean', 'cerulean') ? round(cpu('portkey', 'portkey') / cpu('cerulean', 'cerulean'), 2) : null,
  };
  if (s.cerulean?.flags.length) for (const target of results.targets) target.pass = false;
}

function markdown(results) {
  const lines = [];
  const s = results.paths;
  const names = Object.keys(s);
  lines.push(
    `Node ${results.meta.node}, ${results.meta.cpus} CPUs (${results.meta.cpuModel}), ${results.meta.date}${results.meta.commit ? `, commit ${results.meta.commit}` : ''}; Cerulean content safety: ${results.meta.ceruleanContentSafety}`,
  );
  lines.push('');
  lines.push(
    `Background load (cores used by other processes): ${fmt(results.meta.backgroundBeforeStartCores, 2)} before start, ${fmt(results.meta.backgroundDuringRunCores, 2)} on average during the run, ${fmt(results.maxBackgroundCores, 2)} in the busiest measured phase.`,
  );
  lines.push('');
  lines.push(
    `### Steady load: ${SETTINGS.rate} req/s open loop, ${SETTINGS.steadyMs / 1000} s per path in ${SETTINGS.rounds} interleaved rounds (latency from scheduled send, ms)`,
  );
  lines.push('');
  lines.push('| path | ok / sent | rounds used | p50 | p90 | p99 | max | send lag p99 | background cores | flags |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const name of names) {
    const p = s[name];
    const l = p.steady?.latencyMs;
    lines.push(
      `| ${name} | ${p.steady ? `${p.steady.ok} / ${p.steady.sent}` : '-'} | ${p.steady ? `${p.steady.roundsUsed} / ${p.steady.rounds}` : '-'} | ${fmt(l?.p50)} | ${fmt(l?.p90)} | ${fmt(l?.p99)} | ${fmt(l?.max)} | ${fmt(p.steady?.sendLagMs?.p99)} | ${fmt(p.steady?.backgroundCores, 2)} | ${p.flags.join('; ') || ''} |`,
    );
  }
  lines.push('');
  const a = results.added;
  lines.push('| added latency | p50 | p90 | p99 |');
  lines.push('|---|---|---|---|');
  lines.push(`| Cerulean over direct | ${fmt(a.ceruleanOverDirect.p50Ms)} | ${fmt(a.ceruleanOverDirect.p90Ms)} | ${fmt(a.ceruleanOverDirect.p99Ms)} |`);
  lines.push(`| Cerulean over bare proxy | ${fmt(a.ceruleanOverBare.p50Ms)} | ${fmt(a.ceruleanOverBare.p90Ms)} | ${fmt(a.ceruleanOverBare.p99Ms)} |`);
  lines.push(`| bare proxy over direct | ${fmt(a.bareOverDirect.p50Ms)} | | ${fmt(a.bareOverDirect.p99Ms)} |`);
  lines.push(`| Portkey over direct | ${fmt(a.portkeyOverDirect.p50Ms)} | | ${fmt(a.portkeyOverDirect.p99Ms)} |`);
  lines.push('');
  lines.push(
    `### Saturation: closed loop, autocannon, ${SETTINGS.connections} connections, ${SETTINGS.saturationS} s per path in ${SETTINGS.rounds} interleaved rounds`,
  );
  lines.push('');
  lines.push(
    '| path | req/s (2xx) | per round (used rounds counted) | 2xx | non-2xx | errors | timeouts | upstream saw | latency p50 / p99 (ms) | CPU µs per request (gateway / upstream) | background cores |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const name of names) {
    const sat = s[name].saturation;
    if (!sat) {
      lines.push(`| ${name} | - | | | | | | | | | |`);
      continue;
    }
    const cpu = sat.cpuUsPerRequest;
    const gateway = name === 'direct' ? '-' : fmt(cpu[name === 'bare' ? 'bare-proxy' : name], 0);
    lines.push(
      `| ${name} | ${fmt(sat.rps, 0)} | ${sat.roundRps.join(', ')} (${sat.roundsUsed}/${sat.rounds}) | ${sat.ok} | ${sat.non2xx} | ${sat.errors} | ${sat.timeouts} | ${sat.upstreamRequests ?? 'n/a'} | ${sat.latencyMs.p50} / ${sat.latencyMs.p99} | ${gateway} / ${fmt(cpu.upstream, 0)} | ${fmt(sat.backgroundCores, 2)} |`,
    );
  }
  lines.push('');
  const r = results.ratios;
  lines.push('| throughput ratio | value |');
  lines.push('|---|---|');
  lines.push(`| Cerulean / bare proxy | ${fmt(r.ceruleanOverBare, 3)} |`);
  lines.push(`| Cerulean / Portkey | ${fmt(r.ceruleanOverPortkey, 2)} |`);
  lines.push(`| bare proxy / direct | ${fmt(r.bareOverDirect, 3)} |`);
  lines.push(`| Portkey / direct | ${fmt(r.portkeyOverDirect, 3)} |`);
  lines.push(`| Cerulean / direct | ${fmt(r.ceruleanOverDirect, 3)} |`);
  lines.push(`| CPU per request: Cerulean / bare proxy (lower is better) | ${fmt(results.cpuPerRequest.ceruleanOverBare, 2)} |`);
  lines.push(`| CPU per request: Portkey / Cerulean | ${fmt(results.cpuPerRequest.portkeyOverCerulean, 2)} |`);
  lines.push('');
  if (results.memory) {
    const m = results.memory;
    lines.push('### Memory (MiB)');
    lines.push('');
    lines.push('| process | RSS after start | peak RSS (sampled) | VmHWM at end |');
    lines.push('|---|---|---|---|');
    for (const [name, v] of Object.entries(m)) lines.push(`| ${name} | ${fmt(v.startMiB, 1)} | ${fmt(v.peakSampledMiB, 1)} | ${fmt(v.hwmMiB, 1)} |`);
    lines.push('');
  }
  if (results.streaming) {
    const st = results.streaming;
    lines.push(
      `### Streaming: ${st.chunks} content chunks ${st.chunkDelayMs} ms apart, sequential streams, direct vs Cerulean (ms; background ${fmt(st.backgroundCores, 2)} cores)`,
    );
    lines.push('');
    lines.push('| path | streams ok | problems | TTFT p50 | TTFT p99 | mean inter-chunk gap | total p50 | total p99 |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const name of ['direct', 'cerulean']) {
      const v = st[name];
      lines.push(
        `| ${name} | ${v.streams} | ${v.problems} | ${fmt(v.ttftMs.p50)} | ${fmt(v.ttftMs.p99)} | ${fmt(v.meanInterChunkMs.mean)} | ${fmt(v.totalMs.p50)} | ${fmt(v.totalMs.p99)} |`,
      );
    }
    lines.push(
      `| Cerulean added | | | ${fmt(st.added.ttftP50Ms)} | ${fmt(st.added.ttftP99Ms)} | ${fmt(st.added.interChunkMeanMs)} | ${fmt(st.added.totalP50Ms)} (${fmt(st.added.perChunkFromTotalMs)} per chunk) | |`,
    );
    lines.push('');
  }
  lines.push('### Targets');
  lines.push('');
  lines.push('| target | value | limit | result |');
  lines.push('|---|---|---|---|');
  for (const t of results.targets) lines.push(`| ${t.name} | ${fmt(t.value, 3)} | ${t.limit} | ${t.pass ? 'PASS' : 'FAIL'} |`);
  if (results.flaggedPaths.length) {
    lines.push('');
    lines.push(`**Flagged paths (errors or wrong answers, numbers not comparable): ${results.flaggedPaths.join(', ')}**`);
  }
  if (results.translation) lines.push('', translationMarkdown(results.translation));
  if (results.routing) lines.push('', routingMarkdown(results.routing));
  return lines.join('\n');
}

/** The profile's load for a stream path: the translation section's concurrent streams for SETTINGS.profileS, counted as saturate() counts. */
async function streamSaturate(path) {
  const run = await streamLoop({
    origin: path.url,
    spec: { path: path.route, headers: path.headers, body: path.body, protocol: path.protocol },
    concurrency: TRANSLATION.streamCpu.concurrency,
    durationMs: SETTINGS.profileS * 1000,
    expectedChunks: SETTINGS.chunks,
  });
  return { ok: run.ok, non2xx: run.failed, errors: run.failed, durationS: run.wallMs / 1000, rps: (run.streams * 1000) / run.wallMs };
}

async function profileRun() {
  const dir = tempDir('cerulean-profile-');
  const key = `cer-bench-${randomBytes(12).toString('hex')}`;
  const profDir = join(dir, 'prof');
  mkdirSync(profDir);
  const upstream = await startUpstream(dir);
  let cerulean;
  try {
    cerulean = await startCerulean(dir, upstream.url, key, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
    const stream = flags['profile-stream'];
    const path = translationPaths({ upstream, cerulean, key, chatBody, stream }).find((p) => p.name === flags['profile-api'] && p.name !== 'direct');
    if (!path) throw new Error(`--profile-api: one of chat, responses, responses-nostore, messages (not ${flags['profile-api']})`);
    // The probe reads a JSON answer; a stream path is checked by the load itself (every stream must end whole).
    const problem = stream ? null : await probe(path);
    if (problem) throw new Error(`Cerulean probe failed: ${problem}`);
    log(
      stream
        ? `profile: Cerulean under ${TRANSLATION.streamCpu.concurrency} concurrent streams (${path.route}), ${SETTINGS.profileS} s`
        : `profile: Cerulean under autocannon (${path.route}), ${SETTINGS.connections} connections, ${SETTINGS.profileS} s`,
    );
    const before = procStats(cerulean.pid);
    const watch = backgroundLoad([cerulean, upstream]);
    const sat = stream
      ? await streamSaturate(path)
      : await saturate({
          url: `${path.url}${path.route}`,
          headers: path.headers,
          body: path.body,
          connections: SETTINGS.connections,
          durationS: SETTINGS.profileS,
        });
    const after = procStats(cerulean.pid);
    const background = watch.stop().foreignCores;
    const cpu =
      before && after
        ? { userMs: round(after.userMs - before.userMs, 0), sysMs: round(after.sysMs - before.sysMs, 0), wallMs: Math.round(sat.durationS * 1000) }
        : null;
    const exit = await cerulean.stop('SIGTERM', 20_000);
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
    if (!files.length) throw new Error(`no .cpuprofile written (Cerulean exit ${JSON.stringify(exit)})`);
    mkdirSync(RESULTS, { recursive: true });
    // The chat profile keeps its historical names; another API's profile is named after it.
    const suffix = (path.name === 'chat' ? '' : `-${path.name}`) + (stream ? '-stream' : '');
    const target = join(RESULTS, `cerulean${suffix}.cpuprofile`);
    copyFileSync(join(profDir, files[0]), target);
    const summary = {
      api: path.name,
      route: path.route,
      rps: round(sat.rps, 1),
      non2xx: sat.non2xx,
      errors: sat.errors,
      procCpu: cpu,
      backgroundCores: background,
      requests: sat.ok + sat.non2xx,
      profile: `bench/results/cerulean${suffix}.cpuprofile`,
      ...summarizeProfile(target),
    };
    writeFileSync(join(RESULTS, `profile${suffix}.json`), `${JSON.stringify(summary, null, 2)}\n`);
    const out = [
      `### Cerulean CPU profile at saturation, ${path.route} (${summary.rps} req/s under the profiler; busy ${summary.busyMs} ms, idle ${summary.idleMs} ms)`,
      '',
    ];
    if (cpu)
      out.push(
        `Process CPU during the load (from /proc): user ${cpu.userMs} ms, kernel ${cpu.sysMs} ms over ${cpu.wallMs} ms (${round(((cpu.userMs + cpu.sysMs) * 1000) / (sat.ok + sat.non2xx), 1)} µs per request); other processes used ${background} cores meanwhile. The V8 profile samples wall time, so a syscall's self time also holds any time the process was descheduled inside it.`,
        '',
      );
    out.push('| self time by origin | ms | % of busy |', '|---|---|---|');
    for (const o of summary.byOrigin.slice(0, 15)) out.push(`| ${o.name} | ${o.ms} | ${o.pctOfBusy} |`);
    out.push('', '| top self-time functions | ms | % of busy |', '|---|---|---|');
    for (const f of summary.topFunctions) out.push(`| \`${f.name}\` | ${f.ms} | ${f.pctOfBusy} |`);
    process.stdout.write(`\n${out.join('\n')}\n`);
    return summary;
  } finally {
    await cerulean?.stop('SIGKILL');
    await upstream.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchmark() {
  const startedAt = Date.now();
  const dir = tempDir('cerulean-bench-');
  const key = `cer-bench-${randomBytes(12).toString('hex')}`;
  const servers = [];
  const results = { meta: meta(), paths: {}, notes: [] };
  try {
    const waitUntil = Date.now() + WAIT_QUIET_S * 1000;
    for (let announced = false; ;) {
      const idle = backgroundLoad([]);
      await sleep(1000);
      results.meta.backgroundBeforeStartCores = idle.stop().foreignCores;
      if (!(results.meta.backgroundBeforeStartCores > 0.2) || Date.now() >= waitUntil) break;
      if (!announced) log(`other processes are using ${results.meta.backgroundBeforeStartCores} cores; waiting up to ${WAIT_QUIET_S} s for a quiet machine`);
      announced = true;
    }
    if (results.meta.backgroundBeforeStartCores > 0.2) {
      log(`WARNING: the machine is already busy (${results.meta.backgroundBeforeStartCores} cores used by other processes); results will be noisy`);
    }
    log(`temp dir ${dir}`);
    const upstream = await startUpstream(dir);
    servers.push(upstream);
    const bare = await startNode({
      name: 'bare-proxy',
      args: [join(ROOT, 'bench', 'bare-proxy.mjs'), '--upstream', upstream.url, '--port', '0'],
      logFile: join(dir, 'bare-proxy.log'),
      readyPattern: /bare proxy listening on (http:\/\/\S+)/,
    });
    servers.push(bare);
    // The routing section's failing upstream and deployments are configured from the start: the other
    // sections never name them, and the one-target deployment they measure is the same either way.
    let failing = null;
    if (!flags['skip-routing']) {
      failing = await startUpstream(dir, { name: 'failing', failStatus: 503 });
      servers.push(failing);
    }
    const cerulean = await startCerulean(dir, upstream.url, key, [], failing ? routingConfig({ upstreamUrl: upstream.url, failingUrl: failing.url }) : null);
    servers.push(cerulean);
    let portkey = null;
    if (flags['skip-portkey']) results.notes.push('Portkey path skipped (--skip-portkey).');
    else if (!existsSync(PORTKEY_BIN)) results.notes.push(`Portkey not installed (${PORTKEY_BIN} missing); path skipped.`);
    else {
      const port = await freePort();
      portkey = await startNode({ name: 'portkey', args: [PORTKEY_BIN, `--port=${port}`, '--headless'], logFile: join(dir, 'portkey.log'), port });
      servers.push(portkey);
    }
    const startRss = Object.fromEntries(servers.map((p) => [p.name, procStats(p.pid)?.rssKb ?? null]));
    log(`servers up: ${servers.map((p) => `${p.name}=${p.url}`).join(' ')}`);

    const json = { 'content-type': 'application/json' };
    const paths = [
      { name: 'direct', url: upstream.url, model: 'fixture-model', headers: json, processes: [upstream] },
      { name: 'bare', url: bare.url, model: 'fixture-model', headers: json, processes: [bare, upstream] },
      { name: 'cerulean', url: cerulean.url, model: 'chat', headers: { ...json, authorization: `Bearer ${key}` }, processes: [cerulean, upstream] },
    ];
    if (portkey) {
      paths.push({
        name: 'portkey',
        url: portkey.url,
        model: 'fixture-model',
        headers: { ...json, authorization: 'Bearer sk-bench-unused', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${upstream.url}/v1` },
        processes: [portkey, upstream],
      });
    }
    for (const path of paths) path.body = chatBody(path.model);

    const rss = sampleRss(servers);
    const wholeRun = backgroundLoad(servers);
    for (const path of paths) {
      const problem = await probe(path);
      results.paths[path.name] = { url: path.url, flags: problem ? [`probe failed: ${problem}`] : [] };
      if (problem) log(`${path.name}: PROBE FAILED, path skipped: ${problem}`);
    }
    const usable = paths.filter((path) => results.paths[path.name].flags.length === 0);

    log(
      `steady ${SETTINGS.rate} req/s open loop: warm-up ${SETTINGS.warmupMs} ms per path, then ${SETTINGS.rounds} interleaved rounds of ${SETTINGS.steadyMs / SETTINGS.rounds} ms`,
    );
    const steadyResults = await steadyAll(usable, servers);
    for (const path of usable) {
      const result = steadyResults[path.name];
      results.paths[path.name].steady = result;
      if (result.failed > 0)
        results.paths[path.name].flags.push(
          `steady: ${result.failed} of ${result.sent} requests failed (${JSON.stringify({ ...result.statuses, ...result.errors })})`,
        );
      if (result.warmupFailed > 0) results.paths[path.name].flags.push(`steady warm-up: ${result.warmupFailed} requests failed`);
    }
    log(`saturation: ${SETTINGS.connections} connections, ${SETTINGS.rounds} interleaved rounds of ${SETTINGS.saturationS / SETTINGS.rounds} s per path`);
    const saturationResults = await saturationAll(usable, servers, upstream.url);
    for (const path of usable) {
      const result = saturationResults[path.name];
      results.paths[path.name].saturation = result;
      const answered = result.ok + result.non2xx;
      if (result.upstreamRequests !== null && Math.abs(result.upstreamRequests - answered) > SETTINGS.connections * result.rounds) {
        results.paths[path.name].flags.push(`saturation: client counted ${answered} responses but the upstream answered ${result.upstreamRequests} requests`);
      }
      if (result.non2xx || result.errors || result.timeouts) {
        results.paths[path.name].flags.push(
          `saturation: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts (${JSON.stringify(result.statusCodes)})`,
        );
      }
    }
    if (results.paths.cerulean.flags.length === 0) {
      log(`streaming: ${SETTINGS.streams} streams each, direct vs Cerulean`);
      const watch = backgroundLoad(servers);
      results.streaming = await streaming(paths[0], paths[2]);
      results.streaming.backgroundCores = watch.stop().foreignCores;
      const { direct, cerulean: c } = results.streaming;
      if (c.problems) results.paths.cerulean.flags.push(`streaming: ${c.problems} problem streams (${c.firstProblems.join(' | ')})`);
      if (direct.problems) results.paths.direct.flags.push(`streaming: ${direct.problems} problem streams (${direct.firstProblems.join(' | ')})`);
    }
    if (flags['skip-translation']) results.notes.push('Translation section skipped (--skip-translation).');
    else if (results.paths.cerulean.flags.length === 0) {
      results.translation = await translation(upstream, cerulean, key, servers);
      if (results.translation.maxBackgroundCores > NOISY_CORES)
        results.notes.push(
          `Translation section: other processes used up to ${results.translation.maxBackgroundCores} cores during a measured phase; its latencies are noisy (CPU per request, counted per process, less so).`,
        );
    }
    if (!failing) results.notes.push('Routing section skipped (--skip-routing).');
    else if (results.paths.cerulean.flags.length === 0) {
      results.routing = await routing(upstream, failing, cerulean, key, servers);
      if (results.routing.maxBackgroundCores > NOISY_CORES)
        results.notes.push(
          `Routing section: other processes used up to ${results.routing.maxBackgroundCores} cores during a measured phase; its latencies are noisy (CPU per request, counted per process, less so).`,
        );
    }
    results.meta.backgroundDuringRunCores = wholeRun.stop().foreignCores;
    const peak = rss.stop();
    const hwm = Object.fromEntries(servers.map((p) => [p.name, procStats(p.pid)?.hwmKb ?? null]));
    const mib = (kb) => (kb == null ? null : round(kb / 1024, 1));
    results.memory = Object.fromEntries(
      servers.map((p) => [p.name, { startMiB: mib(startRss[p.name]), peakSampledMiB: mib(peak[p.name]), hwmMiB: mib(hwm[p.name]) }]),
    );

    for (const server of servers.splice(0).reverse()) await server.stop();
    const ceruleanLog = readFileSync(cerulean.logFile, 'utf8');
    const accessLines = ceruleanLog.split('\n').filter((line) => line.includes('"msg":"request"')).length;
    results.ceruleanLog = {
      destination: 'file in the temp dir (stdout and stderr)',
      level: 'info (default)',
      bytes: statSync(cerulean.logFile).size,
      accessLines,
    };
    const warnings = ceruleanLog.split('\n').filter((line) => /"level":(40|50|60)/.test(line));
    if (warnings.length) results.notes.push(`Cerulean logged ${warnings.length} warn/error lines, first: ${warnings[0].slice(0, 300)}`);
    evaluate(results);
    results.meta.wallS = Math.round((Date.now() - startedAt) / 1000);
    return results;
  } finally {
    for (const server of servers.reverse()) await server.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  mkdirSync(RESULTS, { recursive: true });
  let exitCode = 0;
  if (!flags['profile-only']) {
    const results = await benchmark();
    const table = markdown(results);
    results.markdown = table;
    writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`\n${table}\n`);
    for (const note of results.notes) process.stdout.write(`\nnote: ${note}\n`);
    process.stdout.write(`\nResults written to bench/results/latest.json (${results.meta.wallS} s)\n`);
    if (results.flaggedPaths.includes('cerulean') || results.translation?.flaggedPaths.length || results.routing?.flaggedPaths.length) exitCode = 1;
  }
  if (flags.profile || flags['profile-only']) await profileRun();
  process.exitCode = exitCode;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
