import { isIPv6 } from 'node:net';
import { piiMatch, type PiiMatch, type PiiRecognizer } from './pii-recognizer.js';

/**
 * IP addresses. IPv4 in dotted-quad form with octets 0–255 and no leading zeros; a dotted run with
 * other than four parts ("1.2.3", "1.2.3.4.5") is a version or an OID, not an address. IPv6 in full,
 * compressed (`::`) and IPv4-suffixed forms, checked by `net.isIPv6`. A candidate must also hold a
 * digit and at least two groups (or be `::1`), which keeps `std::map`, `a::b` and "step 1::" out;
 * MAC addresses (six groups) fail the IPv6 grammar itself. A zone identifier (`%eth0`) is not matched.
 */
const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`(?<![\\w.])${OCTET}(?:\\.${OCTET}){3}(?![\\w]|\\.\\d)`, 'g');

function isHex(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x66) || (code >= 0x41 && code <= 0x46);
}

function isWordChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x61 && code <= 0x7a) || (code >= 0x41 && code <= 0x5a) || code === 0x5f;
}

function looksLikeAddress(candidate: string): boolean {
  if (candidate === '::1') return true;
  let groups = 0;
  let digit = false;
  let inGroup = false;
  for (let index = 0; index < candidate.length; index++) {
    const code = candidate.charCodeAt(index);
    if (code === 0x3a) {
      inGroup = false;
      continue;
    }
    if (code >= 0x30 && code <= 0x39) digit = true;
    if (!inGroup) groups++;
    inGroup = true;
  }
  return digit && groups >= 2;
}

export class IpAddressRecognizer implements PiiRecognizer {
  readonly type = 'ip_address' as const;

  find(text: string, found: PiiMatch[]): void {
    const ipv4 = IPV4;
    ipv4.lastIndex = 0;
    for (let match = ipv4.exec(text); match !== null; match = ipv4.exec(text)) {
      found.push(piiMatch('ip_address', text, match.index, match.index + match[0].length));
    }
    this.findIpv6(text, found);
  }

  /**
   * IPv6 candidates grow outwards from each colon over hex digits and colons (and dots, for an IPv4
   * suffix) instead of a pattern tried at every hex letter of the text: prose is full of a–f.
   */
  private findIpv6(text: string, found: PiiMatch[]): void {
    let colon = text.indexOf(':');
    while (colon !== -1) {
      let start = colon;
      while (start > 0 && (isHex(text.charCodeAt(start - 1)) || text.charCodeAt(start - 1) === 0x3a)) start--;
      let end = colon + 1;
      while (end < text.length) {
        const code = text.charCodeAt(end);
        if (!isHex(code) && code !== 0x3a && code !== 0x2e) break;
        end++;
      }
      while (end > colon + 1 && text.charCodeAt(end - 1) === 0x2e) end--; // sentence full stop
      // "fe80::1: unreachable" — a single trailing colon is punctuation ("::" would be the address's).
      if (end > colon + 1 && text.charCodeAt(end - 1) === 0x3a && text.charCodeAt(end - 2) !== 0x3a) end--;
      colon = text.indexOf(':', end);
      if (start > 0) {
        const before = text.charCodeAt(start - 1);
        if (isWordChar(before) || before === 0x2e) continue;
      }
      if (end < text.length && isWordChar(text.charCodeAt(end))) continue;
      const candidate = text.slice(start, end);
      if (!looksLikeAddress(candidate) || !isIPv6(candidate)) continue;
      found.push(piiMatch('ip_address', text, start, end));
    }
  }
}
