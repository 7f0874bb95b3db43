import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI chat upstream that keeps per-response accounts, for the crash-recovery test.
 *
 * Every response gets a unique `id`; the fixture remembers, per id, the caller's `user` tag and the
 * tokens it bills, and counts a response as completed only once `res.end` has finished (the
 * 'finish' event: every byte handed to the kernel) without the socket having been destroyed first.
 * That is the point at which a real upstream bills. Token counts are a pure function of the tag, so
 * they vary from request to request but are reproducible.
 *
 * Behaviour by model name:
 *   fail   500 server_error (nothing billed)
 *   slow   streams with `slowChunkDelayMs` between words, so callers can leave mid-stream
 *   other  answers at once (JSON, or a stream of one chunk per word)
 * Streams honour stream_options.include_usage: the usage chunk (empty choices) comes just before
 * `data: [DONE]`.
 */
export interface BilledResponse {
  id: string;
  tag: string;
  model: string;
  stream: boolean;
  promptTokens: number;
  completionTokens: number;
  /** res.end finished: the response was billed. */
  completed: boolean;
  /** The socket closed before the response finished. */
  cutOff: boolean;
}

export interface MeteredUpstream {
  url: string;
  /** By response id. */
  responses: Map<string, BilledResponse>;
  /** By the request's `user` field; each tag reaches the upstream at most once (no retries). */
  byTag: Map<string, BilledResponse[]>;
  errors: number;
  close(): Promise<void>;
}

/** FNV-1a, so token counts are a reproducible function of the tag. */
export function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const WORDS = ['alpha ', 'beta ', 'gamma ', 'delta ', 'epsilon ', 'zeta ', 'eta ', 'theta ', 'iota ', 'kappa '];

export function tokensFor(tag: string, model: string): { prompt: number; words: number } {
  const h = hash(tag);
  return { prompt: 5 + (h % 211), words: model === 'slow' ? 8 : 2 + ((h >>> 9) % 17) };
}

export async function startMeteredUpstream(options: { slowChunkDelayMs: number }): Promise<MeteredUpstream> {
  const responses = new Map<string, BilledResponse>();
  const byTag = new Map<string, BilledResponse[]>();
  const state = { errors: 0, sequence: 0 };
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const parts: Buffer[] = [];
    for await (const part of req) parts.push(part as Buffer);
    const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
    const model = String(body.model);
    if (model === 'fail') {
      state.errors += 1;
      const text = JSON.stringify({
        error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null },
      });
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }

    const tag = String(body.user ?? '');
    const { prompt, words } = tokensFor(tag, model);
    state.sequence += 1;
    const id = `chatcmpl-fx${state.sequence}-${hash(`${tag}:${state.sequence}`).toString(36)}`;
    const stream = body.stream === true;
    const billed: BilledResponse = { id, tag, model, stream, promptTokens: prompt, completionTokens: words, completed: false, cutOff: false };
    responses.set(id, billed);
    const list = byTag.get(tag) ?? [];
    list.push(billed);
    byTag.set(tag, list);
    res.on('finish', () => {
      if (!billed.cutOff) billed.completed = true;
    });
    res.on('close', () => {
      if (!res.writableFinished) billed.cutOff = true;
    });

    const usage = { prompt_tokens: prompt, completion_tokens: words, total_tokens: prompt + words, prompt_tokens_details: { cached_tokens: 0 } };
    const created = Math.floor(Date.now() / 1000);
    const content = Array.from({ length: words }, (_, i) => WORDS[i % WORDS.length]).join('');
    if (!stream) {
      const text = JSON.stringify({
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
        usage,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
      return;
    }

    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const frame = (choices: unknown[], extra: Record<string, unknown> = {}): void => {
      res.write(
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`,
      );
    };
    const delay = model === 'slow' ? options.slowChunkDelayMs : 0;
    frame([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]);
    for (let i = 0; i < words; i++) {
      if (delay) await sleep(delay);
      if (res.destroyed) return;
      frame([{ index: 0, delta: { content: WORDS[i % WORDS.length] }, logprobs: null, finish_reason: null }]);
    }
    if (res.destroyed) return;
    frame([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
    if (includeUsage) frame([], { usage });
    res.end('data: [DONE]\n\n');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    responses,
    byTag,
    get errors() {
      return state.errors;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
