/**
 * Sums the deltas added for each key over a short window and applies them in one call. Settling a
 * request (giving back the part of a reservation it did not use) needs no answer before the
 * response goes out, so instead of one Redis script per request, every request settled within
 * `delayMs` shares one: at thousands of requests per second that is a handful of keys per window.
 * Until the window closes a counter stays a little higher than it will be (a reservation covers
 * the worst case), so a limit is only ever applied slightly more strictly, never more loosely.
 *
 * `add` resolves once its delta is applied (or rejects if that call failed); `flush` applies
 * what is pending at once (on close).
 */
export class DeltaBatcher {
  private readonly apply: (keys: string[], deltas: number[]) => Promise<void>;
  private readonly delayMs: number;
  private pending = new Map<string, number>();
  private waiters: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(apply: (keys: string[], deltas: number[]) => Promise<void>, delayMs: number) {
    this.apply = apply;
    this.delayMs = delayMs;
  }

  add(key: string, delta: number): Promise<void> {
    this.pending.set(key, (this.pending.get(key) ?? 0) + delta);
    const applied = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.timer ??= setTimeout(() => void this.flush(), this.delayMs);
    return applied;
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const pending = this.pending;
    const waiters = this.waiters;
    this.pending = new Map();
    this.waiters = [];
    const keys: string[] = [];
    const deltas: number[] = [];
    for (const [key, delta] of pending) {
      if (delta === 0) continue;
      keys.push(key);
      deltas.push(delta);
    }
    try {
      if (keys.length > 0) await this.apply(keys, deltas);
      for (const waiter of waiters) waiter.resolve();
    } catch (error) {
      for (const waiter of waiters) waiter.reject(error);
    }
  }
}
