import { QuotaTooSmallError, RateLimitedError } from '../errors/catalogue.js';
import type { JsonObject, Operation } from '../providers/provider.js';
import { encodingForModel, type EncodingName } from '../tokens/tokenizer.js';
import type { OutageGuard } from './outage-guard.js';
import { countPromptTokens } from './prompt-token-counter.js';
import type { RateLimitStore, TakeResult, WindowSpec } from './rate-limit-store.js';

/**
 * Admission against quotas with Azure OpenAI's documented semantics.
 *
 * - Tokens per minute (TPM): each request reserves an estimate at arrival, prompt tokens plus
 *   the most it may generate, in a 60 s window; `settle` later corrects the reservation to the
 *   tokens actually billed. Reserving the worst case before forwarding is what keeps concurrent
 *   requests from overshooting the limit ("fail closed").
 * - Requests: RPM is 6 per 1,000 TPM, enforced as Azure does over 10 s windows, so the limit per
 *   window is RPM / 6 = TPM / 1,000 (at least 1).
 * - Both apply per deployment and, when the project has its own quota, per project and
 *   deployment. null means unlimited: no window at all.
 *
 * Every window of one request is taken in one all-or-nothing `take`, so a refusal costs no quota
 * anywhere.
 */

export const TOKEN_WINDOW_MS = 60_000;
export const REQUEST_WINDOW_MS = 10_000;
/** OpenAI's cost of an image part at low detail; the admission estimate charges every image this. */
export const IMAGE_PART_TOKENS = 85;

/** Completion tokens reserved when a request names no `max_tokens` / `max_completion_tokens`. */
export const DEFAULT_MAX_TOKENS: Readonly<Record<Operation, number>> = Object.freeze({
  chat: 4096,
  completions: 4096,
  embeddings: 0,
  images: 0,
});

const AZURE_OPERATION_NAMES: Readonly<Record<Operation, string>> = {
  chat: 'ChatCompletions_Create',
  completions: 'Completions_Create',
  embeddings: 'Embeddings_Create',
  images: 'ImageGenerations_Create',
};

/** Longest wait advised: SDKs ignore a retry-after of 60 s or more and back off on their own. */
const MAX_RETRY_AFTER_SECONDS = 59;

export interface QuotaAdmissionOptions {
  /** Per operation, overrides DEFAULT_MAX_TOKENS. */
  readonly defaultMaxTokens?: Partial<Record<Operation, number>>;
  /** api-version named in the 429 message when a request passes none; default 2024-10-21. */
  readonly apiVersion?: string;
  /**
   * When `store` is shared (Redis) and may be unreachable: the guard that applies the outage
   * policy, and the local store counted in under `fail_open`. A reservation is settled in the
   * store that took it.
   */
  readonly outage?: { readonly guard: OutageGuard; readonly local: RateLimitStore };
}

export interface AdmissionRequest {
  readonly deployment: string;
  /** The deployment's tokens per minute; null for unlimited. */
  readonly deploymentTpm: number | null;
  readonly projectId: string;
  /** The project's tokens per minute on this deployment; null for unlimited. */
  readonly projectTpm: number | null;
  readonly operation: Operation;
  readonly body: JsonObject;
  /** The upstream model; picks the tokenizer. */
  readonly model: string;
  /** The caller's api-version, for the 429 message. */
  readonly apiVersion?: string;
  /** ms since the epoch; defaults to the clock. */
  readonly now?: number;
  /** The request's estimate when the caller already computed it (`estimate`); saves counting twice. */
  readonly estimatedTokens?: number;
}

export interface Admission {
  /** Tokens reserved in every token window; 0 when no limit applied. */
  readonly estimatedTokens: number;
  /**
   * x-ratelimit-{limit,remaining}-{requests,tokens} of the tightest window of each kind (the one
   * with the least left); empty when no limit applied.
   */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Corrects every token window this request drew from by (actualTokens - estimate): call it once
   * with the billed total (prompt + completion), or 0 when nothing reached the upstream. Later
   * calls do nothing.
   */
  settle(actualTokens: number): Promise<void>;
}

