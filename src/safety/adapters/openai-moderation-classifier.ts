import { ClassifierUnavailableError, type Classification, type ClassifyInput, type HarmCategory, type Severity, type Signal } from '../classifier.js';
import { DeploymentClassifier } from './deployment-caller.js';

/** OpenAI moderation categories feeding each harm category; the `escalate` ones make any flag high. */
const SOURCES: Record<HarmCategory, { scores: string[]; escalate: string[] }> = {
  hate: { scores: ['hate', 'hate/threatening', 'harassment', 'harassment/threatening'], escalate: ['hate/threatening'] },
  sexual: { scores: ['sexual', 'sexual/minors'], escalate: ['sexual/minors'] },
  violence: { scores: ['violence', 'violence/graphic'], escalate: ['violence/graphic'] },
  self_harm: { scores: ['self-harm', 'self-harm/intent', 'self-harm/instructions'], escalate: ['self-harm/intent', 'self-harm/instructions'] },
};

/** Scores to Azure's four levels: the cut-offs OpenAI's own `flagged` roughly corresponds to (~0.5). */
export function severityFromScore(score: number): Severity {
  if (score >= 0.85) return 'high';
  if (score >= 0.5) return 'medium';
  if (score >= 0.2) return 'low';
  return 'safe';
}

/**
 * Asks an OpenAI-compatible `/moderations` endpoint (OpenAI's omni-moderation, or a self-hosted
 * server implementing it) through one of Cerulean's deployments, and maps its category scores to
 * Azure's severities. Provides the four harm categories only.
 */
export class OpenAIModerationClassifier extends DeploymentClassifier {
  readonly provides: ReadonlySet<Signal> = new Set<Signal>(['categories']);

  async classify(input: ClassifyInput, signal?: AbortSignal): Promise<Classification> {
    const response = await this.ask('moderation', (deadline) => this.caller.moderate(this.deployment, [input.text], deadline), signal);
    const result = (response.results as Array<{ categories?: Record<string, boolean>; category_scores?: Record<string, number> }> | undefined)?.[0];
    if (!result?.category_scores) throw new ClassifierUnavailableError(this.name, 'the moderation response has no results');
    const categories = {} as Record<HarmCategory, { severity: Severity; score: number }>;
    for (const [category, source] of Object.entries(SOURCES) as Array<[HarmCategory, (typeof SOURCES)[HarmCategory]]>) {
      const score = Math.max(0, ...source.scores.map((name) => result.category_scores?.[name] ?? 0));
      const escalated = source.escalate.some((name) => result.categories?.[name] === true);
      categories[category] = { severity: escalated ? 'high' : severityFromScore(score), score };
    }
    return { categories };
  }
}
