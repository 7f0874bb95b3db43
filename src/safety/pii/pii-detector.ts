import { isSupportedCountry, type CountryCode } from 'libphonenumber-js/max';
import { InvalidRequestError } from '../../errors/catalogue.js';
import { CreditCardRecognizer } from './credit-card-recognizer.js';
import { EmailRecognizer } from './email-recognizer.js';
import { IbanRecognizer } from './iban-recognizer.js';
import { IpAddressRecognizer } from './ip-address-recognizer.js';
import { PhoneRecognizer } from './phone-recognizer.js';
import { PII_TYPES, type PiiMatch, type PiiRecognizer, type PiiType } from './pii-recognizer.js';
import { SecretRecognizer } from './secret-recognizer.js';
import { UsSsnRecognizer } from './us-ssn-recognizer.js';

export { PII_TYPES, type PiiMatch, type PiiType } from './pii-recognizer.js';

export interface PiiDetectorOptions {
  /** The types to look for; every type in `PII_TYPES` when absent. */
  readonly types?: readonly PiiType[];
  /** Region whose national phone format is understood without `+`; 'US' when absent. */
  readonly defaultRegion?: CountryCode;
  /** Phone candidates whose libphonenumber verdict is remembered (LRU); 256 when absent, 0 disables. */
  readonly phoneCacheSize?: number;
}

/**
 * When two recognisers claim overlapping text, the longer match wins; between equally long ones,
 * the type earlier here does. Secrets come first because a redacted secret must never be reported
 * as something milder, and phones last because their recogniser is the most permissive.
 */
const PRIORITY: Readonly<Record<PiiType, number>> = {
  secret: 0,
  email: 1,
  iban: 2,
  credit_card: 3,
  us_ssn: 4,
  ip_address: 5,
  phone: 6,
};

const REDACTION_TOKENS: Readonly<Record<PiiType, string>> = Object.freeze(
  Object.fromEntries(PII_TYPES.map((type) => [type, `[REDACTED:${type.toUpperCase()}]`])) as Record<PiiType, string>,
);

/** The text that replaces a match of `type`, e.g. `[REDACTED:EMAIL]`. */
export function redactionToken(type: PiiType): string {
  return REDACTION_TOKENS[type];
}

/**
 * Finds personal data and credentials in text. Build one per configuration at start: every pattern
 * is compiled when the module loads or the detector is built, and `detect` only runs them. Safe to
 * share between requests: `detect` is synchronous and leaves no state behind except the bounded
 * phone-verdict cache.
 */
export class PiiDetector {
  readonly types: ReadonlySet<PiiType>;
  readonly defaultRegion: CountryCode;
  /** In run order: the phone recogniser, the costly one, last, so it can skip claimed text. */
  private readonly recognizers: readonly PiiRecognizer[];
  private readonly openMatchRecognizers: readonly PiiRecognizer[];

  constructor(options: PiiDetectorOptions = {}) {
    const types = options.types ?? PII_TYPES;
    for (const type of types) {
      if (!(PII_TYPES as readonly string[]).includes(type)) {
        throw new InvalidRequestError(`Unknown PII type "${String(type)}"; expected one of ${PII_TYPES.join(', ')}.`, 'types', 'invalid_pii_config');
      }
    }
    const defaultRegion = options.defaultRegion ?? 'US';
    if (!isSupportedCountry(defaultRegion)) {
      throw new InvalidRequestError(
        `Unknown phone region "${defaultRegion}"; expected an ISO 3166-1 alpha-2 code such as "US".`,
        'defaultRegion',
        'invalid_pii_config',
      );
    }
    const phoneCacheSize = options.phoneCacheSize ?? 256;
    if (!Number.isInteger(phoneCacheSize) || phoneCacheSize < 0) {
      throw new InvalidRequestError('phoneCacheSize must be a non-negative integer.', 'phoneCacheSize', 'invalid_pii_config');
    }
    this.types = new Set(types);
    this.defaultRegion = defaultRegion;
    const all: PiiRecognizer[] = [
      new SecretRecognizer(),
      new EmailRecognizer(),
      new IbanRecognizer(),
      new CreditCardRecognizer(),
      new UsSsnRecognizer(),
      new IpAddressRecognizer(),
    ];
    if (this.types.has('phone')) all.push(new PhoneRecognizer({ defaultRegion, cacheSize: phoneCacheSize }));
    this.recognizers = Object.freeze(all.filter((recognizer) => this.types.has(recognizer.type)));
    this.openMatchRecognizers = Object.freeze(this.recognizers.filter((recognizer) => recognizer.openMatchStart !== undefined));
    Object.freeze(this);
  }

