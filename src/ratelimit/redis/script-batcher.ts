/**
 * Gathers the calls made during one turn of the event loop and runs them as one batch: under load,
 * the admission checks of every request read in one poll phase go to Redis as one script call
 * instead of one each. Redis runs a script atomically and the batch scripts handle their calls in
 * order, so each call is judged exactly as it would be alone, one after the other; what a batch
 * saves is the per-command cost on both sides (command objects, reply parsing, script dispatch).
 *
 * The batch goes out on `setImmediate`, right after the poll phase that queued it, so a lone call
 * waits for no timer; a batch is also sent as soon as it holds `maxBatch` calls. If the batch
 * call fails, every call in it rejects with that error.
 *
 * Why a turn of the loop and not a timer: a timer would add its delay to every request at low
 * load, while the calls of one poll phase cost nothing to wait for.
 */
export class ScriptBatcher<Call, Result> {
  private readonly run: (calls: readonly Call[]) => Promise<readonly Result[]>;
  private readonly maxBatch: number;
  private calls: Call[] = [];
  private waiters: Array<{ resolve: (result: Result) => void; reject: (error: unknown) => void }> = [];
  private scheduled: NodeJS.Immediate | undefined;

  /** `run` answers one result per call, in order. */
  constructor(run: (calls: readonly Call[]) => Promise<readonly Result[]>, maxBatch = 256) {
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new TypeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    this.run = run;
    this.maxBatch = maxBatch;
  }

  submit(call: Call): Promise<Result> {
    const result = new Promise<Result>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.calls.push(call);
    if (this.calls.length >= this.maxBatch) this.flush();
    else this.scheduled ??= setImmediate(() => this.flush());
    return result;
  }

  /** Sends what is queued now (a store's `close` calls it before its connection goes). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const calls = this.calls;
    const waiters = this.waiters;
    this.calls = [];
    this.waiters = [];
    if (calls.length === 0) return;
    let pending: Promise<readonly Result[]>;
    try {
      pending = this.run(calls);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (results) => {
        if (results.length !== waiters.length) {
          const error = new Error(`a batch of ${waiters.length} calls got ${results.length} results`);
          for (const waiter of waiters) waiter.reject(error);
          return;
        }
        for (let i = 0; i < waiters.length; i++) waiters[i].resolve(results[i]);
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error);
      },
    );
  }
}
