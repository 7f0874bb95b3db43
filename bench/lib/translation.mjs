// The translation section of `npm run bench`: the same question and the same upstream answer through
// Cerulean's three inbound APIs (chat completions, the Responses API, the Messages API), so what
// the Responses and Messages translations cost shows up against chat completions. The upstream
// fixture only speaks chat completions; Cerulean translates the other two both ways.
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { oneStream, STREAM_PROTOCOLS, streamLoop } from './load.mjs';
import { backgroundLoad, procStats } from './processes.mjs';
import { selectRounds } from './rounds.mjs';
import { round, summarize } from './stats.mjs';

/** CPU per request of a translated API over chat completions', both through Cerulean: the aim. */
export const CPU_RATIO_LIMIT = 1.2;

/** The APIs compared; `direct` (the upstream itself) is the floor the latencies are measured against. */
export const TRANSLATED = ['responses', 'messages'];

const SYSTEM = 'You are a terse assistant.';
const QUESTION = 'Say hello.';

/** Request bodies asking the same question through each API (same instructions, limit and temperature). */
export function bodies(chatBody, stream) {
  const chatExtra = stream ? { stream: true, stream_options: { include_usage: true } } : {};
  const responses = { model: 'chat', instructions: SYSTEM, input: QUESTION, max_output_tokens: 32, temperature: 0, ...(stream ? { stream: true } : {}) };
  const messages = {
    model: 'chat',
    system: SYSTEM,
    messages: [{ role: 'user', content: QUESTION }],
    max_tokens: 32,
    temperature: 0,
    ...(stream ? { stream: true } : {}),
  };
  return {
    direct: chatBody('fixture-model', chatExtra),
    chat: chatBody('chat', chatExtra),
    responses: JSON.stringify(responses),
    // The Responses API stores every response unless told not to; this path shows what storing costs.
    'responses-nostore': JSON.stringify({ ...responses, store: false }),
    messages: JSON.stringify(messages),
  };
}

/**
 * The paths of the section. Each has `route`, `headers`, `body`, `contentOf` (the answer's text, for
 * the probe), `protocol` (how its stream reads) and `processes` (whose CPU is counted).
 */
export function translationPaths({ upstream, cerulean, key, chatBody, stream = false }) {
  const json = { 'content-type': 'application/json' };
  const bearer = { ...json, authorization: `Bearer ${key}` };
  const body = bodies(chatBody, stream);
  const chatContent = (answer) => answer.choices?.[0]?.message?.content;
  const responsesContent = (answer) => answer.output?.find((item) => item.type === 'message')?.content?.find((part) => part.type === 'output_text')?.text;
  const messagesContent = (answer) => answer.content?.find((block) => block.type === 'text')?.text;
  const viaCerulean = { url: cerulean.url, processes: [cerulean, upstream] };
  return [
    {
      name: 'direct',
      url: upstream.url,
      route: '/v1/chat/completions',
      headers: json,
      body: body.direct,
      contentOf: chatContent,
      protocol: STREAM_PROTOCOLS.chat,
      processes: [upstream],
    },
    { name: 'chat', ...viaCerulean, route: '/v1/chat/completions', headers: bearer, body: body.chat, contentOf: chatContent, protocol: STREAM_PROTOCOLS.chat },
    {
      name: 'responses',
      ...viaCerulean,
      route: '/v1/responses',
      headers: bearer,
      body: body.responses,
      contentOf: responsesContent,
      protocol: STREAM_PROTOCOLS.responses,
    },
    {
      name: 'responses-nostore',
      ...viaCerulean,
      route: '/v1/responses',
      headers: bearer,
      body: body['responses-nostore'],
      contentOf: responsesContent,
      protocol: STREAM_PROTOCOLS.responses,
    },
    {
      name: 'messages',
      ...viaCerulean,
      route: '/v1/messages',
      // Anthropic's own header pair: what an Anthropic SDK sends.
      headers: { ...json, 'x-api-key': key, 'anthropic-version': '2023-06-01' },
      body: body.messages,
      contentOf: messagesContent,
      protocol: STREAM_PROTOCOLS.messages,
    },
  ];
}

/**
 * Sequential streams, alternating the order of the paths each turn: time to the first event of any
 * kind, to the first text event, the mean gap between text events and the whole stream.
 */
