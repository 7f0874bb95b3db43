// One replica in multi-process.test.ts: a separate Node process running the BUILT limiter (dist/,
// which `npm test` compiles first) against the shared Redis, with many admissions in flight at
// once. Protocol over the IPC channel:
//   parent -> { type: 'start', config }   worker -> { type: 'ready' }
//   parent -> { type: 'go', startAt, until }       worker -> { type: 'done', report } and exits.
// A hard timer ends the process whatever happens, so a broken run cannot leave it behind.

const dist = new URL('../../dist/', import.meta.url);
const { QuotaAdmission, estimateRequestTokens } = await import(new URL('ratelimit/quota-admission.js', dist).href);
const { RedisRateLimitStore } = await import(new URL('ratelimit/redis/redis-rate-limit-store.js', dist).href);
const { RateLimitedError } = await import(new URL('errors/catalogue.js', dist).href);

setTimeout(() => process.exit(3), 30_000).unref();

/** Small deterministic generator (mulberry32), so each worker's mix of costs is reproducible. */
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

let config;
let store;
let admission;

process.on('message', async (message) => {
  if (message.type === 'start') {
    config = message.config;
    store = new RedisRateLimitStore(config.redisUrl, { keyPrefix: config.keyPrefix });
    admission = new QuotaAdmission(store);
    // Build the tokenizer and open the connection before the clock starts.
    estimateRequestTokens('chat', { messages: [{ role: 'user', content: 'warm up' }] }, 'gpt-4o');
    await store.take([{ key: 'warm-up', limit: 1, cost: 0, windowMs: 1_000 }], config.now);
    process.send({ type: 'ready' });
  } else if (message.type === 'go') {
    process.send({ type: 'done', report: await hammer(message.startAt, message.until) });
    await store.close();
    process.disconnect();
  }
});

async function hammer(startAt, until) {
  const random = generator(config.seed);
  const report = { admittedTokens: 0, admittedByProject: {}, admitted: 0, refused: 0, errors: [] };
  const loop = async () => {
    for (let attempt = 0; attempt < config.maxAttemptsPerLoop && Date.now() < until; attempt++) {
      const projectId = config.projects[Math.floor(random() * config.projects.length)];
      const maxTokens = config.minMaxTokens + Math.floor(random() * (config.maxMaxTokens - config.minMaxTokens + 1));
      try {
        const admitted = await admission.admit({
          deployment: config.deployment,
          deploymentTpm: config.deploymentTpm,
          projectId,
          projectTpm: config.projectTpm,
          operation: 'chat',
          body: { messages: [{ role: 'user', content: 'Summarise the quarterly report.' }], max_tokens: maxTokens },
          model: 'gpt-4o',
          now: config.now,
        });
        report.admitted += 1;
        report.admittedTokens += admitted.estimatedTokens;
        report.admittedByProject[projectId] = (report.admittedByProject[projectId] ?? 0) + admitted.estimatedTokens;
        // The upstream call this admission let through.
        await sleep(config.upstreamMs[0] + random() * (config.upstreamMs[1] - config.upstreamMs[0]));
      } catch (error) {
        if (error instanceof RateLimitedError) report.refused += 1;
        else report.errors.push(String(error));
        await sleep(config.refusedBackoffMs);
      }
    }
  };
  // All replicas start at the same instant, so they contend from the first request.
  await sleep(startAt - Date.now());
  await Promise.all(Array.from({ length: config.concurrency }, loop));
  return report;
}
