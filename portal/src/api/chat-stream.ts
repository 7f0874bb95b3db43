import { ApiError, errorOf, type ApiClient } from './api-client.js';
import { readSse } from './sse.js';

/**
 * The playground's chat: the request it sends to `/v1/chat/completions` (streamed, usage
 * included), and the answer built up from the stream's chunks as Cerulean sends them: text, the
 * model's own refusal, finish reason, usage, the content filter's annotations of prompt and answer,
 * an error (before the stream, or as its last event), and the time to the first token and in all.
 */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

export interface ChatSettings {
  readonly deployment: string;
  readonly system: string;
  /** null: the deployment's default. */
  readonly temperature: number | null;
  /** null: the deployment's default. */
  readonly maxTokens: number | null;
}

/** The messages of a request: the system prompt (when there is one), then the conversation. */
export function chatMessages(system: string, conversation: readonly ChatMessage[]): ChatMessage[] {
  return system.trim() === '' ? [...conversation] : [{ role: 'system', content: system }, ...conversation];
}

/** The body sent to `/v1/chat/completions` (and what "View code" writes out). */
export function chatRequest(settings: ChatSettings, messages: readonly ChatMessage[]): Record<string, unknown> {
  return {
    model: settings.deployment,
    messages,
    ...(settings.temperature === null ? {} : { temperature: settings.temperature }),
    ...(settings.maxTokens === null ? {} : { max_tokens: settings.maxTokens }),
    stream: true,
    stream_options: { include_usage: true },
  };
}

/** One content-filter annotation, as Cerulean writes them (Azure's shapes, see src/safety/annotations.ts). */
export interface FilterAnnotation {
  readonly filtered?: boolean;
  readonly severity?: string;
  readonly detected?: boolean;
  readonly redacted?: boolean;
  readonly types?: readonly string[];
  readonly details?: ReadonlyArray<{ readonly filtered: boolean; readonly id: string }>;
  readonly code?: string;
  readonly message?: string;
}

export type FilterResults = Readonly<Record<string, FilterAnnotation>>;

const SEVERITY = ['safe', 'low', 'medium', 'high'];

/**
 * Two verdicts on parts of one text as one: a stream is checked in windows, each annotated on its
 * own. Per entry the worse wins: filtered or detected in any window, the highest severity, every
 * blocklist hit, every PII type, an error of any window.
 */
export function mergeFilterResults(earlier: FilterResults | null, later: FilterResults): FilterResults {
  if (!earlier) return later;
  const merged: Record<string, FilterAnnotation> = { ...earlier };
  for (const [name, next] of Object.entries(later)) {
    const before = merged[name];
    if (!before) {
      merged[name] = next;
      continue;
    }
    const severity =
      before.severity === undefined || next.severity === undefined
        ? (next.severity ?? before.severity)
        : SEVERITY.indexOf(next.severity) > SEVERITY.indexOf(before.severity)
          ? next.severity
          : before.severity;
    const details = before.details || next.details ? [...(before.details ?? [])] : undefined;
    for (const detail of next.details ?? []) {
      const known = details?.findIndex((candidate) => candidate.id === detail.id) ?? -1;
      if (known === -1) details?.push(detail);
      else if (detail.filtered && details) details[known] = detail;
    }
    const types = before.types || next.types ? [...new Set([...(before.types ?? []), ...(next.types ?? [])])] : undefined;
    merged[name] = {
      ...before,
      ...next,
      ...(before.filtered !== undefined || next.filtered !== undefined ? { filtered: Boolean(before.filtered || next.filtered) } : {}),
      ...(before.detected !== undefined || next.detected !== undefined ? { detected: Boolean(before.detected || next.detected) } : {}),
      ...(before.redacted !== undefined || next.redacted !== undefined ? { redacted: Boolean(before.redacted || next.redacted) } : {}),
      ...(severity === undefined ? {} : { severity }),
      ...(details ? { details } : {}),
      ...(types ? { types } : {}),
    };
  }
  return merged;
}

export interface ChatUsage {
  readonly prompt_tokens: number;
  readonly completion_tokens: number;
  readonly total_tokens: number;
  readonly prompt_tokens_details?: { readonly cached_tokens?: number };
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number };
}

/** A refusal or failure exactly as the API worded it, with the content filter's verdict when that was the reason. */
export interface Refusal {
  /** The HTTP status (0: Cerulean was not reached; the stream's own status when it broke off mid-way). */
  readonly status: number;
  readonly message: string;
  readonly code: string | null;
  readonly type: string | null;
  readonly param: string | null;
  readonly filter: FilterResults | null;
}

export interface Answer {
  readonly state: 'waiting' | 'streaming' | 'done' | 'stopped' | 'failed';
  readonly content: string;
  /** The model's own refusal text (`delta.refusal`), distinct from Cerulean's refusals. */
  readonly modelRefusal: string;
  readonly finishReason: string | null;
  readonly model: string | null;
  readonly usage: ChatUsage | null;
  readonly promptFilter: FilterResults | null;
  readonly completionFilter: FilterResults | null;
  readonly error: Refusal | null;
  /** Milliseconds from sending to the first text (or refusal) received. */
  readonly firstTokenMs: number | null;
  readonly totalMs: number | null;
}

