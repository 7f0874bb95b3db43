import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AbuseMonitoringConfig } from '../../config/schema.js';
import { AbuseThrottledError, PermissionError } from '../../errors/catalogue.js';
import type { InferenceContext } from '../../pipeline/context.js';
import { RESYNC_TOPIC, type AbuseCategory, type AbuseReview, type AbuseSubjectType, type Storage } from '../../storage/storage.js';
import type { ContentFilterResults } from '../annotations.js';
import { HARM_CATEGORIES } from '../classifier.js';
import type { FilterDecision } from '../content-filter.js';
import type { SafetyObserver } from '../content-safety-stage.js';
import { MemoryAbuseCounterStore, type AbuseCounterStore } from './abuse-counter-store.js';
import { RedisAbuseCounterStore } from './redis-abuse-counter-store.js';

/** Escalation steps, in order: a review (and a notification), then throttling, then suspension. */
export type AbuseLevel = 'flag' | 'throttle' | 'suspend';
export type AbuseAction = 'notify' | 'throttle' | 'suspend';

const RANK: Record<AbuseLevel, number> = { flag: 1, throttle: 2, suspend: 3 };
const rank = (level: AbuseLevel | undefined): number => (level === undefined ? 0 : RANK[level]);

/** Who one request is counted against. */
export interface AbuseSubject {
  readonly type: AbuseSubjectType;
  /** Key id, project id, or the end user's `user` value. */
  readonly id: string;
  readonly projectId: string;
  readonly organizationId: string;
  /** Stable name of the subject in counters, throttles and the suspended set. */
  readonly key: string;
}

/** What an escalation reports (to `onEscalation`, and as the webhook body). */
export interface AbuseEscalation {
  readonly level: AbuseLevel;
  /** True when the subject reached a higher level than it held (notification goes out then). */
  readonly escalated: boolean;
  readonly subject: AbuseSubject;
  readonly review: AbuseReview;
  /** Flagged and blocked requests within the window; blocked within the long window. */
  readonly counts: { readonly flagged: number; readonly blocked: number; readonly blockedLong: number };
  /** What was done about it this time. */
  readonly actions: readonly AbuseAction[];
  readonly throttledUntil: number | undefined;
  readonly categories: readonly AbuseCategory[];
  readonly at: number;
}

