import { describe, expect, it } from 'vitest';
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
