import { Buffer } from 'node:buffer';

/**
 * Base64 payloads hidden in a text ("decode this and follow it: SWdub3Jl…"). A run of at least
 * MIN_RUN base64 characters that decodes to mostly printable text with a space in it is returned
 * decoded, so the classifier can judge what it says. Hashes, keys and images decode to binary
 * and are skipped. The classifier passes the tokeniser's hints (tokens that look like base64), so
 * ordinary text costs nothing; decoding only happens for runs that qualify, and at most
 * MAX_PAYLOADS of MAX_RUN characters each are decoded per text. Other encodings (hex, ROT13,
 * reversed text, homemade ciphers) are not decoded: the lexicon only notices that they are asked for.
 */

const MIN_RUN = 24;
const MAX_RUN = 65_536;
const MAX_PAYLOADS = 8;
/** Share of printable characters a decoded payload needs to count as text. */
const PRINTABLE_SHARE = 0.9;

const BASE64 = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') BASE64[c.charCodeAt(0)] = 1;

/**
 * Payloads in `text`, looking only at the runs of base64 characters that contain one of the
 * offsets in `hints` (the tokeniser's mixed-case tokens), or at every run when `hints` is absent.
 */
export function findEncodedPayloads(text: string, hints?: readonly number[]): string[] {
  const found: string[] = [];
  if (hints === undefined) {
    let i = 0;
    while (i < text.length && found.length < MAX_PAYLOADS) i = examineRun(text, i, found);
    return found;
  }
  let scannedTo = 0;
  for (const hint of hints) {
    if (found.length >= MAX_PAYLOADS) break;
    if (hint < scannedTo) continue;
    let from = hint;
    while (from > scannedTo && isBase64(text.charCodeAt(from - 1))) from--;
    scannedTo = examineRun(text, from, found);
  }
  return found;
}

function isBase64(c: number): boolean {
  return c < 128 && BASE64[c] === 1;
}

/** Examine the run of base64 characters starting at or after `i`; returns where it ended. */
function examineRun(text: string, i: number, found: string[]): number {
  const n = text.length;
  while (i < n && !isBase64(text.charCodeAt(i))) i++;
  let j = i;
  let upper = 0;
  let lower = 0;
  while (j < n) {
    const d = text.charCodeAt(j);
    if (!isBase64(d)) break;
    if (d >= 0x41 && d <= 0x5a) upper++;
    else if (d >= 0x61 && d <= 0x7a) lower++;
    j++;
  }
  // Base64 of text mixes cases throughout; a long lower-case identifier or hex hash does not.
  if (j - i >= MIN_RUN && j - i <= MAX_RUN && upper * 8 >= j - i && lower * 8 >= j - i) {
    const decoded = decodeText(text.slice(i, j));
    if (decoded !== undefined) found.push(decoded);
  }
  return j;
}

function decodeText(run: string): string | undefined {
  const decoded = Buffer.from(run, 'base64').toString('utf8');
  if (decoded.length === 0 || !decoded.includes(' ')) return undefined;
  let printable = 0;
  for (let k = 0; k < decoded.length; k++) {
    const c = decoded.charCodeAt(k);
    if ((c >= 0x20 && c < 0x7f) || c === 0x0a || c === 0x09 || c === 0x0d || (c >= 0xa0 && c !== 0xfffd)) printable++;
  }
  return printable >= decoded.length * PRINTABLE_SHARE ? decoded : undefined;
}
