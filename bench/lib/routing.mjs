// The routing section of `npm run bench`: what a deployment over several targets costs on the
// healthy path, and what failing over from a target that fails every request costs, both against
// the deployment with one target, all through the same Cerulean to the same upstream fixture.
import { request } from 'undici';
import { round } from './stats.mjs';

/** CPU per request of the three-target deployment over the one-target deployment's: the aim. */
export const CPU_RATIO_LIMIT = 1.05;

/** Share of the failover deployment's requests that must succeed: the aim. */
export const SUCCESS_LIMIT = 1;

/** The single-target deployment is the benchmark's `chat`; these are the section's own. */
export const WEIGHTED_DEPLOYMENT = 'routed';
export const FAILOVER_DEPLOYMENT = 'failover';
const WEIGHTED_PROVIDERS = ['fixture', 'fixture-b', 'fixture-c'];
const FAILING_PROVIDER = 'failing';

/**
 * Cerulean configuration for the section, to add to the benchmark's: two more providers on the same
 * upstream fixture (with `fixture`, three targets for one weighted deployment), and a provider on
 * the failing fixture that is tried first by the failover deployment. The failing provider makes
 * one attempt (no retries with backoff inside it), and the breaker is set never to open, so every
 * request of the failover run meets the failing target first and then fails over: the worst case
 * of failover, not the case of a target the breaker has already taken out.
 */
export function routingConfig({ upstreamUrl, failingUrl }) {
  const provider = (name, origin, more = []) => [`  ${name}:`, '    type: openai-compatible', `    base_url: ${JSON.stringify(`${origin}/v1`)}`, ...more];
  return {
    providerLines: [
      ...provider('fixture-b', upstreamUrl),
      ...provider('fixture-c', upstreamUrl),
      ...provider(FAILING_PROVIDER, failingUrl, ['    retry: { max_attempts: 1 }']),
    ],
    deploymentLines: [
      `  ${WEIGHTED_DEPLOYMENT}:`,
      '    strategy: weighted',
      '    targets:',
      ...WEIGHTED_PROVIDERS.map((name, i) => `      - { provider: ${name}, model: fixture-model, weight: ${3 - i} }`),
      `  ${FAILOVER_DEPLOYMENT}:`,
      '    strategy: priority',
      '    targets:',
      `      - { provider: ${FAILING_PROVIDER}, model: fixture-model, priority: 0 }`,
      '      - { provider: fixture, model: fixture-model, priority: 1 }',
    ],
    extra: ['routing:', '  breaker: { failure_threshold: 1000000000, failure_rate: 1, minimum_requests: 1000000000 }'],
  };
}

/** The section's paths, all chat completions through Cerulean: one target, three weighted targets, failover. */
export function routingPaths({ cerulean, upstream, failing, key, chatBody }) {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const base = { url: cerulean.url, route: '/v1/chat/completions', headers };
  return [
    { name: 'single', targets: 'one target', ...base, body: chatBody('chat'), processes: [cerulean, upstream] },
    { name: 'weighted3', targets: 'three targets, weights 3/2/1', ...base, body: chatBody(WEIGHTED_DEPLOYMENT), processes: [cerulean, upstream] },
    {
      name: 'failover',
      targets: 'failing (503) first, then healthy',
      ...base,
      body: chatBody(FAILOVER_DEPLOYMENT),
      processes: [cerulean, upstream, failing],
    },
  ];
}

/**
 * `count` sequential requests through a path, reading the routing headers: how many succeeded, and
 * how often each value of x-cerulean-attempts and x-cerulean-target came back.
 */
