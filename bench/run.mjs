#!/usr/bin/env node
// Cerulean benchmark: direct upstream vs a bare Node proxy vs Cerulean vs Portkey, side by side,
// on loopback. Run with `npm run bench` (builds first). See docs/benchmarks.md.
//
//   node bench/run.mjs [--quick] [--profile] [--profile-only] [--skip-portkey]
//
//   --quick         short phases (smoke test of the harness, numbers not meaningful)
//   --profile       after the benchmark, run Cerulean under `node --cpu-prof` at saturation and
//                   summarise self time (bench/results/cerulean.cpuprofile, profile.json)
//   --profile-only  only the profile run
//   --skip-portkey  leave the Portkey path out
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request, Pool } from 'undici';
import { summarizeProfile } from './lib/cpuprofile.mjs';
import { oneStream, openLoop, saturate } from './lib/load.mjs';
import { freePort, procStats, sampleRss, startNode } from './lib/processes.mjs';
import { round, summarize } from './lib/stats.mjs';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'profile-only': { type: 'boolean', default: false },
    'skip-portkey': { type: 'boolean', default: false },
  },
});

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const PORTKEY_BIN = join(ROOT, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
const EXPECTED_CONTENT = 'Hello! How can I help you today?';

const SETTINGS = flags.quick
  ? { rate: 200, warmupMs: 500, steadyMs: 2_000, saturationS: 2, connections: 50, streams: 30, streamWarmup: 5, chunks: 20, chunkDelayMs: 2, profileS: 3 }
  : { rate: 200, warmupMs: 2_000, steadyMs: 10_000, saturationS: 10, connections: 50, streams: 200, streamWarmup: 20, chunks: 20, chunkDelayMs: 2, profileS: 10 };

const TARGETS = { addedP50Ms: 0.75, addedP99Ms: 3, vsBare: 0.7, vsPortkey: 10 };

// Whole-run watchdog: the run is bounded whatever happens to the servers.
const watchdog = setTimeout(() => {
  console.error('bench: watchdog fired after 8 minutes; giving up');
  process.exit(2);
}, 8 * 60_000);
watchdog.unref();

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
  let commit = null;
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
  };
}

async function startUpstream(dir) {
  return startNode({
    name: 'upstream',
    args: [join(ROOT, 'bench', 'upstream.mjs'), '--port', '0', '--chunks', String(SETTINGS.chunks), '--chunk-delay-ms', String(SETTINGS.chunkDelayMs)],
    logFile: join(dir, 'upstream.log'),
    readyPattern: /upstream listening on (http:\/\/\S+)/,
  });
}

