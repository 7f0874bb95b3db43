/**
 * Where replicas tell each other what they learnt about a target's health: a breaker that opened,
 * a cooldown an upstream asked for, a drain by an operator. Only changes travel (never a request's
 * outcome), so the hot path makes no round trip to the store; each replica keeps its own
 * `TargetHealth` and adopts what the others publish.
 *
 * Times travel as durations (`forMs`, what is left of the state when it was read or sent) rather
 * than clock readings, so replicas whose clocks disagree still agree on how long a target rests.
 * Breakers and cooldowns lapse on their own; a drain holds until it is restored.
 */

/** One target of one deployment: `target` is its `provider/model` id. */
export interface TargetKey {
  readonly deployment: string;
  readonly target: string;
}

export type SharedHealthUpdate =
  /** The target's breaker opened; it turns half-open in `forMs`. */
  | (TargetKey & { readonly kind: 'open'; readonly forMs: number })
  /** The target cools down for `forMs`. */
  | (TargetKey & { readonly kind: 'cooldown'; readonly forMs: number })
  /** An operator drained the target (`drained: true`) or restored it. */
  | (TargetKey & { readonly kind: 'drain'; readonly drained: boolean });

/** Everything the store holds at one moment; the durations count from that moment. */
export interface SharedHealthSnapshot {
  readonly open: ReadonlyArray<TargetKey & { readonly forMs: number }>;
  readonly cooling: ReadonlyArray<TargetKey & { readonly forMs: number }>;
  readonly drained: readonly TargetKey[];
}

/**
 * - `local`: the store is this process's own; there is no one to share with.
 * - `shared`: other replicas read and hear what this one publishes.
 * - `unreachable`: a shared store is configured but cannot be reached; each replica keeps its own.
 */
export type HealthSharingState = 'local' | 'shared' | 'unreachable';

export interface SharedHealthStore {
  state(): HealthSharingState;
  /**
   * Records an update and announces it to the other replicas (never back to this one). Resolves
   * true once recorded, false when the store could not be reached; never rejects, never waits
   * longer than one bounded command.
   */
  publish(update: SharedHealthUpdate): Promise<boolean>;
  /** Everything recorded now (lapsed breakers and cooldowns left out), or undefined when the store cannot be reached. */
  read(): Promise<SharedHealthSnapshot | undefined>;
  /**
   * Delivers the other replicas' updates to `listener` from now on. `onGap` is called whenever
   * updates may have been missed (the store came back after an outage, the subscription was
   * renewed): read the whole state again then. Resolves without waiting for an unreachable store.
   */
  subscribe(listener: (update: SharedHealthUpdate) => void, onGap: () => void): Promise<void>;
  close(): Promise<void>;
}

/**
 * The store of one replica without Redis: it keeps what this replica publishes (so a reload's
 * fresh targets read their drains back) and announces nothing, there being no one to tell.
 */
export class MemoryHealthStore implements SharedHealthStore {
  private readonly open = new Map<string, { key: TargetKey; until: number }>();
  private readonly cooling = new Map<string, { key: TargetKey; until: number }>();
  private readonly drained = new Map<string, TargetKey>();

  state(): HealthSharingState {
    return 'local';
  }

  async publish(update: SharedHealthUpdate): Promise<boolean> {
    const id = `${update.deployment}\u0000${update.target}`;
    const key: TargetKey = { deployment: update.deployment, target: update.target };
    if (update.kind === 'drain') {
      if (update.drained) this.drained.set(id, key);
      else this.drained.delete(id);
      return true;
    }
    const held = update.kind === 'open' ? this.open : this.cooling;
    const until = Date.now() + update.forMs;
    const known = held.get(id);
    if (!known || known.until < until) held.set(id, { key, until });
    return true;
  }

  async read(): Promise<SharedHealthSnapshot> {
    const now = Date.now();
    const left = (held: Map<string, { key: TargetKey; until: number }>): Array<TargetKey & { forMs: number }> => {
      const entries: Array<TargetKey & { forMs: number }> = [];
      for (const [id, { key, until }] of held) {
        if (until <= now) held.delete(id);
        else entries.push({ ...key, forMs: until - now });
      }
      return entries;
    };
    return { open: left(this.open), cooling: left(this.cooling), drained: [...this.drained.values()] };
  }

  /** Nothing to deliver: no other replica writes here. */
  async subscribe(): Promise<void> {}

  async close(): Promise<void> {}
}
