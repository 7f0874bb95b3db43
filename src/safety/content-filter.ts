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

  constructor(name: string, policy: FilterPolicyConfig, classifiers: readonly TextClassifier[], pii?: PiiScanner) {
    this.name = name;
    this.policy = policy;
    this.classifiers = classifiers;
    this.pii = policy.pii.action === 'off' ? undefined : pii;
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
    const outcomes = await Promise.allSettled(this.classifiers.map((classifier) => classifier.classify(input, signal)));
    const verdicts: Classification[] = [];
    let failed = false;
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') verdicts.push(outcome.value);
      else failed = true;
    }
    const results: ContentFilterResults = {};
    let blocked = false;
    let flagged = false;
    let worst: FilterDecision['worst'] = { category: null, severity: 'safe' };
    const note = (category: FilterDecision['worst']['category'], severity: Severity): void => {
      if (severityRank(severity) > severityRank(worst.severity) || worst.category === null) worst = { category, severity };
    };

    const thresholds = input.direction === 'prompt' ? policy.prompt : policy.completion;
    const categoriesKnown = verdicts.some((verdict) => verdict.categories);
    if (categoriesKnown) {
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
        blocked ||= filtered;
        if (verdict.severity !== 'safe') {
          flagged = true;
          note(category, verdict.severity);
        }
      }
    }

    const shield = (name: 'jailbreak' | 'indirect_attack', action: 'block' | 'annotate' | 'off'): void => {
      // No annotation at all rather than a "not detected" no classifier of the policy looked for.
      if (action === 'off' || !this.provides(name)) return;
      const detected = verdicts.some((verdict) => verdict[name]?.detected === true);
      const filtered = detected && action === 'block';
      results[name] = { filtered, detected };
      blocked ||= filtered;
      if (detected) {
        flagged = true;
        note(name, 'high');
      }
    };
    if (input.direction === 'prompt') {
      shield('jailbreak', policy.jailbreak);
      if (input.documents?.length || policy.indirect_attack !== 'off') shield('indirect_attack', policy.indirect_attack);
    }
    if (policy.profanity !== 'off' && this.provides('profanity')) {
      const detected = verdicts.some((verdict) => verdict.profanity?.detected === true);
      const filtered = detected && policy.profanity === 'block';
      results.profanity = { filtered, detected };
      blocked ||= filtered;
      if (detected) {
        flagged = true;
        note('profanity', 'low');
      }
    }

    if (blocklists) {
      const hits = blocklists.match(input.text);
      const ids = [...new Set(hits.map((hit) => hit.listId))];
      results.custom_blocklists = { filtered: ids.length > 0, details: ids.map((id) => ({ filtered: true, id })) };
      if (ids.length > 0) {
        blocked = true;
        flagged = true;
        note('blocklist', 'high');
      }
    }

    if (this.pii && policy.pii.directions.includes(input.direction)) {
      const wanted = policy.pii.types;
      const matches = this.pii.detect(input.text).filter((match) => !wanted || wanted.includes(match.type as never));
      const detected = matches.length > 0;
      const filtered = detected && policy.pii.action === 'block';
      results.pii = { filtered, detected, redacted: detected && policy.pii.action === 'redact', types: [...new Set(matches.map((match) => match.type))] };
      blocked ||= filtered;
      if (detected) {
        flagged = true;
        note('pii', 'medium');
      }
    }

    if (failed) {
      results.error = { ...FILTER_ERROR };
      if (policy.on_error === 'fail_closed') blocked = true;
    }
    return { results, blocked, flagged, worst };
  }
}
