import type { HealthSharingState, SharedHealthSnapshot, SharedHealthStore, SharedHealthUpdate } from './shared-health-store.js';
import type { TargetHealth, TargetHealthEvents } from './target-health.js';

/** The targets of the deployment table in force, as health sharing needs them. */
export interface HealthDirectory {
  /** The health of `target` (`provider/model`) of `deployment`, if the table has that target. */
  healthOf(deployment: string, target: string): TargetHealth | undefined;
  /** Calls `visit` with every target of the table. */
  forEachTarget(visit: (deployment: string, target: string, health: TargetHealth) => void): void;
}

/** What the admin API needs: how far a drain reaches, and whether a target's state came from elsewhere. */
export interface TargetHealthControl {
  sharing(): HealthSharingState;
  /**
   * Drains or restores a target on this replica at once and on every replica sharing the store.
   * Resolves to how far it reached: `unreachable` means this replica only for now; the change is
   * published when the store answers again.
   */
  setDrained(deployment: string, target: string, drained: boolean): Promise<HealthSharingState>;
  /** Whether the open breaker or cooldown `health` has now was learnt from another replica. */
  learnt(health: TargetHealth, now: number): boolean;
}

/** pino's `(object, message)` form, all this module logs with. */
export interface HealthSharingLogger {
  warn(object: Record<string, unknown>, message: string): void;
}

/**
 * An update is not published again when it would move a breaker's or cooldown's end by less than
 * this: a deployment with one target takes every request even while it cools down, and each 429
 * it answers would otherwise publish a cooldown a few milliseconds longer than the last.
 */
const PUBLISH_RESOLUTION_MS = 250;

/**
 * What another replica's news must add to an end known here to be adopted: a resync reads back
 * this replica's own openings and cooldowns too, a few milliseconds off for the round trip.
 */
const ADOPT_RESOLUTION_MS = 250;

/**
 * Keeps this replica's target health in step with the other replicas' through a shared store.
 *
 * - Out: the breaker openings and cooldowns this replica's own outcomes cause (`eventsFor`, handed
 *   to each `TargetHealth`) are published fire-and-forget; a request never waits on the store.
 *   Drains are published by `setDrained`, which the admin call awaits (one bounded command).
 * - In: other replicas' updates are adopted as they arrive (`TargetHealth.adopt`, which only ever
 *   adds caution), and the whole state is read again every `resyncIntervalMs`, at start, after a
 *   reload and whenever the store says updates may have been missed, so a lost message heals.
 *   While the store answers, its drains are the truth: a target it does not list is restored.
 * - Without the store: each replica goes on with its own state; a drain or restore made meanwhile
 *   is kept here and published once the store answers again.
 */
export class HealthSharing implements TargetHealthControl {
  private readonly store: SharedHealthStore;
  private readonly directory: () => HealthDirectory | undefined;
  private readonly logger: HealthSharingLogger | undefined;
  private readonly resyncIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** Drains and restores made here that the store has not recorded yet, by target. */
  private readonly pending = new Map<string, { deployment: string; target: string; drained: boolean }>();
  /** Drain changes seen (published here or heard from others): a resync whose read overlapped one leaves drains alone. */
  private drainChanges = 0;
  private resyncing: Promise<void> | undefined;
  private resyncAgain = false;
  /** The ends adopted from other replicas, by target health, for `learnt`. */
  private readonly adopted = new WeakMap<TargetHealth, { openUntil?: number; coolingUntil?: number }>();
  private closed = false;

  constructor(store: SharedHealthStore, options: { directory: () => HealthDirectory | undefined; logger?: HealthSharingLogger; resyncIntervalMs: number }) {
    this.store = store;
    this.directory = options.directory;
    this.logger = options.logger;
    this.resyncIntervalMs = options.resyncIntervalMs;
  }

  /** Subscribes, reads the shared state once (bounded) and starts the periodic resync. */
  async start(): Promise<void> {
    await this.store.subscribe(
      (update) => this.apply(update),
      () => void this.resync(),
    );
    await this.resync();
    if (this.resyncIntervalMs > 0 && !this.closed) {
      this.timer = setInterval(() => void this.resync(), this.resyncIntervalMs);
      this.timer.unref();
    }
  }

  sharing(): HealthSharingState {
    return this.store.state();
  }

  /** The listener a new `TargetHealth` of `deployment`'s `target` reports its openings and cooldowns to. */
  eventsFor(deployment: string, target: string): TargetHealthEvents {
    let openPublished = 0;
    let coolPublished = 0;
    const publish = (update: SharedHealthUpdate): void => {
      void this.store.publish(update);
    };
    return {
      opened: (until, now) => {
        if (until - openPublished < PUBLISH_RESOLUTION_MS) return;
        openPublished = until;
        publish({ kind: 'open', deployment, target, forMs: until - now });
      },
      cooled: (until, now) => {
        if (until - coolPublished < PUBLISH_RESOLUTION_MS) return;
        coolPublished = until;
        publish({ kind: 'cooldown', deployment, target, forMs: until - now });
      },
    };
  }

