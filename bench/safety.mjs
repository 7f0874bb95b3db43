#!/usr/bin/env node
// Content-safety benchmark: what the content filter costs, on loopback, in one run.
//
//  1. The built-in `local` classifier alone, in-process: classify() on ~200- and ~4,000-token
//     benign prompts, 1,000 timed runs each (and the whole default-policy ContentFilter.check).
//  2. The filter stage in Cerulean: non-streaming requests at 50 req/s open loop with the same
//     prompts to a deployment with policy `none` and one with the default policy (local
//     classifier), interleaved rounds in one Cerulean process; the difference is what the filter adds.
//     The same cases back to back on one connection (the process stays hot).
//  3. Streams: time to first token and total stream time with policy none, the default policy
//     (buffered: text is released only once judged, every `stream_check_chars` = 1,000 characters
//     or at the end of the stream) and `stream_mode: async`, sequential streams, for a long answer
//     (20 chunks x 100 characters) and a short one (20 chunks of ~6 characters, bench/upstream.mjs's).
//
//   npm run build && node bench/safety.mjs [--quick] [--wait-quiet=S]
//
// See docs/benchmarks-governance-safety.md.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool, request } from 'undici';
import { writeCeruleanConfig } from './lib/config.mjs';
import { oneStream as streamOnce, openLoop } from './lib/load.mjs';
import { backgroundLoad, startNode } from './lib/processes.mjs';
import { round, summarize } from './lib/stats.mjs';
import { fmt, installWatchdog, log as baseLog, machine, okCount, ROOT, tempDir, waitForQuiet } from './governance-safety-common.mjs';

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'wait-quiet': { type: 'string', default: '300' },
  },
});
const TAG = 'safety';
const log = (message) => baseLog(TAG, message);
const RESULTS = join(ROOT, 'bench', 'results');
const SETTINGS = flags.quick
  ? {
      classifierRuns: 100,
      classifierWarmup: 20,
      sequential: 100,
      sequentialWarmup: 20,
      rate: 50,
      warmupMs: 500,
      roundMs: 1_000,
      rounds: 2,
      streams: 20,
      streamWarmup: 5,
      chunks: 20,
      chunkDelayMs: 2,
      longChunkChars: 100,
    }
  : {
      classifierRuns: 1_000,
      classifierWarmup: 200,
      sequential: 1_500,
      sequentialWarmup: 300,
      rate: 50,
      warmupMs: 2_000,
      roundMs: 2_500,
      rounds: 4,
      streams: 200,
      streamWarmup: 20,
      chunks: 20,
      chunkDelayMs: 2,
      longChunkChars: 100,
    };
const PROMPT_TOKENS = [200, 4_000];
const TARGET_CLASSIFIER_P99_MS = 2;
const WAIT_QUIET_S = Math.max(0, Math.min(900, Number(flags['wait-quiet']) || 0));
installWatchdog(TAG, WAIT_QUIET_S + 5 * 60);

const dist = (path) => import(join(ROOT, 'dist', path));
const now = () => process.hrtime.bigint();
const usSince = (start) => Number(now() - start) / 1000;

// Benign English (no harm vocabulary, no attack phrasing), cycled until the token count is reached.
const SENTENCES = [
  'Please summarise the following notes from our quarterly planning meeting.',
  'The team reviewed the roadmap for the new customer portal and agreed on three milestones.',
  'First, the login page will support single sign-on through the company directory.',
  'Second, the billing screen will show monthly invoices and let customers download them as PDF files.',
  'Third, the support section will include a searchable knowledge base with articles written by our staff.',
  'Maria pointed out that the mobile layout needs more testing on small screens.',
  'Tom suggested that we schedule a usability study with five volunteers from the sales department.',
  'The budget for the project stays the same as last quarter, and no new hires are planned.',
  'We discussed the migration of the old database to the managed service in the cloud.',
  'The migration should happen on a weekend to keep the impact on customers low.',
  'Backups will be taken before and after the move, and the operations team will watch the dashboards.',
  'Documentation will be updated in the wiki, including diagrams of the new architecture.',
  'The design team shared mock-ups of the dashboard with a lighter colour palette and larger fonts.',
  'Everyone liked the clearer navigation, although some asked for a dark mode option.',
  'Next, we talked about the autumn conference, where we plan to present a short demo.',
  'The marketing team will prepare slides, a one-page handout and a short video.',
  'Travel arrangements are handled by the office manager, who will book trains rather than flights.',
  'Finally, we agreed to meet again in two weeks to review progress and adjust the plan if needed.',
  'Action items: Maria writes the test plan, Tom contacts the volunteers, and Lee drafts the migration checklist.',
  'The meeting ended with a short discussion about the new coffee machine in the kitchen.',
];

