import { piiMatch, type PiiMatch, type PiiRecognizer } from './pii-recognizer.js';

/**
 * US Social Security numbers written AAA-GG-SSSS, and nine digits (optionally spaced) right after
 * an "SSN" / "social security number" label. Numbers the SSA never issues are excluded (SSA, "Social
 * Security Number Randomization", 2011): area 000, 666 and 900–999, group 00, serial 0000, and the
 * two numbers voided after public misuse (078-05-1120, 219-09-9999).
 */
const DASHED = /(?<![\w-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-]|\.\d)/g;
const LABELLED =
  /(?<![A-Za-z])(?:SSN|social[ \t]+security(?:[ \t]+(?:number|no\.?|#))?)[ \t]*[:#]?[ \t]*((?!000|666|9\d\d)\d{3}([ ]?)(?!00)\d{2}\2(?!0000)\d{4})(?![\w-])/dgi;
const VOIDED = new Set(['078051120', '219099999']);

export class UsSsnRecognizer implements PiiRecognizer {
  readonly type = 'us_ssn' as const;

  find(text: string, found: PiiMatch[]): void {
    const dashed = DASHED;
    dashed.lastIndex = 0;
    for (let match = dashed.exec(text); match !== null; match = dashed.exec(text)) {
      if (VOIDED.has(match[0].replaceAll('-', ''))) continue;
      found.push(piiMatch('us_ssn', text, match.index, match.index + match[0].length));
    }
    const labelled = LABELLED;
    labelled.lastIndex = 0;
    for (let match = labelled.exec(text); match !== null; match = labelled.exec(text)) {
      const span = match.indices?.[1];
      if (span === undefined || VOIDED.has(match[1].replaceAll(' ', ''))) continue;
      found.push(piiMatch('us_ssn', text, span[0], span[1]));
    }
  }
}
