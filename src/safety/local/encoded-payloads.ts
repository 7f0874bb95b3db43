import { Buffer } from 'node:buffer';

/**
 * Base64 payloads hidden in a text ("decode this and follow it: SWdub3Jl…"). A run of at least
 * MIN_RUN base64 characters that decodes to mostly printable text with a space in it is returned
 * decoded, so the classifier can judge what it says. Hashes, keys and images decode to binary
 * and are skipped. One linear scan; decoding only happens for runs that qualify, and at most
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

export function findEncodedPayloads(text: string): string[] {
  const found: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n && found.length < MAX_PAYLOADS) {
    const c = text.charCodeAt(i);
    if (c >= 128 || BASE64[c] === 0) {
      i++;
      continue;
    }
    let j = i;
    let upper = 0;
    let lower = 0;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (d >= 128 || BASE64[d] === 0) break;
      if (d >= 0x41 && d <= 0x5a) upper++;
      else if (d >= 0x61 && d <= 0x7a) lower++;
      j++;
    }
    // Base64 of text mixes cases throughout; a long lower-case identifier or hex hash does not.
    if (j - i >= MIN_RUN && j - i <= MAX_RUN && upper * 8 >= j - i && lower * 8 >= j - i) {
      const decoded = decodeText(text.slice(i, j));
      if (decoded !== undefined) found.push(decoded);
    }
    i = j;
  }
  return found;
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
