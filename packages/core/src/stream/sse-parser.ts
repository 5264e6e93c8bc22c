/**
 * An incremental Server-Sent Events parser following the WHATWG event-stream rules
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 */

/** One dispatched event. `event` and `id` are present only when the stream set them. */
export interface SseEvent {
  /** The `data:` lines, joined with newlines. */
  data: string;
  /** The `event:` field of this event, when one was sent. */
  event?: string;
  /** The last event id (it persists across events, as the standard says), when one was sent. */
  id?: string;
}

/** An incremental `text/event-stream` parser. */
export interface SseParser {
  /** Feeds bytes or text; returns the events completed by it. Chunks may split lines and characters anywhere. */
  push(chunk: Uint8Array | string): SseEvent[];
  /** Ends the stream; returns an event still pending whose lines were all terminated. */
  end(): SseEvent[];
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
const BOM = 0xfeff;

/** Creates an incremental SSE parser (handles `\n`, `\r\n` and `\r`, comments, multi-line data, a leading BOM). */
export function createSseParser(): SseParser {
  // ignoreBOM keeps a BOM in the output so that one rule (below) strips it for bytes and strings alike.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  let line = ''; // the start of a line whose end has not arrived yet
  let started = false;
  let skipLeadingLf = false; // the last text ended in `\r`: a `\n` opening the next one is the same line end
  let data = '';
  let dataLines = 0;
  let eventType = '';
  let lastEventId = '';

  function dispatch(out: SseEvent[]): void {
    if (dataLines === 0) {
      eventType = '';
      return;
    }
    const event: SseEvent = { data };
    if (eventType !== '') event.event = eventType;
    if (lastEventId !== '') event.id = lastEventId;
    out.push(event);
    data = '';
    dataLines = 0;
    eventType = '';
  }

  function processLine(text: string, start: number, end: number, out: SseEvent[]): void {
    if (start === end) return dispatch(out);
    // The hot path: `data:` lines, read without slicing out the field name.
    if (text.startsWith('data:', start)) {
      let from = start + 5;
      if (from < end && text.charCodeAt(from) === SPACE) from++;
      const value = text.slice(from, end);
      data = dataLines === 0 ? value : `${data}\n${value}`;
      dataLines++;
      return;
    }
    if (text.charCodeAt(start) === COLON) return; // a comment, such as `: ping`
    const colon = text.indexOf(':', start);
    let field: string;
    let value = '';
    if (colon === -1 || colon >= end) {
      field = text.slice(start, end);
    } else {
      field = text.slice(start, colon);
      let from = colon + 1;
      if (from < end && text.charCodeAt(from) === SPACE) from++;
      value = text.slice(from, end);
    }
    switch (field) {
      case 'data':
        data = dataLines === 0 ? value : `${data}\n${value}`;
        dataLines++;
        break;
      case 'event':
        eventType = value;
        break;
      case 'id':
        if (!value.includes('\0')) lastEventId = value;
        break;
      default:
        // `retry` and unknown fields are ignored: reconnection is not ours to do.
        break;
    }
  }

  function feed(input: string, out: SseEvent[]): void {
    let text = input;
    if (text.length === 0) return;
    if (!started) {
      started = true;
      if (text.charCodeAt(0) === BOM) {
        text = text.slice(1);
        if (text.length === 0) return;
      }
    }
    let pos = 0;
    if (skipLeadingLf) {
      skipLeadingLf = false;
      if (text.charCodeAt(0) === LF) pos = 1;
    }
    // The pending line holds no line end, so searches can start after it.
    let searchFrom = pos;
    if (line !== '') {
      searchFrom = line.length;
      text = line + text.slice(pos);
      pos = 0;
      line = '';
    }
    const length = text.length;
    // Next `\n` and `\r` at or after the cursor; -1 stays -1, so each is searched once per text when absent.
    let lf = text.indexOf('\n', searchFrom);
    let cr = text.indexOf('\r', searchFrom);
    while (lf !== -1 || cr !== -1) {
      const eol = lf === -1 ? cr : cr === -1 ? lf : lf < cr ? lf : cr;
      processLine(text, pos, eol, out);
      if (eol === cr) {
        if (eol + 1 < length) pos = text.charCodeAt(eol + 1) === LF ? eol + 2 : eol + 1;
        else {
          pos = eol + 1;
          skipLeadingLf = true;
        }
      } else {
        pos = eol + 1;
      }
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
    }
    if (pos < length) line = text.slice(pos);
  }

  return {
    push(chunk) {
      const out: SseEvent[] = [];
      if (typeof chunk === 'string') {
        // Bytes held back by the decoder came first; flush them before the string.
        const held = decoder.decode();
        if (held !== '') feed(held, out);
        feed(chunk, out);
      } else {
        feed(decoder.decode(chunk, { stream: true }), out);
      }
      return out;
    },
    end() {
      const out: SseEvent[] = [];
      feed(decoder.decode(), out);
      // The standard drops an event that lacks its closing blank line. We drop it only when its last line
      // is cut off too: an upstream that closes right after `data: [DONE]\n` still gets its last event.
      if (line === '') dispatch(out);
      line = '';
      data = '';
      dataLines = 0;
      eventType = '';
      return out;
    },
  };
}

/** Parses an SSE body into events, as they complete. */
export async function* parseSse(body: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent, void, undefined> {
  const parser = createSseParser();
  for await (const chunk of body) {
    for (const event of parser.push(chunk)) yield event;
  }
  for (const event of parser.end()) yield event;
}