async function benignPrompt(tokens) {
  const { countTokens } = await dist('tokens/tokenizer.js');
  const parts = [];
  let i = 0;
  // Add sentences until the text holds `tokens` tokens (cl100k), counting every 5 sentences.
  for (;;) {
    parts.push(SENTENCES[i % SENTENCES.length]);
    i++;
    if (i % 5 === 0 && countTokens(parts.join(' ')) >= tokens) break;
  }
  while (parts.length > 1 && countTokens(parts.slice(0, -1).join(' ')) >= tokens) parts.pop();
  const text = parts.join(' ');
  return { text, tokens: countTokens(text), chars: text.length };
}

function chatBody(model, prompt, extra = {}) {
  return JSON.stringify({
    model,
    messages: [
      { role: 'system', content: 'You are a concise assistant.' },
      { role: 'user', content: prompt },
    ],
    max_tokens: 64,
    temperature: 0,
    ...extra,
  });
}

/** The classifier alone, and the default policy's whole check, in this process. */
async function classifierTimings(prompts) {
  const { LocalClassifier } = await dist('safety/local/local-classifier.js');
  const { ContentFilter } = await dist('safety/content-filter.js');
  const { defaultPolicy } = await dist('safety/filter-registry.js');
  const classifier = new LocalClassifier();
  const filter = new ContentFilter('default', defaultPolicy(), [classifier]);
  const out = {};
  // Warm the JIT on every size first, so the first size timed is not the one that pays for it.
  for (let i = 0; i < SETTINGS.classifierWarmup; i++) for (const prompt of prompts) await filter.check({ text: prompt.text, direction: 'prompt' });
  for (const prompt of prompts) {
    const input = { text: prompt.text, direction: 'prompt' };
    const verdict = classifier.classifySync(input);
    const flagged = Object.entries(verdict.categories ?? {})
      .filter(([, v]) => v.severity !== 'safe')
      .map(([k, v]) => `${k}:${v.severity}`);
    if (verdict.jailbreak?.detected) flagged.push('jailbreak');
    if (flagged.length) throw new Error(`benign prompt of ${prompt.tokens} tokens is flagged: ${flagged.join(', ')}`);
    const time = async (fn) => {
      for (let i = 0; i < SETTINGS.classifierWarmup; i++) await fn();
      const samples = new Float64Array(SETTINGS.classifierRuns);
      for (let i = 0; i < SETTINGS.classifierRuns; i++) {
        const start = now();
        await fn();
        samples[i] = usSince(start);
      }
      return summarize(samples);
    };
    const watch = backgroundLoad([]);
    const classify = await time(() => classifier.classify(input));
    const classifySync = await time(() => classifier.classifySync(input));
    const check = await time(() => filter.check(input));
    out[prompt.tokens] = {
      tokens: prompt.tokens,
      chars: prompt.chars,
      classifyMs: classify,
      classifySyncMs: classifySync,
      filterCheckMs: check,
      backgroundCores: watch.stop().foreignCores,
    };
    log(
      `  classifier, ${prompt.tokens} tokens: classify p50 ${fmt(classify.p50)} p99 ${fmt(classify.p99)} ms; ContentFilter.check p50 ${fmt(check.p50)} p99 ${fmt(check.p99)} ms`,
    );
  }
  // A server's classifier also sees text that is not plain ASCII (two-byte strings in V8: curly
  // quotes, accents, emoji), streamed completions built up by concatenation, and windows sliced
  // out of them. Feed it such strings, then time the same prompts again: the hot loop above is
  // the best case.
  const base = prompts[0].text;
  for (let i = 0; i < 300; i++) {
    let grown = '';
    for (let k = 0; k < 20; k++) grown += base.slice(k * 40, k * 40 + 100);
    classifier.classifySync({ text: grown.slice(Math.max(0, grown.length - 1200)), direction: 'completion' });
    classifier.classifySync({ text: `“${base.slice(0, 600)}” — café ${i}`, direction: 'prompt' });
  }
  for (const prompt of prompts) {
    const input = { text: prompt.text, direction: 'prompt' };
    const samples = new Float64Array(SETTINGS.classifierRuns);
    for (let i = 0; i < SETTINGS.classifierRuns; i++) {
      const start = now();
      await classifier.classify(input);
      samples[i] = usSince(start);
    }
    out[prompt.tokens].classifyAfterMixedMs = summarize(samples);
    log(
      `  classifier, ${prompt.tokens} tokens, after non-ASCII / concatenated / sliced inputs: classify p50 ${fmt(out[prompt.tokens].classifyAfterMixedMs.p50)} p99 ${fmt(out[prompt.tokens].classifyAfterMixedMs.p99)} ms`,
    );
  }
  return out;
}

