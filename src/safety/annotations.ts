import type { HarmCategory, Severity } from './classifier.js';

/**
 * Azure OpenAI's content-filter annotation shapes, as clients parse them: per harm category
 * `{filtered, severity}`, per shield `{filtered, detected}`, custom blocklists
 * `{filtered, details:[{filtered, id}]}`, and `error` when the filter could not run.
 * `pii` is Cerulean's own addition, in the same style.
 */
export interface CategoryAnnotation {
  filtered: boolean;
  severity: Severity;
}

export interface DetectionAnnotation {
  filtered: boolean;
  detected: boolean;
}

export interface ContentFilterResults {
  hate?: CategoryAnnotation;
  sexual?: CategoryAnnotation;
  violence?: CategoryAnnotation;
  self_harm?: CategoryAnnotation;
  jailbreak?: DetectionAnnotation;
  indirect_attack?: DetectionAnnotation;
  profanity?: DetectionAnnotation;
  custom_blocklists?: { filtered: boolean; details: Array<{ filtered: boolean; id: string }> };
  pii?: DetectionAnnotation & { redacted: boolean; types: string[] };
  error?: { code: 'content_filter_error'; message: string };
}

export type CategoryAnnotations = Partial<Record<HarmCategory, CategoryAnnotation>>;

export const FILTER_ERROR = Object.freeze({ code: 'content_filter_error' as const, message: 'The contents are not filtered' });

/** Whether anything in the results was filtered (blocked). */
export function anyFiltered(results: ContentFilterResults): boolean {
  for (const value of Object.values(results)) {
    if (value && typeof value === 'object' && 'filtered' in value && value.filtered) return true;
  }
  return false;
}

/** `prompt_filter_results` as Azure sends it. */
export function promptFilterResults(
  results: ContentFilterResults,
  promptIndex = 0,
): Array<{ prompt_index: number; content_filter_results: ContentFilterResults }> {
  return [{ prompt_index: promptIndex, content_filter_results: results }];
}
