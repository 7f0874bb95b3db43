import type { JsonObject, Operation, Usage } from '../providers/provider.js';
import type { InferenceContext } from './context.js';

/**
 * The contract every inbound inference operation implements (src/api/<family>/...): everything
 * about one operation of one API lives in its module, and the pipeline and its stages only call
 * these members. Providers keep speaking the internal schema (OpenAI's chat, completions,
 * embeddings and images shapes, see src/providers/provider.ts); an operation that speaks another
 * shape (the Responses API, Anthropic's Messages API) translates to it on the way in and back on
 * the way out, so filtering, admission and metering judge exactly what the provider is sent.
 */

/** The API family a route belongs to: it decides the error envelope and the stream's framing conventions. */
export type ApiFamilyName = 'openai' | 'azure' | 'anthropic';

/** The inbound API an operation belongs to, named in usage records and metrics. */
export type ApiName = 'chat' | 'completions' | 'embeddings' | 'images' | 'responses' | 'messages';

/** A request's prompt as the content filter judges it. */
export interface PromptText {
  /** What the caller asked, as one text (messages joined by newlines). */
  readonly text: string;
  /** Grounding content: tool results and `<documents>…</documents>` sections, judged for indirect attacks. */
  readonly documents: string[];
}

/**
 * How the content filter reads and redacts an operation's prompt. Required of every operation, so
 * an operation that does not say how its prompt is read does not compile; one whose prompt is not
 * judged (embeddings) says so by returning `null`.
 */
export interface PromptReader {
  /** The prompt of an (internal) request body, or null when this operation's prompts are deliberately not judged. */
  read(body: JsonObject): PromptText | null;
  /**
   * The body with each prompt text replaced by `redactText(text)` where that returns a string, or
   * undefined when nothing changed. The caller's object is never modified.
   */
  redact(body: JsonObject, redactText: (text: string) => string | undefined): JsonObject | undefined;
}

/** One server-sent event: an optional `event:` name and its JSON data. */
export interface SseFrame {
  readonly event?: string;
  readonly data: unknown;
}

/** What the pipeline hands an operation to frame as its JSON answer. */
export interface InternalAnswer {
  /** The answer in the internal schema (after the output filter). */
  readonly body: JsonObject;
  /** The upstream's bytes when they already are `body`, for operations that relay them as they are. */
  readonly raw?: string;
}

export interface InboundApi {
  readonly name: ApiName;
  /** What the provider is asked for (the internal operation). */
  readonly operation: Operation;
  /** How the content filter reads this operation's (internal) prompt. */
  readonly prompt: PromptReader;
  /** Tokens the request may consume, for TPM admission and the budget's worst case, from the internal body. */
  estimateTokens(body: JsonObject, model: string, defaultMaxTokens: Readonly<Record<Operation, number>>): number;
  /** Images the request is billed for when it succeeds (0 for text operations). */
  billedImages(body: JsonObject): number;
  /**
   * Runs once the request is admitted (its project known), before the prompt filter: may complete
   * the internal body (e.g. a stored conversation the request continues). Optional.
   */
  prepare?(context: InferenceContext): Promise<void>;
  /**
   * The caller's own request, to send as it is where the target's provider speaks this API natively
   * (see `Provider.nativeRequest`), with the beta features it asked for; undefined: always translate.
   */
  native?(context: InferenceContext): { body: JsonObject; betas: string | undefined } | undefined;
  /** The usage of an answer the upstream gave in this API (a native answer relayed as it is). */
  nativeUsage?(answer: JsonObject): Usage | undefined;
  /** The caller's JSON answer, and its bytes when they can be relayed unchanged. */
  answer(answer: InternalAnswer, context: InferenceContext): Promise<{ body: unknown; raw?: string }> | { body: unknown; raw?: string };
  /** The caller's events from the internal chunks (already filtered; usage already captured by the pipeline). */
  stream(chunks: AsyncIterable<JsonObject>, context: InferenceContext): AsyncIterable<SseFrame>;
  /** Bytes written after the last event of a stream that ended well (OpenAI's `data: [DONE]`), if any. */
  readonly streamEnd?: string;
  /** The event that ends a stream that failed after it started, in this API's shape. */
  streamError(error: unknown, context: InferenceContext): SseFrame;
}
