import { ContentFilterError } from '../errors/catalogue.js';
import type { InferenceContext } from '../pipeline/context.js';
import type { FilterStage } from '../pipeline/filter.js';
import type { JsonObject } from '../providers/provider.js';
import { promptFilterResults, type ContentFilterResults } from './annotations.js';
import type { BlocklistScanner, ContentFilter, FilterDecision } from './content-filter.js';

/** Resolves which policy (if any) applies to a request, and the custom blocklists of its project. */
export interface FilterResolver {
  /** Undefined means unfiltered (`none`); a policy that should apply but does not exist throws, so the request fails closed. */
  filterFor(deployment: string, projectId: string | undefined): ContentFilter | undefined;
  blocklistsFor(filter: ContentFilter, projectId: string | undefined): BlocklistScanner | undefined;
}

/** Told about every decision (abuse monitoring, metrics). Must not throw or block. */
export interface SafetyObserver {
  observe(context: InferenceContext, direction: 'prompt' | 'completion', decision: FilterDecision, text: string): void;
}

/** A streaming PII redactor, as src/safety/pii/ provides one. */
export interface StreamRedactor {
  push(text: string): string;
  flush(): string;
}

export interface ContentSafetyOptions {
  resolver: FilterResolver;
  observers?: readonly SafetyObserver[];
  /** Creates a streaming redactor for completions when the policy redacts PII. */
  streamRedactor?: (filter: ContentFilter) => StreamRedactor | undefined;
}

interface ChoiceState {
  index: number;
  /**
   * The choice's text from character `dropped` on: what is not judged yet plus the overlap the
   * next check re-reads. Judged text is let go, so a long answer costs a stream no more memory than
   * a check window (and slicing for a check never copies the whole answer).
   */
  text: string;
  dropped: number;
  /** Characters of the choice's text seen so far. */
  length: number;
  /** Characters of the choice's text already judged. */
  checked: number;
  /** Check windows judged so far (each window doubles, up to the policy's size). */
  windows: number;
  /** Chunks held back until their text is judged (buffered mode). */
  pending: JsonObject[];
  /** Stopped by a violation: the rest of this choice is dropped. */
  finished: boolean;
  /** Judged to the end (its last check reported): later frames of the choice pass as they are. */
  closed: boolean;
  redactor: StreamRedactor | undefined;
  /** Async mode: the check in flight and its window. */
  inflight?: { promise: Promise<FilterDecision>; settled?: FilterDecision; start: number; end: number; checkOffset: number };
}

/** Characters re-read before a window, so a phrase split across two checks is still seen whole. */
const OVERLAP = 200;
/** Size of a stream's first check window, in characters. */
const FIRST_WINDOW = 32;
/**
 * Chunks a choice may hold back in buffered mode before what it holds is judged and released,
 * however little text they carry: deltas without text (tool-call arguments) behind a few words
 * would otherwise pile up unread by the caller, and the upstream with them.
 */
const MAX_HELD_CHUNKS = 64;

type Choice = { index?: number; delta?: { content?: unknown }; text?: unknown; finish_reason?: unknown; message?: { content?: unknown } };

function choiceText(choice: Choice): string {
  if (typeof choice.delta?.content === 'string') return choice.delta.content;
  if (typeof choice.text === 'string') return choice.text;
  return '';
}

/** Puts (redacted) text back; a finishing frame without content gets the text a redactor held back. */
function setChoiceText(choice: Choice, text: string): void {
  if (typeof choice.text === 'string') choice.text = text;
  else if (choice.delta && (typeof choice.delta.content === 'string' || text !== '')) choice.delta.content = text;
}

/**
 * The filter stages with a content-safety policy: the prompt is judged before the provider is
 * called; complete responses are annotated per choice; streams are judged as they flow, in
 * Azure's buffered mode (text released only once judged) or asynchronous mode (relayed at once,
 * judged behind, stopped within one check window of a violation).
 */
export class ContentSafetyStage implements FilterStage {
  private readonly options: ContentSafetyOptions;

  constructor(options: ContentSafetyOptions) {
    this.options = options;
  }

  private observe(context: InferenceContext, direction: 'prompt' | 'completion', decision: FilterDecision, text: string): void {
    const observers = this.options.observers;
    if (observers) for (const observer of observers) observer.observe(context, direction, decision, text);
  }

