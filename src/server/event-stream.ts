import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { CeruleanError } from '../errors/catalogue.js';
import type { InferenceContext } from '../pipeline/context.js';
import type { SseFrame } from '../pipeline/inbound-api.js';
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

/** One frame on the wire: `event: name` when the API names its events, then the JSON data. */
function encode(frame: SseFrame): string {
  const data = `data: ${JSON.stringify(frame.data)}\n\n`;
  return frame.event === undefined ? data : `event: ${frame.event}\n${data}`;
}

export interface EventStreamOptions {
  /** Bytes after the last frame of a stream that ended well (`data: [DONE]`), if the API has them. */
  readonly end: string | undefined;
  /** The frame that ends a stream that failed after it started, in the API's shape. */
  readonly error: (error: unknown) => SseFrame;
  /** Runs, and is awaited, before the final bytes (the end marker or the error frame) are written. */
  readonly beforeEnd: () => Promise<void> | undefined;
}

/**
 * Writes frames as server-sent events, each as soon as it arrives. The first frame is awaited
 * before the status line is sent, so an upstream that fails at once still gets a proper HTTP error
 * from the caller's point of view; after that an error becomes the API's final error event.
 */
export async function writeEventStream(
  reply: FastifyReply,
  frames: AsyncIterable<SseFrame>,
  context: InferenceContext,
  options: EventStreamOptions,
): Promise<void> {
  const iterator = frames[Symbol.asyncIterator]();
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
      if (!response.write(encode(step.value)) && !(await drained(response))) {
        throw new ClientAbortedError();
      }
      step = await iterator.next();
    }
    await options.beforeEnd();
    response.end(options.end);
  } catch (error) {
    if (error instanceof ClientAbortedError || context.signal.reason instanceof ClientAbortedError) {
      context.status = 499;
      await iterator.return?.();
      if (!response.destroyed) response.destroy();
      return;
    }
    context.status = error instanceof CeruleanError ? error.status : 500;
    if (!(error instanceof CeruleanError)) reply.log.error({ err: error }, 'stream failed');
    await options.beforeEnd()?.catch((failure: unknown) => reply.log.error({ err: failure }, 'metering failed'));
    response.end(encode(options.error(error)));
  }
}
