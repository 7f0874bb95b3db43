import pino, { type DestinationStream, type Logger } from 'pino';

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

/** JSON logs on stdout, written asynchronously so logging never blocks the request path. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'cerulean' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      // Epoch milliseconds (pino's default): formatting an ISO date on every line costs more than the rest of it.
    },
    destination ?? pino.destination({ sync: false, minLength: 4096 }),
  );
}