type Measure = 'tokens' | 'requests';

const UNLIMITED: Admission = Object.freeze({ estimatedTokens: 0, headers: Object.freeze({}), settle: async () => {} });

export class QuotaAdmission {
  private readonly store: RateLimitStore;
  /** The generation allowance assumed per operation when a request sets no max tokens. */
  readonly defaultMaxTokens: Readonly<Record<Operation, number>>;
  private readonly apiVersion: string;
  private readonly outage: QuotaAdmissionOptions['outage'];

  constructor(store: RateLimitStore, options: QuotaAdmissionOptions = {}) {
    const defaults = { ...DEFAULT_MAX_TOKENS, ...options.defaultMaxTokens };
    for (const [operation, value] of Object.entries(defaults)) {
      if (!Number.isSafeInteger(value) || value < 0) throw new TypeError(`defaultMaxTokens.${operation} must be a non-negative integer, got ${value}`);
    }
    this.store = store;
    this.defaultMaxTokens = Object.freeze(defaults);
    this.apiVersion = options.apiVersion ?? '2024-10-21';
    this.outage = options.outage;
  }

  /** The admission estimate with this admission's defaults: prompt tokens plus the most it may generate. */
  estimate(operation: Operation, body: JsonObject, model: string): number {
    return estimateRequestTokens(operation, body, model, this.defaultMaxTokens);
  }

