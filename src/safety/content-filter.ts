import type { FilterPolicyConfig, Threshold } from '../config/schema.js';
import { FILTER_ERROR, type ContentFilterResults } from './annotations.js';
import {
  HARM_CATEGORIES,
  severityRank,
  type CategoryVerdict,
  type Classification,
  type ClassifyInput,
  type HarmCategory,
  type Severity,
  type Signal,
  type TextClassifier,
} from './classifier.js';

/** What the filter needs of a PII detector (src/safety/pii/). */
export interface PiiScanner {
  detect(text: string): ReadonlyArray<{ type: string; start: number; end: number }>;
  redact(text: string, matches?: ReadonlyArray<{ type: string; start: number; end: number }>): string;
}

/** What the filter needs of a compiled set of custom blocklists (src/safety/blocklist/). */
export interface BlocklistScanner {
  match(text: string): ReadonlyArray<{ listId: string }>;
}

export interface FilterDecision {
  /** Azure-shaped annotations for this text. */
  readonly results: ContentFilterResults;
  /** True when the policy blocks this text. */
  readonly blocked: boolean;
  /** True when anything was detected at all (severity above safe, a shield, a blocklist, PII): abuse monitoring counts these. */
  readonly flagged: boolean;
  /** The most severe harm found, for abuse monitoring and logs. */
  readonly worst: { category: HarmCategory | 'jailbreak' | 'indirect_attack' | 'blocklist' | 'pii' | 'profanity' | null; severity: Severity };
}

const SAFE: CategoryVerdict = Object.freeze({ severity: 'safe', score: 0 });

function blocks(threshold: Threshold, severity: Severity): boolean {
  if (threshold === 'annotate' || threshold === 'off') return false;
  return severityRank(severity) >= severityRank(threshold);
}

/**
 * One content-filter policy made executable: the classifiers it combines (highest severity wins;
 * a shield counts as detected when any classifier detects it), the thresholds per direction, the
 * shields, PII handling and blocklists. Built once per policy at start or reload.
 */
export class ContentFilter {
  readonly name: string;
  readonly policy: FilterPolicyConfig;
  private readonly classifiers: readonly TextClassifier[];
  private readonly pii: PiiScanner | undefined;
  /** Whether any classifier provides each shield signal (fixed per classifier): asked per check. */
  private readonly providesJailbreak: boolean;
  private readonly providesIndirectAttack: boolean;
  private readonly providesProfanity: boolean;

  constructor(name: string, policy: FilterPolicyConfig, classifiers: readonly TextClassifier[], pii?: PiiScanner) {
    this.name = name;
    this.policy = policy;
    this.classifiers = classifiers;
    this.pii = policy.pii.action === 'off' ? undefined : pii;
    this.providesJailbreak = this.provides('jailbreak');
    this.providesIndirectAttack = this.provides('indirect_attack');
    this.providesProfanity = this.provides('profanity');
  }

  private provides(signal: Signal): boolean {
    return this.classifiers.some((classifier) => classifier.provides.has(signal));
  }

  /** Whether PII in this direction is replaced before the text moves on. */
  redacts(direction: 'prompt' | 'completion'): PiiScanner | undefined {
    return this.pii && this.policy.pii.action === 'redact' && this.policy.pii.directions.includes(direction) ? this.pii : undefined;
  }

  /**
   * The classifiers' combined category verdicts (highest severity per category, with its score),
   * for the moderation endpoint. Throws ClassifierUnavailableError when none could answer.
   */
  async scores(input: ClassifyInput, signal?: AbortSignal): Promise<Record<HarmCategory, CategoryVerdict>> {
    const outcomes = await Promise.allSettled(this.classifiers.map((classifier) => classifier.classify(input, signal)));
    const combined: Record<HarmCategory, CategoryVerdict> = { hate: SAFE, sexual: SAFE, violence: SAFE, self_harm: SAFE };
    let answered = false;
    for (const outcome of outcomes) {
      if (outcome.status !== 'fulfilled' || !outcome.value.categories) continue;
      answered = true;
      for (const category of HARM_CATEGORIES) {
        const candidate = outcome.value.categories[category];
        const current = combined[category];
        if (severityRank(candidate.severity) > severityRank(current.severity) || (candidate.severity === current.severity && candidate.score > current.score)) {
          combined[category] = candidate;
        }
      }
    }
    if (!answered) {
      const failure = outcomes.find((outcome) => outcome.status === 'rejected');
      throw failure && failure.status === 'rejected' ? failure.reason : new Error('no classifier provides harm categories');
    }
    return combined;
  }

