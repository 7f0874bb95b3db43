#!/usr/bin/env node
// Governance benchmark: the core benchmark again (bench/run.mjs: steady 200 req/s open loop, then
// autocannon saturation) with a managed key, a real TPM quota, prices and a budget, so
// authentication by key, quota admission, budget admission and usage metering all run on every
// request, on SQLite and on PostgreSQL + Redis. Direct upstream and the bare pass-through proxy are
// measured in the same run for the added latency and the throughput ratio. Afterwards Cerulean is
// stopped with SIGTERM (it commits what it holds) and the usage records in storage are counted
// against what the upstream answered through Cerulean. See docs/benchmarks-governance-safety.md.
//
//   npm run build && node bench/governance.mjs [--quick] [--modes sqlite,postgres] [--profile]
//                                               [--warmup-ms=N] [--wait-quiet=S] [--pg-url URL] [--redis-url URL]
//
//   --quick        short phases (smoke test of the harness; numbers not meaningful)
//   --warmup-ms=N  steady warm-up per path before the measured rounds (default 10000, as bench/run.mjs)
//   --usage-flush-ms=N  usage.flush_interval_ms for Cerulean (default: Cerulean's, 1000); an
//                  experiment knob to see what the once-a-second ledger commit does to the tail
//   --profile      run Cerulean under `node --cpu-prof` (profiles in bench/results/governance-*.cpuprofile)
//   --wait-quiet=S wait at most S s (default 300) for other benchmarks / test runs to end first
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { writeCeruleanConfig } from './lib/config.mjs';
import { summarizeProfile } from './lib/cpuprofile.mjs';
import { openLoop, saturate } from './lib/load.mjs';
import { backgroundLoad, procStats, startNode } from './lib/processes.mjs';
import { mergeCounts, selectRounds } from './lib/rounds.mjs';
import { round, summarize } from './lib/stats.mjs';
import { admin, fmt, installWatchdog, log as baseLog, machine, okCount, ROOT, tempDir, waitForQuiet } from './governance-safety-common.mjs';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    modes: { type: 'string', default: 'sqlite,postgres' },
    'wait-quiet': { type: 'string', default: '300' },
    'warmup-ms': { type: 'string' },
    'usage-flush-ms': { type: 'string' },
    'pg-url': { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    'redis-url': { type: 'string', default: 'redis://127.0.0.1:6379' },
  },
});
const TAG = 'governance';
const log = (message) => baseLog(TAG, message);
const RESULTS = join(ROOT, 'bench', 'results');
const EXPECTED_CONTENT = 'Hello! How can I help you today?';
const SETTINGS = flags.quick
  ? { rate: 200, warmupMs: 500, roundMs: 500, rounds: 2, saturationRoundS: 2, saturationRounds: 1, connections: 50 }
  : { rate: 200, warmupMs: 10_000, roundMs: 1_000, rounds: 10, saturationRoundS: 1, saturationRounds: 10, connections: 50 };
if (flags['warmup-ms'] !== undefined) SETTINGS.warmupMs = Math.max(0, Math.min(30_000, Number(flags['warmup-ms']) || 0));
/** A round during which other processes used more than this many cores is left out (as bench/run.mjs does). */
const TARGETS = { addedP50Ms: 0.75, addedP99Ms: 3, vsBare: 0.7 };
const QUOTA_TPM = 100_000_000;
const WAIT_QUIET_S = Math.max(0, Math.min(900, Number(flags['wait-quiet']) || 0));
installWatchdog(TAG, WAIT_QUIET_S + 7 * 60);

const body = JSON.stringify({
  model: 'chat',
  messages: [
    { role: 'system', content: 'You are a terse assistant.' },
    { role: 'user', content: 'Say hello.' },
  ],
  max_tokens: 32,
  temperature: 0,
});
const directBody = body.replace('"model":"chat"', '"model":"fixture-model"');

/** Chat requests the upstream has answered (its GET /stats), or null when it cannot say. */
async function upstreamCount(upstreamUrl) {
  try {
    const response = await request(`${upstreamUrl}/stats`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return null;
    }
    const n = (await response.body.json()).chat_requests;
    return Number.isInteger(n) ? n : null;
  } catch {
    return null;
  }
}

/** Records journaled in the spool and not yet committed (the ledger deletes a segment once committed). */
function spoolLines(spoolDir) {
  let lines = 0;
  let bytes = 0;
  let files = 0;
  try {
    for (const name of readdirSync(spoolDir)) {
      if (!name.endsWith('.jsonl')) continue;
      try {
        const data = readFileSync(join(spoolDir, name));
        files++;
        bytes += data.length;
        for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) lines++;
      } catch {
        // deleted between readdir and read: committed
      }
    }
  } catch {
    return null;
  }
  return { lines, bytes, files };
}

