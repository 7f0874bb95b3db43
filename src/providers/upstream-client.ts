import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, type Dispatcher } from 'undici';
import type { ProviderConfig } from '../config/schema.js';
import { CeruleanError, UpstreamStatusError, UpstreamTimeoutError, UpstreamUnreachableError } from '../errors/catalogue.js';
import type { Provider, UpstreamErrorDetail, UpstreamRequest } from './provider.js';

/** Raised when the caller went away; nothing is rendered for it since nobody is listening. */
export class ClientAbortedError extends Error {
  constructor() {
    super('client closed the connection');
  }
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  /** How many attempts were made, 1 when the first succeeded. */
  attempts: number;
}

/** A response read to the end (`sendBuffered`). */
export interface BufferedUpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** How many attempts were made, 1 when the first succeeded. */
  attempts: number;
}

/** What one attempt yields to the retry loop: its status, the error body on demand, the result on success. */
interface Attempt<T> {
  status: number;
  headers: UpstreamResponse['headers'];
  errorText(): Promise<string>;
  /** The caller's result; `release` clears the attempt's timer once the exchange is over. */
  success(release: () => void, attempts: number): T;
}

/** The upstream answered a status line, then broke off its body. */
class BrokenBodyError extends Error {
  readonly status: number;
  constructor(status: number, cause: unknown) {
    super(`upstream broke off its response (status ${status})`, { cause });
    this.status = status;
  }
}

/**
 * What ends one buffered attempt that another target may follow (a timeout must end the attempt,
 * not the request): the exchange listens to the caller's signal once, as always, and is told of
 * this directly. Cheaper per attempt than an AbortController chained to the caller's signal (no
 * EventTarget to make, no second listener on the caller's), a cost every request of a deployment
 * with several targets paid. Streams still get a controller: undici's stream needs a signal.
 */
class AttemptAbort {
  aborted = false;
  reason: unknown;
  /** The running exchange's abort, while there is one. */
  onAbort: (() => void) | undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.onAbort?.();
  }
}