  /**
   * Reserves the request's quota, or throws (nothing reserved): RateLimitedError when a window is
   * full, QuotaTooSmallError when the request's estimate alone is more than a token limit.
   */
  async admit(request: AdmissionRequest): Promise<Admission> {
    const { deploymentTpm, projectTpm } = request;
    if (deploymentTpm === null && projectTpm === null) return UNLIMITED;
    const estimate = request.estimatedTokens ?? this.estimate(request.operation, request.body, request.model);
    // No window could ever hold it: refuse for good before touching a counter.
    const smallest = Math.min(deploymentTpm ?? Infinity, projectTpm ?? Infinity);
    if (estimate > smallest) throw this.tooSmall(request, estimate, smallest, projectTpm === smallest);

    const specs: WindowSpec[] = [];
    const measures: Measure[] = [];
    const add = (scope: string, tpm: number): void => {
      specs.push({ key: `${scope}:tokens`, limit: tpm, windowMs: TOKEN_WINDOW_MS, cost: estimate });
      specs.push({ key: `${scope}:requests`, limit: requestsPerWindow(tpm), windowMs: REQUEST_WINDOW_MS, cost: 1 });
      measures.push('tokens', 'requests');
    };
    if (deploymentTpm !== null) add(deploymentScope(request.deployment), deploymentTpm);
    if (projectTpm !== null) add(projectScope(request.projectId, request.deployment), projectTpm);

    const { store, result } = await this.take(specs, request.now);
    const headers = rateLimitHeaders(specs, measures, result);
    if (!result.allowed) {
      const blocked = result.blockedBy;
      const spec = specs[blocked];
      const measure = measures[blocked];
      const seconds = Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(result.retryAfterMs / 1000)));
      const azureMessage =
        `Requests to the ${AZURE_OPERATION_NAMES[request.operation]} Operation under Azure OpenAI API version ` +
        `${request.apiVersion ?? this.apiVersion} have exceeded ${measure === 'requests' ? 'call' : 'token'} rate limit of your current pricing tier. ` +
        `Please retry after ${seconds} seconds.`;
      const used = spec.limit - result.remaining[blocked];
      const limit =
        measure === 'tokens'
          ? `tokens per min (TPM): Limit ${spec.limit}`
          : `requests per min (RPM): Limit ${spec.limit * 6}, enforced as ${spec.limit} per 10 s`;
      const message =
        `Rate limit reached for ${scopeText(request, spec.key.startsWith('p:'))} on ${limit}, Used ${used}, Requested ${spec.cost}. ` +
        `Please try again in ${formatDelay(result.retryAfterMs)}.`;
      throw new RateLimitedError(message, seconds, headers, { azureMessage, measure });
    }
    return new TokenReservation(store, specs, measures, result, estimate, headers);
  }

  /** The refusal of a request larger than a whole window of `limit`, saying what to lower. */
  private tooSmall(request: AdmissionRequest, estimate: number, limit: number, projectLimit: boolean): QuotaTooSmallError {
    const allowance = completionAllowance(request.operation, request.body, this.defaultMaxTokens);
    const prompt = estimate - (allowance?.total ?? 0);
    let hint: string;
    if (!allowance || prompt >= limit) {
      hint = `its input alone counts ${prompt} tokens, so shorten it`;
    } else {
      const room = Math.floor((limit - prompt) / allowance.multiplier);
      const per = allowance.multiplier > 1 ? ` for each of ${allowance.multiplier} choices and prompts` : '';
      hint = allowance.explicit
        ? `it is counted as its prompt (${prompt} tokens) plus max_tokens (${allowance.perChoice}${per}), so set max_tokens to at most ${room}`
        : `a request that sets no max_tokens is counted as its prompt (${prompt} tokens) plus a max_tokens of ${allowance.perChoice}${per}, so set max_tokens to at most ${room}`;
    }
    const message =
      `Request too large for ${scopeText(request, projectLimit)} on tokens per min (TPM): Limit ${limit}, Requested ${estimate}. ` +
      `The input or output tokens must be reduced in order to run successfully: ${hint}.`;
    const azureMessage =
      `Requests to the ${AZURE_OPERATION_NAMES[request.operation]} Operation under Azure OpenAI API version ` +
      `${request.apiVersion ?? this.apiVersion} have exceeded token rate limit of your current pricing tier. ` +
      `This request alone is estimated at ${estimate} tokens, more than the limit of ${limit} tokens per minute, so retrying will not help: ${hint}.`;
    return new QuotaTooSmallError(message, azureMessage, { 'x-ratelimit-limit-tokens': String(limit) });
  }

  /** Takes from the shared store, or as the outage policy says when it is unreachable. */
  /**
   * What a project has used of its quota on a deployment in the current windows: tokens this
   * minute (requests in flight at their estimate until settled) and requests in this 10 s window.
   * Read from the store admission takes from (the local one while a shared store is away under
   * fail_open); rejects when neither can be read.
   */
  async projectUse(projectId: string, deployment: string, now: number = Date.now()): Promise<{ tokens: number; requests: number }> {
    const scope = projectScope(projectId, deployment);
    const windows = [
      { key: `${scope}:tokens`, windowMs: TOKEN_WINDOW_MS },
      { key: `${scope}:requests`, windowMs: REQUEST_WINDOW_MS },
    ];
    const { store, outage } = this;
    const [tokens, requests] = outage
      ? await outage.guard.run(
          () => store.read(windows, now),
          () => outage.local.read(windows, now),
        )
      : await store.read(windows, now);
    return { tokens, requests };
  }

  private async take(specs: readonly WindowSpec[], now: number | undefined): Promise<{ store: RateLimitStore; result: TakeResult }> {
    const { store, outage } = this;
    if (!outage) return { store, result: await store.take(specs, now) };
    return outage.guard.run(
      async () => ({ store, result: await store.take(specs, now) }),
      async () => ({ store: outage.local, result: await outage.local.take(specs, now) }),
    );
  }
}

/** Requests a TPM quota admits per REQUEST_WINDOW_MS (10 s): Azure's 6 RPM per 1,000 TPM, a sixth of it per window, at least 1. */
export function requestsPerWindow(tpm: number): number {
  return Math.max(1, Math.floor(tpm / 1000));
}

// Length prefixes keep scopes unambiguous whatever characters the names contain.
function deploymentScope(deployment: string): string {
  return `d:${deployment.length}:${deployment}`;
}

function projectScope(projectId: string, deployment: string): string {
  return `p:${projectId.length}:${projectId}:${deployment}`;
}

class TokenReservation implements Admission {
  private settled = false;

