import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { CeruleanError, UpstreamTimeoutError, UpstreamUnreachableError } from '../errors/catalogue.js';
import type { JsonObject, ProviderResponse } from '../providers/provider.js';
import type { UpstreamResponse } from '../providers/upstream-client.js';
import type { InferenceContext } from './context.js';
import type { Route } from './pick-target.js';

/** The upstream's answer; `status` is its HTTP status. */
export type ProviderResult =
  { kind: 'json'; status: number; response: ProviderResponse } | { kind: 'stream'; status: number; chunks: AsyncIterable<JsonObject> };

/** The provider call as the pipeline makes it: the seam a later stage (fallback routing, caching) wraps. */
export type ProviderCall = (context: InferenceContext, route: Route) => Promise<ProviderResult>;

/** Stage "call the provider": translate, send with retries, translate back. */
export async function callProvider(context: InferenceContext, route: Route, onRetry: (reason: string) => void): Promise<ProviderResult> {
  const native = context.api.native?.(context);
  const built =
    (native && route.provider.nativeRequest?.(context.api.name, native.body, route.target, context.stream, native.betas)) ||
    route.provider.buildRequest(context.operation, context.body, route.target, context.stream);
  // Providers share one headers object across requests; the trace context is this request's own.
  const request = context.traceHeaders ? { ...built, headers: { ...built.headers, ...context.traceHeaders } } : built;
  // A native request whose upstream answers in the caller's API: relayed as it is, not translated.
  if (request.answerInCallerApi) context.answeredNatively = true;
  // The request's own controller is lent to the client (one fewer per request) unless another target
  // may take over after a timeout: then the attempt's timeout must end the attempt only.
  const sendOptions = {
    deployment: context.deployment,
    signal: context.signal,
    abort: context.failoverPossible ? undefined : context.abort,
    deadlineAt: context.deadlineAt,
    onRetry,
  };
  const where = `Deployment "${context.deployment}" (provider "${route.provider.name}")`;
  if (context.stream) {
    const response = await route.client.send(request, sendOptions);
    context.attempts = response.attempts;
    const contentType = String(response.headers['content-type'] ?? '');
    if (contentType.includes('text/event-stream')) {
      const idleMs = route.client.idleMs;
      return {
        kind: 'stream',
        status: response.status,
        chunks: context.answeredNatively ? relayNativeStream(context, response, where, idleMs) : relayStream(context, route, response, where, idleMs),
      };
    }
    // Whatever else came back, it is not something to relay as a stream.
    response.body.destroy();
    throw new UpstreamUnreachableError(`${where} answered a streaming request without an event stream (content-type "${contentType}").`);
  }
  const response = await route.client.sendBuffered(request, sendOptions);
  context.attempts = response.attempts;
  const text = response.text;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UpstreamUnreachableError(`${where} answered with a body that is not JSON.`);
  }
  if (context.answeredNatively) {
    return { kind: 'json', status: response.status, response: { body: json as JsonObject, raw: text, usage: context.api.nativeUsage?.(json as JsonObject) } };
  }
  const parsed = route.provider.parseResponse(context.operation, json, route.target, context.body);
  // Upstreams that answer in OpenAI's shape already: their bytes can be relayed as they are.
  if (route.provider.speaksOpenAI && parsed.raw === undefined) parsed.raw = text;
  return { kind: 'json', status: response.status, response: parsed };
}

/**
 * The upstream's server-sent events as they arrive, each passed through `translate`, never
 * buffering a stream; the upstream socket is released however the stream ends.
 *
 * A stream that stays silent for `idleMs` while it is waited on (a stall) is ended with an
 * UpstreamTimeoutError of phase `idle`: time the caller's side takes to consume a chunk is not the
 * upstream's silence and is not counted. One timer per stream, re-armed per chunk (`refresh`).
 */
async function* upstreamEvents(
  context: InferenceContext,
  response: UpstreamResponse,
  where: string,
  idleMs: number,
  translate: (event: EventSourceMessage) => Iterable<JsonObject>,
): AsyncGenerator<JsonObject> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  const decoder = new TextDecoder();
  let waiting = true;
  let stalled: UpstreamTimeoutError | undefined;
  const idle = setTimeout(function onIdle() {
    if (!waiting) return void idle.refresh();
    stalled = new UpstreamTimeoutError(`${where} stalled: nothing in its stream for ${idleMs} ms.`, undefined, 'idle');
    response.body.destroy(stalled);
  }, idleMs);
  try {
    for await (const bytes of response.body) {
      waiting = false;
      parser.feed(decoder.decode(bytes as Uint8Array, { stream: true }));
      while (pending.length > 0) yield* translate(pending.shift() as EventSourceMessage);
      waiting = true;
      idle.refresh();
    }
  } catch (error) {
    if (stalled) throw stalled;
    if (context.signal.aborted) throw context.signal.reason ?? error;
    if (error instanceof CeruleanError) throw error;
    const what = error instanceof SyntaxError ? 'sent a malformed stream event' : 'broke off the stream';
    throw new UpstreamUnreachableError(`${where} ${what}.`, error);
  } finally {
    clearTimeout(idle);
    // Whether finished, failed or abandoned by the caller: release the upstream socket.
    if (!response.body.destroyed) response.body.destroy();
  }
}

/** The upstream's stream as internal chunks, translated by the provider as they arrive. */
async function* relayStream(context: InferenceContext, route: Route, response: UpstreamResponse, where: string, idleMs: number): AsyncGenerator<JsonObject> {
  const translator = route.provider.createStreamTranslator(context.operation, route.target);
  yield* upstreamEvents(context, response, where, idleMs, (event) => translator.push({ event: event.event, data: event.data }));
  for (const chunk of translator.end()) yield chunk;
}

/** An upstream stream in the caller's own API: each event's data, parsed, in order (the event name is its `type`). */
function relayNativeStream(context: InferenceContext, response: UpstreamResponse, where: string, idleMs: number): AsyncGenerator<JsonObject> {
  return upstreamEvents(context, response, where, idleMs, (event) =>
    event.data === '' || event.data === '[DONE]' ? [] : [JSON.parse(event.data) as JsonObject],
  );
}
