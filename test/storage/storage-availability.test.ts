import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { postgresAvailable } from '../helpers/services.js';
import { dropSchema, POSTGRES_URL, uniqueSchema } from './storage-test-support.js';
import { isStorageUnavailable } from '../../src/storage/storage-availability.js';
import { openStorage } from '../../src/storage/open-storage.js';

const coded = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('isStorageUnavailable', () => {
  it('tells a database that cannot be reached from a failed call', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '08006', '08001', '57P01', '57P03', '53300', 'SQLITE_BUSY', 'SQLITE_IOERR_READ']) {
      expect(isStorageUnavailable(coded(code)), code).toBe(true);
    }
    expect(isStorageUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isStorageUnavailable(new Error('timeout exceeded when trying to connect'))).toBe(true);
    expect(isStorageUnavailable(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')]))).toBe(true);
    for (const code of ['23505', '22001', '42P01', 'SQLITE_CONSTRAINT_UNIQUE']) expect(isStorageUnavailable(coded(code)), code).toBe(false);
    expect(isStorageUnavailable(new Error('boom'))).toBe(false);
    expect(isStorageUnavailable(undefined)).toBe(false);
  });

  it('classifies what node-postgres really throws for a port nothing listens on', async () => {
    // Opening needs no database (a replica may start during an outage); the first call fails.
    const storage = await openStorage('postgres://postgres@127.0.0.1:25412/test?schema=nowhere');
    try {
      const failure = await storage.organizations.list().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(isStorageUnavailable(failure)).toBe(true);
    } finally {
      await storage.close();
    }
  });
});

describe.runIf(postgresAvailable)('a PostgreSQL connection lost in the middle of a call', () => {
  it('fails the call as unavailable and leaves the process running (no unhandled error event on a checked-out client)', async () => {
    const target = new URL(POSTGRES_URL);
    // A proxy that can stop relaying the server's answers (so a call stays in flight), then cut.
    let stalled = false;
    const sockets = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('error', () => undefined);
      }
      client.pipe(upstream);
      upstream.on('data', (data: Buffer) => {
        if (!stalled) client.write(data);
      });
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const port = (proxy.address() as AddressInfo).port;
    const url = new URL(POSTGRES_URL);
    url.hostname = '127.0.0.1';
    url.port = String(port);
    const schema = uniqueSchema();
    url.searchParams.set('schema', schema);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown): void => void uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    const storage = await openStorage(url.toString());
    try {
      await storage.migrate();
      stalled = true;
      const pending = storage.organizations.list().then(
        () => undefined,
        (error: unknown) => error,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const socket of sockets) socket.destroy(new Error('cut'));
      const failure = await pending;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(uncaught).toEqual([]);
      expect(isStorageUnavailable(failure)).toBe(true);
    } finally {
      process.off('uncaughtException', onUncaught);
      await storage.close().catch(() => undefined);
      proxy.close();
      await dropSchema(schema);
    }
  });
});