async function startUpstream(dir, name, chunkChars) {
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
      '--chunk-chars',
      String(chunkChars),
    ],
    logFile: join(dir, `${name}.log`),
    readyPattern: /upstream listening on (http:\/\/\S+)/,
  });
}

async function startCerulean(dir, longUrl, shortUrl, masterKey) {
  const configFile = join(dir, 'cerulean.yaml');
  writeCeruleanConfig(configFile, {
    dataDir: join(dir, 'data'),
    providers: { long: longUrl, short: shortUrl },
    deployments: { none: 'long', buffered: 'long', async: 'long', 'none-short': 'short', 'buffered-short': 'short', 'async-short': 'short' },
    extra: [
      'content_safety:',
      '  policies:',
      // The default policy with one change: streams are relayed at once and judged behind.
      '    async: { stream_mode: async }',
      '  deployments:',
      '    none: none',
      '    none-short: none',
      '    async: async',
      '    async-short: async',
      // `buffered` and `buffered-short` are not listed: the built-in default policy applies.
    ],
  });
  return startNode({
    name: 'cerulean',
    args: [join(ROOT, 'bin', 'cerulean.js'), 'serve', '--config', configFile, '--host', '127.0.0.1', '--port', '0'],
    env: { CERULEAN_MASTER_KEY: masterKey },
    logFile: join(dir, 'cerulean.log'),
    readyPattern: /Cerulean listening on (http:\/\/\S+)/,
  });
}