  async setDrained(deployment: string, target: string, drained: boolean): Promise<HealthSharingState> {
    const health = this.directory()?.healthOf(deployment, target);
    if (health) {
      if (drained) health.drain();
      else health.restore();
    }
    this.drainChanges++;
    const id = idOf(deployment, target);
    this.pending.set(id, { deployment, target, drained });
    const recorded = await this.store.publish({ kind: 'drain', deployment, target, drained });
    // A later change to the same target may have been made meanwhile: only this one is settled.
    if (recorded && this.pending.get(id)?.drained === drained) this.pending.delete(id);
    return recorded ? this.store.state() : 'unreachable';
  }

  learnt(health: TargetHealth, now: number): boolean {
    const adopted = this.adopted.get(health);
    if (!adopted) return false;
    const open = health.state(now) === 'open' && adopted.openUntil !== undefined && health.openUntil() === adopted.openUntil;
    const cooling = adopted.coolingUntil !== undefined && health.coolingUntil() === adopted.coolingUntil;
    return open || cooling;
  }

  /**
   * Reads the store and brings every target of the table in force in line with it; publishes
   * the drains made here while the store was away first. Runs one at a time (a call made while
   * one runs makes it run once more); a store that cannot be reached changes nothing.
   */
  resync(): Promise<void> {
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    this.resyncing = (async () => {
      do {
        this.resyncAgain = false;
        await this.resyncOnce().catch((error: unknown) => this.logger?.warn({ err: error }, 'reading shared target health failed'));
      } while (this.resyncAgain && !this.closed);
    })().finally(() => (this.resyncing = undefined));
    return this.resyncing;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.resyncing;
  }

  private async resyncOnce(): Promise<void> {
    if (this.closed) return;
    for (const [id, change] of this.pending) {
      if (!(await this.store.publish({ kind: 'drain', ...change }))) return;
      if (this.pending.get(id) === change) this.pending.delete(id);
    }
    const changesBefore = this.drainChanges;
    const snapshot = await this.store.read();
    const directory = this.directory();
    if (!snapshot || !directory || this.closed) return;
    this.applySnapshot(snapshot, directory, this.drainChanges === changesBefore);
  }

  private applySnapshot(snapshot: SharedHealthSnapshot, directory: HealthDirectory, drainsSettled: boolean): void {
    const now = Date.now();
    for (const { deployment, target, forMs } of snapshot.open) this.adopt(directory.healthOf(deployment, target), { openUntil: now + forMs }, now);
    for (const { deployment, target, forMs } of snapshot.cooling) this.adopt(directory.healthOf(deployment, target), { coolingUntil: now + forMs }, now);
    // A drain or restore made while the store was being read may not be in what it returned.
    if (!drainsSettled) return;
    const drained = new Set(snapshot.drained.map(({ deployment, target }) => idOf(deployment, target)));
    directory.forEachTarget((deployment, target, health) => {
      const id = idOf(deployment, target);
      const shouldDrain = this.pending.get(id)?.drained ?? drained.has(id);
      if (shouldDrain && !health.isDrained()) health.drain();
      else if (!shouldDrain && health.isDrained()) health.restore();
    });
  }

  /** Another replica's update, as it arrives. */
  private apply(update: SharedHealthUpdate): void {
    const health = this.directory()?.healthOf(update.deployment, update.target);
    if (update.kind === 'drain') {
      this.drainChanges++;
      // A change made here and not yet recorded is newer than anything the store announces.
      if (this.pending.has(idOf(update.deployment, update.target))) return;
      if (update.drained) health?.drain();
      else health?.restore();
      return;
    }
    const now = Date.now();
    this.adopt(health, update.kind === 'open' ? { openUntil: now + update.forMs } : { coolingUntil: now + update.forMs }, now);
  }

  private adopt(health: TargetHealth | undefined, shared: { openUntil?: number; coolingUntil?: number }, now: number): void {
    if (!health) return;
    const openBefore = health.state(now) === 'open' ? health.openUntil() : undefined;
    const coolingBefore = health.coolingUntil();
    const later = (end: number | undefined, known: number | undefined): boolean =>
      end !== undefined && (known === undefined || end > known + ADOPT_RESOLUTION_MS);
    if (!later(shared.openUntil, openBefore) && !later(shared.coolingUntil, coolingBefore)) return;
    health.adopt(shared, now);
    const openAfter = health.openUntil();
    const coolingAfter = health.coolingUntil();
    if (openAfter === openBefore && coolingAfter === coolingBefore) return;
    const record = this.adopted.get(health) ?? {};
    if (openAfter !== openBefore) record.openUntil = openAfter;
    if (coolingAfter !== coolingBefore) record.coolingUntil = coolingAfter;
    this.adopted.set(health, record);
  }
}

function idOf(deployment: string, target: string): string {
  return `${deployment}\u0000${target}`;
}
