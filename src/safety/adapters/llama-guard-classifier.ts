import { ClassifierUnavailableError, type Classification, type ClassifyInput, type HarmCategory, type Severity, type Signal } from '../classifier.js';
import { DeploymentClassifier } from './deployment-caller.js';

/**
 * Llama Guard 3's hazard codes mapped to the four harm categories. Llama Guard answers unsafe/safe
 * without a level, so crimes against people map to high and the rest of a category to medium
 * (both block at Azure's default threshold). The other codes (S2 non-violent crimes, S5
 * defamation, S6 specialized advice, S7 privacy, S8 intellectual property, S13 elections, S14
 * code interpreter abuse) have no counterpart among the four categories and are not reported.
 */
export const GUARD_HAZARDS: Readonly<Record<string, { category: HarmCategory; severity: Severity }>> = {
  S1: { category: 'violence', severity: 'high' }, // violent crimes
  S3: { category: 'sexual', severity: 'high' }, // sex-related crimes
  S4: { category: 'sexual', severity: 'high' }, // child sexual exploitation
  S9: { category: 'violence', severity: 'high' }, // indiscriminate weapons
  S10: { category: 'hate', severity: 'medium' }, // hate
  S11: { category: 'self_harm', severity: 'high' }, // suicide and self-harm
  S12: { category: 'sexual', severity: 'medium' }, // sexual content
};

/** The four categories for a verdict's hazard codes: the highest severity any code gives each. */
export function guardCategories(codes: readonly string[]): Record<HarmCategory, { severity: Severity; score: number }> {
  const categories: Record<HarmCategory, { severity: Severity; score: number }> = {
    hate: { severity: 'safe', score: 0 },
    sexual: { severity: 'safe', score: 0 },
    violence: { severity: 'safe', score: 0 },
    self_harm: { severity: 'safe', score: 0 },
  };
  for (const code of codes) {
    const hazard = GUARD_HAZARDS[code];
    if (hazard && categories[hazard.category].severity !== 'high') categories[hazard.category] = { severity: hazard.severity, score: 1 };
  }
  return categories;
}

/** Parses "safe" or "unsafe\nS1,S10" (the verdict format of Llama Guard 2 and 3). */
export function parseGuardVerdict(text: string): { safe: boolean; codes: string[] } | undefined {
  const lines = text.trim().split(/\s*\n\s*/);
  const head = lines[0]?.toLowerCase();
  if (head === 'safe') return { safe: true, codes: [] };
  if (head !== 'unsafe') return undefined;
  const codes = (lines[1] ?? '')
    .split(/[,\s]+/)
    .filter((code) => /^S\d+$/i.test(code))
    .map((code) => code.toUpperCase());
  return { safe: false, codes };
}

/**
 * A Llama Guard-style chat model behind one of Cerulean's deployments: the text goes in as the
 * user turn (prompts) or the assistant turn (completions); the model's chat template supplies the
 * hazard taxonomy, and its first line is the verdict.
 */
export class LlamaGuardClassifier extends DeploymentClassifier {
  readonly provides: ReadonlySet<Signal> = new Set<Signal>(['categories']);

  async classify(input: ClassifyInput, signal?: AbortSignal): Promise<Classification> {
    const messages =
      input.direction === 'prompt'
        ? [{ role: 'user', content: input.text }]
        : [
            { role: 'user', content: '(the request is not shown)' },
            { role: 'assistant', content: input.text },
          ];
    const response = await this.ask(
      'guard',
      (deadline) => this.caller.chat(this.deployment, { model: this.deployment, messages, temperature: 0, max_tokens: 20 }, deadline),
      signal,
    );
    const content = (response.choices as Array<{ message?: { content?: unknown } }> | undefined)?.[0]?.message?.content;
    const verdict = typeof content === 'string' ? parseGuardVerdict(content) : undefined;
    if (!verdict) throw new ClassifierUnavailableError(this.name, `the guard model's answer is not a verdict: ${JSON.stringify(content)?.slice(0, 80)}`);
    return { categories: guardCategories(verdict.codes) };
  }
}
