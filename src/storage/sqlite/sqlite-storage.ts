import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { StorageOptions } from '../open-storage.js';
import { RESYNC_TOPIC, type Storage } from '../storage.js';
import type { Database } from '../kysely/database.js';
import type { DialectTraits } from '../kysely/dialect-traits.js';
import { KyselyStorage, type ClosableChangeFeed } from '../kysely/kysely-storage.js';
import { SqliteResponseRepository } from './sqlite-response-repository.js';
import { SqliteUsageRepository } from './sqlite-usage-repository.js';
import { ThreadedUsageWriter } from './usage-writer.js';

const MEMORY = ':memory:';

export const SQLITE_TRAITS: DialectTraits = {
  name: 'sqlite',
  maxParameters: 32_766,
  auditSequence: 'integer-autoincrement',
  async migrationSchema() {
    return undefined;
  },
  /**
   * A write as the first statement turns Kysely's deferred `begin` into a write transaction right
   * away, which is what BEGIN IMMEDIATE would give: other connections and processes queue on
   * busy_timeout here, before the chain head is read. (A read first, then a write, could instead
   * fail with SQLITE_BUSY_SNAPSHOT when another process appended in between.) Within this process
   * Kysely's single better-sqlite3 connection already runs one transaction at a time.
   */
  async lockAuditChain(trx) {
    await sql`update audit_anchor set seq = seq where id = 1`.execute(trx);
  },
};

/**
 * SQLite through better-sqlite3, for one node: WAL so readers never wait for the writer,
 * synchronous=NORMAL (durable at checkpoints, safe against corruption, far fewer fsyncs),
 * busy_timeout so a second process (e.g. the CLI beside the server) waits instead of failing,
 * and foreign keys on (SQLite leaves them off by default).
 *
 * Open one Storage per file per process. better-sqlite3 waits for a lock synchronously, on the
 * event loop: a second connection in the same process waiting behind the first one's transaction
 * would block the very loop that transaction needs to commit, and fail after busy_timeout. Other
 * processes (the CLI beside the server) are fine, and so is the usage writer thread
 * (usage-writer.ts): it waits on its own thread, and its transactions never span an await.
 *
 * @param location a file path relative to the working directory, or `:memory:`.
 */
export async function openSqliteStorage(location: string, options: StorageOptions = {}): Promise<Storage> {
  if (location.length === 0) throw new Error('SQLite storage needs a path: sqlite:PATH or sqlite::memory:');
  let file = MEMORY;
  if (location !== MEMORY) {
    file = resolve(location);
    mkdirSync(dirname(file), { recursive: true });
  }
  const database = new SqliteDatabase(file);
  try {
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
  } catch (error) {
    database.close();
    throw error;
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  // Usage batches of a database file are committed from a writer thread, off the event loop.
  const writer = file === MEMORY ? undefined : ThreadedUsageWriter.forFile(file);
  const changes = new SqliteChangeFeed(options, file === MEMORY ? undefined : database);
  return new KyselyStorage(
    db,
    SQLITE_TRAITS,
    changes,
    new SqliteUsageRepository(db, SQLITE_TRAITS, database, writer),
    new SqliteResponseRepository(db, database),
  );
}

/** How often a file's change counter is read for changes made by other processes. */
const CHANGE_POLL_MS = 200;

/**
 * Delivers changes to subscribers of this Storage instance, asynchronously (never on the
 * publisher's stack); a subscriber that throws is reported as a notice without affecting the others.
 *
 * One SQLite node is one server process, but the CLI may change the same file beside it (a key
 * created or revoked in an emergency). For a file, `publish` also bumps a change counter kept in
 * the database header (`PRAGMA user_version`, which Cerulean uses for nothing else; the migrations
 * are recorded in their own table), and while anyone is subscribed the counter is read every
 * 200 ms — a read of the header page, no table touched. A counter moved by another process
 * delivers RESYNC_TOPIC: subscribers reload, within a quarter of a second of the other's commit.
 */
class SqliteChangeFeed implements ClosableChangeFeed {
  private readonly emitter = new EventEmitter();
  private readonly options: StorageOptions;
  private readonly database: SqliteDatabase.Database | undefined;
  private seen: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  /** @param database the file's connection, to follow other processes' changes; undefined for `:memory:`. */
  constructor(options: StorageOptions, database: SqliteDatabase.Database | undefined) {
    this.options = options;
    this.database = database;
    this.emitter.setMaxListeners(0);
  }

  async publish(topic: string, id: string): Promise<void> {
    if (this.database) {
      // Read and bump in one write transaction, so two processes never write the same value. A
      // counter found other than last seen means another process changed something meanwhile:
      // leave `seen` behind, and the next poll tells subscribers to resync.
      const database = this.database;
      const before = database
        .transaction(() => {
          const value = database.pragma('user_version', { simple: true }) as number;
          // Wraps within SQLite's 32-bit signed header field.
          database.pragma(`user_version = ${value >= 0x7fffffff ? 0 : value + 1}`);
          return value;
        })
        .immediate();
      if (this.seen === before) this.seen = before >= 0x7fffffff ? 0 : before + 1;
    }
    setImmediate(() => this.emitter.emit('change', topic, id));
  }

  async subscribe(handler: (topic: string, id: string) => void): Promise<() => Promise<void>> {
    const listener = (topic: string, id: string): void => {
      try {
        handler(topic, id);
      } catch (error) {
        this.options.onNotice?.({ level: 'error', message: `Change subscriber failed on ${topic} ${id}`, error });
      }
    };
    this.emitter.on('change', listener);
    this.follow();
    return async () => {
      this.emitter.off('change', listener);
      if (this.emitter.listenerCount('change') === 0) this.stopFollowing();
    };
  }

  async close(): Promise<void> {
    this.stopFollowing();
    this.emitter.removeAllListeners();
  }

  /** Starts reading the counter, once, for a file. */
  private follow(): void {
    const database = this.database;
    if (!database || this.timer) return;
    this.seen ??= this.counter();
    this.timer = setInterval(() => {
      const value = this.counter();
      if (value === undefined || value === this.seen) return;
      this.seen = value;
      this.emitter.emit('change', RESYNC_TOPIC, '');
    }, CHANGE_POLL_MS);
    this.timer.unref();
  }

  private stopFollowing(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private counter(): number | undefined {
    try {
      return this.database?.pragma('user_version', { simple: true }) as number;
    } catch (error) {
      // Busy or closed: try again on the next tick.
      this.options.onNotice?.({ level: 'debug', message: 'Reading the change counter failed', error });
      return undefined;
    }
  }
}
