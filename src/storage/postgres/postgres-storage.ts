import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { StorageNotice, StorageOptions } from '../open-storage.js';
import { RESYNC_TOPIC, type Storage } from '../storage.js';
import type { Database } from '../kysely/database.js';
import type { DialectTraits } from '../kysely/dialect-traits.js';
import { KyselyStorage, type ClosableChangeFeed } from '../kysely/kysely-storage.js';
import { PostgresUsageRepository } from './postgres-usage-repository.js';
import { isStorageUnavailable } from '../storage-availability.js';

/** Notification channel of the change feed (database-wide: PostgreSQL channels ignore schemas). */
export const CHANGE_CHANNEL = 'cerulean_changes';
/** First key of the audit advisory lock ("CERU"); the second is the schema, so schemas do not contend. */
export const AUDIT_LOCK_CLASS = 0x43455255;
const POOL_SIZE = 10;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;
const CONNECT_TIMEOUT_MS = 5_000;

export const POSTGRES_TRAITS: DialectTraits = {
  name: 'postgres',
  maxParameters: 65_535,
  auditSequence: 'bigserial',
  /** The first schema of search_path: the `?schema=` one, or usually `public`. */
  async migrationSchema(db) {
    const { rows } = await sql<{ schema: string | null }>`select current_schema() as schema`.execute(db);
    const schema = rows[0]?.schema;
    if (schema === null || schema === undefined) throw new Error('PostgreSQL has no current schema: check search_path');
    return schema;
  },
  /**
   * A transaction-scoped advisory lock: held until commit or rollback, by whichever pool
   * connection or process has it, and independent of any row (the log may be empty).
   */
  async lockAuditChain(trx) {
    await sql`select pg_advisory_xact_lock(${sql.lit(AUDIT_LOCK_CLASS)}, hashtext(current_schema()))`.execute(trx);
  },
};

type Notify = (notice: StorageNotice) => void;

/**
 * PostgreSQL through a node-postgres pool, for several nodes sharing one database. A `schema` query
 * parameter in the URL selects (and creates) the schema through the `search_path` startup option,
 * so every pooled connection lands there before its first query.
 */
export async function openPostgresStorage(url: string, options: StorageOptions = {}): Promise<Storage> {
  const notify: Notify = (notice) => options.onNotice?.(notice);
  const { connectionString, schema } = parsePostgresUrl(url);
  let traits = POSTGRES_TRAITS;
  if (schema !== undefined) {
    try {
      await ensureSchema(connectionString, schema, notify);
    } catch (error) {
      // Opening must not need the database (a replica starts during an outage): the schema is
      // then created by the first migration, which runs once the database answers.
      if (!isStorageUnavailable(error)) throw error;
      notify({ level: 'warn', message: `PostgreSQL unreachable; schema "${schema}" is created at the first migration`, error });
      let created = false;
      traits = {
        ...POSTGRES_TRAITS,
        async migrationSchema(db) {
          if (!created) await ensureSchema(connectionString, schema, notify);
          created = true;
          return POSTGRES_TRAITS.migrationSchema(db);
        },
      };
    }
  }

  // A bounded wait for a connection: during an outage a call fails (503 for admin calls) instead
  // of hanging on an unanswered connection attempt.
  const pool = new pg.Pool({ connectionString: withSearchPath(connectionString, schema), max: POOL_SIZE, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // An idle client's error is emitted on the pool; unhandled, it would crash the process.
  pool.on('error', (error) => notify({ level: 'warn', message: 'Idle PostgreSQL connection failed', error }));
  pool.on('connect', (client) => {
    client.on('notice', (message) =>
      notify({ level: message.severity === 'WARNING' ? 'warn' : 'debug', message: `PostgreSQL ${message.severity ?? 'NOTICE'}: ${message.message ?? ''}` }),
    );
    // A checked-out client's socket error is emitted on the client (the pool listens only while it
    // is idle): without a listener it would end the process. The call in flight fails with it, and
    // the pool drops the client on release, so it needs no more than a debug line here.
    client.on('error', (error) => notify({ level: 'debug', message: 'PostgreSQL connection in use failed', error }));
  });

  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new KyselyStorage(db, traits, new PostgresChangeFeed(pool, connectionString, notify), new PostgresUsageRepository(db, traits));
}

/** Splits the Cerulean-only `schema` parameter off, so pg sees a plain connection string. */
function parsePostgresUrl(url: string): { connectionString: string; schema: string | undefined } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  if (schema === undefined) return { connectionString: url, schema };
  // Lower-case only: search_path folds unquoted names to lower case, CREATE SCHEMA "x" would not.
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`Invalid PostgreSQL schema "${schema}": use lower-case letters, digits and _ (at most 63)`);
  }
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

function withSearchPath(connectionString: string, schema: string | undefined): string {
  if (schema === undefined) return connectionString;
  const parsed = new URL(connectionString);
  const existing = parsed.searchParams.get('options');
  parsed.searchParams.set('options', `${existing === null ? '' : `${existing} `}-c search_path=${schema}`);
  return parsed.toString();
}

