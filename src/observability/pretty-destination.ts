import type { DestinationStream } from 'pino';

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** Fields every line has, shown in the line's head or not at all. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);
const BARE = /^[\w.:/@+-]+$/;

const twoDigits = (value: number): string => String(value).padStart(2, '0');

function formatValue(value: unknown): string {
  if (typeof value === 'string') return BARE.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * One JSON log line as a terminal line: `HH:MM:SS LEVEL message key=value …` (local time), an
 * error's stack indented below it. Lines that are not JSON pass through unchanged.
 */
export function prettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now());
  const clock = `${twoDigits(time.getHours())}:${twoDigits(time.getMinutes())}:${twoDigits(time.getSeconds())}`;
  const level = (LEVELS[entry.level as number] ?? String(entry.level)).padEnd(5);
  const parts = [clock, level, typeof entry.msg === 'string' ? entry.msg : ''];
  let stack = '';
  for (const [key, value] of Object.entries(entry)) {
    if (HEAD_FIELDS.has(key) || value === undefined) continue;
    if (key === 'err' && value !== null && typeof value === 'object') {
      const error = value as { message?: unknown; stack?: unknown };
      parts.push(`err=${formatValue(error.message ?? '')}`);
      if (typeof error.stack === 'string') for (const frame of error.stack.split('\n').slice(1)) stack += `\n    ${frame.trim()}`;
      continue;
    }
    parts.push(`${key}=${formatValue(value)}`);
  }
  return `${parts.join(' ')}${stack}\n`;
}

/** Wraps a destination so each line is written pretty (`logging.format: pretty`). */
export function prettyDestination<T extends DestinationStream>(inner: T): DestinationStream & { flush(): void } {
  return {
    write(line: string) {
      for (const one of line.split('\n')) if (one !== '') inner.write(prettyLine(one));
    },
    flush() {
      (inner as { flush?: () => void }).flush?.();
    },
  };
}
