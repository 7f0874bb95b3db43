import { piiMatch, type PiiMatch, type PiiRecognizer } from './pii-recognizer.js';

/**
 * International Bank Account Numbers (ISO 13616): a country code, two check digits and the
 * country's BBAN, written contiguously or in the printed form with single spaces (usually groups of
 * four). The length must be the one the country registered, and the ISO 7064 mod-97-10 checksum
 * must hold. Only upper-case letters are recognised, as IBANs are printed.
 */

/** IBAN lengths by country, from the SWIFT IBAN registry (release 99, 2024). */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
};

/** Where an IBAN may begin: a country code and check digits at the start of a token. */
const IBAN_START = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}/g;

function isIbanChar(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a);
}

function isAlphanumeric(code: number): boolean {
  return isIbanChar(code) || (code >= 0x61 && code <= 0x7a);
}

/** Appends one IBAN character to a running ISO 7064 MOD 97-10 remainder (digits as themselves, A=10 … Z=35). */
function mod97Step(remainder: number, code: number): number {
  return code <= 0x39 ? (remainder * 10 + (code - 48)) % 97 : (remainder * 100 + (code - 55)) % 97;
}

export class IbanRecognizer implements PiiRecognizer {
  readonly type = 'iban' as const;

  find(text: string, found: PiiMatch[]): void {
    const pattern = IBAN_START;
    pattern.lastIndex = 0;
    for (let start = pattern.exec(text); start !== null; start = pattern.exec(text)) {
      const length = IBAN_LENGTHS[start[0].slice(0, 2)];
      if (length === undefined) continue;
      // Take exactly `length` characters, allowing one space between any two of them, and compute the
      // checksum on the way: the BBAN first, then the four leading characters, as ISO 7064 rearranges.
      let taken = 4;
      let remainder = 0;
      let end = start.index + 4;
      while (taken < length && end < text.length) {
        let code = text.charCodeAt(end);
        if (code === 0x20 && end + 1 < text.length) {
          code = text.charCodeAt(end + 1);
          if (!isIbanChar(code)) break;
          end++;
        } else if (!isIbanChar(code)) break;
        remainder = mod97Step(remainder, code);
        taken++;
        end++;
      }
      if (taken !== length) continue;
      if (end < text.length && isAlphanumeric(text.charCodeAt(end))) continue;
      for (let index = 0; index < 4; index++) remainder = mod97Step(remainder, start[0].charCodeAt(index));
      if (remainder !== 1) continue;
      found.push(piiMatch('iban', text, start.index, end));
      pattern.lastIndex = end;
    }
  }
}