  constructor(
    private readonly store: RateLimitStore,
    private readonly specs: readonly WindowSpec[],
    private readonly measures: readonly Measure[],
    private readonly taken: TakeResult,
    readonly estimatedTokens: number,
    readonly headers: Readonly<Record<string, string>>,
  ) {}

  async settle(actualTokens: number): Promise<void> {
    if (!Number.isFinite(actualTokens) || actualTokens < 0) throw new TypeError(`actualTokens must be a non-negative number, got ${actualTokens}`);
    if (this.settled) return;
    this.settled = true;
    const delta = Math.ceil(actualTokens) - this.estimatedTokens;
    if (delta === 0) return;
    const adjustments: Promise<void>[] = [];
    for (let i = 0; i < this.specs.length; i++) {
      if (this.measures[i] !== 'tokens') continue;
      adjustments.push(this.store.adjust(this.specs[i].key, this.specs[i].windowMs, delta, this.taken.windowStart[i]));
    }
    await Promise.all(adjustments);
  }
}

function rateLimitHeaders(specs: readonly WindowSpec[], measures: readonly Measure[], result: TakeResult): Record<string, string> {
  let tokens = -1;
  let requests = -1;
  for (let i = 0; i < specs.length; i++) {
    if (measures[i] === 'tokens') {
      if (tokens < 0 || result.remaining[i] < result.remaining[tokens]) tokens = i;
    } else if (requests < 0 || result.remaining[i] < result.remaining[requests]) {
      requests = i;
    }
  }
  return {
    'x-ratelimit-limit-requests': String(specs[requests].limit),
    'x-ratelimit-remaining-requests': String(result.remaining[requests]),
    'x-ratelimit-limit-tokens': String(specs[tokens].limit),
    'x-ratelimit-remaining-tokens': String(result.remaining[tokens]),
  };
}

// ---------------------------------------------------------------------------------------------
// The estimate

/**
 * Tokens a request may consume, as Azure estimates at admission: its prompt tokens plus the most
 * it may generate, `max_completion_tokens` (or `max_tokens`, else the operation's default) for
 * each of max(`n`, `best_of`) choices (and, for completions, for each prompt).
 *
 * Chat prompts follow OpenAI's published counting recipe: 3 tokens per message plus the tokens
 * of its role, content, name (+1) and tool calls, plus 3 priming the reply. Text parts count as
 * text, each image part a flat IMAGE_PART_TOKENS (the low-detail cost; the estimate does not
 * fetch or size images), other parts nothing. Tool definitions count as their JSON text.
 * Fields of the wrong type are ignored: validation is another stage's job.
 */
export function estimateRequestTokens(
  operation: Operation,
  body: JsonObject,
  model: string,
  defaultMaxTokens: Readonly<Record<Operation, number>> = DEFAULT_MAX_TOKENS,
): number {
  const encoding = encodingForModel(model);
  switch (operation) {
    case 'chat':
      return chatPromptTokens(body, encoding) + completionBudget(body, defaultMaxTokens.chat, 1);
    case 'completions': {
      const prompt = inputTokens(body.prompt, encoding) + (typeof body.suffix === 'string' ? countPromptTokens(body.suffix, encoding) : 0);
      return prompt + completionBudget(body, defaultMaxTokens.completions, inputCount(body.prompt));
    }
    case 'embeddings':
      return inputTokens(body.input, encoding) + defaultMaxTokens.embeddings;
    case 'images':
      return (typeof body.prompt === 'string' ? countPromptTokens(body.prompt, encoding) : 0) + defaultMaxTokens.images;
  }
}

function completionBudget(body: JsonObject, defaultMaxTokens: number, prompts: number): number {
  const perChoice = nonNegativeInteger(body.max_completion_tokens) ?? nonNegativeInteger(body.max_tokens) ?? defaultMaxTokens;
  const choices = Math.max(1, nonNegativeInteger(body.n) ?? 1, nonNegativeInteger(body.best_of) ?? 1);
  return perChoice * choices * prompts;
}

/**
 * The part of the estimate that is generation allowance, for the refusal text: `max_tokens` per
 * choice, whether the request set it, and how many times it counts (choices x prompts). Undefined
 * for operations that generate no text.
 */
