import { piiMatch, type PiiMatch, type PiiRecognizer } from './pii-recognizer.js';

/**
 * E-mail addresses in their common form: an ASCII local part (RFC 5322 dot-atom, restricted to the
 * characters real addresses use) and a DNS domain whose last label is alphabetic. Quoted local parts
 * and internationalised addresses are not recognised.
 *
 * Instead of a regular expression tried at every letter of the text (which costs local-part length
 * times text length on long runs of letters), the recogniser jumps from `@` to `@` and grows the
 * address outwards, so a text without `@` costs one `indexOf`.
 */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9-]{1,59})$/;
/** `icon@2x.png` and friends: asset names, not addresses. */
const FILE_EXTENSION_TLDS = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'bmp', 'ico', 'avif', 'tiff']);

const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

function isLocalChar(code: number): boolean {
  // A-Z a-z 0-9 and the usual specials: . _ % + -
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2e ||
    code === 0x5f ||
    code === 0x25 ||
    code === 0x2b ||
    code === 0x2d
  );
}

function isDomainChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x2e || code === 0x2d;
}

/** Letters, digits and `_`: a character that would make the address part of a longer token. */
function isWordChar(code: number): boolean {
  return (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || (code >= 0x30 && code <= 0x39) || code === 0x5f;
}

/**
 * Whether the would-be local part starting at `start` is the password of a URL's userinfo
 * (`scheme://user:password@host`), which the secret recogniser reports instead.
 */
function isUrlPassword(text: string, start: number): boolean {
  if (start === 0 || text.charCodeAt(start - 1) !== 0x3a) return false;
  let tokenStart = start - 1;
  while (tokenStart > 0 && text.charCodeAt(tokenStart - 1) > 0x20) tokenStart--;
  return text.slice(tokenStart, start).includes('://');
}

export class EmailRecognizer implements PiiRecognizer {
  readonly type = 'email' as const;

  find(text: string, found: PiiMatch[]): void {
    for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
      let start = at;
      while (start > 0 && at - start <= MAX_LOCAL && isLocalChar(text.charCodeAt(start - 1))) start--;
      if (start > 0 && isLocalChar(text.charCodeAt(start - 1))) continue; // local part longer than 64
      // A local part cannot begin with a dot: in "…:.john@x.com" the address is "john@x.com".
      while (start < at && text.charCodeAt(start) === 0x2e) start++;
      let end = at + 1;
      while (end < text.length && end - at <= MAX_DOMAIN && isDomainChar(text.charCodeAt(end))) end++;
      // Sentence punctuation after the address ("mail a@b.com.") is not part of it.
      while (end > at + 1 && (text.charCodeAt(end - 1) === 0x2e || text.charCodeAt(end - 1) === 0x2d)) end--;
      if (start === at || end === at + 1) continue;
      if (end < text.length && (isWordChar(text.charCodeAt(end)) || text.charCodeAt(end) === 0x40)) continue;
      if (isUrlPassword(text, start)) continue;
      const domain = text.slice(at + 1, end);
      if (!LOCAL_PART.test(text.slice(start, at)) || !DOMAIN.test(domain)) continue;
      if (FILE_EXTENSION_TLDS.has(domain.slice(domain.lastIndexOf('.') + 1).toLowerCase())) continue;
      found.push(piiMatch('email', text, start, end));
    }
  }
}
