/** Socket-level codes Node gives a connection that could not be made or was cut. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ECONNABORTED']);

/** What node-postgres says, without a code, about a connection it lost or could not get in time. */
const PG_CONNECTION_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection timeout)/;

/**
 * Whether a storage call failed because the database could not be reached — refused, cut, timed
 * out, shutting down, out of connections, or (SQLite) locked or unreadable — rather than because
 * of the call itself. Such a failure is worth retrying later and is answered with 503, not 500.
 *
 * PostgreSQL SQLSTATE class 08 (connection exception), 57P01-57P03 (administrator or crash
 * shutdown, cannot connect now) and 53300 (too many connections); SQLite BUSY, LOCKED, CANTOPEN
 * and IOERR (with their extended codes).
 */
export function isStorageUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message, errors } = error as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    if (/^08[0-9A-Z]{3}$/.test(code) || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
    if (/^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR)/.test(code)) return true;
  }
  if (typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message)) return true;
  // Node reports a failed connection to a name with several addresses as an AggregateError.
  if (Array.isArray(errors) && errors.length > 0 && errors.every(isStorageUnavailable)) return true;
  return false;
}