  private filterOf(context: InferenceContext): ContentFilter | undefined {
    return this.options.resolver.filterFor(context.deployment, context.projectId);
  }

  applies(context: InferenceContext): boolean {
    return this.filterOf(context) !== undefined;
  }

  async checkPrompt(context: InferenceContext): Promise<void> {
    const filter = this.filterOf(context);
    if (!filter) return;
    // The operation says how its prompt is read (src/api/): every text part, tool results as documents.
    const reader = context.api.prompt;
    const redactor = filter.redacts('prompt');
    if (redactor) {
      const redacted = reader.redact(context.body, (text) => {
        const matches = redactor.detect(text);
        return matches.length === 0 ? undefined : redactor.redact(text, matches);
      });
      if (redacted) {
        context.body = redacted;
        context.filtered = true;
      }
    }
    const prompt = reader.read(context.body);
    if (!prompt) return;
    const blocklists = this.options.resolver.blocklistsFor(filter, context.projectId);
    const decision = await filter.check({ text: prompt.text, direction: 'prompt', documents: prompt.documents }, blocklists, context.signal);
    this.observe(context, 'prompt', decision, prompt.text);
    context.promptFilterResults = decision.results;
    if (decision.blocked) {
      context.filtered = true;
      throw new ContentFilterError(decision.results);
    }
  }

  async checkResponse(context: InferenceContext, body: JsonObject): Promise<JsonObject> {
    const filter = this.filterOf(context);
    if (!filter) return body;
    const out: JsonObject = { ...body };
    if (context.promptFilterResults) out.prompt_filter_results = promptFilterResults(context.promptFilterResults as ContentFilterResults);
    if (context.operation !== 'chat' && context.operation !== 'completions') return out;
    const blocklists = this.options.resolver.blocklistsFor(filter, context.projectId);
    const choices = Array.isArray(body.choices) ? (body.choices as Choice[]) : [];
    // Choices are judged concurrently; the usual single choice skips Promise.all's machinery.
    out.choices =
      choices.length === 1
        ? [await this.judgeChoice(context, filter, choices[0], blocklists)]
        : await Promise.all(choices.map((original) => this.judgeChoice(context, filter, original, blocklists)));
    return out;
  }

  /** A copy of one choice of a complete response, redacted and annotated, emptied if blocked. */
  private async judgeChoice(context: InferenceContext, filter: ContentFilter, original: Choice, blocklists: BlocklistScanner | undefined): Promise<JsonObject> {
    const redactor = filter.redacts('completion');
    const choice: Choice & JsonObject = { ...(original as JsonObject) };
    if (choice.message) choice.message = { ...choice.message };
    let text = typeof choice.message?.content === 'string' ? choice.message.content : typeof choice.text === 'string' ? choice.text : '';
    if (redactor && text) {
      const redacted = redactor.redact(text, redactor.detect(text));
      if (redacted !== text) {
        text = redacted;
        if (choice.message) choice.message.content = text;
        else choice.text = text;
        context.filtered = true;
      }
    }
    const decision = await filter.check({ text, direction: 'completion' }, blocklists, context.signal);
    this.observe(context, 'completion', decision, text);
    choice.content_filter_results = decision.results;
    if (decision.blocked) {
      context.filtered = true;
      choice.finish_reason = 'content_filter';
      if (choice.message) choice.message.content = null;
      else choice.text = '';
    }
    return choice;
  }

  filterStream(context: InferenceContext, chunks: AsyncIterable<JsonObject>): AsyncIterable<JsonObject> {
    const filter = this.filterOf(context);
    if (!filter) return chunks;
    const judged = this.judgeStream(context, chunks, filter);
    // OpenAI routes with annotations opted in: the prompt's annotations ride on the first chunk,
    // since a frame with no choices is only valid there as the final usage chunk.
    if (context.shape !== 'azure' && filter.policy.stream_annotations_openai && context.promptFilterResults) {
      return withPromptResults(judged, promptFilterResults(context.promptFilterResults as ContentFilterResults));
    }
    return judged;
  }

