import { findPhoneNumbersInText, Metadata, type CountryCode } from 'libphonenumber-js/max';
import { piiMatch, type PiiMatch, type PiiRecognizer } from './pii-recognizer.js';

/**
 * Telephone numbers that libphonenumber judges valid (leniency VALID, full "max" metadata, so the
 * digits must fit a real numbering plan, not just its length): international numbers written with
 * `+` and a calling code anywhere in the world, and national numbers of the default region.
 *
 * libphonenumber is the expensive part of PII detection (some 15–20 µs per number: it builds its
 * regular expressions per call and tries every country that shares a calling code), so it only
 * ever sees short candidate runs that a cheap pattern found and that survive plausibility checks
 * costing nothing: digit count against the region's possible lengths; date, decimal and dotted-quad
 * shapes; text another recogniser already claimed (a card number is not re-examined as a phone). A
 * small LRU cache of verdicts per candidate serves streaming redaction, which rescans its held tail,
 * and texts that repeat a number.
 */

/**
 * A phone-shaped run: optional `+` or `(`, digits with the separators people write, optional
 * extension. A space may not be doubled or stand next to a slash, so "(213) 373-4253 / (415) 555-2671"
 * is two candidates; numbers separated by single spaces ("(213) 373-4253 (415) 555-2671") make one
 * run, which libphonenumber's finder splits. Commas and semicolons end a run, so a comma is never
 * read as a dialling pause before an extension.
 */
const CANDIDATE =
  /(?<![\w+.\-/@$#])((?:\+[ \u00a0]?|\(\+?)?\d(?:[\d().-]|[ \u00a0](?![ \u00a0/])|\/(?![ \u00a0])){4,80}\d)(?:[ \t]*(?:ext\.?|extension|x|#)[ \t]*\d{1,6})?(?![\w@]|[.\-/]\d)/gi;
const DATE_SHAPE = /^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$/;
const DOTTED_QUAD = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const DECIMAL = /^\d+[.,]\d+$/;
const DIGITS_ONLY = /^\d+$/;

/** E.164 allows at most 15 digits; the shortest international numbers (e.g. Niue) have 7 with the code. */
const MIN_INTERNATIONAL_DIGITS = 7;
const MAX_INTERNATIONAL_DIGITS = 15;
/** Room for a national (trunk) prefix or carrier code in front of a national number. */
const NATIONAL_PREFIX_ALLOWANCE = 3;
/** Every numbering plan writes some group of at least three digits. */
const MIN_GROUP_IN_RUN = 3;

interface RelativeSpan {
  readonly start: number;
  readonly end: number;
}

export interface PhoneRecognizerOptions {
  /** Region whose national format is understood without `+`. Checked by the detector. */
  readonly defaultRegion: CountryCode;
  /** Candidates whose verdict is remembered; 0 disables the cache. */
  readonly cacheSize: number;
}

function countDigits(value: string): number {
  let digits = 0;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code >= 0x30 && code <= 0x39) digits++;
  }
  return digits;
}

function hasSpace(value: string): boolean {
  return value.includes(' ') || value.includes('\u00a0');
}

function longestDigitGroup(value: string): number {
  let longest = 0;
  let current = 0;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    current = code >= 0x30 && code <= 0x39 ? current + 1 : 0;
    if (current > longest) longest = current;
  }
  return longest;
}

function leadingDigits(value: string, count: number): string {
  let digits = '';
  for (let index = 0; index < value.length && digits.length < count; index++) {
    const code = value.charCodeAt(index);
    if (code >= 0x30 && code <= 0x39) digits += value[index];
  }
  return digits;
}

export class PhoneRecognizer implements PiiRecognizer {
  readonly type = 'phone' as const;
  private readonly region: CountryCode;
  private readonly minNationalDigits: number;
  private readonly maxNationalDigits: number;
  /** The region's international dialling prefix when it is a plain digit string ("011", "00"). */
  private readonly iddPrefix: string | null;
  private readonly cacheSize: number;
  private readonly cache = new Map<string, readonly RelativeSpan[]>();

  constructor(options: PhoneRecognizerOptions) {
    this.region = options.defaultRegion;
    this.cacheSize = options.cacheSize;
    const metadata = new Metadata();
    metadata.selectNumberingPlan(options.defaultRegion);
    const plan = metadata.numberingPlan!;
    const lengths = plan.possibleLengths();
    this.minNationalDigits = Math.max(MIN_INTERNATIONAL_DIGITS, Math.min(...lengths));
    this.maxNationalDigits = Math.max(...lengths) + NATIONAL_PREFIX_ALLOWANCE;
    const idd = plan.IDDPrefix();
    this.iddPrefix = DIGITS_ONLY.test(idd) ? idd : null;
  }

  find(text: string, found: PiiMatch[]): void {
    const claimed = found.length;
    const pattern = CANDIDATE;
    pattern.lastIndex = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const candidate = match[0];
      const start = match.index;
      const end = start + candidate.length;
      if (!this.plausible(match[1])) continue;
      if (isClaimed(found, claimed, start, end)) continue;
      for (const span of this.verdict(candidate)) found.push(piiMatch('phone', text, start + span.start, start + span.end));
    }
  }

  /** Shape and digit-count checks that reject most non-phones before libphonenumber is asked. */
  private plausible(number: string): boolean {
    const digits = countDigits(number);
    if (digits < MIN_INTERNATIONAL_DIGITS) return false;
    const international = number[0] === '+' || number.startsWith('(+');
    const fitsOne = international
      ? digits <= MAX_INTERNATIONAL_DIGITS
      : (digits >= this.minNationalDigits && digits <= this.maxNationalDigits) || this.dialsAbroad(number, digits);
    if (fitsOne) return international || !(DATE_SHAPE.test(number) || DOTTED_QUAD.test(number) || DECIMAL.test(number));
    // Too many digits for one number: perhaps several, one after another, which the finder separates;
    // but a table of small numbers ("1 2 3 4 5 …") holds no phone number.
    const tooMany = international ? digits > MAX_INTERNATIONAL_DIGITS : digits > this.maxNationalDigits;
    return tooMany && hasSpace(number) && longestDigitGroup(number) >= MIN_GROUP_IN_RUN;
  }

  /** Dialled from the default region to abroad: "011 44 20 7946 0958" from the US. */
  private dialsAbroad(number: string, digits: number): boolean {
    return (
      this.iddPrefix !== null &&
      digits > this.iddPrefix.length + MIN_INTERNATIONAL_DIGITS - 1 &&
      digits <= MAX_INTERNATIONAL_DIGITS + this.iddPrefix.length &&
      leadingDigits(number, this.iddPrefix.length) === this.iddPrefix
    );
  }

  private verdict(candidate: string): readonly RelativeSpan[] {
    const cached = this.cache.get(candidate);
    if (cached !== undefined) {
      this.cache.delete(candidate);
      this.cache.set(candidate, cached);
      return cached;
    }
    const spans: RelativeSpan[] = [];
    for (const found of findPhoneNumbersInText(candidate, { defaultCountry: this.region })) spans.push({ start: found.startsAt, end: found.endsAt });
    if (this.cacheSize > 0) {
      if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(candidate, spans);
    }
    return spans;
  }
}

/** Whether [start, end) lies inside a match another recogniser already reported. */
function isClaimed(found: readonly PiiMatch[], count: number, start: number, end: number): boolean {
  for (let index = 0; index < count; index++) {
    if (found[index].start <= start && found[index].end >= end) return true;
  }
  return false;
}