export const WAITING: Answer = Object.freeze({
  state: 'waiting',
  content: '',
  modelRefusal: '',
  finishReason: null,
  model: null,
  usage: null,
  promptFilter: null,
  completionFilter: null,
  error: null,
  firstTokenMs: null,
  totalMs: null,
});

const record = (value: unknown): Record<string, unknown> | null =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/** The refusal an error envelope's `error` object describes (the content filter's results under either spelling). */
export function refusalOf(status: number, error: Readonly<Record<string, unknown>>): Refusal {
  const inner = record(error.inner_error) ?? record(error.innererror);
  const filter = record(inner?.content_filter_results) ?? record(inner?.content_filter_result);
  return {
    status,
    message: text(error.message) ?? 'The request failed without saying why.',
    code: text(error.code),
    type: text(error.type),
    param: text(error.param),
    filter: filter as FilterResults | null,
  };
}

/** An ApiError (an answer that was not ok, or no answer at all) as a refusal. */
export function refusalOfApiError(error: ApiError): Refusal {
  if (error.detail) return refusalOf(error.status, error.detail);
  return { status: error.status, message: error.message, code: error.code, type: null, param: error.param, filter: null };
}

/** The answer after one chunk of the stream (the first choice: the playground asks for one). */
export function applyChunk(answer: Answer, chunk: Readonly<Record<string, unknown>>, streamStatus = 200): Answer {
  const error = record(chunk.error);
  if (error) return { ...answer, state: 'failed', error: refusalOf(streamStatus, error) };
  let next: Answer = answer.state === 'waiting' ? { ...answer, state: 'streaming' } : answer;
  const model = text(chunk.model);
  if (model && !next.model) next = { ...next, model };
  const prompt = Array.isArray(chunk.prompt_filter_results) ? record(record(chunk.prompt_filter_results[0])?.content_filter_results) : null;
  if (prompt) next = { ...next, promptFilter: mergeFilterResults(next.promptFilter, prompt as FilterResults) };
  const usage = record(chunk.usage);
  if (usage) next = { ...next, usage: usage as unknown as ChatUsage };
  const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
  const choice = choices.map(record).find((candidate) => candidate !== null && (candidate.index ?? 0) === 0);
  if (choice) {
    const delta = record(choice.delta);
    const content = text(delta?.content);
    if (content) next = { ...next, content: next.content + content };
    const refused = text(delta?.refusal);
    if (refused) next = { ...next, modelRefusal: next.modelRefusal + refused };
    const finish = text(choice.finish_reason);
    if (finish) next = { ...next, finishReason: finish };
    const filter = record(choice.content_filter_results);
    if (filter) next = { ...next, completionFilter: mergeFilterResults(next.completionFilter, filter as FilterResults) };
  }
  return next;
}

export interface StreamChatOptions {
  readonly client: ApiClient;
  readonly body: Record<string, unknown>;
  /** `x-cerulean-project` for a token caller. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  /** Told of every change, for the page to show the answer as it grows. */
  readonly onUpdate: (answer: Answer) => void;
  readonly now?: () => number;
}

/**
 * Sends the chat and reads its stream to the end, the stop (the signal) or a failure; resolves to
 * the final answer, never rejects. A refusal before the stream (4xx, 5xx) and an error event in it
 * are the API's words; an abort is `stopped`, keeping what had arrived.
 */
export async function streamChat(options: StreamChatOptions): Promise<Answer> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  let answer: Answer = WAITING;
  const update = (next: Answer): void => {
    if (next === answer) return;
    answer = next;
    options.onUpdate(answer);
  };
  const end = (state: Answer['state'], error: Refusal | null = answer.error): Answer => {
    update({ ...answer, state, error, totalMs: Math.round(now() - started) });
    return answer;
  };
  try {
    const response = await options.client.send('POST', '/v1/chat/completions', {
      body: options.body,
      headers: { accept: 'text/event-stream', ...options.headers },
      signal: options.signal,
      keepSessionOn401: true,
    });
    if (!response.ok) return end('failed', refusalOfApiError(await errorOf(response)));
    if (!response.body)
      return end('failed', { status: response.status, message: 'Cerulean answered without a body.', code: null, type: null, param: null, filter: null });
    for await (const event of readSse(response.body)) {
      if (event.data === '[DONE]') break;
      let chunk: unknown;
      try {
        chunk = JSON.parse(event.data);
      } catch {
        return end('failed', {
          status: response.status,
          message: `The stream held an event that is not JSON: ${event.data.slice(0, 200)}`,
          code: null,
          type: null,
          param: null,
          filter: null,
        });
      }
      const before = answer;
      let next = applyChunk(answer, record(chunk) ?? {}, response.status);
      if (next.firstTokenMs === null && (next.content !== before.content || next.modelRefusal !== before.modelRefusal)) {
        next = { ...next, firstTokenMs: Math.round(now() - started) };
      }
      update(next);
      if (next.state === 'failed') return end('failed');
    }
    return end('done');
  } catch (error) {
    if (options.signal.aborted) return end('stopped');
    if (error instanceof ApiError) return end('failed', refusalOfApiError(error));
    const message = error instanceof Error ? error.message : String(error);
    return end('failed', { status: 0, message: `The stream broke off: ${message}`, code: null, type: null, param: null, filter: null });
  }
}
