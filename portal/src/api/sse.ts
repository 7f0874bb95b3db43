/**
 * Server-sent events as the HTML standard defines their parsing, fed text as it arrives: lines end
 * in CRLF, LF or CR (a CR at the end of one piece and an LF at the start of the next are one line
 * end); `data` lines of an event are joined with LF; a line starting with `:` is a comment; one
 * space after the colon is dropped; a blank line dispatches the event; an event with no data is
 * not dispatched; a leading byte-order mark is skipped; what is left unterminated at the end is
 * dropped. No library: `fetch` gives the bytes, this gives the events.
 */
export interface SseEvent {
  /** The `event` field, `message` when none was given. */
  readonly event: string;
  readonly data: string;
  /** The last event id seen so far, if any. */
  readonly id: string | undefined;
}

export class SseParser {
  private buffer = '';
  private started = false;
  /** The last piece ended in CR: an LF starting the next belongs to that line end. */
  private afterCR = false;
  private data: string[] = [];
  private event = '';
  private lastId: string | undefined;

  /** Parses the next piece of text; returns the events it completed. */
  push(text: string): SseEvent[] {
    if (!this.started && text !== '') {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.afterCR && text.startsWith('\n')) text = text.slice(1);
    this.afterCR = false;
    this.buffer += text;
    const events: SseEvent[] = [];
    let start = 0;
    for (let index = 0; index < this.buffer.length; index++) {
      const char = this.buffer.charCodeAt(index);
      if (char !== 10 && char !== 13) continue;
      const line = this.buffer.slice(start, index);
      if (char === 13) {
        if (index + 1 === this.buffer.length) this.afterCR = true;
        else if (this.buffer.charCodeAt(index + 1) === 10) index++;
      }
      start = index + 1;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  /** The stream ended: an event not terminated by a blank line is dropped, as the standard says. */
  end(): void {
    this.buffer = '';
    this.data = [];
    this.event = '';
    this.afterCR = false;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      default:
      // `retry` and unknown fields: nothing a fetch-based reader uses.
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.event = '';
    if (data.length === 0) return undefined;
    return { event: event || 'message', data: data.join('\n'), id: this.lastId };
  }
}

/** The events of a response body as they arrive (UTF-8, split anywhere, even inside a character). */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    finished = true;
    yield* parser.push(decoder.decode());
    parser.end();
  } finally {
    // The caller broke off before the end: the rest is not wanted (the server sees the stream closed).
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