export interface SendOptions {
  /** Deployment name, for messages. */
  deployment: string;
  /** Aborted when the caller disconnects. */
  signal: AbortSignal;
  /**
   * Aborts `signal`'s controller: when given, no controller is made per attempt, and the total
   * timeout aborts the caller's controller with an UpstreamTimeoutError (timeouts are never retried).
   */
  abort?: (reason: unknown) => void;
  /**
   * When the request's overall deadline ends (ms since the epoch): each attempt's timeouts are cut
   * to what is left of it (the attempt then ends in an UpstreamTimeoutError of phase `deadline`),
   * and no retry starts, nor a backoff that would outlast it.
   */
  deadlineAt?: number;
  onRetry?: (reason: string) => void;
}

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504, 529]);
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);
const TIMEOUT_ERRORS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * A refusal no retry can cure: the provider account's quota is used up (`insufficient_quota`), the
 * request is larger than the provider's own TPM limit ("Request too large for ..."), or the
 * upstream says so (`x-should-retry: false`, which OpenAI's SDKs honour). Such an answer is not
 * retried here and is passed on with `x-should-retry: false` and no `retry-after`.
 */
function cannotBeCured(status: number, detail: UpstreamErrorDetail, headers: UpstreamResponse['headers']): boolean {
  if (headers['x-should-retry'] === 'false') return true;
  if (status !== 429) return false;
  return detail.code === 'insufficient_quota' || detail.type === 'insufficient_quota' || detail.message.startsWith('Request too large for ');
}

/** Seconds to wait as the upstream advised in `retry-after-ms` or `retry-after` (seconds or an HTTP date). */
export function retryAfterSeconds(headers: UpstreamResponse['headers']): number | undefined {
  const ms = Number(headers['retry-after-ms']);
  if (Number.isFinite(ms) && ms >= 0 && headers['retry-after-ms'] !== undefined) return ms / 1000;
  const value = headers['retry-after'];
  if (typeof value !== 'string' || value === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Sends provider requests over one keep-alive undici pool per provider, with connect, first-byte and
 * total timeouts, and retries with exponential backoff for connect errors and 429/5xx. Retries only
 * happen before anything was relayed to the caller, since `send` returns only once an attempt
 * succeeded or failed for good.
 */
export class UpstreamClient {
  private readonly pool: Pool;
  private readonly config: ProviderConfig;
  private readonly provider: Provider;
  private readonly label: string;
  private readonly secret: string | undefined;

  constructor(provider: Provider, config: ProviderConfig) {
    this.provider = provider;
    this.config = config;
    this.label = `provider "${provider.name}"`;
    this.secret = config.api_key || undefined;
    this.pool = new Pool(provider.origin, {
      connections: config.max_connections,
      connect: { timeout: config.timeouts.connect_ms },
      // The first-byte timeout is Cerulean's own timer (see withRetries), and so is a stream's idle
      // timeout (the stream relay's): undici's header and body timeouts run on a coarse timer wheel
      // and fire up to a second late. Its body timeout still bounds a silence in the middle of a
      // buffered body, at that coarser grain.
      headersTimeout: 0,
      bodyTimeout: config.timeouts.idle_ms ?? config.timeouts.first_byte_ms,
      keepAliveTimeout: 30_000,
      pipelining: 1,
    });
  }

  /** How long a stream may stay silent between chunks once it began (`timeouts.idle_ms`, else `first_byte_ms`). */
  get idleMs(): number {
    return this.config.timeouts.idle_ms ?? this.config.timeouts.first_byte_ms;
  }

  /** Waits for in-flight requests, then closes the pool's sockets. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** Upstream text with the provider's credential scrubbed, in case an upstream echoes it. */
  private scrub(text: string): string {
    return this.secret ? text.split(this.secret).join('[redacted]') : text;
  }

  /**
   * Sends a request whose answer is relayed as it arrives (streams): resolves once the upstream's
   * status and headers are in, with the body still to read.
   */
  send(request: UpstreamRequest, options: SendOptions): Promise<UpstreamResponse> {
    return this.withRetries(options, false, async (signal) => {
      const response = await this.pool.request({ method: request.method, path: request.path, headers: request.headers, body: request.body, signal });
      const { statusCode: status, headers, body } = response;
      return {
        status,
        headers,
        errorText: () => body.text(),
        success: (release, attempts) => {
          body.once('close', release);
          body.once('error', release);
          return { status, headers, body, attempts };
        },
      };
    });
  }

  /**
   * Sends a request whose answer is needed whole (everything but streams): resolves with the body
   * read to the end. Goes through undici's dispatch interface with a handler that only collects
   * the bytes: no response stream, no body mixin, no abort-signal bookkeeping inside undici, about
   * half the client's CPU per request of `send`.
   */
  sendBuffered(request: UpstreamRequest, options: SendOptions): Promise<BufferedUpstreamResponse> {
    return this.withRetries(options, true, async (signal, answered, attempt) => {
      const { status, headers, text } = await this.dispatchBuffered(request, signal, answered, attempt);
      return {
        status,
        headers,
        errorText: async () => text,
        success: (release, attempts) => {
          release();
          return { status, headers, text, attempts };
        },
      };
    });
  }

  /**
   * One exchange through `dispatch`, collecting the body; aborted with `signal` or `attempt` (the
   * attempt's own abort, when it has one); `answered` is told when the status line is in.
   */
  private dispatchBuffered(
    request: UpstreamRequest,
    signal: AbortSignal,
    answered: () => void,
    attempt: AttemptAbort | undefined,
  ): Promise<{ status: number; headers: UpstreamResponse['headers']; text: string }> {
    return new Promise((resolve, reject) => {
      let controller: Dispatcher.DispatchController | undefined;
      let status = 0;
      let headers: UpstreamResponse['headers'] = {};
      const chunks: Buffer[] = [];
      const onAbort = (): void => {
        const reason = attempt?.aborted ? attempt.reason : signal.reason;
        controller?.abort(reason instanceof Error ? reason : new ClientAbortedError());
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (attempt) attempt.onAbort = onAbort;
      const settle = (): void => {
        signal.removeEventListener('abort', onAbort);
        if (attempt) attempt.onAbort = undefined;
      };
      this.pool.dispatch(
        { method: request.method, path: request.path, headers: request.headers, body: request.body },
        {
          onRequestStart(started) {
            controller = started;
            if (signal.aborted || attempt?.aborted) onAbort();
          },
          onResponseStart(_controller, statusCode, responseHeaders) {
            answered();
            status = statusCode;
            headers = responseHeaders;
          },
          onResponseData(_controller, chunk) {
            chunks.push(chunk);
          },
          onResponseEnd() {
            settle();
            resolve({ status, headers, text: chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8') });
          },
          onResponseError(_controller, error) {
            settle();
            // After the status line, the upstream broke off its body; before it, the exchange failed.
            reject(status === 0 ? error : new BrokenBodyError(status, error));
          },
        },
      );
    });
  }

  /**
   * The retry loop shared by both ways of sending: per attempt a first-byte and a total timeout
   * (plain timers, exact to the event loop; the exchange calls `answered` once the status line is
   * in, which stops the first-byte timer), an abort signal
   * (the caller's controller when lent, else one chained to the caller's signal), and a retry with
   * backoff for connect errors and retryable statuses, honouring retry-after.
   */
  private async withRetries<T>(
    options: SendOptions,
    buffered: boolean,
    exchange: (signal: AbortSignal, answered: () => void, attempt: AttemptAbort | undefined) => Promise<Attempt<T>>,
  ): Promise<T> {
    const { retry, timeouts } = this.config;
    const where = `Deployment "${options.deployment}" (${this.label})`;
    for (let attempt = 1; ; attempt++) {
      if (options.signal.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : new ClientAbortedError();
      // What is left of the request's deadline bounds this attempt: its own total and first-byte timeouts, if shorter, still apply.
      const left = options.deadlineAt === undefined ? Infinity : options.deadlineAt - Date.now();
      if (left <= 0) throw new UpstreamTimeoutError(`${where} was not tried: the request's deadline had passed.`, undefined, 'deadline');
      const totalMs = Math.min(timeouts.total_ms, Math.ceil(left));
      const bounded = totalMs < timeouts.total_ms;
      // A caller that owns its abort controller lends it (one controller per request, and the
      // total timeout aborts it); otherwise this attempt gets its own: an AttemptAbort for a
      // buffered exchange, a controller chained to the caller's signal for a stream.
      let signal = options.signal;
      let abort = options.abort;
      let unlink: (() => void) | undefined;
      let own: AttemptAbort | undefined;
      if (!abort && buffered) {
        const attemptAbort = (own = new AttemptAbort());
        abort = (reason) => attemptAbort.abort(reason);
      } else if (!abort) {
        const controller = new AbortController();
        const onClientAbort = (): void => controller.abort(new ClientAbortedError());
        options.signal.addEventListener('abort', onClientAbort, { once: true });
        unlink = () => options.signal.removeEventListener('abort', onClientAbort);
        signal = controller.signal;
        abort = (reason) => controller.abort(reason);
      }
      const abortWith = abort;
      const timer = setTimeout(
        () =>
          abortWith(
            bounded
              ? new UpstreamTimeoutError(`${where} was stopped after ${totalMs} ms: the request's deadline passed.`, undefined, 'deadline')
              : new UpstreamTimeoutError(`${where} did not complete within ${totalMs} ms.`, undefined, 'total'),
          ),
        totalMs,
      );
      let firstByte: NodeJS.Timeout | undefined =
        timeouts.first_byte_ms < totalMs
          ? setTimeout(
              () => abortWith(new UpstreamTimeoutError(`${where} did not answer within ${timeouts.first_byte_ms} ms.`, undefined, 'first_byte')),
              timeouts.first_byte_ms,
            )
          : undefined;
      const answered = (): void => {
        if (firstByte === undefined) return;
        clearTimeout(firstByte);
        firstByte = undefined;
      };
      const release = (): void => {
        clearTimeout(timer);
        answered();
        unlink?.();
      };
      let result: Attempt<T>;
      try {
        result = await exchange(signal, answered, own);
        answered();
      } catch (error) {
        release();
        if (own?.aborted) throw own.reason;
        if (signal.aborted) throw signal.reason;
        if (error instanceof BrokenBodyError) {
          throw new UpstreamUnreachableError(`${where} broke off its ${error.status >= 400 ? 'error ' : ''}response.`, error.cause);
        }
        const code = errorCode(error);
        const retryable = code !== undefined && CONNECT_ERRORS.has(code);
        if (retryable && attempt < retry.max_attempts) {
          const delayMs = this.delayMs(attempt, undefined);
          if (this.fitsDeadline(delayMs, options.deadlineAt)) {
            options.onRetry?.(code);
            await this.wait(delayMs, options.signal);
            continue;
          }
        }
        if (code !== undefined && TIMEOUT_ERRORS.has(code)) {
          const connect = code === 'UND_ERR_CONNECT_TIMEOUT';
          const phase = connect ? `connect within ${timeouts.connect_ms}` : `send more within ${this.idleMs}`;
          throw new UpstreamTimeoutError(`${where} did not ${phase} ms.`, error, connect ? 'connect' : 'idle');
        }
        throw new UpstreamUnreachableError(`${where} is unreachable (${code ?? 'connection failed'}).`, error);
      }

      const status = result.status;
      if (status < 400) return result.success(release, attempt);

      let text: string;
      try {
        text = await result.errorText();
      } catch (error) {
        release();
        if (own?.aborted) throw own.reason;
        if (signal.aborted) throw signal.reason;
        throw new UpstreamUnreachableError(`${where} broke off its error response.`, error);
      }
      release();
      const detail = this.provider.mapError(status, text);
      const final = cannotBeCured(status, detail, result.headers);
      const advised = final ? undefined : (retryAfterSeconds(result.headers) ?? detail.retryAfterSeconds);
      if (!final && RETRYABLE_STATUS.has(status) && attempt < retry.max_attempts) {
        const delayMs = this.delayMs(attempt, advised);
        if (delayMs <= retry.max_delay_ms && this.fitsDeadline(delayMs, options.deadlineAt)) {
          options.onRetry?.(String(status));
          await this.wait(delayMs, options.signal);
          continue;
        }
      }
      throw this.statusError(status, detail, advised, where, final);
    }
  }

  private statusError(status: number, detail: UpstreamErrorDetail, advised: number | undefined, where: string, final = false): CeruleanError {
    const message = this.scrub(detail.message);
    // The provider's credential was refused: that is the operator's problem, not the caller's key.
    if (status === 401 || status === 403) {
      return new UpstreamUnreachableError(`${where} rejected the configured credential (upstream ${status}: ${message}).`);
    }
    const passedStatus = status === 529 ? 503 : status;
    return new UpstreamStatusError(passedStatus, status >= 429 ? `${where}: ${message}` : message, {
      code: detail.code ?? null,
      param: detail.param ?? null,
      retryAfterSeconds: advised,
      headers: final ? { 'x-should-retry': 'false' } : undefined,
      upstreamStatus: status,
    });
  }

  private delayMs(attempt: number, advisedSeconds: number | undefined): number {
    if (advisedSeconds !== undefined) return Math.ceil(advisedSeconds * 1000);
    const base = this.config.retry.base_delay_ms * 2 ** (attempt - 1);
    return Math.min(this.config.retry.max_delay_ms, Math.round(base * (0.5 + Math.random() * 0.5)));
  }

  /** Whether a wait of `delayMs` still leaves time for an attempt before `deadlineAt`. */
  private fitsDeadline(delayMs: number, deadlineAt: number | undefined): boolean {
    return deadlineAt === undefined || Date.now() + delayMs < deadlineAt;
  }

  private async wait(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0) return;
    try {
      await sleep(ms, undefined, { signal });
    } catch {
      throw new ClientAbortedError();
    }
  }
}
