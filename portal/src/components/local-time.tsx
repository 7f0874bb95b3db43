import { localTime } from '../api/format.js';

/** A point in time shown in the viewer's local time, machine-readable in `datetime`. */
export function LocalTime({ value, fallback = '—' }: { value: number | string | null | undefined; fallback?: string }) {
  const text = localTime(value);
  if (!text) return <>{fallback}</>;
  return <time dateTime={new Date(value as number | string).toISOString()}>{text}</time>;
}