export async function streamTimings(paths, { streams, warmup, chunks, deadlineMs }) {
  const pools = Object.fromEntries(paths.map((path) => [path.name, new Pool(path.url, { connections: 2 })]));
  const samples = Object.fromEntries(paths.map((path) => [path.name, []]));
  const problems = Object.fromEntries(paths.map((path) => [path.name, []]));
  const deadline = Date.now() + deadlineMs;
  const one = async (path, keep) => {
    try {
      const result = await oneStream(pools[path.name], { path: path.route, headers: path.headers, body: path.body, protocol: path.protocol });
      if (result.error) problems[path.name].push(result.error);
      else if (result.contentUs.length !== chunks || !result.done || !result.usage) {
        problems[path.name].push(`incomplete stream: ${result.contentUs.length}/${chunks} text events, done=${result.done}, usage=${result.usage}`);
      } else if (keep) samples[path.name].push(result);
    } catch (error) {
      problems[path.name].push(String(error.message));
    }
  };
  for (let i = 0; i < warmup && Date.now() < deadline; i++) for (const path of paths) await one(path, false);
  for (let i = 0; i < streams && Date.now() < deadline; i++) for (const path of i % 2 === 0 ? paths : [...paths].reverse()) await one(path, true);
  await Promise.all(Object.values(pools).map((pool) => pool.destroy()));
  return Object.fromEntries(
    paths.map((path) => {
      const list = samples[path.name];
      return [
        path.name,
        {
          streams: list.length,
          problems: problems[path.name].length,
          firstProblems: problems[path.name].slice(0, 3),
          firstEventMs: summarize(list.map((s) => s.firstEventUs)),
          firstTextMs: summarize(list.map((s) => s.contentUs[0])),
          meanInterChunkMs: summarize(list.map((s) => (s.contentUs[s.contentUs.length - 1] - s.contentUs[0]) / (s.contentUs.length - 1))),
          totalMs: summarize(list.map((s) => s.totalUs)),
        },
      ];
    }),
  );
}

/**
 * CPU per stream: `concurrency` streams at a time per path for `roundMs`, in `rounds` interleaved
 * rounds; the CPU time (user + system, from /proc) of each path's processes over the streams the
 * round ran. Rounds with other processes busy are left out as in the other phases.
 */
export async function streamCpu(paths, servers, { rounds: count, roundMs, concurrency, chunks }, log) {
  const rounds = Object.fromEntries(paths.map((path) => [path.name, []]));
  for (let i = 0; i < count; i++) {
    for (const path of i % 2 === 0 ? paths : [...paths].reverse()) {
      const watch = backgroundLoad(servers);
      const before = path.processes.map((p) => procStats(p.pid));
      const run = await streamLoop({
        origin: path.url,
        spec: { path: path.route, headers: path.headers, body: path.body, protocol: path.protocol },
        concurrency,
        durationMs: roundMs,
        expectedChunks: chunks,
      });
      const after = path.processes.map((p) => procStats(p.pid));
      run.background = watch.stop();
      run.cpuMs = Object.fromEntries(
        path.processes.map((p, j) => [p.name, before[j] && after[j] ? after[j].userMs - before[j].userMs + after[j].sysMs - before[j].sysMs : null]),
      );
      rounds[path.name].push(run);
      log(
        `  translation stream CPU round ${i + 1}/${count} ${path.name}: ${run.ok}/${run.streams} streams in ${run.wallMs} ms, background ${run.background.foreignCores ?? 'n/a'} cores`,
      );
      await sleep(100);
    }
  }
  const { quietOnly, pick } = selectRounds(rounds, (r) => r.background.foreignCores);
  return Object.fromEntries(
    paths.map((path) => {
      const all = rounds[path.name];
      const used = pick(path.name);
      const streams = used.reduce((t, r) => t + r.streams, 0);
      const wallMs = used.reduce((t, r) => t + r.wallMs, 0);
      const cpuUsPerStream = Object.fromEntries(
        path.processes.map((p) => {
          const ms = used.reduce((t, r) => t + (r.cpuMs[p.name] ?? NaN), 0);
          return [p.name, streams && Number.isFinite(ms) ? round((ms * 1000) / streams, 1) : null];
        }),
      );
      const background = used.map((r) => r.background.foreignCores).filter((v) => v !== null);
      return [
        path.name,
        {
          concurrency,
          rounds: all.length,
          roundsUsed: used.length,
          quietRoundsOnly: quietOnly,
          streams: all.reduce((t, r) => t + r.streams, 0),
          ok: all.reduce((t, r) => t + r.ok, 0),
          failed: all.reduce((t, r) => t + r.failed, 0),
          firstProblems: all.flatMap((r) => r.problems).slice(0, 3),
          streamsPerS: wallMs ? round((streams * 1000) / wallMs, 1) : null,
          cpuUsPerStream,
          backgroundCores: background.length ? Math.max(...background) : null,
        },
      ];
    }),
  );
}