async function startCerulean(dir, mode, upstreamUrl, masterKey) {
  const dataDir = join(dir, `data-${mode.name}`);
  const configFile = join(dir, `cerulean-${mode.name}.yaml`);
  writeCeruleanConfig(configFile, {
    dataDir,
    storageUrl: mode.storageUrl,
    redisUrl: mode.redisUrl,
    providers: { fixture: upstreamUrl },
    deployments: { chat: 'fixture' },
    extra: [
      ...(flags['usage-flush-ms'] ? [`usage: { flush_interval_ms: ${Math.max(1, Number(flags['usage-flush-ms']) || 1000)} }`] : []),
      // Governance isolated: the content filter has its own benchmark (bench/safety.mjs).
      'content_safety:',
      '  deployments: { chat: none }',
    ],
  });
  const nodeArgs = [];
  let profDir = null;
  if (flags.profile) {
    profDir = join(dir, `prof-${mode.name}`);
    mkdirSync(profDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
  }
  const server = await startNode({
    name: 'cerulean',
    args: [...nodeArgs, join(ROOT, 'bin', 'cerulean.js'), 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0'],
    env: { CERULEAN_MASTER_KEY: masterKey },
    logFile: join(dir, `cerulean-${mode.name}.log`),
    readyPattern: /Cerulean listening on (http:\/\/\S+)/,
  });
  return { server, dataDir, spoolDir: join(dataDir, 'spool'), profDir };
}

/** Organization, project, managed key, quota, prices and budget through the admin API. */
async function provision(url, masterKey, suffix) {
  const org = `bench-org-${suffix}`;
  const project = `bench-proj-${suffix}`;
  await admin(url, masterKey, 'POST', '/organizations', { name: 'Bench org', id: org });
  await admin(url, masterKey, 'POST', '/projects', { organization: org, name: 'Bench project', id: project });
  const { key } = await admin(url, masterKey, 'POST', `/projects/${project}/keys`, {});
  await admin(url, masterKey, 'PUT', `/projects/${project}/quotas/chat`, { tpm: QUOTA_TPM });
  await admin(url, masterKey, 'PATCH', '/deployments/chat', { input_per_million: 1, output_per_million: 2 });
  await admin(url, masterKey, 'PUT', `/budgets/project/${project}`, { monthly_usd: 1_000_000 });
  return { org, project, key };
}

/** One request; returns the problem or null, and the rate-limit headers (proof the quota path ran). */
async function probe(url, headers, payload) {
  try {
    const response = await request(`${url}/v1/chat/completions`, { method: 'POST', headers, body: payload, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await response.body.text();
    const rate = { limitTokens: response.headers['x-ratelimit-limit-tokens'] ?? null, limitRequests: response.headers['x-ratelimit-limit-requests'] ?? null };
    if (response.statusCode !== 200) return { problem: `status ${response.statusCode}: ${text.slice(0, 300)}`, rate };
    const content = JSON.parse(text).choices?.[0]?.message?.content;
    return { problem: content === EXPECTED_CONTENT ? null : `unexpected body: ${text.slice(0, 300)}`, rate };
  } catch (error) {
    return { problem: `request failed: ${error.message}`, rate: null };
  }
}

/**
 * The PostgreSQL and Redis server processes (looked up afresh each round: PostgreSQL forks a
 * backend per connection). In the PostgreSQL + Redis mode their CPU is work Cerulean causes, so it
 * is counted with the servers under test, not as background load, and reported per request.
 */
function storeProcesses(mode) {
  if (!mode.redisUrl) return [];
  const list = [];
  for (const name of ['postgres', 'redis-server']) {
    try {
      for (const pid of execFileSync('pgrep', ['-x', name], { encoding: 'utf8' }).trim().split('\n').filter(Boolean)) list.push({ name, pid: Number(pid) });
    } catch {
      // none running
    }
  }
  return list;
}
const cpuOf = (procs) => procs.reduce((t, p) => t + (procStats(p.pid)?.cpuMs ?? 0), 0);
/** CPU ms of the store processes, per server: { postgres, 'redis-server' }. */
const cpuByStore = (procs) => ({
  postgres: cpuOf(procs.filter((p) => p.name === 'postgres')),
  'redis-server': cpuOf(procs.filter((p) => p.name === 'redis-server')),
});

/** Steady open-loop load, interleaved rounds over the paths (as bench/run.mjs does). */
async function steady(paths, counter, mode) {
  const rounds = Object.fromEntries(paths.map((p) => [p.name, []]));
  for (const path of paths) {
    const before = path.counted ? await counter.count() : 0;
    const warm = await openLoop({
      origin: path.url,
      path: '/v1/chat/completions',
      headers: path.headers,
      body: path.body,
      rate: SETTINGS.rate,
      durationMs: SETTINGS.warmupMs,
    });
    if (path.counted) {
      counter.client(warm.statuses, warm.errors);
      await counter.add(before);
    }
  }
  for (let r = 0; r < SETTINGS.rounds; r++) {
    for (const path of r % 2 === 0 ? paths : [...paths].reverse()) {
      const before = path.counted ? await counter.count() : 0;
      const watch = backgroundLoad([...path.all, ...storeProcesses(mode)]);
      const run = await openLoop({
        origin: path.url,
        path: '/v1/chat/completions',
        headers: path.headers,
        body: path.body,
        rate: SETTINGS.rate,
        durationMs: SETTINGS.roundMs,
      });
      run.background = watch.stop().foreignCores;
      if (path.counted) {
        counter.client(run.statuses, run.errors);
        await counter.add(before);
      }
      rounds[path.name].push(run);
      const l = summarize(run.latencyUs);
      log(`  steady round ${r + 1}/${SETTINGS.rounds} ${path.name}: p50 ${fmt(l.p50)} p99 ${fmt(l.p99)} ms, background ${fmt(run.background, 2)} cores`);
      await sleep(100);
    }
  }
  const { quietOnly, pick } = selectRounds(rounds, (r) => r.background);
  const out = {};
  for (const path of paths) {
    const all = rounds[path.name];
    const used = pick(path.name);
    const { statuses, errors } = mergeCounts(all);
    out[path.name] = {
      sent: all.reduce((t, r) => t + r.total, 0),
      ok: okCount(statuses),
      statuses,
      errors,
      rounds: all.length,
      roundsUsed: used.length,
      quietRoundsOnly: quietOnly,
      latencyMs: summarize(used.flatMap((r) => Array.from(r.latencyUs))),
      serviceMs: summarize(used.flatMap((r) => Array.from(r.serviceUs))),
      sendLagP99Ms: summarize(used.flatMap((r) => Array.from(r.lagUs))).p99,
      roundBackgroundCores: all.map((r) => r.background),
      backgroundCores: used.length ? Math.max(...used.map((r) => r.background ?? 0)) : null,
    };
  }
  return out;
}

/** Closed-loop saturation with autocannon, interleaved rounds; the spool is sampled once a second on Cerulean's rounds. */
async function saturation(paths, counter, spoolDir, mode) {
  const rounds = Object.fromEntries(paths.map((p) => [p.name, []]));
  const spoolSamples = [];
  let sinceStart = 0;
  for (let r = 0; r < SETTINGS.saturationRounds; r++) {
    for (const path of r % 2 === 0 ? paths : [...paths].reverse()) {
      const before = path.counted ? await counter.count() : 0;
      const stores = storeProcesses(mode);
      const cpuBefore = path.processes.map((p) => procStats(p.pid));
      const storeBefore = cpuByStore(stores);
      const watch = backgroundLoad([...path.all, ...stores]);
      let sampler = null;
      if (path.counted) {
        const startedAt = Date.now();
        const base = sinceStart;
        // Every 250 ms (rounds are 1 s): records journaled and not yet committed.
        sampler = setInterval(() => {
          const x = spoolLines(spoolDir);
          if (x) spoolSamples.push({ atS: round(base + (Date.now() - startedAt) / 1000, 2), round: r + 1, ...x });
        }, 250);
      }
      const result = await saturate({
        url: `${path.url}/v1/chat/completions`,
        headers: path.headers,
        body: path.body,
        connections: SETTINGS.connections,
        durationS: SETTINGS.saturationRoundS,
      });
      if (sampler) {
        clearInterval(sampler);
        sinceStart += result.durationS;
      }
      result.background = watch.stop().foreignCores;
      const cpuAfter = path.processes.map((p) => procStats(p.pid));
      const storeAfter = cpuByStore(stores);
      result.storeCpuMs = { postgres: storeAfter.postgres - storeBefore.postgres, redis: storeAfter['redis-server'] - storeBefore['redis-server'] };
      result.cpuMs = Object.fromEntries(path.processes.map((p, i) => [p.name, cpuBefore[i] && cpuAfter[i] ? cpuAfter[i].cpuMs - cpuBefore[i].cpuMs : null]));
      // Requests in flight when autocannon stopped finish in Cerulean and upstream before counting.
      await sleep(500);
      if (path.counted) {
        counter.client(result.statusCodes, result.errors ? { errors: result.errors } : {});
        await counter.add(before);
      }
      rounds[path.name].push(result);
      log(
        `  saturation round ${r + 1}/${SETTINGS.saturationRounds} ${path.name}: ${fmt(result.rps, 0)} req/s, non-2xx ${result.non2xx}, errors ${result.errors}, background ${fmt(result.background, 2)} cores`,
      );
      await sleep(100);
    }
  }
  const { quietOnly, pick } = selectRounds(rounds, (r) => r.background);
  const out = {};
  for (const path of paths) {
    const all = rounds[path.name];
    const list = pick(path.name);
    const durationS = list.reduce((t, r) => t + r.durationS, 0);
    const ok = list.reduce((t, r) => t + r.ok, 0);
    const requests = ok + list.reduce((t, r) => t + r.non2xx, 0);
    const gatewayProc = path.processes[0].name;
    const cpu = list.reduce((t, r) => t + (r.cpuMs[gatewayProc] ?? NaN), 0);
    const pgCpu = list.reduce((t, r) => t + r.storeCpuMs.postgres, 0);
    const redisCpu = list.reduce((t, r) => t + r.storeCpuMs.redis, 0);
    out[path.name] = {
      rps: round(ok / durationS, 1),
      roundRps: all.map((r) => round(r.rps, 0)),
      rounds: all.length,
      roundsUsed: list.length,
      quietRoundsOnly: quietOnly,
      ok: all.reduce((t, r) => t + r.ok, 0),
      non2xx: all.reduce((t, r) => t + r.non2xx, 0),
      errors: all.reduce((t, r) => t + r.errors, 0),
      timeouts: all.reduce((t, r) => t + r.timeouts, 0),
      latencyP50Ms: list.map((r) => r.latencyMs.p50).sort((a, b) => a - b)[Math.floor((list.length - 1) / 2)],
      latencyP99Ms: Math.max(...list.map((r) => r.latencyMs.p99)),
      cpuUsPerRequest: Number.isFinite(cpu) ? round((cpu * 1000) / requests, 1) : null,
      storeCpuUsPerRequest: mode.redisUrl ? round(((pgCpu + redisCpu) * 1000) / requests, 1) : null,
      postgresCpuUsPerRequest: mode.redisUrl ? round((pgCpu * 1000) / requests, 1) : null,
      redisCpuUsPerRequest: mode.redisUrl ? round((redisCpu * 1000) / requests, 1) : null,
      roundBackgroundCores: all.map((r) => r.background),
      backgroundCores: list.length ? Math.max(...list.map((r) => r.background ?? 0)) : null,
    };
  }
  return { paths: out, spoolSamples };
}

/** Cerulean's own count of finished requests on `deployment`, per status (cerulean_requests_total on /metrics). */
async function finishedByStatus(url, deployment) {
  const response = await request(`${url}/metrics`, { headersTimeout: 5_000, bodyTimeout: 5_000 });
  const text = await response.body.text();
  const out = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('cerulean_requests_total{')) continue;
    const labels = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    if (!labels.includes(`deployment="${deployment}"`)) continue;
    const status = /status="(\d+)"/.exec(labels)?.[1] ?? '?';
    out[status] = (out[status] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** Stored usage records per HTTP status, read straight from the table. */
async function recordsByStatus(mode) {
  if (mode.redisUrl) {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: flags['pg-url'] });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT status, count(*)::int AS n FROM "${mode.schema}".usage_records GROUP BY status ORDER BY status`);
      return Object.fromEntries(rows.map((row) => [row.status, row.n]));
    } finally {
      await client.end();
    }
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(mode.storageUrl.slice('sqlite:'.length), { readonly: true });
  try {
    return Object.fromEntries(
      db
        .prepare('SELECT status, count(*) AS n FROM usage_records GROUP BY status ORDER BY status')
        .all()
        .map((row) => [row.status, row.n]),
    );
  } finally {
    db.close();
  }
}

async function countUsage(storageUrl) {
  const { openStorage } = await import(join(ROOT, 'dist', 'storage', 'open-storage.js'));
  const storage = await openStorage(storageUrl);
  try {
    const [row] = await storage.usage.query({}, []);
    return row ? { requests: row.requests, promptTokens: row.promptTokens, completionTokens: row.completionTokens, costMicroUsd: row.cost } : { requests: 0 };
  } finally {
    await storage.close();
  }
}

async function dropSchema(pgUrl, schema) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Removes the Redis keys this run's project left (budget counters live a month; rate-limit windows expire on their own). */
async function dropRedisKeys(redisUrl, project) {
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  let removed = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `*${project}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) removed += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return removed;
}

async function runMode(mode, dir, upstream, bare) {
  const masterKey = `cer-bench-${randomBytes(12).toString('hex')}`;
  const suffix = randomBytes(4).toString('hex');
  log(`mode ${mode.name}: storage ${mode.storageUrl}${mode.redisUrl ? `, redis ${mode.redisUrl}` : ''}`);
  const { server: cerulean, spoolDir, profDir } = await startCerulean(dir, mode, upstream.url, masterKey);
  const result = { mode: mode.label, storage: mode.storageUrl.replace(/\/\/[^@]*@/, '//'), redis: mode.redisUrl ?? null, flags: [] };
  try {
    const { project, key } = await provision(cerulean.url, masterKey, suffix);
    result.project = project;
    const json = { 'content-type': 'application/json' };
    const managed = { ...json, authorization: `Bearer ${key}` };
    // Every request through Cerulean is counted three ways: by the client, by the upstream (via
    // /stats around each Cerulean phase; only one path is driven at a time), and by storage at the end.
    const counter = {
      upstream: 0,
      client2xx: 0,
      clientNon2xx: 0,
      clientErrors: 0,
      count: () => upstreamCount(upstream.url),
      async add(before) {
        const after = await upstreamCount(upstream.url);
        if (before === null || after === null) this.upstream = null;
        else if (this.upstream !== null) this.upstream += after - before;
      },
      client(statuses, errors) {
        for (const [code, n] of Object.entries(statuses)) {
          if (Number(code) >= 200 && Number(code) < 300) this.client2xx += n;
          else this.clientNon2xx += n;
        }
        for (const n of Object.values(errors ?? {})) this.clientErrors += n;
      },
    };
    const before = await counter.count();
    const probed = await probe(cerulean.url, managed, body);
    await counter.add(before);
    if (probed.problem) throw new Error(`Cerulean probe failed: ${probed.problem}`);
    counter.client({ 200: 1 }, {});
    result.rateLimitHeaders = probed.rate;
    if (String(probed.rate?.limitTokens) !== String(QUOTA_TPM)) result.flags.push(`quota not applied: x-ratelimit-limit-tokens ${probed.rate?.limitTokens}`);

    const paths = [
      { name: 'direct', url: upstream.url, headers: json, body: directBody, processes: [upstream] },
      { name: 'bare', url: bare.url, headers: json, body: directBody, processes: [bare, upstream] },
      { name: 'cerulean', url: cerulean.url, headers: managed, body, processes: [cerulean, upstream], counted: true },
    ];
    for (const path of paths) path.all = [cerulean, bare, upstream];
    const rssStart = procStats(cerulean.pid)?.rssKb ?? null;
    log(`steady ${SETTINGS.rate} req/s: warm-up ${SETTINGS.warmupMs} ms per path, ${SETTINGS.rounds} interleaved rounds of ${SETTINGS.roundMs} ms`);
    result.steady = await steady(paths, counter, mode);
    log(`saturation: ${SETTINGS.connections} connections, ${SETTINGS.saturationRounds} interleaved rounds of ${SETTINGS.saturationRoundS} s (bare, Cerulean)`);
    const sat = await saturation(paths.slice(1), counter, spoolDir, mode);
    result.saturation = sat.paths;
    result.spoolSamples = sat.spoolSamples;
    result.memoryMiB = { start: rssStart && round(rssStart / 1024, 1), hwm: round((procStats(cerulean.pid)?.hwmKb ?? NaN) / 1024, 1) };

    await sleep(500);
    const finished = await finishedByStatus(cerulean.url, 'chat');
    // SIGTERM: Cerulean drains and commits what the ledger holds before it exits.
    const stopStarted = Date.now();
    const exit = await cerulean.stop('SIGTERM', 40_000);
    result.shutdown = { exit, ms: Date.now() - stopStarted, spoolAfter: spoolLines(spoolDir) };
    if (profDir) {
      const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
      if (files.length) {
        mkdirSync(RESULTS, { recursive: true });
        const target = join(RESULTS, `governance-${mode.name}.cpuprofile`);
        copyFileSync(join(profDir, files[0]), target);
        const summary = summarizeProfile(target);
        result.profile = {
          file: `bench/results/governance-${mode.name}.cpuprofile`,
          byOrigin: summary.byOrigin.slice(0, 12),
          topFunctions: summary.topFunctions.slice(0, 15),
        };
      }
    }
    const usage = await countUsage(mode.storageUrl);
    const byStatus = await recordsByStatus(mode);
    result.usage = {
      storedRecords: usage.requests,
      storedByStatus: byStatus,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      costUsd: usage.costMicroUsd === undefined ? null : usage.costMicroUsd / 1e6,
      upstreamAnsweredThroughCerulean: counter.upstream,
      client2xx: counter.client2xx,
      clientNon2xx: counter.clientNon2xx,
      clientErrors: counter.clientErrors,
    };
    // Without the upstream's count, the client's is the reference (requests autocannon cut off at
    // the end of a round may still be answered and metered, so storage may hold a few more).
    // Nothing dropped: every request Cerulean finished (its own counter, per status) has exactly one
    // stored record with that status. Cross-checks: at least one record per response the client got,
    // and no more than that plus the requests autocannon cut off when a round ended (one per
    // connection per round; Cerulean records those as 499, or 200 when it answered first), and at
    // least one record per request the upstream answered.
    const finishedTotal = Object.values(finished).reduce((a, b) => a + b, 0);
    const clientResponses = counter.client2xx + counter.clientNon2xx;
    const cutOffBound = SETTINGS.connections * SETTINGS.saturationRounds;
    result.usage.finishedByStatus = finished;
    result.usage.finishedTotal = finishedTotal;
    result.usage.missing = finishedTotal - usage.requests;
    result.usage.sameByStatus = Object.keys({ ...finished, ...byStatus }).every((code) => (finished[code] ?? 0) === (byStatus[code] ?? 0));
    result.usage.cutOffBound = cutOffBound;
    result.usage.keepsPace =
      result.usage.sameByStatus &&
      (byStatus[200] ?? 0) >= counter.client2xx &&
      usage.requests >= clientResponses &&
      usage.requests - clientResponses <= cutOffBound &&
      (counter.upstream === null || usage.requests >= counter.upstream);
    const logText = readFileSync(cerulean.logFile, 'utf8');
    const warnings = logText.split('\n').filter((line) => /"level":(40|50|60)/.test(line));
    result.ceruleanWarnings = { count: warnings.length, first: warnings.slice(0, 2).map((w) => w.slice(0, 300)) };
    return result;
  } finally {
    await cerulean.stop('SIGKILL');
    if (mode.redisUrl && result.project) {
      try {
        log(`removed ${await dropRedisKeys(mode.redisUrl, result.project)} Redis keys of ${result.project}`);
      } catch (error) {
        log(`could not remove the Redis keys of ${result.project}: ${error.message}`);
      }
    }
  }
}

function evaluate(mode) {
  const s = mode.steady;
  const added = (key) => round(s.cerulean.latencyMs[key] - s.direct.latencyMs[key]);
  mode.added = { p50Ms: added('p50'), p90Ms: added('p90'), p99Ms: added('p99') };
  mode.addedOverBare = { p50Ms: round(s.cerulean.latencyMs.p50 - s.bare.latencyMs.p50), p99Ms: round(s.cerulean.latencyMs.p99 - s.bare.latencyMs.p99) };
  mode.ratioVsBare = round(mode.saturation.cerulean.rps / mode.saturation.bare.rps, 3);
  const maxSpool = mode.spoolSamples.reduce((m, x) => Math.max(m, x.lines), 0);
  mode.spoolMaxLines = maxSpool;
  mode.targets = [
    {
      name: 'added latency p50 over direct at 200 rps (ms)',
      value: mode.added.p50Ms,
      limit: `< ${TARGETS.addedP50Ms}`,
      pass: mode.added.p50Ms < TARGETS.addedP50Ms,
    },
    {
      name: 'added latency p99 over direct at 200 rps (ms)',
      value: mode.added.p99Ms,
      limit: `< ${TARGETS.addedP99Ms}`,
      pass: mode.added.p99Ms < TARGETS.addedP99Ms,
    },
    { name: 'saturated throughput / bare proxy', value: mode.ratioVsBare, limit: `>= ${TARGETS.vsBare}`, pass: mode.ratioVsBare >= TARGETS.vsBare },
    {
      name: 'usage records stored / requests Cerulean finished (per status, nothing dropped)',
      value: `${mode.usage.storedRecords} / ${mode.usage.finishedTotal}`,
      limit: 'equal',
      pass: mode.usage.keepsPace,
    },
  ];
  const errs = s.cerulean.sent - s.cerulean.ok + mode.saturation.cerulean.non2xx + mode.saturation.cerulean.errors;
  if (errs)
    mode.flags.push(
      `Cerulean: ${errs} failed requests (steady ${JSON.stringify({ ...s.cerulean.statuses, ...s.cerulean.errors })}, saturation non-2xx ${mode.saturation.cerulean.non2xx}, errors ${mode.saturation.cerulean.errors})`,
    );
}

function markdown(results) {
  const lines = [];
  const m = results.meta;
  lines.push(
    `Node ${m.node}, ${m.cpus} CPUs (${m.cpuModel}), ${m.date}${m.commit ? `, commit ${m.commit}` : ''}; other processes before start: ${fmt(m.backgroundBeforeStartCores, 2)} cores; steady warm-up ${SETTINGS.warmupMs} ms per path; usage flush interval ${m.usageFlushMs}`,
  );
  lines.push('');
  lines.push(
    `### Steady load: ${SETTINGS.rate} req/s open loop, ${(SETTINGS.rounds * SETTINGS.roundMs) / 1000} s per path in ${SETTINGS.rounds} interleaved rounds (latency from scheduled send, ms)`,
  );
  lines.push('');
  lines.push('| storage | path | ok / sent | rounds used | p50 | p90 | p99 | max | background cores (busiest used round) |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const mode of results.modes) {
    for (const name of ['direct', 'bare', 'cerulean']) {
      const p = mode.steady[name];
      lines.push(
        `| ${mode.mode} | ${name === 'cerulean' ? 'Cerulean (managed key, quota, budget, metering)' : name} | ${p.ok} / ${p.sent} | ${p.roundsUsed} / ${p.rounds} | ${fmt(p.latencyMs.p50)} | ${fmt(p.latencyMs.p90)} | ${fmt(p.latencyMs.p99)} | ${fmt(p.latencyMs.max)} | ${fmt(p.backgroundCores, 2)} |`,
      );
    }
  }
  lines.push('');
  lines.push('| storage | Cerulean added over direct: p50 | p90 | p99 | over bare proxy: p50 | p99 |');
  lines.push('|---|---|---|---|---|---|');
  for (const mode of results.modes)
    lines.push(
      `| ${mode.mode} | ${fmt(mode.added.p50Ms)} | ${fmt(mode.added.p90Ms)} | ${fmt(mode.added.p99Ms)} | ${fmt(mode.addedOverBare.p50Ms)} | ${fmt(mode.addedOverBare.p99Ms)} |`,
    );
  lines.push('');
  lines.push(
    `### Saturation: autocannon, ${SETTINGS.connections} connections, ${SETTINGS.saturationRounds * SETTINGS.saturationRoundS} s per path in ${SETTINGS.saturationRounds} interleaved rounds`,
  );
  lines.push('');
  lines.push(
    '| storage | path | req/s (2xx, used rounds) | per round | rounds used | non-2xx | errors | latency p50 / p99 (ms) | gateway CPU µs / request | PostgreSQL + Redis CPU µs / request (PostgreSQL + Redis) | background cores (busiest used round) |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const mode of results.modes) {
    for (const name of ['bare', 'cerulean']) {
      const p = mode.saturation[name];
      lines.push(
        `| ${mode.mode} | ${name} | ${fmt(p.rps, 0)} | ${p.roundRps.join(', ')} | ${p.roundsUsed} / ${p.rounds} | ${p.non2xx} | ${p.errors} | ${p.latencyP50Ms} / ${p.latencyP99Ms} | ${fmt(p.cpuUsPerRequest, 0)} | ${name === 'cerulean' && p.storeCpuUsPerRequest !== null ? `${fmt(p.storeCpuUsPerRequest, 0)} (${fmt(p.postgresCpuUsPerRequest, 0)} + ${fmt(p.redisCpuUsPerRequest, 0)})` : '-'} | ${fmt(p.backgroundCores, 2)} |`,
      );
    }
    lines.push(`| ${mode.mode} | **Cerulean / bare** | **${fmt(mode.ratioVsBare, 3)}** | | | | | | | | |`);
  }
  lines.push('');
  lines.push('### Usage metering: records in storage after SIGTERM vs requests answered');
  lines.push('');
  lines.push(
    '| storage | requests Cerulean finished (by status, its /metrics) | usage records stored (by status) | missing | client 2xx | client non-2xx / errors | upstream answered via Cerulean | cost recorded (USD) | shutdown (SIGTERM to exit) ms | spool after shutdown |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const mode of results.modes) {
    const u = mode.usage;
    const byStatus = Object.entries(u.storedByStatus)
      .map(([code, n]) => `${code}: ${n}`)
      .join(', ');
    const finished = Object.entries(u.finishedByStatus)
      .map(([code, n]) => `${code}: ${n}`)
      .join(', ');
    lines.push(
      `| ${mode.mode} | ${u.finishedTotal} (${finished}) | ${u.storedRecords} (${byStatus}) | ${u.missing} | ${u.client2xx} | ${u.clientNon2xx} / ${u.clientErrors} | ${u.upstreamAnsweredThroughCerulean ?? 'n/a'} | ${fmt(u.costUsd, 6)} | ${mode.shutdown.ms} | ${mode.shutdown.spoolAfter ? `${mode.shutdown.spoolAfter.lines} lines` : 'n/a'} |`,
    );
  }
  lines.push('');
  lines.push('Spool backlog during the Cerulean saturation rounds (records journaled but not yet committed, sampled every 250 ms):');
  lines.push('');
  lines.push('| storage | samples | max | median | last sample |');
  lines.push('|---|---|---|---|---|');
  for (const mode of results.modes) {
    const values = mode.spoolSamples.map((x) => x.lines);
    const sorted = [...values].sort((a, b) => a - b);
    lines.push(
      `| ${mode.mode} | ${values.length} | ${mode.spoolMaxLines} | ${sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : 'n/a'} | ${values.length ? values[values.length - 1] : 'n/a'} |`,
    );
  }
  lines.push('');
  lines.push('### Targets');
  lines.push('');
  lines.push('| storage | target | value | limit | result |');
  lines.push('|---|---|---|---|---|');
  for (const mode of results.modes)
    for (const t of mode.targets)
      lines.push(`| ${mode.mode} | ${t.name} | ${typeof t.value === 'number' ? fmt(t.value, 3) : t.value} | ${t.limit} | ${t.pass ? 'PASS' : 'FAIL'} |`);
  for (const mode of results.modes) if (mode.flags.length) lines.push('', `**${mode.mode} flagged: ${mode.flags.join('; ')}**`);
  for (const mode of results.modes) {
    if (!mode.profile) continue;
    lines.push('', `### CPU profile, ${mode.mode} (${mode.profile.file})`, '', '| self time by origin | ms | % of busy |', '|---|---|---|');
    for (const o of mode.profile.byOrigin) lines.push(`| ${o.name} | ${o.ms} | ${o.pctOfBusy} |`);
    lines.push('', '| top self-time functions | ms | % of busy |', '|---|---|---|');
    for (const f of mode.profile.topFunctions) lines.push(`| \`${f.name}\` | ${f.ms} | ${f.pctOfBusy} |`);
  }
  return lines.join('\n');
}

async function main() {
  const startedAt = Date.now();
  const quiet = await waitForQuiet(TAG, WAIT_QUIET_S);
  if (quiet.othersAtStart) log(`WARNING: still running after ${quiet.waitedS} s: ${quiet.othersAtStart}; results will be noisy`);
  const results = {
    meta: {
      ...machine(),
      settings: SETTINGS,
      usageFlushMs: flags['usage-flush-ms'] ?? 'default (1000)',
      waitedForQuietS: quiet.waitedS,
      othersAtStart: quiet.othersAtStart,
      backgroundBeforeStartCores: quiet.backgroundCores,
    },
    modes: [],
  };
  const dir = tempDir('cerulean-governance-');
  const wanted = flags.modes.split(',').map((m) => m.trim());
  const upstream = await startNode({
    name: 'upstream',
    args: [join(ROOT, 'bench', 'upstream.mjs'), '--port', '0'],
    logFile: join(dir, 'upstream.log'),
    readyPattern: /upstream listening on (http:\/\/\S+)/,
  });
  // Started exactly as bench/run.mjs starts it.
  const bare = await startNode({
    name: 'bare-proxy',
    args: [join(ROOT, 'bench', 'bare-proxy.mjs'), '--upstream', upstream.url, '--port', '0'],
    logFile: join(dir, 'bare-proxy.log'),
    readyPattern: /bare proxy listening on (http:\/\/\S+)/,
  });
  const schemas = [];
  try {
    for (const name of wanted) {
      let mode;
      if (name === 'sqlite') mode = { name, label: 'SQLite', storageUrl: `sqlite:${join(dir, 'data-sqlite', 'cerulean.db')}` };
      else if (name === 'postgres') {
        const schema = `bench_${randomBytes(6).toString('hex')}`;
        schemas.push(schema);
        mode = { name, label: 'PostgreSQL + Redis', storageUrl: `${flags['pg-url']}?schema=${schema}`, schema, redisUrl: flags['redis-url'] };
      } else throw new Error(`unknown mode ${name}`);
      const result = await runMode(mode, dir, upstream, bare);
      evaluate(result);
      results.modes.push(result);
    }
  } finally {
    await bare.stop();
    await upstream.stop();
    for (const schema of schemas) {
      try {
        await dropSchema(flags['pg-url'], schema);
        log(`dropped schema ${schema}`);
      } catch (error) {
        log(`could not drop schema ${schema}: ${error.message}`);
      }
    }
  }
  results.meta.wallS = Math.round((Date.now() - startedAt) / 1000);
  results.markdown = markdown(results);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'governance.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${results.markdown}\n\nResults written to bench/results/governance.json (${results.meta.wallS} s)\n`);
  if (results.modes.some((m) => m.flags.length)) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
