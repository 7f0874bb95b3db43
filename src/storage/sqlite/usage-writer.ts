import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { UsageRecord } from '../storage.js';

export interface WriterRequest {
  readonly id: number;
  readonly records: readonly UsageRecord[];
}

export type WriterReply = { readonly id: number; readonly inserted: number } | { readonly id: number; readonly error: { message: string; code?: string } };

/** An error from the writer thread, carrying SQLite's code (SQLITE_CONSTRAINT…) for the ledger to classify. */
class UsageWriterError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = 'UsageWriterError';
    this.code = code;
  }
}

const ENTRY = new URL('./usage-writer-thread.js', import.meta.url);

/**
 * Commits usage batches to a SQLite file from a worker thread with its own connection, so that
 * the statements and the commit run beside the event loop instead of on it: the requests in
 * flight meanwhile do not wait for the batch. WAL lets the main connection keep reading; a
 * write on either connection waits for the other's transaction (busy_timeout), and the writer's
 * transactions are one batch long.
 *
 * A thread that dies fails the batches in flight (the ledger keeps their spool segment and tries
 * again) and is started afresh on the next batch.
 */
export class ThreadedUsageWriter {
  private readonly file: string;
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (inserted: number) => void; reject: (error: Error) => void }>();

  /**
   * A writer for `file`, or undefined where the thread's compiled entry point is not beside this
   * module (sources run through a TypeScript transformer, as under the unit tests): the caller then
   * commits on its own connection.
   */
  static forFile(file: string): ThreadedUsageWriter | undefined {
    return existsSync(fileURLToPath(ENTRY)) ? new ThreadedUsageWriter(file) : undefined;
  }

  private constructor(file: string) {
    this.file = file;
  }

  insert(records: readonly UsageRecord[]): Promise<number> {
    const worker = (this.worker ??= this.start());
    const id = ++this.nextId;
    // A batch in flight keeps the process alive (its promise alone would not); an idle writer does not.
    if (this.waiting.size === 0) worker.ref();
    return new Promise<number>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, records } satisfies WriterRequest);
    });
  }

  /** Waits for nothing: the ledger has flushed before storage closes. Batches still in flight fail. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(ENTRY, { workerData: { file: this.file } });
    worker.on('message', (reply: WriterReply) => {
      const waiter = this.waiting.get(reply.id);
      if (!waiter) return;
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      if ('error' in reply) waiter.reject(new UsageWriterError(reply.error.message, reply.error.code));
      else waiter.resolve(reply.inserted);
    });
    const fail = (error: Error): void => {
      if (this.worker === worker) this.worker = undefined;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    worker.on('error', (error) => fail(new UsageWriterError(`The usage writer thread failed: ${error.message}`)));
    worker.on('exit', (code) => fail(new UsageWriterError(`The usage writer thread exited (code ${code}).`)));
    worker.unref();
    return worker;
  }
}