export interface AbuseMonitorOptions {
  config: AbuseMonitoringConfig;
  /** Reviews, samples, key suspension, audit and the change feed. */
  storage: Storage;
  /** Counter store; default Redis when `redis` is given, else process memory. */
  store?: AbuseCounterStore;
  /** Shared counters and throttles for several replicas (the client stays the caller's to close). */
  redis?: Redis;
  /** Registers the abuse metrics here (Blocked Volume, Harmful Volume Detected, Potential Abusive User Count). */
  registry?: Registry;
  /** Clock, for tests. */
  now?: () => number;
  /** How often samples past retention are deleted (default hourly). */
  pruneIntervalMs?: number;
  /** Failures of background work (storage, Redis, webhook); they never reach a request. */
  onError?: (error: unknown, what: string) => void;
  /** Every escalation step taken (for logs). */
  onEscalation?: (escalation: AbuseEscalation) => void;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Samples one process stores per review at most: enough evidence, bounded writes under a flood. */
const MAX_SAMPLES_PER_REVIEW = 20;
/** Longest end-user id kept; longer `user` values are cut. */
const MAX_END_USER_CHARS = 256;
/** Requests remembered for counting each at most once per kind (a stream is checked in many windows). */
const SEEN_REQUESTS = 10_000;
/** Subjects remembered before stale ones are swept at once (else hourly). */
const SWEEP_AT_SUBJECTS = 50_000;

/** Harm found in a decision, as stored in samples and counted by the Harmful Volume metric. */
export function categoriesOf(results: ContentFilterResults): AbuseCategory[] {
  const out: AbuseCategory[] = [];
  for (const category of HARM_CATEGORIES) {
    const annotation = results[category];
    if (annotation && annotation.severity !== 'safe') out.push({ category, severity: annotation.severity, filtered: annotation.filtered });
  }
  for (const name of ['jailbreak', 'indirect_attack', 'profanity'] as const) {
    const annotation = results[name];
    if (annotation?.detected) out.push({ category: name, severity: 'detected', filtered: annotation.filtered });
  }
  if (results.custom_blocklists?.filtered) out.push({ category: 'blocklist', severity: 'detected', filtered: true });
  if (results.pii?.detected) out.push({ category: 'pii', severity: 'detected', filtered: results.pii.filtered });
  return out;
}

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(9).toString('base64url')}`;
}

function subjectKey(type: AbuseSubjectType, projectId: string, id: string): string {
  return `${type}|${projectId}|${id}`;
}

/** The key of the subject a review is about. */
export function reviewSubjectKey(review: Pick<AbuseReview, 'subjectType' | 'projectId' | 'subjectId'>): string {
  return subjectKey(review.subjectType, review.projectId, review.subjectId);
}

const SUSPENDED_CODE: Record<AbuseSubjectType, string> = { key: 'key_suspended', project: 'project_suspended', end_user: 'end_user_suspended' };
const SUSPENDED_WHAT: Record<AbuseSubjectType, string> = { key: 'This API key', project: 'This project', end_user: 'This end user' };

/**
 * Abuse monitoring: a {@link SafetyObserver} counting flagged and blocked filter verdicts per API
 * key, per project and per end user (the request's `user` field, within its project) over a short
 * and a long sliding window, escalating per the configuration:
 *
 * - `flag_threshold` flagged requests within `window_minutes`: a review opens (or grows) in the
 *   storage queue, with a sample of the offending text unless `sample_retention_days` is 0, and,
 *   with `notify`, a JSON webhook is POSTed (fire-and-forget, with a timeout);
 * - `block_threshold` blocked requests within the window: with `throttle`, the subject gets 429
 *   from {@link gate} for `throttle_minutes`;
 * - `suspend_threshold` blocked requests within `long_window_hours`: with `suspend`, the subject is
 *   suspended — a key in storage (`keys.suspend`, announced on the change feed, so the
 *   authenticator refuses it with 403 `key_suspended` on every replica), an end user through its
 *   review's status — until an operator reinstates it (`abuse.reinstate`).
 *
 * Throttling and suspension are automatic for keys and end users only. A project gathers all its
 * keys and users, so one offender must not cut off the rest: its reviews open and notify like the
 * others, and only an operator suspends it (`abuse.suspend` on its review; {@link gate} then
 * answers 403 `project_suspended`).
 *
 * Only verdicts that found something count (`flagged`); a request blocked because a classifier
 * failed closed is not abuse. Each request counts at most once as flagged and once as blocked,
 * however many windows of its stream were checked. {@link observe} never throws or waits: the
 * counting and escalation run behind it, failures go to `onError`.
 *
 * Dismissing or reinstating a review (announced as `abuse` on the change feed) clears the
 * subject's counters and throttle, so it starts afresh.
 */
export class AbuseMonitor implements SafetyObserver {
  private config: AbuseMonitoringConfig;
  private readonly storage: Storage;
  private readonly store: AbuseCounterStore;
  private readonly ownsStore: boolean;
  private readonly now: () => number;
  private readonly onError: (error: unknown, what: string) => void;
  private readonly onEscalation: ((escalation: AbuseEscalation) => void) | undefined;
  private readonly pruneIntervalMs: number;
  private readonly metrics: AbuseMetrics | undefined;

  /** Subjects whose review is `suspended` (kept from storage and the change feed). */
  private suspended = new Set<string>();
  private readonly suspending = new Set<string>();
  /** Level each subject last reached, and when (this process's view, for deciding what is new). */
  private readonly levels = new Map<string, { level: AbuseLevel; at: number }>();
  /** Throttles this process set, to avoid setting them again on every event. */
  private readonly throttledHere = new Map<string, number>();
  /** Subjects over the flag threshold, and when last seen so: the Potential Abusive User gauge. */
  private readonly abusive = new Map<string, { type: AbuseSubjectType; at: number }>();
  private readonly seen = new Map<string, { flagged: boolean; blocked: boolean }>();
  private readonly samplesStored = new Map<string, number>();
  private readonly pending = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private closed = false;

  constructor(options: AbuseMonitorOptions) {
    this.config = options.config;
    this.storage = options.storage;
    this.ownsStore = options.store === undefined;
    this.store = options.store ?? (options.redis ? new RedisAbuseCounterStore(options.redis) : new MemoryAbuseCounterStore());
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => {});
    this.onEscalation = options.onEscalation;
    this.pruneIntervalMs = options.pruneIntervalMs ?? HOUR;
    this.metrics = options.registry ? new AbuseMetrics(options.registry, () => this.abusiveCounts()) : undefined;
  }

  /**
   * Loads suspended subjects, follows review changes on the change feed, prunes old samples now and
   * hourly. The database being unreachable does not fail the start: loading suspensions is retried
   * with backoff (and again on the feed's resync) until it succeeds.
   */
  async start(): Promise<void> {
    await this.loadSuspended().catch((error: unknown) => {
      this.onError(error, 'loading suspensions (retried)');
      this.retryLoadSuspended(1_000);
    });
    this.unsubscribe = await this.storage.changes.subscribe((topic, id) => {
      if (topic === 'abuse') this.track(this.reviewChanged(id), 'applying a review change');
      else if (topic === RESYNC_TOPIC) this.track(this.loadSuspended(), 'reloading suspensions after a change-feed gap');
    });
    await this.pruneSamples().catch((error: unknown) => this.onError(error, 'pruning abuse samples'));
    this.timer = setInterval(() => {
      this.sweep();
      this.track(this.pruneSamples(), 'pruning abuse samples');
    }, this.pruneIntervalMs);
    this.timer.unref();
  }

  /** Applies a new configuration (thresholds, actions, webhook, retention) from now on. */
  reconfigure(config: AbuseMonitoringConfig): void {
    this.config = config;
  }

  /** Waits for the counting, escalations and webhooks started so far (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.unsubscribe?.();
    await this.flush();
    if (this.ownsStore) await this.store.close();
  }

  private get shortMs(): number {
    return this.config.window_minutes * MINUTE;
  }

  private get longMs(): number {
    return Math.max(this.config.long_window_hours * HOUR, this.shortMs);
  }

  private get suspendThreshold(): number {
    return this.config.suspend_threshold ?? this.config.block_threshold * 3;
  }

  /**
   * The subjects a request counts against: its key, its project and its end user — the request's
   * `user` field, or for a token caller without one the signed-in user (`user:<id>`). None without
   * a project (the master key).
   */
  subjectsOf(context: InferenceContext): AbuseSubject[] {
    const { principal } = context;
    const projectId = context.projectId ?? (principal.kind === 'key' ? principal.projectId : undefined);
    const organizationId = context.organizationId ?? (principal.kind === 'master' ? undefined : principal.organizationId);
    if (projectId === undefined || organizationId === undefined) return [];
    const make = (type: AbuseSubjectType, id: string): AbuseSubject => ({ type, id, projectId, organizationId, key: subjectKey(type, projectId, id) });
    const subjects = [make('project', projectId)];
    if (principal.kind === 'key') subjects.unshift(make('key', principal.id));
    const user = (context.body as { user?: unknown } | undefined)?.user;
    if (typeof user === 'string' && user.trim() !== '') subjects.push(make('end_user', user.slice(0, MAX_END_USER_CHARS)));
    else if (principal.kind === 'user') subjects.push(make('end_user', `user:${principal.id}`));
    return subjects;
  }

  /**
   * For the admit stage: throws 403 (`key_suspended`, `project_suspended`, `end_user_suspended`)
   * for a suspended subject, 429 `abuse_throttled` with retry-after for a throttled one.
   */
  async gate(context: InferenceContext): Promise<void> {
    const subjects = this.subjectsOf(context);
    if (subjects.length === 0) return;
    for (const subject of subjects) {
      if (this.suspended.has(subject.key)) {
        throw new PermissionError(
          `${SUSPENDED_WHAT[subject.type]} is suspended after repeated content-policy violations; the service operator can reinstate it.`,
          SUSPENDED_CODE[subject.type],
        );
      }
    }
    const now = this.now();
    const until = await this.store.throttledUntil(
      subjects.map((subject) => subject.key),
      now,
    );
    if (until !== undefined) {
      const seconds = Math.max(1, Math.ceil((until - now) / 1000));
      throw new AbuseThrottledError(seconds);
    }
  }

  /** Counts a filter verdict (SafetyObserver). Never throws, never waits. */
  observe(context: InferenceContext, direction: 'prompt' | 'completion', decision: FilterDecision, text: string): void {
    try {
      if (!decision.flagged || this.closed) return;
      const categories = categoriesOf(decision.results);
      const subjects = this.subjectsOf(context);
      if (subjects.length === 0) return;
      const seen = this.seen.get(context.id) ?? { flagged: false, blocked: false };
      const countFlag = !seen.flagged;
      const countBlock = decision.blocked && !seen.blocked;
      if (!countFlag && !countBlock) return;
      this.remember(context.id, { flagged: true, blocked: seen.blocked || decision.blocked });
      const event: ObservedEvent = { requestId: context.id, direction, text, categories, countFlag, countBlock, at: this.now() };
      this.track(this.handle(subjects, event), 'counting a flagged request');
    } catch (error) {
      this.onError(error, 'observing a filter decision');
    }
  }

  private remember(requestId: string, value: { flagged: boolean; blocked: boolean }): void {
    this.seen.delete(requestId);
    this.seen.set(requestId, value);
    if (this.seen.size > SEEN_REQUESTS) this.seen.delete(this.seen.keys().next().value as string);
  }

  private track(promise: Promise<unknown>, what: string): void {
    const tracked = promise.catch((error: unknown) => this.onError(error, what));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  private async handle(subjects: readonly AbuseSubject[], event: ObservedEvent): Promise<void> {
    const add: string[] = [];
    const read: string[] = [];
    for (const subject of subjects) {
      (event.countFlag ? add : read).push(`${subject.key}#flagged`);
      (event.countBlock ? add : read).push(`${subject.key}#blocked`);
    }
    const counts = await this.store.hit(add, read, event.at, [this.shortMs, this.longMs]);
    const byName = new Map<string, number[]>();
    [...add, ...read].forEach((name, index) => byName.set(name, counts[index]));
    for (const subject of subjects) {
      const flagged = byName.get(`${subject.key}#flagged`) ?? [0, 0];
      const blocked = byName.get(`${subject.key}#blocked`) ?? [0, 0];
      await this.escalate(subject, event, { flagged: flagged[0], blocked: blocked[0], blockedLong: blocked[1] });
    }
  }

  private levelOf(counts: AbuseEscalation['counts']): AbuseLevel | undefined {
    if (counts.blockedLong >= this.suspendThreshold) return 'suspend';
    if (counts.blocked >= this.config.block_threshold) return 'throttle';
    if (counts.flagged >= this.config.flag_threshold) return 'flag';
    return undefined;
  }

  private async escalate(subject: AbuseSubject, event: ObservedEvent, counts: AbuseEscalation['counts']): Promise<void> {
    const config = this.config;
    const level = this.levelOf(counts);
    if (level === undefined) return;
    const at = event.at;
    this.abusive.set(subject.key, { type: subject.type, at });
    if (this.levels.size >= SWEEP_AT_SUBJECTS) this.sweep();

    // Decided synchronously (no await above this point since the counts came back), so two events
    // of one subject handled at once do not both notify, throttle or suspend.
    const previous = this.levels.get(subject.key);
    const held = previous && at - previous.at <= this.shortMs ? previous.level : undefined;
    const escalated = rank(level) > rank(held);
    this.levels.set(subject.key, { level: escalated ? level : held!, at });
    const actions = new Set(config.actions);
    // A project gathers every key and user of a tenant: it is reviewed and reported, but refused only by an operator.
    const acts = subject.type !== 'project';
    const throttleNow = acts && actions.has('throttle') && rank(level) >= RANK.throttle && !((this.throttledHere.get(subject.key) ?? 0) > at);
    const throttledUntil = throttleNow ? at + config.throttle_minutes * MINUTE : undefined;
    if (throttledUntil !== undefined) this.throttledHere.set(subject.key, throttledUntil);
    const suspendNow = acts && actions.has('suspend') && level === 'suspend' && !this.suspended.has(subject.key) && !this.suspending.has(subject.key);
    if (suspendNow) this.suspending.add(subject.key);

    try {
      const reason =
        `${level === 'suspend' ? 'Suspension level' : level === 'throttle' ? 'Throttle level' : 'Flag level'}: ` +
        `${counts.flagged} flagged and ${counts.blocked} blocked requests within ${config.window_minutes} minutes, ` +
        `${counts.blockedLong} blocked within ${config.long_window_hours} hours.`;
      let { review } = await this.storage.abuse.record({
        id: newId('abr'),
        subjectType: subject.type,
        subjectId: subject.id,
        projectId: subject.projectId,
        organizationId: subject.organizationId,
        reason,
        events: event.countFlag ? 1 : 0,
        initialEvents: counts.flagged,
        at,
      });
      await this.storeSample(subject, review, event);
      if (throttledUntil !== undefined) await this.store.throttle(subject.key, throttledUntil, at);
      if (suspendNow) review = (await this.suspend(subject, review, at, reason)) ?? review;

      const taken: AbuseAction[] = [];
      if (escalated && actions.has('notify')) taken.push('notify');
      if (throttledUntil !== undefined) taken.push('throttle');
      if (suspendNow) taken.push('suspend');
      if (!escalated && taken.length === 0) return;
      const escalation: AbuseEscalation = { level, escalated, subject, review, counts, actions: taken, throttledUntil, categories: event.categories, at };
      this.metrics?.escalations.inc({ subject_type: subject.type, level });
      this.onEscalation?.(escalation);
      if (taken.includes('notify')) this.notify(escalation);
    } finally {
      if (suspendNow) this.suspending.delete(subject.key);
    }
  }

  private async storeSample(subject: AbuseSubject, review: AbuseReview, event: ObservedEvent): Promise<void> {
    if (this.config.sample_retention_days <= 0) return;
    const stored = this.samplesStored.get(review.id) ?? 0;
    if (stored >= MAX_SAMPLES_PER_REVIEW) return;
    this.samplesStored.set(review.id, stored + 1);
    if (this.samplesStored.size > SEEN_REQUESTS) this.samplesStored.delete(this.samplesStored.keys().next().value as string);
    await this.storage.abuse.addSample({
      id: newId('abs'),
      reviewId: review.id,
      requestId: event.requestId,
      projectId: subject.projectId,
      organizationId: subject.organizationId,
      subjectType: subject.type,
      subjectId: subject.id,
      direction: event.direction,
      text: event.text,
      categories: [...event.categories],
      at: event.at,
    });
  }

  /** Suspends the subject: a key in storage, any subject through its review; audited and announced. */
  private async suspend(subject: AbuseSubject, review: AbuseReview, at: number, reason: string): Promise<AbuseReview | undefined> {
    const { storage } = this;
    let keyBefore = null;
    if (subject.type === 'key') {
      keyBefore = (await storage.keys.get(subject.id)) ?? null;
      await storage.keys.suspend(subject.id, at);
    }
    const updated = await storage.abuse.updateStatus(review.id, { status: 'suspended', decidedBy: 'system', decidedAt: at, reason });
    this.suspended.add(subject.key);
    await storage.audit.append({
      at,
      actor: 'system',
      action: 'abuse.suspend',
      target: subject.type === 'key' ? `key:${subject.id}` : `abuse-review:${review.id}`,
      organizationId: subject.organizationId,
      projectId: subject.projectId,
      before: { review: review.status, ...(keyBefore ? { suspendedAt: keyBefore.suspendedAt ?? null } : {}) },
      after: { review: 'suspended', reviewId: review.id, ...(subject.type === 'key' ? { suspendedAt: at } : {}), reason },
      source: 'abuse-monitor',
    });
    if (subject.type === 'key') await storage.changes.publish('key', subject.id);
    await storage.changes.publish('abuse', review.id);
    return updated;
  }

  /** POSTs the escalation to the webhook, without the offending text; never awaited by a request. */
  private notify(escalation: AbuseEscalation): void {
    const url = this.config.webhook_url;
    if (!url) return;
    const { subject, review } = escalation;
    const body = {
      type: 'cerulean.abuse.escalation',
      level: escalation.level,
      actions: escalation.actions,
      subject: { type: subject.type, id: subject.id },
      project: subject.projectId,
      organization: subject.organizationId,
      review: { id: review.id, status: review.status, events: review.events, reason: review.reason },
      counts: { ...escalation.counts, window_minutes: this.config.window_minutes, long_window_hours: this.config.long_window_hours },
      categories: escalation.categories,
      throttled_until: escalation.throttledUntil === undefined ? null : new Date(escalation.throttledUntil).toISOString(),
      at: new Date(escalation.at).toISOString(),
    };
    const sent = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'cerulean-abuse-monitor' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(this.config.webhook_timeout_ms),
    }).then(async (response) => {
      await response.body?.cancel();
      if (!response.ok) throw new Error(`Abuse webhook answered ${response.status}`);
    });
    this.track(sent, 'sending the abuse webhook');
  }

  private retryLoadSuspended(delayMs: number): void {
    const timer = setTimeout(() => {
      if (this.closed) return;
      this.loadSuspended().catch((error: unknown) => {
        this.onError(error, 'loading suspensions (retried)');
        this.retryLoadSuspended(Math.min(delayMs * 2, 30_000));
      });
    }, delayMs);
    timer.unref();
  }

  private async loadSuspended(): Promise<void> {
    const reviews = await this.storage.abuse.list({ status: 'suspended', limit: 1_000_000 });
    this.suspended = new Set(reviews.map(reviewSubjectKey));
  }

  /** A review changed (here or on another replica): follow its suspension; a closed one starts its subject afresh. */
  private async reviewChanged(id: string): Promise<void> {
    const review = await this.storage.abuse.get(id);
    if (!review) return;
    const key = reviewSubjectKey(review);
    if (review.status === 'suspended') {
      this.suspended.add(key);
      return;
    }
    if (review.status === 'open') return;
    // Dismissed or reinstated, unless the subject has another suspended review meanwhile.
    const active = await this.storage.abuse.findActive(review.subjectType, review.subjectId, review.projectId);
    if (active?.status === 'suspended') return;
    this.suspended.delete(key);
    if (active) return;
    this.levels.delete(key);
    this.throttledHere.delete(key);
    this.abusive.delete(key);
    await this.store.clear([`${key}#flagged`, `${key}#blocked`], [key]);
  }

  /** Deletes samples past retention (all of them when retention is 0); runs at start and hourly. */
  async pruneSamples(): Promise<void> {
    const days = this.config.sample_retention_days;
    const now = this.now();
    await this.storage.abuse.pruneSamples(days <= 0 ? now + 1 : now - days * DAY);
  }

  /** Forgets what this process remembers of subjects quiet for longer than the window. */
  private sweep(): void {
    const now = this.now();
    const since = now - this.shortMs;
    for (const [key, entry] of this.levels) if (entry.at <= since) this.levels.delete(key);
    for (const [key, entry] of this.abusive) if (entry.at <= since) this.abusive.delete(key);
    for (const [key, until] of this.throttledHere) if (until <= now) this.throttledHere.delete(key);
  }

  /** Subjects over the flag threshold within the window, per type. */
  private abusiveCounts(): Record<AbuseSubjectType, number> {
    const counts: Record<AbuseSubjectType, number> = { key: 0, project: 0, end_user: 0 };
    const since = this.now() - this.shortMs;
    for (const [key, entry] of this.abusive) {
      if (entry.at <= since) this.abusive.delete(key);
      else counts[entry.type] += 1;
    }
    return counts;
  }
}