/** Differences and ratios against chat completions through Cerulean and against the upstream itself; the targets. */
export function evaluateTranslation(t) {
  const diff = (a, b) => (a == null || b == null ? null : round(a - b));
  const ratio = (a, b) => (a == null || !b ? null : round(a / b, 2));
  const steady = (name, key) => t.steady?.[name]?.latencyMs?.[key] ?? null;
  const cpu = (name) => t.saturation?.[name]?.cpuUsPerRequest?.cerulean ?? null;
  const streamCpuOf = (name) => t.streamCpu?.[name]?.cpuUsPerStream?.cerulean ?? null;
  const timing = (name, key, q) => t.streamTimings?.[name]?.[key]?.[q] ?? null;
  t.comparison = {};
  for (const name of ['chat', ...TRANSLATED, 'responses-nostore']) {
    t.comparison[name] = {
      addedOverDirect: { p50Ms: diff(steady(name, 'p50'), steady('direct', 'p50')), p99Ms: diff(steady(name, 'p99'), steady('direct', 'p99')) },
      addedOverChat: { p50Ms: diff(steady(name, 'p50'), steady('chat', 'p50')), p99Ms: diff(steady(name, 'p99'), steady('chat', 'p99')) },
      cpuOverChat: ratio(cpu(name), cpu('chat')),
      rpsOverChat: ratio(t.saturation?.[name]?.rps ?? null, t.saturation?.chat?.rps ?? null),
      stream: {
        firstEventOverDirect: { p50Ms: diff(timing(name, 'firstEventMs', 'p50'), timing('direct', 'firstEventMs', 'p50')) },
        firstEventOverChat: {
          p50Ms: diff(timing(name, 'firstEventMs', 'p50'), timing('chat', 'firstEventMs', 'p50')),
          p99Ms: diff(timing(name, 'firstEventMs', 'p99'), timing('chat', 'firstEventMs', 'p99')),
        },
        firstTextOverChat: { p50Ms: diff(timing(name, 'firstTextMs', 'p50'), timing('chat', 'firstTextMs', 'p50')) },
        totalOverChat: { p50Ms: diff(timing(name, 'totalMs', 'p50'), timing('chat', 'totalMs', 'p50')) },
        cpuOverChat: ratio(streamCpuOf(name), streamCpuOf('chat')),
      },
    };
  }
  t.targets = TRANSLATED.flatMap((name) => [
    { name: `${name}: CPU per request / chat completions`, value: t.comparison[name].cpuOverChat },
    { name: `${name}: CPU per stream / chat completions`, value: t.comparison[name].stream.cpuOverChat },
  ]).map((target) => ({ ...target, limit: `<= ${CPU_RATIO_LIMIT}`, pass: target.value !== null && target.value <= CPU_RATIO_LIMIT }));
  const phases = [
    ...Object.values(t.steady ?? {}).map((p) => p.backgroundCores),
    ...Object.values(t.saturation ?? {}).map((p) => p.backgroundCores),
    ...Object.values(t.streamCpu ?? {}).map((p) => p.backgroundCores),
    t.streamTimingsBackgroundCores,
  ].filter((v) => typeof v === 'number');
  t.maxBackgroundCores = phases.length ? Math.max(...phases) : null;
  return t;
}

const fmt = (value, digits = 3) => (value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits));
const pair = (a, b, digits = 3) => `${fmt(a, digits)} / ${fmt(b, digits)}`;

