import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A minimal OpenAI-shaped upstream for the cluster test: every non-streaming chat completion is
 * answered at once and reports exactly the usage it was told to (`usage.prompt` +
 * `usage.completion`).
 *
 * Why not the shared fixture (test/fixtures/openai-upstream.ts): its usage is a rough count
 * (characters / 4 plus the words of a fixed reply), so every settle would hand the quota window
 * back most of each reservation, and the tokens admitted would not be comparable with the limit.
 * Reporting usage equal to the admission estimate makes each settle a no-op, so the window counter
 * only ever grows by the estimate of each admitted request (see replicas.test.ts).
 */
export interface FixedUsageUpstream {
  url: string;
  /** Chat completions answered (each one a request Cerulean forwarded). */
  readonly answered: number;
  close(): Promise<void>;
}

export async function startFixedUsageUpstream(usage: { prompt: number; completion: number }): Promise<FixedUsageUpstream> {
  let answered = 0;
  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', 'http://upstream').pathname;
    if (req.method !== 'POST' || !path.endsWith('/chat/completions')) {
      send(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error', param: null, code: null } });
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { model?: string; stream?: boolean };
    if (body.stream === true) {
      send(res, 400, { error: { message: 'this upstream does not stream', type: 'invalid_request_error', param: 'stream', code: null } });
      return;
    }
    answered += 1;
    send(res, 200, {
      id: `chatcmpl-${Math.random().toString(36).slice(2, 12)}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model ?? 'unknown',
      choices: [{ index: 0, message: { role: 'assistant', content: 'ok', refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: usage.prompt, completion_tokens: usage.completion, total_tokens: usage.prompt + usage.completion },
    });
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { message: String(error), type: 'server_error', param: null, code: null } });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get answered() {
      return answered;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
