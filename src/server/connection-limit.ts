import { readFileSync } from 'node:fs';

/** Descriptors kept out of the inbound share whatever the limit: upstream pools, storage, spool, logs. */
const RESERVED = 64;

/** The process's soft limit on open files, from /proc (Linux); undefined where it cannot be read or is unlimited. */
export function openFileLimit(limits = '/proc/self/limits'): number | undefined {
  try {
    const line = readFileSync(limits, 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    const value = Number(soft);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How many inbound connections the server accepts at once (`server.max_connections`): the
 * configured number (0: no cap), or by default half the open-file limit, so that however many
 * callers connect, the other half stays for upstream sockets, storage connections and the usage
 * spool. Connections over the cap are closed as they are accepted. No cap where the limit is
 * unknown.
 */
export function maxConnections(configured: number | undefined, limits?: string): number {
  if (configured !== undefined) return configured === 0 ? Infinity : configured;
  const limit = openFileLimit(limits);
  if (limit === undefined) return Infinity;
  return Math.max(16, Math.floor(limit / 2) - RESERVED);
}