function completionAllowance(
  operation: Operation,
  body: JsonObject,
  defaults: Readonly<Record<Operation, number>>,
): { perChoice: number; explicit: boolean; multiplier: number; total: number } | undefined {
  if (operation !== 'chat' && operation !== 'completions') return undefined;
  const set = nonNegativeInteger(body.max_completion_tokens) ?? nonNegativeInteger(body.max_tokens);
  const perChoice = set ?? defaults[operation];
  const multiplier =
    Math.max(1, nonNegativeInteger(body.n) ?? 1, nonNegativeInteger(body.best_of) ?? 1) * (operation === 'completions' ? inputCount(body.prompt) : 1);
  return { perChoice, explicit: set !== undefined, multiplier, total: perChoice * multiplier };
}

/** Names what is limited as OpenAI does ("gpt-4o in organization org-…"): the deployment, and the project when the limit is the project's. */
function scopeText(request: AdmissionRequest, projectLimit: boolean): string {
  return projectLimit ? `${request.deployment} in project ${request.projectId}` : request.deployment;
}

/** A wait as OpenAI writes it: `640ms` under a second, else seconds with up to three decimals (`7.5s`). */
function formatDelay(ms: number): string {
  const rounded = Math.max(0, Math.ceil(ms));
  return rounded < 1000 ? `${rounded}ms` : `${Number((rounded / 1000).toFixed(3))}s`;
}

function nonNegativeInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function textTokens(value: unknown, encoding: EncodingName): number {
  return typeof value === 'string' ? countPromptTokens(value, encoding) : 0;
}

function chatPromptTokens(body: JsonObject, encoding: EncodingName): number {
  let total = 3;
  if (Array.isArray(body.messages)) {
    for (const message of body.messages) {
      if (!isObject(message)) continue;
      total += 3 + textTokens(message.role, encoding) + contentTokens(message.content, encoding);
      if (typeof message.name === 'string') total += countPromptTokens(message.name, encoding) + 1;
      if (typeof message.tool_call_id === 'string') total += countPromptTokens(message.tool_call_id, encoding);
      if (Array.isArray(message.tool_calls)) {
        for (const call of message.tool_calls) if (isObject(call)) total += functionCallTokens(call.function, encoding);
      }
      total += functionCallTokens(message.function_call, encoding);
    }
  }
  if (Array.isArray(body.tools) && body.tools.length > 0) total += countPromptTokens(JSON.stringify(body.tools), encoding);
  if (Array.isArray(body.functions) && body.functions.length > 0) total += countPromptTokens(JSON.stringify(body.functions), encoding);
  return total;
}

function functionCallTokens(call: unknown, encoding: EncodingName): number {
  return isObject(call) ? textTokens(call.name, encoding) + textTokens(call.arguments, encoding) : 0;
}

function contentTokens(content: unknown, encoding: EncodingName): number {
  if (typeof content === 'string') return countPromptTokens(content, encoding);
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const part of content) {
    if (!isObject(part)) continue;
    if (part.type === 'text') total += textTokens(part.text, encoding);
    else if (part.type === 'image_url') total += IMAGE_PART_TOKENS;
    else if (part.type === 'refusal') total += textTokens(part.refusal, encoding);
  }
  return total;
}

/**
 * Tokens of a completions `prompt` or embeddings `input`: a string, an array of strings, an array
 * of token ids, or an array of token-id arrays.
 */
function inputTokens(input: unknown, encoding: EncodingName): number {
  if (typeof input === 'string') return countPromptTokens(input, encoding);
  if (!Array.isArray(input)) return 0;
  let total = 0;
  for (const item of input) {
    if (typeof item === 'string') total += countPromptTokens(item, encoding);
    else if (typeof item === 'number') total += 1;
    else if (Array.isArray(item)) total += item.length;
  }
  return total;
}

/** How many prompts an input holds: each array element, except that an array of token ids is one. */
function inputCount(input: unknown): number {
  if (!Array.isArray(input) || input.length === 0) return 1;
  return typeof input[0] === 'number' ? 1 : input.length;
}