/** The section's markdown tables. */
export function translationMarkdown(t) {
  const s = t.settings;
  const lines = [
    `### Translation: chat completions, Responses and Messages through Cerulean to the same upstream (background up to ${fmt(t.maxBackgroundCores, 2)} cores)`,
    '',
    `Non-streaming: ${s.steady.rate} req/s open loop, ${s.steady.steadyMs / 1000} s per path in ${s.steady.rounds} interleaved rounds after ${s.steady.warmupMs / 1000} s of warm-up (latency in ms); saturation ${s.saturation.connections} connections, ${s.saturation.warmupS ?? 0} s of warm-up then ${s.saturation.saturationS} s per path in ${s.saturation.rounds} rounds. \`responses-nostore\` is the Responses request with \`store: false\`.`,
    '',
    '| API | ok / sent | p50 | p99 | added over direct p50 / p99 | added over chat p50 / p99 | saturated req/s | CPU µs per request (Cerulean / upstream) | CPU / chat | flags |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const name of ['direct', 'chat', ...TRANSLATED, 'responses-nostore']) {
    const st = t.steady?.[name];
    const sat = t.saturation?.[name];
    const c = t.comparison?.[name];
    const cpu = sat?.cpuUsPerRequest;
    lines.push(
      `| ${name} | ${st ? `${st.ok} / ${st.sent}` : '-'} | ${fmt(st?.latencyMs?.p50)} | ${fmt(st?.latencyMs?.p99)} | ${c ? pair(c.addedOverDirect.p50Ms, c.addedOverDirect.p99Ms) : '-'} | ${c ? pair(c.addedOverChat.p50Ms, c.addedOverChat.p99Ms) : '-'} | ${sat ? fmt(sat.rps, 0) : '-'} | ${cpu ? `${fmt(cpu.cerulean, 0)} / ${fmt(cpu.upstream, 0)}` : '-'} | ${fmt(c?.cpuOverChat, 2)} | ${(t.flags[name] ?? []).join('; ')} |`,
    );
  }
  lines.push(
    '',
    `Streaming: ${s.chunks} text events ${s.chunkDelayMs} ms apart; ${s.streams.streams} sequential streams per path for the timings (ms, from the request), then ${s.streamCpu.concurrency} concurrent streams per path for ${s.streamCpu.roundMs / 1000} s in ${s.streamCpu.rounds} interleaved rounds for the CPU.`,
    '',
    '| API | streams ok | first event p50 / p99 | first text p50 / p99 | mean gap | total p50 | first event over chat p50 / p99 | total over chat p50 | streams/s | CPU µs per stream (Cerulean / upstream) | CPU / chat |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const name of ['direct', 'chat', ...TRANSLATED]) {
    const v = t.streamTimings?.[name];
    const cpu = t.streamCpu?.[name];
    const c = t.comparison?.[name]?.stream;
    lines.push(
      `| ${name} | ${v ? `${v.streams} (${v.problems} problems)` : '-'} | ${pair(v?.firstEventMs?.p50, v?.firstEventMs?.p99)} | ${pair(v?.firstTextMs?.p50, v?.firstTextMs?.p99)} | ${fmt(v?.meanInterChunkMs?.mean)} | ${fmt(v?.totalMs?.p50)} | ${c ? pair(c.firstEventOverChat.p50Ms, c.firstEventOverChat.p99Ms) : '-'} | ${fmt(c?.totalOverChat?.p50Ms)} | ${fmt(cpu?.streamsPerS, 0)} | ${cpu ? `${fmt(cpu.cpuUsPerStream.cerulean, 0)} / ${fmt(cpu.cpuUsPerStream.upstream, 0)}` : '-'} | ${fmt(c?.cpuOverChat, 2)} |`,
    );
  }
  lines.push('', '| translation target | value | limit | result |', '|---|---|---|---|');
  for (const target of t.targets ?? []) lines.push(`| ${target.name} | ${fmt(target.value, 2)} | ${target.limit} | ${target.pass ? 'PASS' : 'FAIL'} |`);
  if (t.notes?.length) lines.push('', ...t.notes.map((note) => `Note: ${note}.`));
  const flagged = Object.entries(t.flags).filter(([, list]) => list.length);
  if (flagged.length) lines.push('', `**Flagged translation paths: ${flagged.map(([name, list]) => `${name} (${list.join('; ')})`).join(', ')}**`);
  return lines.join('\n');
}
