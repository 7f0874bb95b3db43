import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { StorageOptions } from '../open-storage.js';
import type { Storage } from '../storage.js';
import type { Database } from '../kysely/database.js';
import type { DialectTraits } from '../kysely/dialect-traits.js';
import { KyselyStorage, type ClosableChangeFeed } from '../kysely/kysely-storage.js';
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
  return new KyselyStorage(db, SQLITE_TRAITS, new InProcessChangeFeed(options), new SqliteUsageRepository(db, SQLITE_TRAITS, database, writer));
}

/**
 * Delivers changes to subscribers of this Storage instance: one SQLite node is one process, so
 * there are no other replicas to tell. Delivery is asynchronous (never on the publisher's stack)
 * and a subscriber that throws is reported as a notice without affecting the others.
 */
class InProcessChangeFeed implements ClosableChangeFeed {
  private readonly emitter = new EventEmitter();
  private readonly options: StorageOptions;

  constructor(options: StorageOptions) {
    this.options = options;
    this.emitter.setMaxListeners(0);
  }

  async publish(topic: string, id: string): Promise<void> {
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
    return async () => {
      this.emitter.off('change', listener);
    };
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}
