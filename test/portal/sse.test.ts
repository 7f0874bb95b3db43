import { describe, expect, it } from 'vitest';
import { readSse, SseParser, type SseEvent } from '../../portal/src/api/sse.js';

/** The portal's server-sent-events parser, by the HTML standard's rules, fed text cut anywhere. */
function parseAll(pieces: string[]): SseEvent[] {
  const parser = new SseParser();
  const events = pieces.flatMap((piece) => parser.push(piece));
  parser.end();
  return events;
}

/** Every way of cutting `text` in two (and in single characters): the events must not depend on where the pieces break. */
function everyCut(text: string): string[][] {
  const cuts: string[][] = [[text], [...text]];
  for (let index = 1; index < text.length; index++) cuts.push([text.slice(0, index), text.slice(index)]);
  return cuts;
}

describe('SseParser', () => {
  it('reads OpenAI-style data events and the [DONE] marker', () => {
    const stream = 'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n';
    for (const pieces of everyCut(stream)) {
      expect(parseAll(pieces)).toEqual([
        { event: 'message', data: '{"a":1}', id: undefined },
        { event: 'message', data: '{"b":2}', id: undefined },
        { event: 'message', data: '[DONE]', id: undefined },
      ]);
    }
  });

  it('takes CRLF, LF and CR as line ends, even a CRLF split between two pieces', () => {
    const stream = 'event: one\r\ndata: 1\r\n\r\nevent: two\rdata: 2\r\rdata: 3\n\n';
    const expected = [
      { event: 'one', data: '1', id: undefined },
      { event: 'two', data: '2', id: undefined },
      { event: 'message', data: '3', id: undefined },
    ];
    for (const pieces of everyCut(stream)) expect(parseAll(pieces)).toEqual(expected);
  });

  it('joins data lines with LF, drops one leading space only, skips comments, and keeps the last id', () => {
    const stream = ': keep-alive\n\nid: 7\ndata:  two spaces\ndata:none\ndata\n\n: another comment\ndata: x\n\n';
    expect(parseAll([stream])).toEqual([
      { event: 'message', data: ' two spaces\nnone\n', id: '7' },
      { event: 'message', data: 'x', id: '7' },
    ]);
  });

  it('dispatches no event without data, skips a byte-order mark, and drops an unterminated last event', () => {
    expect(parseAll(['\uFEFFevent: ping\n\n', 'data: a\n\n', 'data: cut off'])).toEqual([{ event: 'message', data: 'a', id: undefined }]);
    // A BOM is skipped only at the very start of the stream.
    expect(parseAll(['data: a\n\n', '\uFEFFdata: b\n\n'])).toEqual([{ event: 'message', data: 'a', id: undefined }]);
  });

  it('ignores retry and unknown fields and an id holding NUL', () => {
    expect(parseAll(['id: 1\nretry: 3000\nfoo: bar\ndata: a\n\nid: x\0y\ndata: b\n\n'])).toEqual([
      { event: 'message', data: 'a', id: '1' },
      { event: 'message', data: 'b', id: '1' },
    ]);
  });
});

describe('readSse', () => {
  const streamOf = (chunks: Uint8Array[]): ReadableStream<Uint8Array> =>
    new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });

  it('decodes UTF-8 split inside a character', async () => {
    const bytes = new TextEncoder().encode('data: {"content":"héllo 東京 🌊"}\n\n');
    const chunks = [...bytes].map((byte) => Uint8Array.of(byte));
    const events: SseEvent[] = [];
    for await (const event of readSse(streamOf(chunks))) events.push(event);
    expect(events).toEqual([{ event: 'message', data: '{"content":"héllo 東京 🌊"}', id: undefined }]);
  });

  it('cancels the stream when the reader stops early', async () => {
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('data: more\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of readSse(body)) {
      expect(event.data).toBe('more');
      break;
    }
    expect(cancelled).toBe(true);
  });
});
