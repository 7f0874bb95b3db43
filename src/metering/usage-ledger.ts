import type { UsageRecord, UsageRepository } from '../storage/storage.js';
import type { UsageSpool } from './usage-spool.js';

/**
 * Whether a storage error is about the records themselves (PostgreSQL SQLSTATE classes 22 data
 * exception and 23 integrity violation; SQLite constraint, mismatch, range and too-big errors), as
 * opposed to the store being unavailable.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  if (/^2[23][0-9A-Z]{3}$/.test(code)) return true;
  return /^SQLITE_(CONSTRAINT|MISMATCH|RANGE|TOOBIG)/.test(code);
}

export interface UsageLedgerOptions {
  /** How often buffered records are committed. */
  flushIntervalMs?: number;
  /** A batch this large is committed at once instead of waiting for the timer. */
  maxBatch?: number;
  onError?: (error: unknown) => void;
  /**
   * A record could not be written to the spool. It stays queued in memory and is committed with
   * the next batch (only a crash before then would lose it); the spool reports not ready until it
   * writes again, so new requests are refused before their upstream is called.
   */
  onJournalError?: (error: unknown) => void;
}

/**
 * The usage ledger: one record per request, never written to the database on the request path.
 * `record` journals to the local spool (one write) and queues in memory; a timer commits the queue
 * in batches, idempotently by request id, and only then deletes the journal segment. A failed
 * commit keeps the segment and retries on the next tick; a crash leaves segments that `start`
 * replays.
 */
export class UsageLedger {
  private readonly repository: UsageRepository;
  private readonly spool: UsageSpool;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly onError: (error: unknown) => void;
  private readonly onJournalError: (error: unknown) => void;
  private group: { written: Promise<void>; guarded: Promise<void> } | undefined;
  private queue: UsageRecord[] = [];
  private readonly sealed: Array<{ path: string; records: UsageRecord[] }> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private committedCount = 0;

  constructor(repository: UsageRepository, spool: UsageSpool, options: UsageLedgerOptions = {}) {
    this.repository = repository;
    this.spool = spool;
    this.flushIntervalMs = options.flushIntervalMs ?? 1_000;
    this.maxBatch = options.maxBatch ?? 2_000;
    this.onError = options.onError ?? (() => {});
    this.onJournalError = options.onJournalError ?? (() => {});
  }

  /** Replays what an earlier process left in the spool, then starts the flush timer. */
  async start(): Promise<number> {
    const recovered = this.spool.recover();
    this.sealed.push(...recovered);
    await this.flush();
    // A tick while a flush is still running is skipped rather than queued behind it.
    this.timer = setInterval(() => {
      // Commit failures are handled inside; this catches anything else (the spool failing to rotate).
      if (!this.flushing) this.flush().catch((error: unknown) => this.onError(error));
    }, this.flushIntervalMs);
    this.timer.unref();
    return recovered.reduce((sum, segment) => sum + segment.records.length, 0);
  }

  /**
   * Journals a record; resolves once it is durable against a crash of the process. Await it before
   * the response it meters is completed to the caller. Never rejects: a record the spool could not
   * write is still queued (see `onJournalError`), and the answer it meters is delivered.
   */
  record(record: UsageRecord): Promise<void> {
    const written = this.spool.append(record);
    this.queue.push(record);
    if (this.queue.length >= this.maxBatch && !this.flushing) this.flush().catch((error: unknown) => this.onError(error));
    // One write (and promise) per event-loop turn: guard it once, not per record.
    if (written !== this.group?.written) this.group = { written, guarded: written.catch(this.onJournalError) };
    return this.group.guarded;
  }

  /** Whether a record could be journaled now; asked before an upstream is called. */
  ready(): boolean {
    return this.spool.ready();
  }

  /** Records journaled but not yet committed. */
  get pending(): number {
    return this.queue.length + this.sealed.reduce((sum, segment) => sum + segment.records.length, 0);
  }

  /** Records committed by this process (new ones only, not replays of already-stored ids). */
  get committed(): number {
    return this.committedCount;
  }

  /** Commits everything queued so far; concurrent calls share one run. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.commit().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** Stops the timer and commits what is left. Segments that still fail to commit stay for the next start. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    this.spool.close();
  }

  private async commit(): Promise<void> {
    const path = this.spool.rotate();
    if (path !== undefined) {
      this.sealed.push({ path, records: this.queue });
      this.queue = [];
    }
    while (this.sealed.length > 0) {
      const segment = this.sealed[0];
      try {
        for (let start = 0; start < segment.records.length; start += this.maxBatch) {
          this.committedCount += await this.repository.insertBatch(segment.records.slice(start, start + this.maxBatch));
        }
      } catch (error) {
        this.onError(error);
        if (!(await this.isolateRejected(segment, error))) return;
      }
      this.spool.discard(segment.path);
      this.sealed.shift();
    }
  }

  /**
   * After a batch failed. An outage (connection refused, database busy, disk full — anything not
   * known to be about the data) keeps the segment for the next tick, at the cost of one call. A
   * data error means some records will never be taken: the batch is split in halves recursively
   * to find them (a few calls per bad record), they are moved to the spool's `rejected/` folder
   * and reported, and the ledger moves on instead of blocking behind them.
   */
  private async isolateRejected(segment: { path: string; records: UsageRecord[] }, error: unknown): Promise<boolean> {
    if (!isDataError(error)) return false;
    const rejected: UsageRecord[] = [];
    const attempt = async (records: UsageRecord[]): Promise<void> => {
      try {
        this.committedCount += await this.repository.insertBatch(records);
      } catch (failure) {
        if (!isDataError(failure)) throw failure;
        if (records.length === 1) {
          rejected.push(records[0]);
          return;
        }
        const middle = Math.ceil(records.length / 2);
        await attempt(records.slice(0, middle));
        await attempt(records.slice(middle));
      }
    };
    try {
      await attempt(segment.records);
    } catch (failure) {
      this.onError(failure);
      return false;
    }
    if (rejected.length > 0) {
      this.spool.quarantine(rejected);
      this.onError(new Error(`${rejected.length} usage record(s) were refused by storage and moved to the spool's rejected/ folder`));
    }
    return true;
  }
}