  /** Every match in `text`, sorted by position and non-overlapping (see `PRIORITY` for who wins). */
  detect(text: string): PiiMatch[] {
    if (text.length === 0) return [];
    const found: PiiMatch[] = [];
    for (const recognizer of this.recognizers) recognizer.find(text, found);
    return resolveOverlaps(found);
  }

  /**
   * `text` with each match replaced by its redaction token. `matches` defaults to `detect(text)`; when
   * given, they must have been found in this same text (offsets are trusted), and any that overlap an
   * earlier one are skipped.
   */
  redact(text: string, matches: readonly PiiMatch[] = this.detect(text)): string {
    if (matches.length === 0) return text;
    const ordered = isSorted(matches) ? matches : [...matches].sort(byPosition);
    let result = '';
    let cursor = 0;
    for (const match of ordered) {
      if (match.start < cursor) continue;
      result += text.slice(cursor, match.start) + REDACTION_TOKENS[match.type];
      cursor = match.end;
    }
    return result + text.slice(cursor);
  }

  /**
   * The offset at which `text` opens a long match that has not closed yet (a private key block still
   * streaming in), or -1. Used by `StreamingRedactor` to hold such text back.
   */
  openMatchStart(text: string): number {
    let earliest = -1;
    for (const recognizer of this.openMatchRecognizers) {
      const start = recognizer.openMatchStart!(text);
      if (start !== -1 && (earliest === -1 || start < earliest)) earliest = start;
    }
    return earliest;
  }
}

function byPosition(a: PiiMatch, b: PiiMatch): number {
  return a.start - b.start || b.end - a.end;
}

function isSorted(matches: readonly PiiMatch[]): boolean {
  for (let index = 1; index < matches.length; index++) if (matches[index - 1].start > matches[index].start) return false;
  return true;
}

/** Longer first, then by type priority, then earlier. */
function byStrength(a: PiiMatch, b: PiiMatch): number {
  return b.end - b.start - (a.end - a.start) || PRIORITY[a.type] - PRIORITY[b.type] || a.start - b.start;
}

/**
 * Sorts by position and keeps, within each cluster of mutually overlapping matches, the strongest
 * ones that do not overlap each other. Clusters are found in one sweep, so the greedy choice (which
 * is quadratic) only ever runs on the handful of matches that actually compete.
 */
function resolveOverlaps(found: PiiMatch[]): PiiMatch[] {
  if (found.length <= 1) return found;
  found.sort(byPosition);
  const result: PiiMatch[] = [];
  let clusterStart = 0;
  let clusterEnd = found[0].end;
  for (let index = 1; index <= found.length; index++) {
    if (index < found.length && found[index].start < clusterEnd) {
      if (found[index].end > clusterEnd) clusterEnd = found[index].end;
      continue;
    }
    if (index - clusterStart === 1) result.push(found[clusterStart]);
    else result.push(...chooseWithinCluster(found.slice(clusterStart, index)));
    if (index < found.length) {
      clusterStart = index;
      clusterEnd = found[index].end;
    }
  }
  return result;
}

function chooseWithinCluster(cluster: PiiMatch[]): PiiMatch[] {
  cluster.sort(byStrength);
  const kept: PiiMatch[] = [];
  for (const candidate of cluster) {
    if (kept.every((other) => candidate.end <= other.start || candidate.start >= other.end)) kept.push(candidate);
  }
  return kept.sort(byPosition);
}
