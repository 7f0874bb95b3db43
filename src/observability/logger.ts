import pino, { type DestinationStream, type Logger } from 'pino';
import { prettyDestination } from './pretty-destination.js';

/** Paths pino blanks in every log line: credentials must never reach the logs. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["api-key"]',
  'req.headers["x-api-key"]',
  'req.headers["x-goog-api-key"]',
  'headers.authorization',
  'headers["api-key"]',
  'headers["x-api-key"]',
  'headers["x-goog-api-key"]',
  '*.api_key',
  '*.apiKey',
  'api_key',
];

/** `json`: one JSON object per line; `pretty`: `HH:MM:SS LEVEL message key=value` for a terminal. */
export type LogFormat = 'json' | 'pretty';

/** How often buffered lines are written out at the latest. */
export const LOG_FLUSH_INTERVAL_MS = 1_000;
/** pino's number for `warn`: lines at this level and above are written out at once. */
const WARN = 40;

interface FlushableDestination extends DestinationStream {
  flush(): void;
}

/**
 * Logs on stdout. Access lines are batched (written once 4 KiB are buffered) so logging never
 * blocks the request path; but an operator tailing the log must see what matters when it happens,
 * so a warning or error is written out at once and anything buffered at most
 * {@link LOG_FLUSH_INTERVAL_MS} later (lifecycle and reload lines included). With a `destination`
 * given (tests), lines go there as they are logged.
 */
export function createLogger(level: string, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  let out: DestinationStream;
  let flushable: FlushableDestination | undefined;
  if (destination) {
    out = format === 'pretty' ? prettyDestination(destination) : destination;
  } else {
    // A terminal (pretty) is read as it scrolls: no batching there.
    const boom = pino.destination({ sync: false, minLength: format === 'pretty' ? 0 : 4096 });
    flushable = format === 'pretty' ? prettyDestination(boom) : boom;
    out = flushable;
    const timer = setInterval(() => flushQuietly(flushable as FlushableDestination), LOG_FLUSH_INTERVAL_MS);
    timer.unref();
  }
  return pino(
    {
      level,
      base: { service: 'cerulean' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // Epoch milliseconds (pino's default): formatting an ISO date on every line costs more than the rest of it.
      ...(flushable && {
        hooks: {
          logMethod(args, method, methodLevel) {
            method.apply(this, args);
            if (methodLevel >= WARN) flushQuietly(flushable);
          },
        },
      }),
    },
    out,
  );
}

/**
 * Asks the destination to write what it holds. If a write is already under way the rest goes with
 * the next flush (within a second); a destination closed at exit is left alone.
 */
function flushQuietly(destination: FlushableDestination): void {
  try {
    destination.flush();
  } catch {
    // Closed: nothing more can be written.
  }
}
