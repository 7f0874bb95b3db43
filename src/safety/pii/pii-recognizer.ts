/**
 * The seam every PII recogniser implements. A recogniser finds one type of personal or secret data
 * in a text; the detector runs the configured ones and resolves overlaps between their answers.
 * Recognisers compile their patterns when their module loads or when they are built, never per call.
 */
export const PII_TYPES = ['email', 'phone', 'credit_card', 'iban', 'us_ssn', 'ip_address', 'secret'] as const;
export type PiiType = (typeof PII_TYPES)[number];

export interface PiiMatch {
  readonly type: PiiType;
  /** UTF-16 offset of the first character, as `String.prototype.slice` counts. */
  readonly start: number;
  /** UTF-16 offset one past the last character. */
  readonly end: number;
  /** `text.slice(start, end)`. */
  readonly text: string;
}

export interface PiiRecognizer {
  readonly type: PiiType;
  /**
   * Appends to `found` every match of this recogniser's type in `text`. `found` already holds the
   * matches of the recognisers that ran earlier (the detector runs the costly ones last), so a
   * recogniser may skip work on text another one has claimed; it must not remove or change them.
   * Matches may overlap those of other recognisers; the detector decides between them.
   */
  find(text: string, found: PiiMatch[]): void;
  /**
   * For types whose matches may span more than a few words (a PEM private key block), the offset
   * at which a match that `text` opens but does not yet close begins, or -1. Streaming redaction
   * holds text from there on until the match closes.
   */
  openMatchStart?(text: string): number;
}

/** Builds a match; the one place where `text` is sliced so that it always agrees with the offsets. */
export function piiMatch(type: PiiType, source: string, start: number, end: number): PiiMatch {
  return { type, start, end, text: source.slice(start, end) };
}