interface ObservedEvent {
  readonly requestId: string;
  readonly direction: 'prompt' | 'completion';
  readonly text: string;
  readonly categories: readonly AbuseCategory[];
  readonly countFlag: boolean;
  readonly countBlock: boolean;
  readonly at: number;
}

/** Azure's Potential Abusive User Count, and the escalation steps taken (Blocked and Harmful Volume: SafetyMetrics). */
class AbuseMetrics {
  readonly abusive: Gauge<'subject_type'>;
  readonly escalations: Counter<'subject_type' | 'level'>;

  constructor(registry: Registry, abusiveCounts: () => Record<AbuseSubjectType, number>) {
    const registers = [registry];
    // A monitor built again (configuration reload) takes the metrics over.
    for (const name of ['cerulean_abuse_potentially_abusive_subjects', 'cerulean_abuse_escalations_total']) {
      registry.removeSingleMetric(name);
    }
    this.abusive = new Gauge({
      name: 'cerulean_abuse_potentially_abusive_subjects',
      help: 'Potential Abusive User Count: keys, projects and end users over the flag threshold within the window (as seen by this replica).',
      labelNames: ['subject_type'],
      registers,
      collect() {
        const counts = abusiveCounts();
        for (const type of ['key', 'project', 'end_user'] as const) this.set({ subject_type: type }, counts[type]);
      },
    });
    this.escalations = new Counter({
      name: 'cerulean_abuse_escalations_total',
      help: 'Abuse-monitoring escalation steps taken, by subject type and level (flag, throttle, suspend).',
      labelNames: ['subject_type', 'level'],
      registers,
    });
  }
}
