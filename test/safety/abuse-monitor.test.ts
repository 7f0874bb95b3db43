import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { adminContext } from '../../src/admin/admin-routes.js';
import { adminOperation } from '../../src/admin/admin-operations.js';
import { MASTER_PRINCIPAL } from '../../src/auth/master-key.js';
import type { AbuseMonitoringConfig } from '../../src/config/schema.js';
import type { InferenceContext } from '../../src/pipeline/context.js';
import { MemoryAbuseCounterStore, type AbuseCounterStore } from '../../src/safety/abuse/abuse-counter-store.js';
import { AbuseMonitor, type AbuseEscalation } from '../../src/safety/abuse/abuse-monitor.js';
import { RedisAbuseCounterStore } from '../../src/safety/abuse/redis-abuse-counter-store.js';
import type { FilterDecision } from '../../src/safety/content-filter.js';
import { openStorage } from '../../src/storage/open-storage.js';
import type { Storage } from '../../src/storage/storage.js';
import { deleteKeys, TEST_REDIS_URL } from '../ratelimit/redis-test-support.js';
import { redisAvailable } from '../helpers/services.js';

const T0 = Date.UTC(2024, 0, 1, 10, 0, 0);
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

const FLAGGED: FilterDecision = {
  results: { hate: { filtered: false, severity: 'medium' }, sexual: { filtered: false, severity: 'safe' } },
  blocked: false,
  flagged: true,
  worst: { category: 'hate', severity: 'medium' },
};
const BLOCKED: FilterDecision = {
  results: { hate: { filtered: true, severity: 'high' }, jailbreak: { filtered: true, detected: true } },
  blocked: true,
  flagged: true,
  worst: { category: 'hate', severity: 'high' },
};
const CLEAN: FilterDecision = {
  results: { hate: { filtered: false, severity: 'safe' } },
  blocked: false,
  flagged: false,
  worst: { category: null, severity: 'safe' },
};
/** A classifier failed closed: blocked, but nothing was found. */
const FAILED_CLOSED: FilterDecision = {
  results: { error: { code: 'content_filter_error', message: 'x' } },
  blocked: true,
  flagged: false,
  worst: { category: null, severity: 'safe' },
};

function config(overrides: Partial<AbuseMonitoringConfig> = {}): AbuseMonitoringConfig {
  return {
    window_minutes: 15,
    long_window_hours: 24,
    flag_threshold: 3,
    block_threshold: 2,
    suspend_threshold: 4,
    actions: ['notify', 'throttle', 'suspend'],
    webhook_url: undefined,
    webhook_timeout_ms: 2_000,
    throttle_minutes: 5,
    sample_retention_days: 30,
    ...overrides,
  };
}

let requestCounter = 0;

function keyContext(options: { key?: string; project?: string; user?: string; id?: string } = {}): InferenceContext {
  const project = options.project ?? 'proj_a';
  return {
    id: options.id ?? `req_${++requestCounter}`,
    deployment: 'chat',
    principal: { kind: 'key', id: options.key ?? 'key_1', organizationId: 'org_1', projectId: project, deployments: null },
    projectId: project,
    organizationId: 'org_1',
    body: options.user === undefined ? {} : { user: options.user },
  } as unknown as InferenceContext;
}

async function refusal(
  monitor: AbuseMonitor,
  context: InferenceContext,
): Promise<{ status: number; code: string | null; retryAfterSeconds?: number } | undefined> {
  try {
    await monitor.gate(context);
    return undefined;
  } catch (error) {
    const { status, code, retryAfterSeconds } = error as { status: number; code: string | null; retryAfterSeconds?: number };
    return { status, code, retryAfterSeconds };
  }
}

