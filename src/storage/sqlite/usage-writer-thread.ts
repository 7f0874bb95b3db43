// Entry point of the usage writer thread (see usage-writer.ts): owns a second connection to the
// SQLite file and commits usage batches on it, off the main event loop.
import { parentPort, workerData } from 'node:worker_threads';
import SqliteDatabase from 'better-sqlite3';
import type { UsageRecord } from '../storage.js';
import { prepareUsageInsert, type UsageInsert } from './usage-insert.js';
import type { WriterReply, WriterRequest } from './usage-writer.js';

const port = parentPort;
if (!port) throw new Error('usage-writer-thread runs as a worker thread only');

const database = new SqliteDatabase((workerData as { file: string }).file);
database.pragma('journal_mode = WAL');
database.pragma('busy_timeout = 5000');
database.pragma('synchronous = NORMAL');
// Prepared on the first batch: the tables exist only once the main thread ran the migrations.
let insert: UsageInsert | undefined;

port.on('message', (request: WriterRequest) => {
  let reply: WriterReply;
  try {
    insert ??= prepareUsageInsert(database);
    reply = { id: request.id, inserted: insert(request.records as UsageRecord[]) };
  } catch (error) {
    const { message, code } = error as { message?: unknown; code?: unknown };
    reply = { id: request.id, error: { message: String(message ?? error), code: typeof code === 'string' ? code : undefined } };
  }
  port.postMessage(reply);
});

port.once('close', () => database.close());
