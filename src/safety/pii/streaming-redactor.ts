import { InvalidRequestError } from '../../errors/catalogue.js';
import type { PiiDetector } from './pii-detector.js';

export interface StreamingRedactorOptions {
  /**
   * Characters held back in front of the trailing word, so that matches spanning several words (a
   * spaced card number or IBAN, a phone with its extension, "api_key: value") are seen whole before
   * any of them is emitted. 64 when absent; the longest such match the detector knows is under 50.
   */
  readonly holdBackChars?: number;
  /**
   * Most characters held at once. Past it everything held is released, redacted as it stands: a
   * single "word" or an open private key block longer than this is then cut, and its rest, arriving
   * later, is judged without its beginning. 65,536 when absent.
   */
  readonly maxHeldChars?: number;
}

function isWhitespace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d) || code === 0xa0 || code === 0x2028 || code === 0x2029 || code === 0x3000;
}

/**
 * Redacts a text that arrives in pieces (a streamed completion) without ever emitting part of a
 * match that a later piece completes. `push` returns what is safe to emit now, already redacted, and
 * holds back the rest: the trailing word however long it is (a key arriving a few characters at a
 * time stays whole), `holdBackChars` before it, any match that would straddle the cut, and an open
 * private key block until its END line. `flush` releases and redacts whatever is held at the end.
 *
 * Every push re-detects only the held text, so a stream costs about one detection of its length
 * plus one of the held window per delta. One instance per stream; not for concurrent use.
 */
export class StreamingRedactor {
  private readonly detector: PiiDetector;
  private readonly holdBackChars: number;
  private readonly maxHeldChars: number;
  private held = '';

  constructor(detector: PiiDetector, options: StreamingRedactorOptions = {}) {
    this.detector = detector;
    this.holdBackChars = options.holdBackChars ?? 64;
    this.maxHeldChars = options.maxHeldChars ?? 65_536;
    if (!Number.isInteger(this.holdBackChars) || this.holdBackChars < 0) {
      throw new InvalidRequestError('holdBackChars must be a non-negative integer.', 'holdBackChars', 'invalid_pii_config');
    }
    if (!Number.isInteger(this.maxHeldChars) || this.maxHeldChars <= this.holdBackChars) {
      throw new InvalidRequestError('maxHeldChars must be an integer larger than holdBackChars.', 'maxHeldChars', 'invalid_pii_config');
    }
  }

  /** Adds the next piece of text; returns the redacted text that can be emitted now (maybe ''). */
  push(delta: string): string {
    if (delta.length === 0) return '';
    const text = this.held + delta;
    if (text.length > this.maxHeldChars) {
      this.held = '';
      return this.detector.redact(text);
    }
    let cut = this.safeCut(text);
    // Nothing could be released (the usual case while a word is still arriving): skip detection.
    if (cut === 0) {
      this.held = text;
      return '';
    }
    const open = this.detector.openMatchStart(text);
    if (open !== -1 && open < cut) cut = open;
    const matches = cut === 0 ? [] : this.detector.detect(text);
    // Never cut through a match: hold all of it (matches are sorted and do not overlap).
    for (let index = matches.length - 1; index >= 0; index--) {
      const match = matches[index];
      if (match.end <= cut) break;
      if (match.start < cut) cut = match.start;
    }
    if (cut === 0) {
      this.held = text;
      return '';
    }
    this.held = text.slice(cut);
    return this.detector.redact(
      text.slice(0, cut),
      matches.filter((match) => match.end <= cut),
    );
  }

  /** Ends the stream: returns everything still held, redacted. */
  flush(): string {
    const text = this.held;
    this.held = '';
    return text.length === 0 ? '' : this.detector.redact(text);
  }

  /**
   * Where held text begins when no match forces it earlier: `holdBackChars` before the trailing word,
   * moved back to the start of a word when one is near, so the held text keeps its left context. The
   * start of the held text counts as a word start: it is where an earlier cut was made.
   */
  private safeCut(text: string): number {
    let wordStart = text.length;
    while (wordStart > 0 && !isWhitespace(text.charCodeAt(wordStart - 1))) wordStart--;
    const cut = wordStart - this.holdBackChars;
    if (cut <= 0) return 0;
    const limit = Math.max(0, cut - this.holdBackChars);
    for (let index = cut; index >= limit; index--) {
      if (index === 0 || isWhitespace(text.charCodeAt(index - 1))) return index;
    }
    // A single word longer than the window: it is complete (the trailing word comes after it), so
    // whatever it contains was detected above and any match in it already moved the cut.
    return cut;
  }
}