async function probe(url, headers, payload, wantFilterResults) {
  const response = await request(`${url}/v1/chat/completions`, { method: 'POST', headers, body: payload, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`probe: status ${response.statusCode}: ${text.slice(0, 300)}`);
  const parsed = JSON.parse(text);
  if (wantFilterResults && !parsed.prompt_filter_results)
    throw new Error(`probe: the filtered deployment answered without prompt_filter_results: ${text.slice(0, 300)}`);
  if (!wantFilterResults && parsed.prompt_filter_results) throw new Error('probe: the unfiltered deployment answered with prompt_filter_results');
}

/** Filter-stage latency: open loop, interleaved rounds over (deployment, prompt size). */
async function filterLatency(cerulean, upstreams, headers, prompts) {
  const combos = [];
  for (const prompt of prompts)
    for (const deployment of ['none', 'buffered'])
      combos.push({ key: `${deployment}/${prompt.tokens}`, deployment, prompt, body: chatBody(deployment, prompt.text) });
  for (const combo of combos) await probe(cerulean.url, headers, combo.body, combo.deployment !== 'none');
  const rounds = Object.fromEntries(combos.map((c) => [c.key, []]));
  for (const combo of combos)
    await openLoop({ origin: cerulean.url, path: '/v1/chat/completions', headers, body: combo.body, rate: SETTINGS.rate, durationMs: SETTINGS.warmupMs });
  for (let r = 0; r < SETTINGS.rounds; r++) {
    for (const combo of r % 2 === 0 ? combos : [...combos].reverse()) {
      const watch = backgroundLoad([cerulean, ...upstreams]);
      const run = await openLoop({
        origin: cerulean.url,
        path: '/v1/chat/completions',
        headers,
        body: combo.body,
        rate: SETTINGS.rate,
        durationMs: SETTINGS.roundMs,
      });
      run.background = watch.stop().foreignCores;
      rounds[combo.key].push(run);
      const l = summarize(run.latencyUs);
      log(
        `  filter latency round ${r + 1}/${SETTINGS.rounds} ${combo.key}: p50 ${fmt(l.p50)} p99 ${fmt(l.p99)} ms, background ${fmt(run.background, 2)} cores`,
      );
      await sleep(100);
    }
  }
  const out = {};
  for (const combo of combos) {
    const list = rounds[combo.key];
    const statuses = {};
    const errors = {};
    for (const run of list) {
      for (const [c, n] of Object.entries(run.statuses)) statuses[c] = (statuses[c] ?? 0) + n;
      for (const [c, n] of Object.entries(run.errors)) errors[c] = (errors[c] ?? 0) + n;
    }
    const sent = list.reduce((t, run) => t + run.total, 0);
    out[combo.key] = {
      deployment: combo.deployment,
      tokens: combo.prompt.tokens,
      sent,
      ok: okCount(statuses),
      statuses,
      errors,
      latencyMs: summarize(list.flatMap((run) => Array.from(run.latencyUs))),
      backgroundCores: Math.max(...list.map((run) => run.background ?? 0)),
    };
  }
  const added = {};
  for (const prompt of prompts) {
    const a = out[`buffered/${prompt.tokens}`].latencyMs;
    const b = out[`none/${prompt.tokens}`].latencyMs;
    added[prompt.tokens] = { p50Ms: round(a.p50 - b.p50), p90Ms: round(a.p90 - b.p90), p99Ms: round(a.p99 - b.p99) };
  }
  return { paths: out, added };
}

/**
 * Filter-stage latency, back to back: one connection, each request sent when the last one ended,
 * cycling through the cases so each sees the same machine. Here the process stays hot (caches,
 * CPU), unlike at 50 req/s where every request arrives at an idle process.
 */
async function filterSequential(cerulean, headers, prompts) {
  const combos = [];
  for (const prompt of prompts)
    for (const deployment of ['none', 'buffered'])
      combos.push({ key: `${deployment}/${prompt.tokens}`, deployment, prompt, body: chatBody(deployment, prompt.text) });
  const pool = new Pool(cerulean.url, { connections: 1 });
  const samples = Object.fromEntries(combos.map((c) => [c.key, []]));
  const failed = Object.fromEntries(combos.map((c) => [c.key, 0]));
  const watch = backgroundLoad([cerulean]);
  const deadline = Date.now() + 60_000;
  for (let i = 0; i < SETTINGS.sequentialWarmup + SETTINGS.sequential && Date.now() < deadline; i++) {
    for (let j = 0; j < combos.length; j++) {
      const combo = combos[(i + j) % combos.length];
      const start = now();
      try {
        const response = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers, body: combo.body });
        await response.body.arrayBuffer();
        if (response.statusCode !== 200) failed[combo.key]++;
        else if (i >= SETTINGS.sequentialWarmup) samples[combo.key].push(usSince(start));
      } catch {
        failed[combo.key]++;
      }
    }
  }
  const backgroundCores = watch.stop().foreignCores;
  await pool.destroy();
  const paths = {};
  for (const combo of combos)
    paths[combo.key] = {
      deployment: combo.deployment,
      tokens: combo.prompt.tokens,
      requests: samples[combo.key].length,
      failed: failed[combo.key],
      latencyMs: summarize(samples[combo.key]),
    };
  const added = {};
  for (const prompt of prompts) {
    const a = paths[`buffered/${prompt.tokens}`].latencyMs;
    const b = paths[`none/${prompt.tokens}`].latencyMs;
    added[prompt.tokens] = { p50Ms: round(a.p50 - b.p50), p90Ms: round(a.p90 - b.p90), p99Ms: round(a.p99 - b.p99) };
  }
  for (const p of Object.values(paths)) log(`  sequential ${p.deployment}/${p.tokens}: p50 ${fmt(p.latencyMs.p50)} p99 ${fmt(p.latencyMs.p99)} ms`);
  return { paths, added, backgroundCores };
}

/** One stream: when the first content arrived, when the stream ended, how much content came. */
async function oneStream(pool, headers, body) {
  const result = await streamOnce(pool, { path: '/v1/chat/completions', headers, body });
  if (result.error) return result;
  const { contentUs, chars, totalUs, done, usage } = result;
  return { firstUs: contentUs[0] ?? null, totalUs, chars, events: contentUs.length, done, usage };
}

