import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { InvalidRequestError, ModerationUnavailableError } from '../errors/catalogue.js';
import { severityRank, type CategoryVerdict, type HarmCategory } from './classifier.js';
import type { ContentFilter } from './content-filter.js';

const input = z.union([
  z.string(),
  z.array(z.string()).min(1).max(64),
  z
    .array(z.looseObject({ type: z.string(), text: z.string().optional() }))
    .min(1)
    .max(64),
]);
const bodySchema = z.looseObject({ input, model: z.string().optional() });

/**
 * OpenAI's moderation categories, each derived from one of the four harm categories. The
 * sub-categories that need a distinction the classifiers do not make (threatening, intent,
 * instructions, graphic) are set from a high severity of their parent; `sexual/minors`, `illicit`
 * and `illicit/violent` are outside what the built-in classifier judges and stay false unless a
 * model-backed classifier reports them through their parent at high severity.
 */
const OPENAI_CATEGORIES: ReadonlyArray<readonly [string, HarmCategory, 'any' | 'high' | 'never']> = [
  ['hate', 'hate', 'any'],
  ['hate/threatening', 'hate', 'high'],
  ['harassment', 'hate', 'any'],
  ['harassment/threatening', 'hate', 'high'],
  ['sexual', 'sexual', 'any'],
  ['sexual/minors', 'sexual', 'never'],
  ['violence', 'violence', 'any'],
  ['violence/graphic', 'violence', 'high'],
  ['self-harm', 'self_harm', 'any'],
  ['self-harm/intent', 'self_harm', 'high'],
  ['self-harm/instructions', 'self_harm', 'high'],
  ['illicit', 'violence', 'never'],
  ['illicit/violent', 'violence', 'never'],
];

/** The texts a moderation request asks about (image parts are not judged: the classifiers read text). */
function textsOf(value: z.infer<typeof input>): string[] {
  if (typeof value === 'string') return [value];
  return value.map((item) => (typeof item === 'string' ? item : typeof item.text === 'string' ? item.text : ''));
}

/**
 * `POST /v1/moderations` in OpenAI's response shape, answered by the same classifiers as the
 * content filter: those of the policy `model` names, else of the default policy. `flagged` follows
 * that policy's prompt thresholds (Azure's default: medium).
 */
export async function moderate(
  body: unknown,
  policyFor: (model: string | undefined) => ContentFilter | undefined,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidRequestError(`Invalid value for '${issue.path.join('.') || 'input'}': ${issue.message}.`, issue.path.join('.') || 'input');
  }
  const filter = policyFor(parsed.data.model);
  if (!filter) throw new ModerationUnavailableError();
  const thresholds = filter.policy.prompt;
  const results = await Promise.all(
    textsOf(parsed.data.input).map(async (text) => {
      const scores: Record<HarmCategory, CategoryVerdict> = await filter.scores({ text, direction: 'prompt' }, signal);
      const flaggedParent = (category: HarmCategory): boolean => {
        const threshold = thresholds[category];
        const level = threshold === 'annotate' || threshold === 'off' ? 'medium' : threshold;
        return severityRank(scores[category].severity) >= severityRank(level);
      };
      const categories: Record<string, boolean> = {};
      const categoryScores: Record<string, number> = {};
      const appliedTypes: Record<string, string[]> = {};
      for (const [name, parent, rule] of OPENAI_CATEGORIES) {
        const verdict = scores[parent];
        categories[name] = rule === 'never' ? false : rule === 'high' ? verdict.severity === 'high' : flaggedParent(parent);
        categoryScores[name] = rule === 'never' ? 0 : rule === 'high' ? (verdict.severity === 'high' ? verdict.score : verdict.score / 2) : verdict.score;
        appliedTypes[name] = ['text'];
      }
      return {
        flagged: Object.values(categories).some(Boolean),
        categories,
        category_scores: categoryScores,
        category_applied_input_types: appliedTypes,
      };
    }),
  );
  return { id: `modr-${randomBytes(12).toString('hex')}`, model: parsed.data.model ?? `cerulean-${filter.name}`, results };
}
