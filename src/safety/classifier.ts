/**
 * The content-safety seam: every classifier — the built-in local one and the adapters that ask a
 * model through one of Cerulean's own deployments — answers the same question in the same shape,
 * and policies combine their answers. Severity levels and category names are Azure OpenAI's.
 */
export const HARM_CATEGORIES = ['hate', 'sexual', 'violence', 'self_harm'] as const;
export type HarmCategory = (typeof HARM_CATEGORIES)[number];

export const SEVERITIES = ['safe', 'low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Rank of a severity, for comparisons against thresholds: safe 0 … high 3. */
export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export interface CategoryVerdict {
  readonly severity: Severity;
  /** 0..1, the classifier's confidence that the text belongs to the category at all. */
  readonly score: number;
}

/** Signals beyond the four harm categories; each classifier says which it provides. */
export type Signal = 'categories' | 'jailbreak' | 'indirect_attack' | 'profanity';

export interface Classification {
  /** Present when the classifier provides `categories`. */
  readonly categories?: Readonly<Record<HarmCategory, CategoryVerdict>>;
  /** User-prompt attack (prompt shield). */
  readonly jailbreak?: { readonly detected: boolean; readonly score: number };
  /** Attack hidden in documents (`<documents>…</documents>` or tool results). */
  readonly indirect_attack?: { readonly detected: boolean; readonly score: number };
  readonly profanity?: { readonly detected: boolean };
}

export interface ClassifyInput {
  /** The text to judge: the user-visible prompt text, or completion text. */
  readonly text: string;
  readonly direction: 'prompt' | 'completion';
  /** Grounding documents and tool results, judged for indirect attacks. */
  readonly documents?: readonly string[];
}

/** Raised by a classifier that cannot answer (unreachable, timed out, unparseable verdict). */
export class ClassifierUnavailableError extends Error {
  readonly classifier: string;
  constructor(classifier: string, message: string, options?: { cause?: unknown }) {
    super(`${classifier}: ${message}`, options);
    this.classifier = classifier;
  }
}

export interface TextClassifier {
  /** Name used in configuration and logs. */
  readonly name: string;
  readonly provides: ReadonlySet<Signal>;
  /** Throws ClassifierUnavailableError when it cannot answer; never throws for content. */
  classify(input: ClassifyInput, signal?: AbortSignal): Promise<Classification>;
}
