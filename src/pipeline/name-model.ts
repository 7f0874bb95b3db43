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
