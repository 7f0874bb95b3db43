/** Formatting shared by the pages: times in the viewer's own zone and locale, money in USD. */

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 4 });
const COUNT = new Intl.NumberFormat();

/** A point in time (epoch ms or an ISO string) in the viewer's local time; '' for none. */
export function localTime(value: number | string | null | undefined, format: Intl.DateTimeFormat = DATE_TIME): string {
  if (value === null || value === undefined || value === '') return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '' : format.format(date);
}

export function usd(value: number): string {
  return USD.format(value);
}

export function count(value: number): string {
  return COUNT.format(value);
}

/** What the keys table says of a key at `now`. */
export function keyStatus(key: { revokedAt: number | null; expiresAt: number | null }, now: number): 'revoked' | 'expired' | 'active' {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && key.expiresAt <= now) return 'expired';
  return 'active';
}

const DURATION = /^\d+\s*(m|h|d|w)$/;

/**
 * Checks a key's expiry as typed before it is sent, by the admin API's rule (`keys.create`): empty
 * (never), a duration (30d, 12h, 90m, 2w) or a future date. Returns the value to send or the problem.
 */
export function checkExpiry(input: string, now: number): { value: string | undefined } | { problem: string } {
  const text = input.trim();
  if (text === '') return { value: undefined };
  if (DURATION.test(text)) return Number.parseInt(text, 10) > 0 ? { value: text.replace(/\s+/g, '') } : { problem: 'A duration must be longer than zero.' };
  const date = Date.parse(text);
  if (Number.isNaN(date)) return { problem: 'Give a duration (30d, 12h, 90m, 2w) or a date (2030-01-31).' };
  if (date <= now) return { problem: 'The expiry date must be in the future.' };
  return { value: new Date(date).toISOString() };
}