  /** Runs the policy's classifiers on the text and decides. Never throws for content or classifier failure. */
  async check(input: ClassifyInput, blocklists?: BlocklistScanner, signal?: AbortSignal): Promise<FilterDecision> {
    const policy = this.policy;
    const classifiers = this.classifiers;
    let verdicts: Classification[];
    let failed = false;
    if (classifiers.length === 1) {
      // One classifier (the usual policy, `local` alone): the same outcome as allSettled below
      // without its per-classifier records and extra turns of the microtask queue. A classifier
      // that throws instead of rejecting fails the check in both.
      const pending = classifiers[0].classify(input, signal);
      try {
        verdicts = [await pending];
      } catch {
        verdicts = [];
        failed = true;
      }
    } else {
      const outcomes = await Promise.allSettled(classifiers.map((classifier) => classifier.classify(input, signal)));
      verdicts = [];
      for (const outcome of outcomes) {
        if (outcome.status === 'fulfilled') verdicts.push(outcome.value);
        else failed = true;
      }
    }
    const tally = new Tally();
    const results = tally.results;

    const thresholds = input.direction === 'prompt' ? policy.prompt : policy.completion;
    if (anyCategories(verdicts)) {
      for (const category of HARM_CATEGORIES) {
        const threshold = thresholds[category];
        if (threshold === 'off') continue;
        let verdict = SAFE;
        for (const classification of verdicts) {
          const candidate = classification.categories?.[category];
          if (candidate && severityRank(candidate.severity) > severityRank(verdict.severity)) verdict = candidate;
        }
        const filtered = blocks(threshold, verdict.severity);
        results[category] = { filtered, severity: verdict.severity };
        tally.blocked ||= filtered;
        if (verdict.severity !== 'safe') tally.note(category, verdict.severity);
      }
    }

    if (input.direction === 'prompt') {
      // No annotation at all rather than a "not detected" no classifier of the policy looked for.
      if (policy.jailbreak !== 'off' && this.providesJailbreak) tally.shield(verdicts, 'jailbreak', policy.jailbreak);
      if (policy.indirect_attack !== 'off' && this.providesIndirectAttack) tally.shield(verdicts, 'indirect_attack', policy.indirect_attack);
    }
    if (policy.profanity !== 'off' && this.providesProfanity) {
      const detected = verdicts.some((verdict) => verdict.profanity?.detected === true);
      const filtered = detected && policy.profanity === 'block';
      results.profanity = { filtered, detected };
      tally.blocked ||= filtered;
      if (detected) tally.note('profanity', 'low');
    }

    if (blocklists) {
      const hits = blocklists.match(input.text);
      const ids = [...new Set(hits.map((hit) => hit.listId))];
      results.custom_blocklists = { filtered: ids.length > 0, details: ids.map((id) => ({ filtered: true, id })) };
      if (ids.length > 0) {
        tally.blocked = true;
        tally.note('blocklist', 'high');
      }
    }

    if (this.pii && policy.pii.directions.includes(input.direction)) {
      const wanted = policy.pii.types;
      const matches = this.pii.detect(input.text).filter((match) => !wanted || wanted.includes(match.type as never));
      const detected = matches.length > 0;
      const filtered = detected && policy.pii.action === 'block';
      results.pii = { filtered, detected, redacted: detected && policy.pii.action === 'redact', types: [...new Set(matches.map((match) => match.type))] };
      tally.blocked ||= filtered;
      if (detected) tally.note('pii', 'medium');
    }

    if (failed) {
      results.error = { ...FILTER_ERROR };
      if (policy.on_error === 'fail_closed') tally.blocked = true;
    }
    return { results, blocked: tally.blocked, flagged: tally.flagged, worst: tally.worst() };
  }
}

type WorstCategory = FilterDecision['worst']['category'];

/** The decision as `check` builds it, finding by finding. */
class Tally {
  readonly results: ContentFilterResults = {};
  blocked = false;
  flagged = false;
  private worstCategory: WorstCategory = null;
  private worstSeverity: Severity = 'safe';

  /** Something was detected: the decision is flagged, and this is the worst finding if it outranks the others. */
  note(category: WorstCategory, severity: Severity): void {
    this.flagged = true;
    if (severityRank(severity) > severityRank(this.worstSeverity) || this.worstCategory === null) {
      this.worstCategory = category;
      this.worstSeverity = severity;
    }
  }

  /** A prompt shield's annotation: detected when any classifier detected it. */
  shield(verdicts: readonly Classification[], name: 'jailbreak' | 'indirect_attack', action: 'block' | 'annotate'): void {
    const detected = verdicts.some((verdict) => verdict[name]?.detected === true);
    const filtered = detected && action === 'block';
    this.results[name] = { filtered, detected };
    this.blocked ||= filtered;
    if (detected) this.note(name, 'high');
  }

  worst(): FilterDecision['worst'] {
    return { category: this.worstCategory, severity: this.worstSeverity };
  }
}

function anyCategories(verdicts: readonly Classification[]): boolean {
  for (const verdict of verdicts) if (verdict.categories) return true;
  return false;
}
