import { randomFillSync } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isValidSpanId, isValidTraceId, propagation, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';

/** W3C Trace Context headers to send upstream: `traceparent`, and `tracestate` when the caller sent one. */
export type TraceHeaders = Readonly<Record<string, string>>;

// https://www.w3.org/TR/trace-context/#traceparent-header-field-values: version 00 is the only one
// defined; a later version's first four fields are read the same way.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const TRACESTATE_MAX = 512;

// Ids come from a pool of random bytes refilled 4 KiB at a time: one getrandom(2) per ~170 requests
// instead of two per request (which cost ~8% of a request's CPU at saturation).
const POOL = Buffer.allocUnsafe(4096);
let poolOffset = POOL.length;

/** `bytes` random bytes as hex, from the pool (trace ids, and the ids of Responses API objects). */
export function randomHex(bytes: number): string {
  if (poolOffset + bytes > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const hex = POOL.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

/** A random id of `bytes` bytes that is not all zeros (the spec's invalid value). */
function randomId(bytes: number): string {
  let id = randomHex(bytes);
  while (/^0+$/.test(id)) id = randomHex(bytes);
  return id;
}

const setter = {
  set(carrier: Record<string, string>, key: string, value: string) {
    carrier[key] = value;
  },
};

/**
 * The trace context for a request's upstream call. A caller's valid `traceparent` continues its
 * trace: same trace id and flags, with a new parent id, since Cerulean is the hop in between (its
 * `tracestate` goes along). Without one (or with a malformed one, which the spec says to ignore)
 * a new trace starts. When an OpenTelemetry propagator is registered (an SDK loaded with the
 * process) it writes the headers; otherwise they are written here.
 */
export function traceHeadersFor(headers: IncomingHttpHeaders): TraceHeaders {
  const caller = typeof headers.traceparent === 'string' ? TRACEPARENT.exec(headers.traceparent.trim().toLowerCase()) : null;
  const continued =
    caller !== null && caller[1] !== 'ff' && !(caller[1] === '00' && caller[5] !== undefined) && isValidTraceId(caller[2]) && isValidSpanId(caller[3]);
  const traceId = continued ? caller[2] : randomId(16);
  const traceFlags = continued ? Number.parseInt(caller[4], 16) & TraceFlags.SAMPLED : TraceFlags.NONE;
  const spanId = randomId(8);
  const state = continued && typeof headers.tracestate === 'string' && headers.tracestate.length <= TRACESTATE_MAX ? headers.tracestate : undefined;

  const out: Record<string, string> = {};
  propagation.inject(trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId, traceFlags, isRemote: false }), out, setter);
  if (out.traceparent === undefined) {
    out.traceparent = `00-${traceId}-${spanId}-${traceFlags.toString(16).padStart(2, '0')}`;
  }
  if (state !== undefined && out.tracestate === undefined) out.tracestate = state;
  return out;
}