/** Cerulean from the built CLI, default (info) log level, stdout+stderr to a file in the temp dir. */
async function startCerulean(dir, upstreamUrl, key, nodeArgs = []) {
  const dataDir = join(dir, 'data');
  const configFile = join(dir, 'cerulean.yaml');
  writeFileSync(
    configFile,
    [
      'server:',
      '  host: 127.0.0.1',
      '  port: 0',
      `data_dir: ${JSON.stringify(dataDir)}`,
      'providers:',
      '  fixture:',
      '    type: openai-compatible',
      `    base_url: ${JSON.stringify(`${upstreamUrl}/v1`)}`,
      'deployments:',
      '  chat: { provider: fixture, model: fixture-model }',
      '',
    ].join('\n'),
  );
  return startNode({
    name: 'cerulean',
    args: [...nodeArgs, join(ROOT, 'bin', 'cerulean.js'), 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0'],
    env: { CERULEAN_MASTER_KEY: key },
    logFile: join(dir, 'cerulean.log'),
    readyPattern: /Cerulean listening on (http:\/\/\S+)/,
  });
}

/** One request through a path: must be 200 with the fixture's content, else the path is flagged. */
async function probe(path) {
  try {
    const response = await request(`${path.url}/v1/chat/completions`, { method: 'POST', headers: path.headers, body: path.body, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await response.body.text();
    if (response.statusCode !== 200) return `status ${response.statusCode}: ${text.slice(0, 300)}`;
    const content = JSON.parse(text).choices?.[0]?.message?.content;
    return content === EXPECTED_CONTENT ? null : `unexpected body: ${text.slice(0, 300)}`;
  } catch (error) {
    return `request failed: ${error.message}`;
  }
}

function okCount(statuses) {
  return Object.entries(statuses).reduce((sum, [code, n]) => (code >= 200 && code < 300 ? sum + n : sum), 0);
}

async function steady(path) {
  const common = { origin: path.url, path: '/v1/chat/completions', headers: path.headers, body: path.body, rate: SETTINGS.rate };
  const warm = await openLoop({ ...common, durationMs: SETTINGS.warmupMs });
  const run = await openLoop({ ...common, durationMs: SETTINGS.steadyMs });
  const ok = okCount(run.statuses);
  const failed = run.total - ok;
  return {
    rate: SETTINGS.rate,
    durationMs: SETTINGS.steadyMs,
    sent: run.total,
    ok,
    failed,
    statuses: run.statuses,
    errors: run.errors,
    warmupFailed: warm.total - okCount(warm.statuses),
    outcome: run.result,
    latencyMs: summarize(run.latencyUs),
    serviceMs: summarize(run.serviceUs),
    sendLagMs: summarize(run.lagUs),
  };
}

async function saturation(path, processes) {
  const before = processes.map((p) => procStats(p.pid));
  const result = await saturate({ url: `${path.url}/v1/chat/completions`, headers: path.headers, body: path.body, connections: SETTINGS.connections, durationS: SETTINGS.saturationS });
  const after = processes.map((p) => procStats(p.pid));
  const requests = result.ok + result.non2xx;
  const cpuUsPerRequest = Object.fromEntries(
    processes.map((p, i) => [p.name, before[i] && after[i] && requests ? round(((after[i].cpuMs - before[i].cpuMs) * 1000) / requests, 1) : null]),
  );
  return { ...result, rps: round(result.rps, 1), cpuUsPerRequest };
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

function evaluate(results) {
  const s = results.paths;
  const diff = (a, b, key) => (a?.steady?.latencyMs?.[key] == null || b?.steady?.latencyMs?.[key] == null ? null : round(a.steady.latencyMs[key] - b.steady.latencyMs[key]));
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
  const flagged = Object.entries(s).filter(([, p]) => p.flags.length > 0).map(([name]) => name);
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
  if (s.cerulean?.flags.length) for (const target of results.targets) target.pass = false;
}

function markdown(results) {
  const lines = [];
  const s = results.paths;
  const names = Object.keys(s);
  lines.push(`Node ${results.meta.node}, ${results.meta.cpus} CPUs (${results.meta.cpuModel}), ${results.meta.date}${results.meta.commit ? `, commit ${results.meta.commit}` : ''}`);
  lines.push('');
  lines.push(`### Steady load: ${SETTINGS.rate} req/s open loop, ${SETTINGS.steadyMs / 1000} s per path (latency from scheduled send, ms)`);
  lines.push('');
  lines.push('| path | ok / sent | p50 | p90 | p99 | max | send lag p99 | flags |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const name of names) {
    const p = s[name];
    const l = p.steady?.latencyMs;
    lines.push(`| ${name} | ${p.steady ? `${p.steady.ok} / ${p.steady.sent}` : '-'} | ${fmt(l?.p50)} | ${fmt(l?.p90)} | ${fmt(l?.p99)} | ${fmt(l?.max)} | ${fmt(p.steady?.sendLagMs?.p99)} | ${p.flags.join('; ') || ''} |`);
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
  lines.push(`### Saturation: closed loop, autocannon, ${SETTINGS.connections} connections, ${SETTINGS.saturationS} s per path`);
  lines.push('');
  lines.push('| path | req/s (2xx) | 2xx | non-2xx | errors | timeouts | latency p50 / p99 (ms) | CPU µs per request (gateway / upstream) |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const name of names) {
    const sat = s[name].saturation;
    if (!sat) {
      lines.push(`| ${name} | - | | | | | | |`);
      continue;
    }
    const cpu = sat.cpuUsPerRequest;
    const gateway = name === 'direct' ? '-' : fmt(cpu[name === 'bare' ? 'bare-proxy' : name], 0);
    lines.push(`| ${name} | ${fmt(sat.rps, 0)} | ${sat.ok} | ${sat.non2xx} | ${sat.errors} | ${sat.timeouts} | ${sat.latencyMs.p50} / ${sat.latencyMs.p99} | ${gateway} / ${fmt(cpu.upstream, 0)} |`);
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
    lines.push(`### Streaming: ${st.chunks} content chunks ${st.chunkDelayMs} ms apart, sequential streams, direct vs Cerulean (ms)`);
    lines.push('');
    lines.push('| path | streams ok | problems | TTFT p50 | TTFT p99 | mean inter-chunk gap | total p50 | total p99 |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const name of ['direct', 'cerulean']) {
      const v = st[name];
      lines.push(`| ${name} | ${v.streams} | ${v.problems} | ${fmt(v.ttftMs.p50)} | ${fmt(v.ttftMs.p99)} | ${fmt(v.meanInterChunkMs.mean)} | ${fmt(v.totalMs.p50)} | ${fmt(v.totalMs.p99)} |`);
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
  return lines.join('\n');
}

async function profileRun() {
  const dir = mkdtempSync(join(tmpdir(), 'cerulean-profile-'));
  const key = `cer-bench-${randomBytes(12).toString('hex')}`;
  const profDir = join(dir, 'prof');
  mkdirSync(profDir);
  const upstream = await startUpstream(dir);
  let cerulean;
  try {
    cerulean = await startCerulean(dir, upstream.url, key, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
    const path = { url: cerulean.url, headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: chatBody('chat') };
    const problem = await probe(path);
    if (problem) throw new Error(`Cerulean probe failed: ${problem}`);
    log(`profile: Cerulean under autocannon, ${SETTINGS.connections} connections, ${SETTINGS.profileS} s`);
    const sat = await saturate({ url: `${path.url}/v1/chat/completions`, headers: path.headers, body: path.body, connections: SETTINGS.connections, durationS: SETTINGS.profileS });
    const exit = await cerulean.stop('SIGTERM', 20_000);
    const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
    if (!files.length) throw new Error(`no .cpuprofile written (Cerulean exit ${JSON.stringify(exit)})`);
    mkdirSync(RESULTS, { recursive: true });
    const target = join(RESULTS, 'cerulean.cpuprofile');
    copyFileSync(join(profDir, files[0]), target);
    const summary = { rps: round(sat.rps, 1), non2xx: sat.non2xx, errors: sat.errors, profile: 'bench/results/cerulean.cpuprofile', ...summarizeProfile(target) };
    writeFileSync(join(RESULTS, 'profile.json'), `${JSON.stringify(summary, null, 2)}\n`);
    const out = [`### Cerulean CPU profile at saturation (${summary.rps} req/s under the profiler; busy ${summary.busyMs} ms, idle ${summary.idleMs} ms)`, ''];
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
  const dir = mkdtempSync(join(tmpdir(), 'cerulean-bench-'));
  const key = `cer-bench-${randomBytes(12).toString('hex')}`;
  const servers = [];
  const results = { meta: meta(), paths: {}, notes: [] };
  try {
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
    const cerulean = await startCerulean(dir, upstream.url, key);
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
    for (const path of paths) {
      const problem = await probe(path);
      results.paths[path.name] = { url: path.url, flags: problem ? [`probe failed: ${problem}`] : [] };
      if (problem) log(`${path.name}: PROBE FAILED, path skipped: ${problem}`);
    }
    const usable = paths.filter((path) => results.paths[path.name].flags.length === 0);

    for (const path of usable) {
      log(`steady ${SETTINGS.rate} req/s: ${path.name} (warm-up ${SETTINGS.warmupMs} ms, then ${SETTINGS.steadyMs} ms)`);
      const result = await steady(path);
      results.paths[path.name].steady = result;
      if (result.failed > 0) results.paths[path.name].flags.push(`steady: ${result.failed} of ${result.sent} requests failed (${JSON.stringify({ ...result.statuses, ...result.errors })})`);
      log(`  p50 ${fmt(result.latencyMs.p50)} p99 ${fmt(result.latencyMs.p99)} ms, ok ${result.ok}/${result.sent}`);
      await sleep(300);
    }
    for (const path of usable) {
      log(`saturation: ${path.name} (${SETTINGS.connections} connections, ${SETTINGS.saturationS} s)`);
      const result = await saturation(path, path.processes);
      results.paths[path.name].saturation = result;
      if (result.non2xx || result.errors || result.timeouts) {
        results.paths[path.name].flags.push(`saturation: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts (${JSON.stringify(result.statusCodes)})`);
      }
      log(`  ${fmt(result.rps, 0)} req/s, non-2xx ${result.non2xx}, errors ${result.errors}`);
      await sleep(300);
    }
    if (results.paths.cerulean.flags.length === 0) {
      log(`streaming: ${SETTINGS.streams} streams each, direct vs Cerulean`);
      results.streaming = await streaming(paths[0], paths[2]);
      const { direct, cerulean: c } = results.streaming;
      if (c.problems) results.paths.cerulean.flags.push(`streaming: ${c.problems} problem streams (${c.firstProblems.join(' | ')})`);
      if (direct.problems) results.paths.direct.flags.push(`streaming: ${direct.problems} problem streams (${direct.firstProblems.join(' | ')})`);
    }
    const peak = rss.stop();
    const hwm = Object.fromEntries(servers.map((p) => [p.name, procStats(p.pid)?.hwmKb ?? null]));
    const mib = (kb) => (kb == null ? null : round(kb / 1024, 1));
    results.memory = Object.fromEntries(servers.map((p) => [p.name, { startMiB: mib(startRss[p.name]), peakSampledMiB: mib(peak[p.name]), hwmMiB: mib(hwm[p.name]) }]));

    for (const server of servers.splice(0).reverse()) await server.stop();
    const ceruleanLog = readFileSync(cerulean.logFile, 'utf8');
    const accessLines = ceruleanLog.split('\n').filter((line) => line.includes('"msg":"request"')).length;
    results.ceruleanLog = { destination: 'file in the temp dir (stdout and stderr)', level: 'info (default)', bytes: statSync(cerulean.logFile).size, accessLines };
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
    if (results.flaggedPaths.includes('cerulean')) exitCode = 1;
  }
  if (flags.profile || flags['profile-only']) await profileRun();
  process.exitCode = exitCode;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