/** A local webhook receiver. */
async function startReceiver(): Promise<{ url: string; bodies: Array<Record<string, any>>; close(): Promise<void> }> {
  const bodies: Array<Record<string, any>> = [];
  const server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      bodies.push({ ...(JSON.parse(text) as Record<string, unknown>), contentType: request.headers['content-type'] });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let storage: Storage;
let now: number;
const monitors: AbuseMonitor[] = [];

async function seed(target: Storage): Promise<void> {
  await target.organizations.create({ id: 'org_1', name: 'Org', createdAt: T0 });
  await target.projects.create({ id: 'proj_a', organizationId: 'org_1', name: 'A', keyAuthEnabled: true, dataZone: null, regions: null, createdAt: T0 });
  for (const id of ['key_1', 'key_2']) {
    await target.keys.create({
      id,
      projectId: 'proj_a',
      name: id,
      prefix: `cer-${id}`,
      hash: `hash-${id}`,
      deployments: null,
      expiresAt: null,
      revokedAt: null,
      createdAt: T0,
      lastUsedAt: null,
      createdBy: null,
      dataZone: null,
      regions: null,
    });
  }
}

async function monitorWith(
  overrides: Partial<AbuseMonitoringConfig> = {},
  extra: { store?: AbuseCounterStore; registry?: Registry; escalations?: AbuseEscalation[] } = {},
): Promise<AbuseMonitor> {
  const errors: unknown[] = [];
  const monitor = new AbuseMonitor({
    config: config(overrides),
    storage,
    store: extra.store,
    registry: extra.registry,
    now: () => now,
    onError: (error) => errors.push(error),
    onEscalation: (escalation) => extra.escalations?.push(escalation),
  });
  await monitor.start();
  monitors.push(monitor);
  return monitor;
}

async function observe(
  monitor: AbuseMonitor,
  decision: FilterDecision,
  times = 1,
  context: () => InferenceContext = () => keyContext(),
  text = 'offending text',
): Promise<void> {
  for (let i = 0; i < times; i++) monitor.observe(context(), 'prompt', decision, text);
  await monitor.flush();
}

beforeEach(async () => {
  now = T0;
  storage = await openStorage('sqlite::memory:');
  await storage.migrate();
  await seed(storage);
});

afterEach(async () => {
  for (const monitor of monitors.splice(0)) await monitor.close();
  await storage.close();
});

describe('abuse monitor', () => {
  it('escalates from flag to throttle to suspension, notifying a webhook, and comes back on reinstatement', async () => {
    const receiver = await startReceiver();
    try {
      const escalations: AbuseEscalation[] = [];
      const monitor = await monitorWith({ webhook_url: receiver.url }, { escalations });
      const context = (): InferenceContext => keyContext();

      // Below the flag threshold: nothing opens.
      await observe(monitor, FLAGGED, 2, context);
      expect(await storage.abuse.list()).toEqual([]);

      // The third flagged request within 15 minutes opens reviews for the key and its project.
      now += MINUTE;
      await observe(monitor, FLAGGED, 1, context);
      const keyReview = await storage.abuse.findActive('key', 'key_1', 'proj_a');
      expect(keyReview).toMatchObject({ status: 'open', events: 3, organizationId: 'org_1' });
      expect(keyReview?.reason).toContain('3 flagged and 0 blocked requests within 15 minutes');
      expect(await storage.abuse.findActive('project', 'proj_a', 'proj_a')).toMatchObject({ status: 'open' });
      expect(await refusal(monitor, context())).toBeUndefined();
      await expect.poll(() => receiver.bodies.length).toBe(2);
      expect(receiver.bodies.find((body) => body.subject.type === 'key')).toMatchObject({
        type: 'cerulean.abuse.escalation',
        level: 'flag',
        actions: ['notify'],
        subject: { type: 'key', id: 'key_1' },
        project: 'proj_a',
        organization: 'org_1',
        review: { id: keyReview!.id, status: 'open' },
        counts: { flagged: 3, blocked: 0, window_minutes: 15 },
        contentType: 'application/json',
      });
      // The webhook never carries the offending text.
      expect(JSON.stringify(receiver.bodies)).not.toContain('offending text');
      const samples = await storage.abuse.listSamples(keyReview!.id);
      expect(samples).toHaveLength(1);
      expect(samples[0]).toMatchObject({ subjectType: 'key', subjectId: 'key_1', direction: 'prompt', text: 'offending text' });
      expect(samples[0].categories).toEqual([{ category: 'hate', severity: 'medium', filtered: false }]);

      // Two blocked requests: the key is throttled (429 with retry-after); the project is not.
      now += MINUTE;
      await observe(monitor, BLOCKED, 2, context);
      expect(await refusal(monitor, context())).toEqual({ status: 429, code: 'abuse_throttled', retryAfterSeconds: 300 });
      expect(await refusal(monitor, keyContext({ key: 'key_2' }))).toBeUndefined();
      await expect.poll(() => receiver.bodies.filter((body) => body.level === 'throttle').length).toBe(2);
      const throttled = receiver.bodies.find((body) => body.level === 'throttle' && body.subject.type === 'key');
      expect(throttled).toMatchObject({ actions: ['notify', 'throttle'], throttled_until: new Date(now + 5 * MINUTE).toISOString() });
      expect(receiver.bodies.find((body) => body.level === 'throttle' && body.subject.type === 'project')?.actions).toEqual(['notify']);
      expect((await storage.abuse.get(keyReview!.id))?.events).toBe(5);

      // The throttle ends after 5 minutes.
      now += 5 * MINUTE + 1;
      expect(await refusal(monitor, context())).toBeUndefined();

      // Two more blocked within 24 hours: four in all, the key is suspended.
      now += 2 * HOUR;
      await observe(monitor, BLOCKED, 2, context);
      expect((await storage.keys.get('key_1'))?.suspendedAt).toBe(now);
      expect(await storage.abuse.get(keyReview!.id)).toMatchObject({ status: 'suspended', decidedBy: 'system', decidedAt: now });
      expect(await refusal(monitor, context())).toMatchObject({ status: 403, code: 'key_suspended' });
      expect(await refusal(monitor, keyContext({ key: 'key_2' }))).toBeUndefined();
      // A project is never suspended automatically.
      expect((await storage.abuse.findActive('project', 'proj_a', 'proj_a'))?.status).toBe('open');
      await expect.poll(() => receiver.bodies.filter((body) => body.level === 'suspend').length).toBe(2);
      expect(receiver.bodies.find((body) => body.level === 'suspend' && body.subject.type === 'key')).toMatchObject({
        actions: ['notify', 'throttle', 'suspend'],
        review: { status: 'suspended' },
      });
      const audit = await storage.audit.list({ action: 'abuse.suspend' });
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: 'system', target: 'key:key_1', projectId: 'proj_a', source: 'abuse-monitor' });
      expect(escalations.map((escalation) => `${escalation.subject.type}:${escalation.level}`)).toEqual([
        'key:flag',
        'project:flag',
        'key:throttle',
        'project:throttle',
        'key:suspend',
        'project:suspend',
      ]);

      // The operator reinstates it: the key is unsuspended, the gate opens, and counting starts afresh.
      const reinstate = adminOperation('abuse.reinstate')!;
      const context0 = adminContext({ storage, deployments: () => ['chat'] }, reinstate, MASTER_PRINCIPAL, 'test');
      expect(await reinstate.run(context0, { review: keyReview!.id, reason: 'customer fixed their app' })).toMatchObject({
        status: 'reinstated',
        decidedBy: 'master',
      });
      expect((await storage.keys.get('key_1'))?.suspendedAt).toBeNull();
      await expect.poll(() => refusal(monitor, context())).toBeUndefined();
      await monitor.flush();
      await observe(monitor, BLOCKED, 1, context);
      expect(await refusal(monitor, context())).toBeUndefined();
      // …and a new review opens only once the thresholds are reached again.
      expect(await storage.abuse.findActive('key', 'key_1', 'proj_a')).toBeUndefined();
      await observe(monitor, BLOCKED, 2, context);
      expect(await storage.abuse.findActive('key', 'key_1', 'proj_a')).toMatchObject({ status: 'open', events: 3 });
      expect(await refusal(monitor, context())).toMatchObject({ status: 429 });
    } finally {
      await receiver.close();
    }
  });

  it('counts within sliding windows: events age out of the short and the long window', async () => {
    const monitor = await monitorWith({ flag_threshold: 3, block_threshold: 3, suspend_threshold: 5, actions: ['throttle', 'suspend'] });
    await observe(monitor, FLAGGED, 2);
    now += 16 * MINUTE;
    await observe(monitor, FLAGGED, 1);
    expect(await storage.abuse.list()).toEqual([]);
    now += MINUTE;
    await observe(monitor, FLAGGED, 1);
    expect(await storage.abuse.list()).toEqual([]);
    now += MINUTE;
    await observe(monitor, FLAGGED, 1);
    expect((await storage.abuse.findActive('key', 'key_1', 'proj_a'))?.events).toBe(3);

    // Blocked: two now, two 20 minutes later never make three within 15 minutes…
    await observe(monitor, BLOCKED, 2);
    now += 20 * MINUTE;
    await observe(monitor, BLOCKED, 2);
    expect(await refusal(monitor, keyContext())).toBeUndefined();
    // …but four within 24 hours, and a fifth 23 hours on suspends; once 24 hours passed it would not.
    now += 23 * HOUR;
    await observe(monitor, BLOCKED, 1);
    expect((await storage.keys.get('key_1'))?.suspendedAt).toBe(now);

    const other = await monitorWith({ flag_threshold: 100, block_threshold: 100, suspend_threshold: 3, actions: ['suspend'] });
    const user = (): InferenceContext => keyContext({ key: 'key_2', user: 'bob' });
    await observe(other, BLOCKED, 2, user);
    now += 24 * HOUR + 1;
    await observe(other, BLOCKED, 1, user);
    expect(await refusal(other, user())).toBeUndefined();
    expect((await storage.keys.get('key_2'))?.suspendedAt).toBeNull();
  });

  it('counts a request once however many stream windows were flagged, and ignores clean and failed-closed checks', async () => {
    const registry = new Registry();
    const monitor = await monitorWith({ flag_threshold: 2, block_threshold: 2, actions: ['throttle'] }, { registry });
    const stream = keyContext({ id: 'req_stream' });
    for (let i = 0; i < 5; i++) monitor.observe(stream, 'completion', FLAGGED, `window ${i}`);
    monitor.observe(stream, 'completion', BLOCKED, 'window 5');
    monitor.observe(stream, 'completion', BLOCKED, 'window 6');
    await observe(monitor, CLEAN, 3);
    await observe(monitor, FAILED_CLOSED, 3);
    expect(await storage.abuse.list()).toEqual([]);
    expect(await refusal(monitor, keyContext())).toBeUndefined();

    const metrics = await registry.metrics();
    expect(metrics).toContain('cerulean_abuse_potentially_abusive_subjects{subject_type="key"} 0');

    // One more flagged request makes two: the key, its project and nobody else are potentially abusive.
    await observe(monitor, FLAGGED, 1);
    expect(await registry.metrics()).toContain('cerulean_abuse_potentially_abusive_subjects{subject_type="key"} 1');
    expect(await registry.metrics()).toContain('cerulean_abuse_potentially_abusive_subjects{subject_type="project"} 1');
    now += 16 * MINUTE;
    expect(await registry.metrics()).toContain('cerulean_abuse_potentially_abusive_subjects{subject_type="key"} 0');
  });

  it('suspends end users apart from their key, and ignores the master key', async () => {
    const monitor = await monitorWith({ flag_threshold: 2, block_threshold: 2, suspend_threshold: 2 });
    const mallory = (): InferenceContext => keyContext({ key: 'key_2', user: 'mallory' });
    await observe(monitor, BLOCKED, 1, mallory);
    await observe(monitor, BLOCKED, 1, () => keyContext({ key: 'key_1', user: 'mallory' }));
    expect(await refusal(monitor, mallory())).toMatchObject({ status: 403, code: 'end_user_suspended' });
    expect(await storage.abuse.findActive('end_user', 'mallory', 'proj_a')).toMatchObject({ status: 'suspended' });
    // Each key saw one blocked request only: neither is suspended, other users pass.
    expect((await storage.keys.get('key_1'))?.suspendedAt).toBeNull();
    expect(await refusal(monitor, keyContext({ key: 'key_2', user: 'alice' }))).toBeUndefined();
    expect(await refusal(monitor, keyContext({ key: 'key_2' }))).toBeUndefined();

    const master = { ...keyContext(), principal: MASTER_PRINCIPAL, projectId: undefined, organizationId: undefined } as unknown as InferenceContext;
    await observe(monitor, BLOCKED, 5, () => ({ ...master, id: `req_m_${++requestCounter}` }) as InferenceContext);
    expect(await refusal(monitor, master)).toBeUndefined();

    // A monitor starting later (another replica) knows the suspension from storage.
    const later = await monitorWith();
    expect(await refusal(later, mallory())).toMatchObject({ status: 403, code: 'end_user_suspended' });
  });

  it('stores samples cut to 2,000 characters, at most 20 per review, and prunes them after retention', async () => {
    const monitor = await monitorWith({ flag_threshold: 1, block_threshold: 1000, sample_retention_days: 30 });
    await observe(monitor, FLAGGED, 1, () => keyContext(), 'z'.repeat(3_000));
    const review = await storage.abuse.findActive('key', 'key_1', 'proj_a');
    expect((await storage.abuse.listSamples(review!.id))[0].text).toBe('z'.repeat(2_000));
    await observe(monitor, FLAGGED, 30);
    expect(await storage.abuse.listSamples(review!.id)).toHaveLength(20);
    expect((await storage.abuse.get(review!.id))?.events).toBe(31);

    now += 31 * DAY;
    await monitor.pruneSamples();
    expect(await storage.abuse.listSamples(review!.id)).toEqual([]);
    // The review itself stays for the record.
    expect((await storage.abuse.get(review!.id))?.events).toBe(31);
  });

  it('stores no text at all when retention is 0, and deletes what an earlier setting kept', async () => {
    await storage.abuse.addSample({
      id: 'abs_old',
      reviewId: 'rev_old',
      requestId: 'req_old',
      projectId: 'proj_a',
      organizationId: 'org_1',
      subjectType: 'key',
      subjectId: 'key_1',
      direction: 'prompt',
      text: 'kept before',
      categories: [],
      at: T0 - MINUTE,
    });
    const monitor = await monitorWith({ flag_threshold: 1, sample_retention_days: 0 });
    expect(await storage.abuse.listSamples('rev_old')).toEqual([]);
    await observe(monitor, FLAGGED, 3);
    const review = await storage.abuse.findActive('key', 'key_1', 'proj_a');
    expect(review?.events).toBe(3);
    expect(await storage.abuse.listSamples(review!.id)).toEqual([]);
  });

  it('starts a dismissed subject afresh', async () => {
    const monitor = await monitorWith({ flag_threshold: 2, block_threshold: 2, actions: ['throttle'] });
    await observe(monitor, BLOCKED, 2);
    expect(await refusal(monitor, keyContext())).toMatchObject({ status: 429 });
    const review = await storage.abuse.findActive('key', 'key_1', 'proj_a');
    const dismiss = adminOperation('abuse.dismiss')!;
    await dismiss.run(adminContext({ storage, deployments: () => [] }, dismiss, MASTER_PRINCIPAL, 'test'), { review: review!.id });
    await expect.poll(() => refusal(monitor, keyContext())).toBeUndefined();
    await observe(monitor, FLAGGED, 1);
    expect(await storage.abuse.findActive('key', 'key_1', 'proj_a')).toBeUndefined();
  });

  it('never throws from observe, reporting failures instead', async () => {
    const errors: unknown[] = [];
    const broken: AbuseCounterStore = {
      hit: async () => {
        throw new Error('store down');
      },
      throttle: async () => {},
      throttledUntil: async () => undefined,
      clear: async () => {},
      close: async () => {},
    };
    const monitor = new AbuseMonitor({ config: config(), storage, store: broken, now: () => now, onError: (error) => errors.push(error) });
    monitors.push(monitor);
    expect(() => monitor.observe(keyContext(), 'prompt', BLOCKED, 'x')).not.toThrow();
    await monitor.flush();
    expect(errors).toHaveLength(1);
  });
});

