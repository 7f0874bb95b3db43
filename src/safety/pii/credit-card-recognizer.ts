import { piiMatch, type PiiMatch, type PiiRecognizer } from './pii-recognizer.js';

/**
 * Payment card numbers (PANs): 13–19 digits, written contiguously or in groups of at least three
 * separated by single spaces or dashes (4-4-4-4, Amex 4-6-5, …), whose issuer prefix (IIN) belongs to
 * a known scheme with that length, and whose Luhn check digit is right. The prefix table cuts the
 * one-in-ten chance that any digit string passes Luhn down to numbers a card could actually have.
 */

/** A run of digit groups separated by single spaces or dashes; split into card-sized windows below. */
const DIGIT_RUN = /(?<![\w.+\-/])\d+(?:[ -]\d+)*(?!\w)/g;

interface IinRange {
  readonly low: number;
  readonly high: number;
  /** Number of leading digits `low`/`high` describe. */
  readonly digits: number;
  readonly lengths: readonly number[];
}

const range = (low: number, high: number, lengths: readonly number[]): IinRange => ({ low, high, digits: String(low).length, lengths });
const SIXTEEN_TO_NINETEEN = [16, 17, 18, 19];

// Sources: ISO/IEC 7812 registrations as published by the schemes (Visa, Mastercard, Amex, Discover
// Global Network incl. Diners/UnionPay/RuPay/JCB acceptance, Maestro, Mir, Troy).
const IIN_RANGES: readonly IinRange[] = [
  range(4, 4, [13, 16, 19]), // Visa
  range(51, 55, [16]), // Mastercard
  range(2221, 2720, [16]), // Mastercard 2-series
  range(34, 34, [15]), // American Express
  range(37, 37, [15]),
  range(6011, 6011, SIXTEEN_TO_NINETEEN), // Discover
  range(644, 649, SIXTEEN_TO_NINETEEN),
  range(65, 65, SIXTEEN_TO_NINETEEN), // Discover, RuPay
  range(62, 62, SIXTEEN_TO_NINETEEN), // UnionPay
  range(300, 305, [14, 15, 16, 17, 18, 19]), // Diners Club
  range(3095, 3095, [14, 15, 16, 17, 18, 19]),
  range(36, 36, [14, 15, 16, 17, 18, 19]),
  range(38, 39, [14, 15, 16, 17, 18, 19]),
  range(3528, 3589, SIXTEEN_TO_NINETEEN), // JCB
  range(5018, 5018, [13, 14, 15, 16, 17, 18, 19]), // Maestro
  range(5020, 5020, [13, 14, 15, 16, 17, 18, 19]),
  range(5038, 5038, [13, 14, 15, 16, 17, 18, 19]),
  range(5893, 5893, [13, 14, 15, 16, 17, 18, 19]),
  range(6304, 6304, [13, 14, 15, 16, 17, 18, 19]),
  range(6759, 6759, [13, 14, 15, 16, 17, 18, 19]),
  range(6761, 6763, [13, 14, 15, 16, 17, 18, 19]),
  range(2200, 2204, SIXTEEN_TO_NINETEEN), // Mir
  range(60, 60, [16]), // RuPay
  range(81, 82, [16]),
  range(508, 508, [16]),
  range(9792, 9792, [16]), // Troy
];

/** Whether some scheme issues cards of this length starting with these digits. */
export function hasKnownIssuerPrefix(digits: string): boolean {
  for (const entry of IIN_RANGES) {
    if (!entry.lengths.includes(digits.length)) continue;
    const prefix = Number(digits.slice(0, entry.digits));
    if (prefix >= entry.low && prefix <= entry.high) return true;
  }
  return false;
}

/** ISO/IEC 7812-1 Annex B (Luhn): doubling every second digit from the right, the sum ends in 0. */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index--) {
    let digit = digits.charCodeAt(index) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

const MIN_LENGTH = 13;
const MAX_LENGTH = 19;
const MIN_GROUP = 3;

export class CreditCardRecognizer implements PiiRecognizer {
  readonly type = 'credit_card' as const;

  find(text: string, found: PiiMatch[]): void {
    const pattern = DIGIT_RUN;
    pattern.lastIndex = 0;
    for (let run = pattern.exec(text); run !== null; run = pattern.exec(text)) {
      if (run[0].length < MIN_LENGTH) continue;
      this.findInRun(text, run.index, run[0], found);
    }
  }

  /**
   * A run may hold a card and its neighbours ("4111 1111 1111 1111 12/27"): try every window of whole
   * groups with 13–19 digits and a single kind of separator, keeping the longest valid one per start.
   */
  private findInRun(text: string, offset: number, run: string, found: PiiMatch[]): void {
    const starts: number[] = [];
    const ends: number[] = [];
    let groupStart = 0;
    for (let index = 0; index <= run.length; index++) {
      const code = index < run.length ? run.charCodeAt(index) : 32;
      if (code === 32 || code === 45) {
        starts.push(groupStart);
        ends.push(index);
        groupStart = index + 1;
      }
    }
    let first = 0;
    while (first < starts.length) {
      let best = -1;
      let digits = '';
      for (let last = first; last < starts.length; last++) {
        const groupLength = ends[last] - starts[last];
        if (last > first) {
          if (run[starts[last] - 1] !== run[starts[first + 1] - 1]) break; // mixed separators
          if (groupLength < MIN_GROUP || ends[first] - starts[first] < MIN_GROUP) break;
        }
        digits += run.slice(starts[last], ends[last]);
        if (digits.length > MAX_LENGTH) break;
        if (digits.length >= MIN_LENGTH && hasKnownIssuerPrefix(digits) && passesLuhn(digits)) best = last;
      }
      if (best === -1) {
        first++;
        continue;
      }
      found.push(piiMatch('credit_card', text, offset + starts[first], offset + ends[best]));
      first = best + 1;
    }
  }
}
