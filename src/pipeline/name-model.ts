import type { JsonObject } from '../providers/provider.js';
import type { InferenceContext } from './context.js';
import type { DeploymentRoutes } from './pick-target.js';

/**
 * Stage "name the model": which `model` the answer names. A deployment that routes (several targets
 * or fallbacks) answers under the name the caller asked for, whichever upstream answered, unless its
 * `response_model` says `upstream`; a one-target deployment keeps each API's own way (the upstream's
 * name on chat and completions, the caller's on Responses and Messages) unless the option is set. An
 * answer relayed natively (the upstream spoke the caller's API) is changed only by the option itself.
 * Decided once the provider call answered (the route that answered is then known).
 */
export function nameModel(context: InferenceContext, routes: DeploymentRoutes | undefined): void {
  const mode = routes?.responseModel;
  if (mode === undefined) return;
  if (context.answeredNatively) {
    if (mode === 'requested' && routes?.responseModelExplicit) context.renameModel = context.requestedModel ?? context.deployment;
    return;
  }
  if (mode === 'requested') context.renameModel = context.answerModel = context.requestedModel ?? context.deployment;
  else if (context.route) context.answerModel = context.route.target.model;
}

/**
 * Writes `name` over the `model` of an answer or stream chunk: the internal (chat, completions)
 * shape's top-level field, and in a native answer also the Response or Message an event carries
 * (`response.created`, `message_start`). Fields absent stay absent.
 */
export function renameModel(body: JsonObject, name: string): void {
  if (typeof body.model === 'string') body.model = name;
  for (const key of ['response', 'message'] as const) {
    const nested = body[key] as JsonObject | undefined;
    if (nested !== null && typeof nested === 'object' && typeof nested.model === 'string') nested.model = name;
  }
}

/** A `"model"` key and its string value, as JSON writes it, whatever the spacing. */
const MODEL_FIELD = /"model"\s*:\s*"((?:[^"\\]|\\.)*)"/g;

/**
 * The upstream's JSON text with its one `model` field, whose value is `from`, naming `to` instead:
 * the answer keeps the upstream's bytes rather than being serialized anew (a cost paid on every
 * answer of a routing deployment). Undefined, to serialize the parsed body instead, unless exactly
 * one `"model"` key is in the text: a key inside a string is escaped (`\"model\"`) and never
 * matches, so one match is the top-level field.
 */
export function renamedRaw(raw: string, from: string, to: string): string | undefined {
  MODEL_FIELD.lastIndex = 0;
  const first = MODEL_FIELD.exec(raw);
  if (!first || MODEL_FIELD.exec(raw) !== null) return undefined;
  // The value as written must be the one parsed (no escapes to decode), else serialize anew.
  if (first[1] !== from) return undefined;
  const valueStart = first.index + first[0].length - from.length - 1;
  return `${raw.slice(0, valueStart)}${JSON.stringify(to).slice(1, -1)}${raw.slice(valueStart + from.length)}`;
}