describe.each(redisAvailable ? (['memory', 'redis'] as const) : (['memory'] as const))('abuse counter store in %s', (kind) => {
  let admin: Redis | undefined;
  let prefix: string;
  const stores: AbuseCounterStore[] = [];

  beforeAll(() => {
    if (kind === 'redis') admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    await admin?.quit();
  });

  beforeEach(() => {
    prefix = `{cerulean-abuse}:test-${randomBytes(6).toString('hex')}:`;
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    if (admin) await deleteKeys(admin, prefix);
  });

  function create(): AbuseCounterStore {
    const store = kind === 'memory' ? new MemoryAbuseCounterStore() : new RedisAbuseCounterStore(TEST_REDIS_URL, { keyPrefix: prefix });
    stores.push(store);
    return store;
  }

  it('counts events within each sliding window and forgets those past the longest', async () => {
    const store = create();
    const windows = [15 * MINUTE, DAY];
    expect(await store.hit(['a'], ['b'], T0, windows)).toEqual([
      [1, 1],
      [0, 0],
    ]);
    expect(await store.hit(['a', 'b'], [], T0 + MINUTE, windows)).toEqual([
      [2, 2],
      [1, 1],
    ]);
    // 15 minutes after the first event it has left the short window (windows are open at the old end).
    expect(await store.hit([], ['a'], T0 + 15 * MINUTE, windows)).toEqual([[1, 2]]);
    expect(await store.hit(['a'], [], T0 + 20 * MINUTE, windows)).toEqual([[1, 3]]);
    expect(await store.hit([], ['a', 'b'], T0 + DAY + MINUTE, windows)).toEqual([
      [0, 1],
      [0, 0],
    ]);
    // Two events at the same millisecond both count.
    expect(await store.hit(['c'], [], T0, windows)).toEqual([[1, 1]]);
    expect(await store.hit(['c'], [], T0, windows)).toEqual([[2, 2]]);
  });

  it('throttles subjects until a time, keeps the later throttle, and clears', async () => {
    const store = create();
    expect(await store.throttledUntil(['s1', 's2'], T0)).toBeUndefined();
    await store.throttle('s1', T0 + 5 * MINUTE, T0);
    await store.throttle('s2', T0 + 2 * MINUTE, T0);
    await store.throttle('s1', T0 + MINUTE, T0);
    expect(await store.throttledUntil(['s1', 's2', 's3'], T0)).toBe(T0 + 5 * MINUTE);
    expect(await store.throttledUntil(['s2'], T0 + 2 * MINUTE)).toBeUndefined();
    await store.hit(['s1#x'], [], T0, [MINUTE]);
    await store.clear(['s1#x'], ['s1']);
    expect(await store.throttledUntil(['s1'], T0)).toBeUndefined();
    expect(await store.hit([], ['s1#x'], T0, [MINUTE])).toEqual([[0]]);
  });

  if (kind === 'redis') {
    it('lets replicas count together: one counts, another refuses', async () => {
      const replicaA = await monitorWith({ flag_threshold: 2, block_threshold: 2, actions: ['throttle'] }, { store: create() });
      const replicaB = await monitorWith({ flag_threshold: 2, block_threshold: 2, actions: ['throttle'] }, { store: create() });
      await observe(replicaA, BLOCKED, 1);
      await observe(replicaB, BLOCKED, 1);
      expect(await refusal(replicaA, keyContext())).toMatchObject({ status: 429, code: 'abuse_throttled' });
      expect(await refusal(replicaB, keyContext())).toMatchObject({ status: 429, code: 'abuse_throttled' });
      expect((await storage.abuse.findActive('key', 'key_1', 'proj_a'))?.events).toBe(2);
    });
  }
});
