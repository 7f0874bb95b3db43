import type { Storage } from './storage.js';

/**
 * Something worth logging that is not the failure of a call: a PostgreSQL NOTICE, an idle pooled
 * connection that died, the change feed losing and regaining its connection, a subscriber that threw.
 */
export interface StorageNotice {
  /** `debug` for PostgreSQL NOTICEs such as "schema already exists, skipping". */
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly error?: unknown;
}

export interface StorageOptions {
  /** Receives notices; without it they are dropped (never thrown: they have no caller to reach). */
  readonly onNotice?: (notice: StorageNotice) => void;
}

/**
 * Opens storage from a URL:
 * - `sqlite:PATH`: a file, relative to the working directory, parent directories created;
 *   `sqlite::memory:` for a private in-memory database (tests);
 * - `postgres://…` or `postgresql://…`: a PostgreSQL pool; `?schema=NAME` puts every table in that
 *   schema (created if missing), so several instances or test runs can share one database.
 *
 * Does not migrate: call `migrate()` (once at start, or from a deploy step).
 */
export async function openStorage(url: string, options: StorageOptions = {}): Promise<Storage> {
  // Imported on demand: a SQLite deployment never loads pg, a PostgreSQL one never loads the native addon.
  if (url.startsWith('sqlite:')) {
    const { openSqliteStorage } = await import('./sqlite/sqlite-storage.js');
    return openSqliteStorage(url.slice('sqlite:'.length), options);
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { openPostgresStorage } = await import('./postgres/postgres-storage.js');
    return openPostgresStorage(url, options);
  }
  throw new Error(`Unsupported storage URL "${redact(url)}": expected sqlite:PATH, sqlite::memory: or postgres://…`);
}

/** The URL without a password, for messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}