async function ensureSchema(connectionString: string, schema: string, notify: Notify): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', (error) => notify({ level: 'warn', message: 'PostgreSQL connection failed while creating the schema', error }));
  await client.connect();
  try {
    await client.query(`create schema if not exists "${schema}"`);
  } catch (error) {
    // Two processes creating the same schema at once: IF NOT EXISTS does not cover the race.
    if (!isUniqueViolation(error)) throw error;
  } finally {
    await client.end();
  }
}

function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && (error.code === '23505' || error.code === '42P06');
}

/**
 * Change feed over LISTEN/NOTIFY: publish is `pg_notify` through the pool; subscribers share one
 * dedicated connection (a pooled one would be handed to queries and lose its LISTEN), opened on
 * the first subscribe and kept until close. `subscribe` resolves once LISTEN is active, so a
 * message published after it is delivered, on every replica, typically within milliseconds.
 *
 * When the database cannot be reached at subscribe, `subscribe` still resolves and the connection
 * is retried in the background as below, the subscriber then hearing RESYNC_TOPIC.
 *
 * When that connection drops, it reconnects with backoff (100 ms doubling to 5 s) and says so
 * through `onNotice`; messages published while it was down are lost (NOTIFY is not stored), so a
 * cache fed by this feed should expire entries on its own as well.
 */
class PostgresChangeFeed implements ClosableChangeFeed {
  private readonly pool: pg.Pool;
  private readonly connectionString: string;
  private readonly notify: Notify;
  private readonly handlers = new Set<(topic: string, id: string) => void>();
  private listener: pg.Client | undefined;
  private listening: Promise<void> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectAttempts = 0;
  private closed = false;

  constructor(pool: pg.Pool, connectionString: string, notify: Notify) {
    this.pool = pool;
    this.connectionString = connectionString;
    this.notify = notify;
  }

  async publish(topic: string, id: string): Promise<void> {
    await this.pool.query('select pg_notify($1, $2)', [CHANGE_CHANNEL, JSON.stringify({ topic, id })]);
  }

  async subscribe(handler: (topic: string, id: string) => void): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('Change feed is closed');
    this.handlers.add(handler);
    try {
      await this.listen();
    } catch (error) {
      if (!isStorageUnavailable(error)) {
        this.handlers.delete(handler);
        throw error;
      }
      // The database is away: keep the subscription and connect in the background; subscribers
      // get RESYNC_TOPIC once it is listening, as after any gap.
      this.notify({ level: 'warn', message: 'Change feed cannot connect; retrying (subscribers resync once it is back)', error });
      this.scheduleReconnect();
    }
    return async () => {
      this.handlers.delete(handler);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.handlers.clear();
    await this.listening?.catch(() => undefined);
    const client = this.listener;
    this.listener = undefined;
    await client?.end().catch(() => undefined);
  }

  private listen(): Promise<void> {
    this.listening ??= this.connect().catch((error: unknown) => {
      this.listening = undefined;
      throw error;
    });
    return this.listening;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on('notification', (message) => {
      if (message.channel === CHANGE_CHANNEL) this.deliver(message.payload);
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, undefined));
    try {
      await client.connect();
      await client.query(`listen ${CHANGE_CHANNEL}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
  }

  private deliver(payload: string | undefined): void {
    let topic: unknown;
    let id: unknown;
    try {
      ({ topic, id } = JSON.parse(payload ?? '') as { topic?: unknown; id?: unknown });
    } catch (error) {
      this.notify({ level: 'warn', message: `Ignored a malformed change message: ${String(payload)}`, error });
      return;
    }
    if (typeof topic !== 'string' || typeof id !== 'string') {
      this.notify({ level: 'warn', message: `Ignored a malformed change message: ${String(payload)}` });
      return;
    }
    for (const handler of [...this.handlers]) {
      try {
        handler(topic, id);
      } catch (error) {
        this.notify({ level: 'error', message: `Change subscriber failed on ${topic} ${id}`, error });
      }
    }
  }

  /** The listening connection failed or ended: drop it and reconnect, unless closing. */
  private lost(client: pg.Client, error: unknown): void {
    if (client !== this.listener) return;
    this.listener = undefined;
    this.listening = undefined;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.notify({ level: 'warn', message: 'Change feed connection lost; reconnecting (subscribers resync once it is back)', error });
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const delay = Math.min(RECONNECT_MIN_MS * 2 ** this.reconnectAttempts, RECONNECT_MAX_MS);
    this.reconnectAttempts += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.listen().then(
        () => {
          this.reconnectAttempts = 0;
          this.notify({ level: 'info', message: 'Change feed reconnected' });
          // Whatever was published while the connection was down is lost: subscribers resync.
          this.deliver(JSON.stringify({ topic: RESYNC_TOPIC, id: '' }));
        },
        (error: unknown) => {
          // Said once per outage; the retries that follow are debug lines.
          this.notify({ level: this.reconnectAttempts <= 1 ? 'warn' : 'debug', message: 'Change feed reconnect failed; retrying', error });
          this.scheduleReconnect();
        },
      );
    }, delay);
    // Reconnecting alone must not keep the process alive.
    this.reconnectTimer.unref();
  }
}
