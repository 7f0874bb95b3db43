import type { JsonObject } from '../providers/provider.js';
import type { InferenceContext } from './context.js';

/**
 * Stages "filter prompt" and "filter output": content safety on the way in and on the way out,
 * streams included. Absent when no filtering is configured for any deployment.
 */
export interface FilterStage {
  /** Whether a content-filter policy applies to this (admitted) request; throws when one should but cannot be found (fail closed). */
  applies(context: InferenceContext): boolean;
  /**
   * Judges the prompt before the provider is called: throws ContentFilterError when the policy
   * blocks it, may replace `context.body` (PII redaction), records the prompt's annotations.
   */
  checkPrompt(context: InferenceContext): Promise<void>;
  /** Judges a complete response and returns it with Azure's annotations (blocked choices cut). */
  checkResponse(context: InferenceContext, body: JsonObject): Promise<JsonObject>;
  /** Judges a stream as it flows, in the policy's stream mode, adding Azure's annotation frames. */
  filterStream(context: InferenceContext, chunks: AsyncIterable<JsonObject>): AsyncIterable<JsonObject>;
}