async function streams(cerulean, headers, variant, expectedChars) {
  const suffix = variant === 'short' ? '-short' : '';
  const modes = ['none', 'buffered', 'async'];
  const pool = new Pool(cerulean.url, { connections: 2 });
  const bodies = Object.fromEntries(
    modes.map((m) => [
      m,
      chatBody(`${m}${suffix}`, 'Write a short paragraph about the public library.', { stream: true, stream_options: { include_usage: true } }),
    ]),
  );
  const samples = Object.fromEntries(modes.map((m) => [m, []]));
  const problems = Object.fromEntries(modes.map((m) => [m, []]));
  const deadline = Date.now() + 75_000;
  const one = async (mode, keep) => {
    try {
      const result = await oneStream(pool, headers, bodies[mode]);
      if (result.error) problems[mode].push(result.error);
      else if (result.chars !== expectedChars || !result.done || !result.usage || result.firstUs === null) {
        problems[mode].push(`incomplete stream: ${result.chars}/${expectedChars} characters, done=${result.done}, usage=${result.usage}`);
      } else if (keep) samples[mode].push(result);
    } catch (error) {
      problems[mode].push(String(error.message));
    }
  };
  const watch = backgroundLoad([cerulean]);
  for (let i = 0; i < SETTINGS.streamWarmup; i++) for (const mode of modes) await one(mode, false);
  for (let i = 0; i < SETTINGS.streams && Date.now() < deadline; i++) {
    // Rotate the order so no mode always goes first.
    for (let j = 0; j < modes.length; j++) await one(modes[(i + j) % modes.length], true);
  }
  const backgroundCores = watch.stop().foreignCores;
  await pool.destroy();
  const out = { variant, chunks: SETTINGS.chunks, chunkDelayMs: SETTINGS.chunkDelayMs, streamChars: expectedChars, backgroundCores, modes: {} };
  for (const mode of modes) {
    const list = samples[mode];
    out.modes[mode] = {
      streams: list.length,
      problems: problems[mode].length,
      firstProblems: problems[mode].slice(0, 3),
      contentEventsMean: list.length ? round(list.reduce((t, s) => t + s.events, 0) / list.length, 1) : null,
      ttftMs: summarize(list.map((s) => s.firstUs)),
      totalMs: summarize(list.map((s) => s.totalUs)),
    };
  }
  for (const mode of ['buffered', 'async']) {
    const m = out.modes[mode];
    const n = out.modes.none;
    m.vsNone = {
      ttftP50Ms: round(m.ttftMs.p50 - n.ttftMs.p50),
      ttftP99Ms: round(m.ttftMs.p99 - n.ttftMs.p99),
      totalP50Ms: round(m.totalMs.p50 - n.totalMs.p50),
    };
  }
  for (const mode of modes)
    log(
      `  streams (${variant}) ${mode}: TTFT p50 ${fmt(out.modes[mode].ttftMs.p50)} p99 ${fmt(out.modes[mode].ttftMs.p99)} ms, total p50 ${fmt(out.modes[mode].totalMs.p50)} ms, problems ${out.modes[mode].problems}`,
    );
  return out;
}

