import { Tag, TAG_COUNT } from './lexicon-tags.js';
import type { PhraseHits } from './phrase-matcher.js';
import type { TokenStream } from './text-normaliser.js';

/**
 * Prompt-attack score of one text: the noisy-OR, 1 - Π(1 - weight), of the distinct attack cues
 * found within any window of ATTACK_WINDOW consecutive sentences. The window keeps weak cues
 * scattered through a long document ("act as" on page one, "content policy" on page nine) from
 * adding up. Two cues are positional: an ignore-verb followed closely by prior rules ("ignore
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
  private readonly overrideBit: number;
  private readonly exfiltrationBit: number;

  constructor(weights: AttackWeights) {
    for (const [tag, weight] of weights.tags) {
      this.bitOfTag[tag] = this.weightOfBit.length;
      this.weightOfBit.push(weight);
    }
    this.overrideBit = this.weightOfBit.length;
    this.weightOfBit.push(OVERRIDE_WEIGHT);
    this.exfiltrationBit = weights.exfiltration ? this.weightOfBit.length : -1;
    if (weights.exfiltration) this.weightOfBit.push(EXFILTRATION_WEIGHT);
    if (this.weightOfBit.length > 31) throw new Error('too many attack cues for a 31-bit mask');
  }

  /** Weight of a cue found outside the lexicon (a template marker, a decoded payload). */
  combine(score: number, weight: number): number {
    return 1 - (1 - score) * (1 - weight);
  }

  score(stream: TokenStream, hits: PhraseHits): number {
    const { tag, start, end } = hits;
    if (tag.length === 0) return 0;
    const masks = new Map<number, number>();
    const mark = (s: number, bit: number): void => {
      masks.set(s, (masks.get(s) ?? 0) | (1 << bit));
    };
    let lastIgnoreEnd = -1;
    let lastSendEnd = -1;
    for (let h = 0; h < tag.length; h++) {
      const t = tag[h];
      const s = stream.sentence[start[h]];
      const bit = this.bitOfTag[t];
      if (bit >= 0) mark(s, bit);
      if (t === Tag.ATTACK_IGNORE_VERB) lastIgnoreEnd = end[h];
      else if (t === Tag.ATTACK_PRIOR_RULES) {
        if (lastIgnoreEnd >= 0 && start[h] >= lastIgnoreEnd && start[h] - lastIgnoreEnd <= OVERRIDE_GAP) {
          mark(s, this.overrideBit);
        }
      } else if (t === Tag.ATTACK_EXFILTRATE_VERB) lastSendEnd = end[h];
      else if (t === Tag.ATTACK_EXFILTRATE_OBJECT && this.exfiltrationBit >= 0) {
        if (lastSendEnd >= 0 && start[h] >= lastSendEnd && start[h] - lastSendEnd <= EXFILTRATION_GAP) {
          mark(s, this.exfiltrationBit);
        }
      }
    }
    let best = 0;
    for (const s of masks.keys()) {
      let mask = 0;
      for (let k = s - ATTACK_WINDOW + 1; k <= s; k++) mask |= masks.get(k) ?? 0;
      const score = this.maskScore(mask);
      if (score > best) best = score;
    }
    return best;
  }

  private maskScore(mask: number): number {
    let keep = 1;
    for (let bit = 0; bit < this.weightOfBit.length; bit++) if (mask & (1 << bit)) keep *= 1 - this.weightOfBit[bit];
    return 1 - keep;
  }
}