export async function routingHeaders(path, count) {
  const attempts = {};
  const targets = {};
  let ok = 0;
  for (let i = 0; i < count; i++) {
    try {
      const response = await request(`${path.url}${path.route}`, {
        method: 'POST',
        headers: path.headers,
        body: path.body,
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      await response.body.text();
      if (response.statusCode === 200) ok++;
      const a = String(response.headers['x-cerulean-attempts'] ?? 'none');
      const t = String(response.headers['x-cerulean-target'] ?? 'none');
      attempts[a] = (attempts[a] ?? 0) + 1;
      targets[t] = (targets[t] ?? 0) + 1;
    } catch {
      attempts.error = (attempts.error ?? 0) + 1;
    }
  }
  return { requests: count, ok, attempts, targets };
}

/** Added latency and CPU ratios against the one-target deployment; success shares; the targets. */
export function evaluateRouting(r) {
  const diff = (a, b) => (a == null || b == null ? null : round(a - b));
  const ratio = (a, b) => (a == null || !b ? null : round(a / b, 3));
  const steady = (name, key) => r.steady?.[name]?.latencyMs?.[key] ?? null;
  const cpu = (name) => r.saturation?.[name]?.cpuUsPerRequest?.cerulean ?? null;
  r.comparison = {};
  for (const name of ['weighted3', 'failover']) {
    const st = r.steady?.[name];
    const sat = r.saturation?.[name];
    const sent = (st?.sent ?? 0) + (sat ? sat.ok + sat.non2xx + sat.errors + sat.timeouts : 0);
    const ok = (st?.ok ?? 0) + (sat?.ok ?? 0);
    r.comparison[name] = {
      addedOverSingle: { p50Ms: diff(steady(name, 'p50'), steady('single', 'p50')), p99Ms: diff(steady(name, 'p99'), steady('single', 'p99')) },
      cpuOverSingle: ratio(cpu(name), cpu('single')),
      rpsOverSingle: ratio(r.saturation?.[name]?.rps ?? null, r.saturation?.single?.rps ?? null),
      success: sent ? round(ok / sent, 5) : null,
      sent,
      ok,
    };
  }
  r.targets = [
    {
      name: 'three weighted targets: CPU per request / one target',
      value: r.comparison.weighted3.cpuOverSingle,
      limit: `<= ${CPU_RATIO_LIMIT}`,
      pass: r.comparison.weighted3.cpuOverSingle !== null && r.comparison.weighted3.cpuOverSingle <= CPU_RATIO_LIMIT,
    },
    {
      name: 'failover (one target failing every request): share of requests that succeed',
      value: r.comparison.failover.success,
      limit: `>= ${SUCCESS_LIMIT}`,
      pass: r.comparison.failover.success !== null && r.comparison.failover.success >= SUCCESS_LIMIT,
    },
  ];
  const phases = [...Object.values(r.steady ?? {}).map((p) => p.backgroundCores), ...Object.values(r.saturation ?? {}).map((p) => p.backgroundCores)].filter(
    (v) => typeof v === 'number',
  );
  r.maxBackgroundCores = phases.length ? Math.max(...phases) : null;
  return r;
}

const fmt = (value, digits = 3) => (value === null || value === undefined || !Number.isFinite(value) ? 'n/a' : value.toFixed(digits));
const pair = (a, b, digits = 3) => `${fmt(a, digits)} / ${fmt(b, digits)}`;
const counts = (map) =>
  Object.entries(map ?? {})
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');

/** The section's markdown. */
export function routingMarkdown(r) {
  const s = r.settings;
  const lines = [
    `### Routing: one target vs three weighted targets vs failover from a failing target, through Cerulean to the same upstream (background up to ${fmt(r.maxBackgroundCores, 2)} cores)`,
    '',
    `${s.steady.rate} req/s open loop, ${s.steady.steadyMs / 1000} s per path in ${s.steady.rounds} interleaved rounds after ${s.steady.warmupMs / 1000} s of warm-up (latency in ms); saturation ${s.saturation.connections} connections, ${s.saturation.warmupS ?? 0} s of warm-up then ${s.saturation.saturationS} s per path in ${s.saturation.rounds} rounds. The failover deployment tries a target answering 503 to every request first (one attempt, breaker set never to open), then the healthy one: every request fails over.`,
    '',
    '| path | targets | ok / sent (steady) | p50 | p99 | added over one target p50 / p99 | saturated req/s | CPU µs per request (Cerulean / upstream) | CPU / one target | success (steady + saturation) | flags |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const name of ['single', 'weighted3', 'failover']) {
    const st = r.steady?.[name];
    const sat = r.saturation?.[name];
    const c = r.comparison?.[name];
    const cpu = sat?.cpuUsPerRequest;
    lines.push(
      `| ${name} | ${r.describe?.[name] ?? ''} | ${st ? `${st.ok} / ${st.sent}` : '-'} | ${fmt(st?.latencyMs?.p50)} | ${fmt(st?.latencyMs?.p99)} | ${c ? pair(c.addedOverSingle.p50Ms, c.addedOverSingle.p99Ms) : '-'} | ${sat ? fmt(sat.rps, 0) : '-'} | ${cpu ? `${fmt(cpu.cerulean, 0)} / ${fmt(cpu.upstream, 0)}` : '-'} | ${fmt(c?.cpuOverSingle, 3)} | ${c ? `${c.ok} / ${c.sent} (${fmt(c.success === null ? null : c.success * 100, 2)} %)` : '-'} | ${(r.flags[name] ?? []).join('; ')} |`,
    );
  }
  const h = r.headers ?? {};
  lines.push('');
  if (h.weighted3) lines.push(`Targets chosen by ${h.weighted3.requests} sequential requests to the weighted deployment: ${counts(h.weighted3.targets)}.`);
  if (h.failover)
    lines.push(
      `Sequential requests to the failover deployment: ${h.failover.ok} / ${h.failover.requests} ok; x-cerulean-attempts ${counts(h.failover.attempts)}; x-cerulean-target ${counts(h.failover.targets)}.`,
    );
  if (r.failingSaw !== null && r.failingSaw !== undefined)
    lines.push(`The failing target answered ${r.failingSaw} attempts (503 each) over the whole section, warm-ups included.`);
  lines.push('', '| routing target | value | limit | result |', '|---|---|---|---|');
  for (const target of r.targets ?? []) lines.push(`| ${target.name} | ${fmt(target.value, 3)} | ${target.limit} | ${target.pass ? 'PASS' : 'FAIL'} |`);
  if (r.notes?.length) lines.push('', ...r.notes.map((note) => `Note: ${note}.`));
  const flagged = Object.entries(r.flags).filter(([, list]) => list.length);
  if (flagged.length) lines.push('', `**Flagged routing paths: ${flagged.map(([name, list]) => `${name} (${list.join('; ')})`).join(', ')}**`);
  return lines.join('\n');
}
