import { request } from 'undici';
import {
  ClassifierUnavailableError,
  type Classification,
  type ClassifyInput,
  type HarmCategory,
  type Severity,
  type Signal,
  type TextClassifier,
} from '../classifier.js';

const CATEGORY_NAMES: Record<string, HarmCategory> = { Hate: 'hate', Sexual: 'sexual', Violence: 'violence', SelfHarm: 'self_harm' };
const LEVELS: Record<number, Severity> = { 0: 'safe', 2: 'low', 4: 'medium', 6: 'high' };
/** text:analyze accepts at most 10,000 characters per call. */
const MAX_CHARS = 10_000;

export interface AzureContentSafetyOptions {
  endpoint: string;
  apiKey: string;
  apiVersion: string;
  timeoutMs: number;
}

/**
 * Azure AI Content Safety's text API: `text:analyze` (four severity levels per category, the same
 * scale Azure OpenAI's filter reports) and, for prompts, `text:shieldPrompt` (user prompt attacks
 * and attacks in documents).
 */
export class AzureContentSafetyClassifier implements TextClassifier {
  readonly name: string;
  readonly provides: ReadonlySet<Signal> = new Set<Signal>(['categories', 'jailbreak', 'indirect_attack']);
  private readonly options: AzureContentSafetyOptions;

  constructor(name: string, options: AzureContentSafetyOptions) {
    this.name = name;
    this.options = { ...options, endpoint: options.endpoint.replace(/\/+$/, '') };
  }

  private async post(path: string, body: unknown, signal: AbortSignal): Promise<Record<string, unknown>> {
    const { endpoint, apiKey, apiVersion } = this.options;
    let response;
    try {
      response = await request(`${endpoint}/contentsafety/${path}?api-version=${encodeURIComponent(apiVersion)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'ocp-apim-subscription-key': apiKey },
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw new ClassifierUnavailableError(this.name, `${path} could not be reached`, { cause: error });
    }
    const text = await response.body.text();
    if (response.statusCode !== 200) throw new ClassifierUnavailableError(this.name, `${path} answered ${response.statusCode}`);
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ClassifierUnavailableError(this.name, `${path} answered with a body that is not JSON`);
    }
  }

  async classify(input: ClassifyInput, signal?: AbortSignal): Promise<Classification> {
    const timeout = AbortSignal.timeout(this.options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const pieces: string[] = [];
    for (let start = 0; start < input.text.length || start === 0; start += MAX_CHARS) pieces.push(input.text.slice(start, start + MAX_CHARS));
    const shield =
      input.direction === 'prompt'
        ? this.post(
            'text:shieldPrompt',
            { userPrompt: input.text.slice(0, MAX_CHARS), documents: (input.documents ?? []).map((d) => d.slice(0, MAX_CHARS)) },
            combined,
          )
        : undefined;
    const analyses = await Promise.all(
      pieces.map((text) => this.post('text:analyze', { text, categories: Object.keys(CATEGORY_NAMES), outputType: 'FourSeverityLevels' }, combined)),
    );
    const categories: Record<HarmCategory, { severity: Severity; score: number }> = {
      hate: { severity: 'safe', score: 0 },
      sexual: { severity: 'safe', score: 0 },
      violence: { severity: 'safe', score: 0 },
      self_harm: { severity: 'safe', score: 0 },
    };
    for (const analysis of analyses) {
      for (const item of (analysis.categoriesAnalysis as Array<{ category: string; severity: number }>) ?? []) {
        const category = CATEGORY_NAMES[item.category];
        const severity = LEVELS[item.severity];
        if (!category || !severity) continue;
        if (item.severity / 6 > categories[category].score) categories[category] = { severity, score: item.severity / 6 };
      }
    }
    const result: { -readonly [K in keyof Classification]: Classification[K] } = { categories };
    if (shield) {
      const verdict = await shield;
      const user = (verdict.userPromptAnalysis as { attackDetected?: boolean } | undefined)?.attackDetected === true;
      const documents = ((verdict.documentsAnalysis as Array<{ attackDetected?: boolean }> | undefined) ?? []).some((d) => d.attackDetected === true);
      result.jailbreak = { detected: user, score: user ? 1 : 0 };
      result.indirect_attack = { detected: documents, score: documents ? 1 : 0 };
    }
    return result;
  }
}
