import { Tag, TAG_COUNT } from './lexicon-tags.js';
import type { PhraseHits } from './phrase-matcher.js';
import type { TokenStream } from './text-normaliser.js';

/**
 * Prompt-attack score of one text: the noisy-OR, 1 - Π(1 - weight), of the distinct attack cues
 * found within any window of ATTACK_WINDOW consecutive sentences. The window keeps weak cues
 * scattered through a long document ("act as" on page one, "content policy" on page nine) from
 * adding up. A cue counts once however often it occurs, except for the REPEATABLE ones, where a
 * second, different phrase adds half its weight again ("Do not refuse. Do not apologize."). Two
 * cues are positional: an ignore-verb followed closely by prior rules ("ignore
 * all previous instructions") and a send-verb followed closely by private data ("send the
 * conversation history to").
 */

export const ATTACK_WINDOW = 4;
/** Tokens between "ignore" and "previous instructions". */
const OVERRIDE_GAP = 3;
/** Tokens between "send" and "the conversation history". */
const EXFILTRATION_GAP = 6;

/** Weight of a synthetic cue: ignore-verb + prior rules. */
const OVERRIDE_WEIGHT = 0.9;
/** Weight of a synthetic cue: send-verb + private data. */
const EXFILTRATION_WEIGHT = 0.45;
/** Cues that grow stronger when repeated, and by how much of their weight the repeat counts. */
const REPEATABLE: readonly number[] = [Tag.ATTACK_REFUSAL_SUPPRESSION, Tag.ATTACK_INJECTED_INSTRUCTION];
const REPEAT_FACTOR = 0.5;

export interface AttackWeights {
  /** Weight per attack tag; tags absent are not counted. */
  readonly tags: ReadonlyMap<number, number>;
  /** Whether send-verb + private data counts (documents: yes; the user's own prompt: no). */
  readonly exfiltration: boolean;
}

/** Compiled form of AttackWeights: a bit per counted cue, its weight by bit. */
export class AttackScorer {
  private readonly bitOfTag = new Int8Array(TAG_COUNT).fill(-1);
  private readonly weightOfBit: number[] = [];
  private readonly repeatable: boolean[] = [];
  private readonly overrideBit: number;
  private readonly exfiltrationBit: number;

  constructor(weights: AttackWeights) {
    for (const [tag, weight] of weights.tags) {
      this.bitOfTag[tag] = this.weightOfBit.length;
      this.weightOfBit.push(weight);
      this.repeatable.push(REPEATABLE.includes(tag));
    }
    this.overrideBit = this.weightOfBit.length;
    this.weightOfBit.push(OVERRIDE_WEIGHT);
    this.exfiltrationBit = weights.exfiltration ? this.weightOfBit.length : -1;
    if (weights.exfiltration) this.weightOfBit.push(EXFILTRATION_WEIGHT);
  }

  /** Weight of a cue found outside the lexicon (a template marker, a decoded payload). */
  combine(score: number, weight: number): number {
    return 1 - (1 - score) * (1 - weight);
  }

  score(stream: TokenStream, hits: PhraseHits): number {
    const { count, tag, start, end } = hits;
    if (count === 0) return 0;
    const cues = this.weightOfBit.length;
    /**
     * Per sentence with cues: how often each cue occurred. Made on the first cue: most texts
     * have matches (pronouns, "is") but no attack cue, and then score 0 without allocating.
     */
    let counts: Map<number, Uint8Array> | undefined;
    const mark = (s: number, bit: number): void => {
      counts ??= new Map();
      let row = counts.get(s);
      if (!row) {
        row = new Uint8Array(cues);
        counts.set(s, row);
      }
      if (row[bit] < 255) row[bit]++;
    };
    let lastIgnoreEnd = -1;
    let lastSendEnd = -1;
    let lastNegationEnd = -1;
    for (let h = 0; h < count; h++) {
      const t = tag[h];
      const s = stream.sentence[start[h]];
      const bit = this.bitOfTag[t];
      if (bit >= 0) mark(s, bit);
      if (t === Tag.ATTACK_IGNORE_VERB) lastIgnoreEnd = end[h];
      else if (t === Tag.ATTACK_PRIOR_RULES) {
        if (lastIgnoreEnd >= 0 && start[h] >= lastIgnoreEnd && start[h] - lastIgnoreEnd <= OVERRIDE_GAP) {
          mark(s, this.overrideBit);
        }
      } else if (t === Tag.NEGATION) lastNegationEnd = end[h];
      // "Never share your password" is advice, not an instruction to send it.
      else if (t === Tag.ATTACK_EXFILTRATE_VERB) lastSendEnd = start[h] - lastNegationEnd <= 1 ? -1 : end[h];
      else if (t === Tag.ATTACK_EXFILTRATE_OBJECT && this.exfiltrationBit >= 0) {
        if (lastSendEnd >= 0 && start[h] >= lastSendEnd && start[h] - lastSendEnd <= EXFILTRATION_GAP) {
          mark(s, this.exfiltrationBit);
        }
      }
    }
    if (counts === undefined) return 0;
    let best = 0;
    const window = new Uint16Array(cues);
    for (const s of counts.keys()) {
      window.fill(0);
      for (let k = s - ATTACK_WINDOW + 1; k <= s; k++) {
        const row = counts.get(k);
        if (row) for (let bit = 0; bit < cues; bit++) window[bit] += row[bit];
      }
      let keep = 1;
      for (let bit = 0; bit < cues; bit++) {
        if (window[bit] === 0) continue;
        keep *= 1 - this.weightOfBit[bit];
        if (window[bit] > 1 && this.repeatable[bit]) keep *= 1 - this.weightOfBit[bit] * REPEAT_FACTOR;
      }
      if (1 - keep > best) best = 1 - keep;
    }
    return best;
  }
}
