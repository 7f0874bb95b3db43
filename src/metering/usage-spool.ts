import { close, closeSync, fsync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
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
 * A journal line as read back: lines written before usage named its API lack `api`, before
 * estimates `estimated`, before attempts were recorded `attempts`, `targetsTried` and `attemptErrors`.
 */
type JournalledRecord = Omit<UsageRecord, 'api' | 'estimated' | 'attempts' | 'targetsTried' | 'attemptErrors'> &
  Partial<Pick<UsageRecord, 'api' | 'estimated' | 'attempts' | 'targetsTried' | 'attemptErrors'>>;

/** A journalled record as storage takes it; one without an API came through chat, the only API there was; one without attempts made one. */
function fromJournal(record: JournalledRecord): UsageRecord {
  if (typeof record.api === 'string' && typeof record.estimated === 'boolean' && typeof record.attempts === 'number') return record as UsageRecord;
  return {
    ...record,
    api: record.api ?? 'chat',
    estimated: record.estimated ?? false,
    attempts: record.attempts ?? 1,
    targetsTried: record.targetsTried ?? [`${record.provider}/${record.model}`],
    attemptErrors: record.attemptErrors ?? [],
  };
}

/** An open segment file. Until its first write it carries a `.next` name, which replay ignores. */
interface Segment {
  fd: number;
  /** The name it takes at its first write (`.jsonl`). */
  path: string;
  /** Whether it was renamed to `path` (it has been written to). */
  used: boolean;
}

const SPARE_SUFFIX = '.next';
/** Per process, not per spool: two spools opened in one millisecond must not pick the same name. */
let sequence = 0;

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
 * Records are appended to the active segment; `rotate` seals it and moves on to the next. A sealed
 * segment is deleted only after its records are committed to storage.
 *
 * File handles are opened ahead of need: the active segment and the next one are open before
 * any record needs them, so a process that has run out of file descriptors (EMFILE) still journals
 * what its upstreams answered. A rotation that cannot open a spare keeps writing to the active
 * segment and tries again at the next one. `ready` tells whether a record could be written now;
 * the pipeline asks it before calling an upstream, so nothing is spent that could not be metered.
 *
 * At start, every segment still on disk is read back and replayed: storage inserts are idempotent
 * by request id, so a segment committed just before a crash is harmless to replay.
 */
export class UsageSpool {
  private readonly directory: string;
  private readonly fsyncOnRotate: boolean;
  private active: Segment | undefined;
  private spare: Segment | undefined;
  /** Why the last write failed; cleared by a write that succeeds or a rotation to a fresh segment. */
  private failure: unknown;
  /** Why the last attempt to open a segment failed. */
  private openFailure: unknown;
  /** Lines appended this turn, and the promise their write settles. */
  private pending: string[] = [];
  private group: { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(directory: string, options: { fsyncOnRotate?: boolean } = {}) {
    this.directory = directory;
    this.fsyncOnRotate = options.fsyncOnRotate ?? true;
    mkdirSync(directory, { recursive: true });
    this.lock();
    // Opened now, not at the first record: failures are noted (see `ready`), not thrown.
    this.active = this.tryOpen();
    this.spare = this.tryOpen();
  }

  /**
   * Whether a record appended now can be written: a segment is open (or can be opened) and the
   * last write did not fail. Costs nothing while healthy; one open attempt per call otherwise.
   */
  ready(): boolean {
    if (this.failure !== undefined) return false;
    if (!this.active) {
      this.active = this.spare ?? this.tryOpen();
      this.spare = undefined;
    }
    return this.active !== undefined;
  }

  /** Why the spool is not ready (the last failed write, else the last failed open), for logs. */
  get lastFailure(): unknown {
    return this.failure ?? this.openFailure;
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
    const own = new Set([this.active?.path, this.spare?.path]);
    const entries = readdirSync(this.directory);
    // Spares an earlier process opened and never wrote to.
    for (const name of entries) {
      if (name.endsWith(SPARE_SUFFIX) && !own.has(join(this.directory, name.slice(0, -SPARE_SUFFIX.length)))) this.discard(join(this.directory, name));
    }
    const names = entries.filter((name) => name.endsWith('.jsonl') && !own.has(join(this.directory, name))).sort();
    return names.map((name) => {
      const path = join(this.directory, name);
      const records: UsageRecord[] = [];
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (line === '') continue;
        try {
          records.push(fromJournal(JSON.parse(line) as JournalledRecord));
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
      let segment = this.active;
      if (!segment) {
        segment = this.spare ?? this.open();
        this.spare = undefined;
        this.active = segment;
      }
      if (!segment.used) {
        renameSync(`${segment.path}${SPARE_SUFFIX}`, segment.path);
        segment.used = true;
      }
      writeSync(segment.fd, text);
      this.failure = undefined;
      group.resolve();
    } catch (error) {
      this.failure = error;
      group.reject(error);
    }
  }

  /** Seals the active segment and returns its path (undefined when nothing was written since the last rotate). */
  rotate(): string | undefined {
    // Lines still pending belong to this segment: the ledger queued them with it.
    this.writePending();
    const sealed = this.active;
    if (!sealed?.used) {
      // Nothing to seal; a spool that lost its segments (a failed open) gets them back here.
      if (!sealed) {
        this.active = this.spare ?? this.tryOpen();
        this.spare = undefined;
      }
      this.spare ??= this.tryOpen();
      if (this.active) this.failure = undefined;
      return undefined;
    }
    // The next segment is in place before this one is sealed; without one (no descriptor to be
    // had), the active segment stays and its records stay queued for the next rotation.
    const next = this.spare ?? this.tryOpen();
    if (!next) return undefined;
    this.active = next;
    this.spare = this.tryOpen();
    // A fresh segment: writes are tried again (a failure that persists shows at the next one).
    this.failure = undefined;
    const fd = sealed.fd;
    // The fsync runs on libuv's thread pool: on the event loop it would stall every request in
    // flight for as long as the disk takes. Nothing waits for it; the segment is only deleted
    // after its records are in storage anyway, and an unlinked file may still be synced and closed.
    if (this.fsyncOnRotate) fsync(fd, () => close(fd, () => {}));
    else closeSync(fd);
    return sealed.path;
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
    for (const segment of [this.active, this.spare]) {
      if (!segment) continue;
      closeSync(segment.fd);
      if (!segment.used) this.discard(`${segment.path}${SPARE_SUFFIX}`);
    }
    this.active = undefined;
    this.spare = undefined;
    try {
      if (readFileSync(join(this.directory, '.lock'), 'utf8').trim() === String(process.pid)) unlinkSync(join(this.directory, '.lock'));
    } catch {
      // already gone
    }
  }

  /** Opens the next segment under its spare name. */
  private open(): Segment {
    // Names sort in creation order across restarts: time, then a per-process sequence, then the pid.
    sequence += 1;
    const name = `${Date.now().toString().padStart(15, '0')}-${String(sequence).padStart(6, '0')}-${process.pid}.jsonl`;
    const path = join(this.directory, name);
    return { fd: openSync(`${path}${SPARE_SUFFIX}`, 'a', 0o600), path, used: false };
  }

  private tryOpen(): Segment | undefined {
    try {
      return this.open();
    } catch (error) {
      this.openFailure = error;
      return undefined;
    }
  }
}
