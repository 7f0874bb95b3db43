import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { CeruleanError } from '../errors/catalogue.js';
import { renderError } from '../errors/render.js';
import type { InferenceContext } from '../pipeline/context.js';
import type { JsonObject } from '../providers/provider.js';
import { ClientAbortedError } from '../providers/upstream-client.js';

/** Resolves when the socket can take more, or when the caller is gone (then false). */
function drained(response: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = (): void => {
      response.off('close', onClose);
      resolve(true);
    };
    const onClose = (): void => {
      response.off('drain', onDrain);
      resolve(false);
    };
    response.once('drain', onDrain);
    response.once('close', onClose);
  });
}

/**
 * Writes chunks as server-sent events, each as soon as it arrives. The first chunk is awaited
 * before the status line is sent, so an upstream that fails at once still gets a proper HTTP error
 * from the caller's point of view; after that an error becomes a final `data: {"error":...}` event.
 */
export async function writeEventStream(
  reply: FastifyReply,
  chunks: AsyncIterable<JsonObject>,
  context: InferenceContext,
  /** Runs, and is awaited, before the final bytes (`[DONE]` or the error event) are written. */
  beforeEnd: () => Promise<void> | undefined,
): Promise<void> {
  const iterator = chunks[Symbol.asyncIterator]();
  let step = await iterator.next();
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  context.status = 200;
  try {
    while (!step.done) {
      if (!response.write(`data: ${JSON.stringify(step.value)}\n\n`) && !(await drained(response))) {
        throw new ClientAbortedError();
      }
      step = await iterator.next();
    }
    await beforeEnd();
    response.end('data: [DONE]\n\n');
  } catch (error) {
    if (error instanceof ClientAbortedError || context.signal.reason instanceof ClientAbortedError) {
      context.status = 499;
      await iterator.return?.();
      if (!response.destroyed) response.destroy();
      return;
    }
    const rendered = renderError(error, context.shape);
    context.status = rendered.status;
    if (!(error instanceof CeruleanError)) reply.log.error({ err: error }, 'stream failed');
    await beforeEnd()?.catch((failure: unknown) => reply.log.error({ err: failure }, 'metering failed'));
    response.end(`data: ${JSON.stringify(rendered.body)}\n\n`);
  }
}
