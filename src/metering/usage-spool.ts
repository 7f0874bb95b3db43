import { close, closeSync, fsync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { UsageRecord } from '../storage/storage.js';

/** Whether a process runs: signal 0 answers for zombies too, so on Linux a zombie counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * A durable local journal of usage records, in segment files of one JSON record per line.
 *
 * Records are written before the response that they meter is acknowledged to the caller, so once
 * the caller has its answer the record survives a crash of the process (kill -9): the bytes are in
 * the kernel, not in a buffer of ours. Writes are grouped: every record appended in one turn of the
 * event loop goes out in one write(2) at the end of the turn, and `append` resolves then — the
 * response waits those microseconds instead of each request paying a system call. (Surviving a
 * power cut as well would need an fsync per group; `fsyncOnRotate` bounds that loss to one flush
 * interval instead, off the event loop.)
 *
 * Records are appended to the active segment; `rotate` seals it and opens the next. A sealed
 * segment is deleted only after its records are committed to storage. At start, every segment
 * still on disk is read back and replayed: storage inserts are idempotent by request id, so a
 * segment committed just before a crash is harmless to replay.
 */
export class UsageSpool {
  private readonly directory: string;
  private readonly fsyncOnRotate: boolean;
  private fd: number | undefined;
  private activePath: string | undefined;
  private sequence = 0;
  /** Lines appended this turn, and the promise their write settles. */
  private pending: string[] = [];
  private group: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(directory: string, options: { fsyncOnRotate?: boolean } = {}) {
    this.directory = directory;
    this.fsyncOnRotate = options.fsyncOnRotate ?? true;
    mkdirSync(directory, { recursive: true });
    this.lock();
  }

  /**
   * One process per spool: a second one would replay (and delete) the first one's live segment.
   * The lock file holds the owner's pid; a lock left by a process that no longer runs is taken over.
   */
  private lock(): void {
    const path = join(this.directory, '.lock');
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number(readFileSync(path, 'utf8').trim());
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new Error(`The usage spool ${this.directory} is in use by process ${owner}; give each replica its own data_dir (or usage.spool_dir).`);
    }
    writeFileSync(path, String(process.pid), { mode: 0o600 });
  }

  /** Segments left by an earlier process, oldest first, with their records (a torn last line is skipped). */
  recover(): Array<{ path: string; records: UsageRecord[] }> {
    const names = readdirSync(this.directory)
      .filter((name) => name.endsWith('.jsonl'))
      .sort();
    return names.map((name) => {
      const path = join(this.directory, name);
      const records: UsageRecord[] = [];
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line === '') continue;
        try {
          records.push(JSON.parse(line) as UsageRecord);
        } catch {
          // Only a line cut short by a crash can be malformed; its request was never acknowledged.
        }
      }
      return { path, records };
    });
  }

  /** Appends one record to the active segment; resolves once it is written (end of this event-loop turn). */
  append(record: UsageRecord): Promise<void> {
    this.pending.push(`${JSON.stringify(record)}\n`);
    if (!this.group) {
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.group = { promise, resolve, reject };
      setImmediate(() => this.writePending());
    }
    return this.group.promise;
  }

  /** Writes the lines appended so far in one system call and settles their promise. */
  private writePending(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    const text = this.pending.join('');
    this.pending = [];
    try {
      if (this.fd === undefined) this.open();
      writeSync(this.fd as number, text);
      group.resolve();
    } catch (error) {
      group.reject(error);
    }
  }

  /** Seals the active segment and returns its path (undefined when nothing was written since the last rotate). */
  rotate(): string | undefined {
    // Lines still pending belong to this segment: the ledger queued them with it.
    this.writePending();
    if (this.fd === undefined) return undefined;
    const fd = this.fd;
    // The fsync runs on libuv's thread pool: on the event loop it would stall every request in
    // flight for as long as the disk takes. Nothing waits for it; the segment is only deleted
    // after its records are in storage anyway, and an unlinked file may still be synced and closed.
    if (this.fsyncOnRotate) fsync(fd, () => close(fd, () => {}));
    else closeSync(fd);
    const sealed = this.activePath;
    this.fd = undefined;
    this.activePath = undefined;
    return sealed;
  }

  /** Deletes a sealed segment whose records are committed. */
  discard(path: string): void {
    try {
      unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /** Keeps records storage refused, one file per call under `rejected/`, for an operator to inspect. */
  quarantine(records: readonly UsageRecord[]): void {
    const folder = join(this.directory, 'rejected');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${Date.now()}-${process.pid}.jsonl`), records.map((record) => `${JSON.stringify(record)}\n`).join(''), { mode: 0o600 });
  }

  close(): void {
    this.writePending();
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
    }
    try {
      if (readFileSync(join(this.directory, '.lock'), 'utf8').trim() === String(process.pid)) unlinkSync(join(this.directory, '.lock'));
    } catch {
      // already gone
    }
  }

  private open(): void {
    // Names sort in creation order across restarts: time, then a per-process sequence, then the pid.
    this.sequence += 1;
    const name = `${Date.now().toString().padStart(15, '0')}-${String(this.sequence).padStart(6, '0')}-${process.pid}.jsonl`;
    this.activePath = join(this.directory, name);
    this.fd = openSync(this.activePath, 'a', 0o600);
  }
}