  private async *judgeStream(context: InferenceContext, chunks: AsyncIterable<JsonObject>, filter: ContentFilter): AsyncGenerator<JsonObject> {
    const policy = filter.policy;
    const buffered = policy.stream_mode === 'buffered';
    const windowChars = policy.stream_check_chars;
    // Check windows start small and double up to the policy's size: the first words of an answer
    // are released (buffered mode) after a few dozen characters, not after a whole window, while
    // long answers are still checked in full-size windows.
    const windowFor = (state: ChoiceState): number => Math.min(windowChars, FIRST_WINDOW * 2 ** state.windows);
    // Azure routes get Azure's frames as Azure sends them (annotation frames without a delta, a
    // first frame with no choices); OpenAI routes get none unless opted in, and then only frames
    // valid against OpenAI's chunk schema (an empty delta on annotation frames).
    const azure = context.shape === 'azure';
    const annotate = azure ? policy.stream_annotations : policy.stream_annotations_openai;
    const blocklists = this.options.resolver.blocklistsFor(filter, context.projectId);
    const states = new Map<number, ChoiceState>();
    let template: JsonObject | undefined;

    if (azure && annotate && context.promptFilterResults) {
      yield {
        id: '',
        object: '',
        created: 0,
        model: '',
        prompt_filter_results: promptFilterResults(context.promptFilterResults as ContentFilterResults),
        choices: [],
      };
    }

    const stateOf = (index: number): ChoiceState => {
      let state = states.get(index);
      if (!state) {
        state = {
          index,
          text: '',
          dropped: 0,
          length: 0,
          checked: 0,
          windows: 0,
          pending: [],
          finished: false,
          closed: false,
          redactor: filter.redacts('completion') ? this.options.streamRedactor?.(filter) : undefined,
        };
        states.set(index, state);
      }
      return state;
    };
    const frame = (index: number, fields: JsonObject): JsonObject => ({
      id: template?.id ?? '',
      object: template?.object ?? 'chat.completion.chunk',
      created: template?.created ?? 0,
      model: template?.model ?? '',
      choices: [{ index, finish_reason: null, ...fields }],
    });
    const stopFrame = (state: ChoiceState, results: ContentFilterResults): JsonObject =>
      frame(state.index, { delta: {}, finish_reason: 'content_filter', content_filter_results: results });
    const annotation = (state: ChoiceState, fields: JsonObject): JsonObject => frame(state.index, azure ? fields : { delta: {}, ...fields });
    const judge = (state: ChoiceState, start: number, end: number): Promise<FilterDecision> => {
      state.windows += 1;
      const text = state.text.slice(Math.max(0, start - OVERLAP) - state.dropped, end - state.dropped);
      // Checks run in order and the next starts at `end`: only its overlap needs keeping.
      const keepFrom = Math.max(0, end - OVERLAP);
      if (keepFrom > state.dropped) {
        state.text = state.text.slice(keepFrom - state.dropped);
        state.dropped = keepFrom;
      }
      return filter.check({ text, direction: 'completion' }, blocklists, context.signal).then((decision) => {
        this.observe(context, 'completion', decision, text);
        return decision;
      });
    };
    const allFinished = (): boolean => states.size > 0 && [...states.values()].every((state) => state.finished);

    /** Buffered mode: judge what is held for a choice, then release it or stop the choice. */
    const release = async function* (state: ChoiceState, final: boolean): AsyncGenerator<JsonObject> {
      if (state.finished || state.closed) return;
      if (final) state.closed = true;
      // A final release with nothing new judges only a choice never judged (an empty answer):
      // repeating the last verdict would send the same annotation twice.
      if (state.length > state.checked || (final && state.windows === 0)) {
        const decision = await judge(state, state.checked, state.length);
        state.checked = state.length;
        if (decision.blocked) {
          context.filtered = true;
          state.finished = true;
          state.pending = [];
          yield stopFrame(state, decision.results);
          return;
        }
        // The verdict rides on the last chunk it released, as Azure annotates content chunks; a
        // separate frame only when nothing is released with it.
        const last = state.pending.at(-1);
        if (annotate && last) (last.choices as JsonObject[])[0].content_filter_results = decision.results;
        yield* state.pending;
        state.pending = [];
        if (annotate && !last) yield annotation(state, { content_filter_results: decision.results });
        return;
      }
      yield* state.pending;
      state.pending = [];
    };

    /** Async mode: report a finished check; true when it stopped the choice. */
    const settle = function* (state: ChoiceState): Generator<JsonObject, boolean> {
      const inflight = state.inflight;
      if (!inflight?.settled) return false;
      state.inflight = undefined;
      const decision = inflight.settled;
      if (decision.blocked) {
        context.filtered = true;
        state.finished = true;
        yield stopFrame(state, decision.results);
        return true;
      }
      if (annotate) {
        yield annotation(state, {
          content_filter_results: decision.results,
          content_filter_offsets: { check_offset: inflight.checkOffset, start_offset: inflight.start, end_offset: inflight.end },
        });
      }
      return false;
    };
    const startCheck = (state: ChoiceState, relayed: number): void => {
      const start = state.checked;
      const end = state.length;
      state.checked = end;
      const inflight: NonNullable<ChoiceState['inflight']> = { promise: judge(state, start, end), start, end, checkOffset: relayed };
      inflight.promise.then((decision) => (inflight.settled = decision)).catch(() => undefined);
      state.inflight = inflight;
    };

    /** Judges what is left of a choice and reports it, once: nothing about a choice follows. */
    const close = async function* (state: ChoiceState): AsyncGenerator<JsonObject> {
      if (buffered) return yield* release(state, true);
      if (state.finished || state.closed) return;
      state.closed = true;
      if (state.inflight) {
        await state.inflight.promise.catch(() => undefined);
        if (yield* settle(state)) return;
      }
      if (state.length > state.checked) {
        startCheck(state, state.length);
        await state.inflight?.promise.catch(() => undefined);
        yield* settle(state);
      }
    };

    for await (const chunk of chunks) {
      const choices = chunk.choices as Choice[] | undefined;
      if (!choices || choices.length === 0) {
        // The usage chunk is the last before [DONE]: every choice is judged and reported first.
        if (chunk.usage != null) for (const state of states.values()) yield* close(state);
        yield chunk;
        continue;
      }
      template ??= { id: chunk.id, object: chunk.object, created: chunk.created, model: chunk.model };
      // OpenAI-shaped streams carry one choice per chunk; a chunk with several is judged per choice.
      for (const choice of choices) {
        const state = stateOf(typeof choice.index === 'number' ? choice.index : 0);
        if (state.finished) continue;
        if (state.closed) {
          yield choices.length === 1 ? chunk : { ...chunk, choices: [choice] };
          continue;
        }
        let text = choiceText(choice);
        if (state.redactor) {
          text = state.redactor.push(text);
          if (choice.finish_reason) text += state.redactor.flush();
          setChoiceText(choice, text);
        }
        state.text += text;
        state.length += text.length;
        const single: JsonObject = choices.length === 1 ? chunk : { ...chunk, choices: [choice] };
        const ending = choice.finish_reason !== null && choice.finish_reason !== undefined;
        if (buffered) {
          if (text === '' && !ending && state.pending.length === 0) {
            // Nothing to judge (the role frame, tool-call deltas): no reason to hold it back.
            yield single;
            continue;
          }
          state.pending.push(single);
          if (ending) yield* close(state);
          else if (state.length - state.checked >= windowFor(state) || state.pending.length >= MAX_HELD_CHUNKS) yield* release(state, false);
        } else {
          if (state.inflight?.settled && (yield* settle(state))) {
            if (allFinished()) return;
            continue;
          }
          yield single;
          // The last check of a choice is waited for: its verdict closes the choice.
          if (ending) yield* close(state);
          else if (!state.inflight && state.length - state.checked >= windowFor(state)) startCheck(state, state.length);
        }
      }
      if (allFinished()) return;
    }
    for (const state of states.values()) yield* close(state);
  }
}

/** Puts `prompt_filter_results` on the first chunk of a stream. */
async function* withPromptResults(chunks: AsyncIterable<JsonObject>, results: JsonObject[]): AsyncGenerator<JsonObject> {
  let first = true;
  for await (const chunk of chunks) {
    if (first) {
      first = false;
      yield { ...chunk, prompt_filter_results: results };
    } else {
      yield chunk;
    }
  }
}