function markdown(results) {
  const lines = [];
  const m = results.meta;
  lines.push(
    `Node ${m.node}, ${m.cpus} CPUs (${m.cpuModel}), ${m.date}${m.commit ? `, commit ${m.commit}` : ''}; other processes before start: ${fmt(m.backgroundBeforeStartCores, 2)} cores`,
  );
  lines.push('');
  lines.push(`### The built-in classifier alone, in-process (${SETTINGS.classifierRuns} timed runs after ${SETTINGS.classifierWarmup} warm-up, ms)`);
  lines.push('');
  lines.push(
    '| prompt | characters | `classify` p50 | p90 | p99 | max | `classifySync` p50 / p99 | default policy `ContentFilter.check` p50 / p99 | `classify` after non-ASCII / concatenated / sliced inputs: p50 / p99 / max | background cores |',
  );
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const c of Object.values(results.classifier)) {
    const m = c.classifyAfterMixedMs;
    lines.push(
      `| ${c.tokens} tokens | ${c.chars} | ${fmt(c.classifyMs.p50)} | ${fmt(c.classifyMs.p90)} | ${fmt(c.classifyMs.p99)} | ${fmt(c.classifyMs.max)} | ${fmt(c.classifySyncMs.p50)} / ${fmt(c.classifySyncMs.p99)} | ${fmt(c.filterCheckMs.p50)} / ${fmt(c.filterCheckMs.p99)} | ${fmt(m.p50)} / ${fmt(m.p99)} / ${fmt(m.max)} | ${fmt(c.backgroundCores, 2)} |`,
    );
  }
  lines.push('');
  lines.push(
    `### Filter stage in Cerulean: non-streaming, ${SETTINGS.rate} req/s open loop, ${(SETTINGS.rounds * SETTINGS.roundMs) / 1000} s per case in ${SETTINGS.rounds} interleaved rounds (latency from scheduled send, ms)`,
  );
  lines.push('');
  lines.push('| prompt | policy | ok / sent | p50 | p90 | p99 | max | background cores |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const p of Object.values(results.filterLatency.paths)) {
    lines.push(
      `| ${p.tokens} tokens | ${p.deployment === 'none' ? '`none`' : 'default (local, buffered)'} | ${p.ok} / ${p.sent} | ${fmt(p.latencyMs.p50)} | ${fmt(p.latencyMs.p90)} | ${fmt(p.latencyMs.p99)} | ${fmt(p.latencyMs.max)} | ${fmt(p.backgroundCores, 2)} |`,
    );
  }
  lines.push('');
  lines.push('| prompt | filter added: p50 | p90 | p99 |');
  lines.push('|---|---|---|---|');
  for (const [tokens, a] of Object.entries(results.filterLatency.added))
    lines.push(`| ${tokens} tokens | ${fmt(a.p50Ms)} | ${fmt(a.p90Ms)} | ${fmt(a.p99Ms)} |`);
  const sq = results.filterSequential;
  lines.push('');
  lines.push(
    `### Filter stage in Cerulean: non-streaming, back to back on one connection, ${SETTINGS.sequential} requests per case after ${SETTINGS.sequentialWarmup} warm-up, cases interleaved (ms; background ${fmt(sq.backgroundCores, 2)} cores)`,
  );
  lines.push('');
  lines.push('| prompt | policy | requests | p50 | p90 | p99 | max |');
  lines.push('|---|---|---|---|---|---|---|');
  for (const p of Object.values(sq.paths))
    lines.push(
      `| ${p.tokens} tokens | ${p.deployment === 'none' ? '`none`' : 'default (local, buffered)'} | ${p.requests} | ${fmt(p.latencyMs.p50)} | ${fmt(p.latencyMs.p90)} | ${fmt(p.latencyMs.p99)} | ${fmt(p.latencyMs.max)} |`,
    );
  lines.push('');
  lines.push('| prompt | filter added, back to back: p50 | p90 | p99 |');
  lines.push('|---|---|---|---|');
  for (const [tokens, a] of Object.entries(sq.added)) lines.push(`| ${tokens} tokens | ${fmt(a.p50Ms)} | ${fmt(a.p90Ms)} | ${fmt(a.p99Ms)} |`);
  for (const s of results.streams) {
    lines.push('');
    lines.push(
      `### Streams, ${s.variant} answer: ${s.chunks} content chunks ${s.chunkDelayMs} ms apart, ${s.streamChars} characters in all; sequential streams (ms; background ${fmt(s.backgroundCores, 2)} cores)`,
    );
    lines.push('');
    lines.push(
      '| stream mode | streams ok | problems | content events (mean) | TTFT p50 | TTFT p99 | total p50 | total p99 | TTFT p50 vs none | TTFT p99 vs none | total p50 vs none |',
    );
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const [mode, v] of Object.entries(s.modes)) {
      const label = mode === 'none' ? 'policy `none`' : mode === 'buffered' ? 'default policy, buffered' : 'default policy, `stream_mode: async`';
      lines.push(
        `| ${label} | ${v.streams} | ${v.problems} | ${fmt(v.contentEventsMean, 1)} | ${fmt(v.ttftMs.p50)} | ${fmt(v.ttftMs.p99)} | ${fmt(v.totalMs.p50)} | ${fmt(v.totalMs.p99)} | ${v.vsNone ? fmt(v.vsNone.ttftP50Ms) : ''} | ${v.vsNone ? fmt(v.vsNone.ttftP99Ms) : ''} | ${v.vsNone ? fmt(v.vsNone.totalP50Ms) : ''} |`,
      );
    }
  }
  lines.push('');
  lines.push('### Target');
  lines.push('');
  lines.push('| target | value | limit | result |');
  lines.push('|---|---|---|---|');
  for (const t of results.targets) lines.push(`| ${t.name} | ${fmt(t.value, 3)} | ${t.limit} | ${t.pass ? 'PASS' : 'FAIL'} |`);
  if (results.flags.length) lines.push('', `**Flagged: ${results.flags.join('; ')}**`);
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
      waitedForQuietS: quiet.waitedS,
      othersAtStart: quiet.othersAtStart,
      backgroundBeforeStartCores: quiet.backgroundCores,
    },
    flags: [],
  };
  const prompts = [];
  for (const tokens of PROMPT_TOKENS) prompts.push(await benignPrompt(tokens));
  log(`prompts: ${prompts.map((p) => `${p.tokens} tokens / ${p.chars} characters`).join(', ')}`);

  log('classifier alone, in-process');
  results.classifier = await classifierTimings(prompts);

  const dir = tempDir('cerulean-safety-');
  const masterKey = `cer-bench-${randomBytes(12).toString('hex')}`;
  const longUp = await startUpstream(dir, 'upstream-long', SETTINGS.longChunkChars);
  const shortUp = await startUpstream(dir, 'upstream-short', 0);
  const cerulean = await startCerulean(dir, longUp.url, shortUp.url, masterKey);
  try {
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${masterKey}` };
    log(`filter stage: ${SETTINGS.rate} req/s, ${SETTINGS.rounds} rounds of ${SETTINGS.roundMs} ms per case`);
    results.filterLatency = await filterLatency(cerulean, [longUp, shortUp], headers, prompts);
    for (const p of Object.values(results.filterLatency.paths)) {
      if (p.ok !== p.sent)
        results.flags.push(`${p.deployment}/${p.tokens}: ${p.sent - p.ok} of ${p.sent} failed (${JSON.stringify({ ...p.statuses, ...p.errors })})`);
    }
    log(`filter stage, back to back: ${SETTINGS.sequential} requests per case`);
    results.filterSequential = await filterSequential(cerulean, headers, prompts);
    for (const p of Object.values(results.filterSequential.paths))
      if (p.failed) results.flags.push(`sequential ${p.deployment}/${p.tokens}: ${p.failed} failed`);
    results.streams = [];
    for (const [variant, upstream] of [
      ['long', longUp],
      ['short', shortUp],
    ]) {
      const stats = await (await request(`${upstream.url}/stats`)).body.json();
      log(`streams (${variant} answer, ${stats.stream_chars} characters): ${SETTINGS.streams} per mode`);
      const s = await streams(cerulean, headers, variant, stats.stream_chars);
      for (const [mode, v] of Object.entries(s.modes))
        if (v.problems) results.flags.push(`streams ${variant} ${mode}: ${v.problems} problems (${v.firstProblems.join(' | ')})`);
      results.streams.push(s);
    }
    const logText = readFileSync(cerulean.logFile, 'utf8');
    const warnings = logText.split('\n').filter((line) => /"level":(40|50|60)/.test(line));
    results.ceruleanWarnings = { count: warnings.length, first: warnings.slice(0, 2).map((w) => w.slice(0, 300)) };
  } finally {
    await cerulean.stop();
    await longUp.stop();
    await shortUp.stop();
  }
  const big = results.classifier[prompts[prompts.length - 1].tokens];
  results.targets = [
    {
      name: `classifier alone, ${big.tokens}-token prompt, p99 (ms), hot loop`,
      value: big.classifyMs.p99,
      limit: `< ${TARGET_CLASSIFIER_P99_MS}`,
      pass: big.classifyMs.p99 < TARGET_CLASSIFIER_P99_MS,
    },
    {
      name: `classifier alone, ${big.tokens}-token prompt, p99 (ms), after mixed string inputs`,
      value: big.classifyAfterMixedMs.p99,
      limit: `< ${TARGET_CLASSIFIER_P99_MS}`,
      pass: big.classifyAfterMixedMs.p99 < TARGET_CLASSIFIER_P99_MS,
    },
  ];
  results.meta.wallS = Math.round((Date.now() - startedAt) / 1000);
  results.markdown = markdown(results);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'safety.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\n${results.markdown}\n\nResults written to bench/results/safety.json (${results.meta.wallS} s)\n`);
  if (results.flags.length) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
