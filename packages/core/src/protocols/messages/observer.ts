/**
 * Watches an Anthropic Messages stream forwarded to the client as bytes (`/v1/messages` passthrough). Only the
 * events that carry usage, the stop reason, the model or an error are decoded; every other frame is skipped by
 * looking at its `event:` line, read as latin1 (one char per byte) so nothing else is decoded.
 */
import type { SwitchyardError } from '../../errors.js';
import { createSseParser, type SseParser } from '../../stream/sse-parser.js';
import { invalidFrameError, streamEndedEarlyError } from '../../stream/stream-errors.js';
import type { StreamObserver } from '../codec.js';
import { createMessagesEventReader } from './stream.js';

const WATCHED = ['message_start', 'message_delta', 'message_stop', 'error'] as const;
const MESSAGE_STOP = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';

/** Creates an observer for a forwarded Messages stream. */
export function createMessagesObserver(options: { provider?: string | undefined } = {}): StreamObserver {
  const { provider } = options;
  const reader = createMessagesEventReader({ provider });
  let pending = '';
  let slow: SseParser | undefined;
  let ended = false;
  let failure: SwitchyardError | undefined;
  let sawStop = false;

  function parse(data: string): void {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      failure ??= invalidFrameError(provider);
      return;
    }
    if (typeof json === 'object' && json !== null) {
      reader.read(json as Record<string, unknown>, []);
      if ((json as { type?: unknown }).type === 'message_stop') sawStop = true;
    }
  }

  /** One frame of the latin1 text in [start, end): an `event:` line then a `data:` line, or a `data:` line alone. */
  function onFrame(text: string, start: number, end: number): boolean {
    if (text.charCodeAt(start) === 58) return true; // a comment
    let dataStart = start;
    if (text.startsWith('event:', start)) {
      const lineEnd = text.indexOf('\n', start);
      if (lineEnd === -1 || lineEnd >= end) return true;
      let from = start + 6;
      if (text.charCodeAt(from) === 32) from++;
      const name = text.slice(from, lineEnd);
      if (!(WATCHED as readonly string[]).includes(name)) return true;
      dataStart = lineEnd + 1;
    } else if (!text.startsWith('data:', start)) return false;
    if (!text.startsWith('data:', dataStart) || text.indexOf('\n', dataStart) !== -1 && text.indexOf('\n', dataStart) < end) return false;
    let from = dataStart + 5;
    if (text.charCodeAt(from) === 32) from++;
    const data = text.slice(from, end);
    // A frame without an `event:` line is only read when its type is one of those watched.
    if (dataStart === start && !/"type"\s*:\s*"(?:message_start|message_delta|message_stop|error)"/.test(data)) return true;
    parse(Buffer.from(data, 'latin1').toString('utf8'));
    return true;
  }

  function switchToSlow(rest: string, atEnd: boolean): void {
    slow = createSseParser();
    const feed = (events: ReturnType<SseParser['push']>) => {
      for (const event of events) {
        if (event.event !== undefined && !(WATCHED as readonly string[]).includes(event.event)) continue;
        if (event.data !== '') parse(event.data);
      }
    };
    feed(slow.push(Buffer.from(rest, 'latin1')));
    if (atEnd) feed(slow.end());
  }

  function onChunk(chunk: Buffer): void {
    if (slow) {
      for (const event of slow.push(chunk)) {
        if (event.event !== undefined && !(WATCHED as readonly string[]).includes(event.event)) continue;
        if (event.data !== '') parse(event.data);
      }
      return;
    }
    const text = pending + chunk.toString('latin1');
    pending = '';
    if (text.includes('\r')) return switchToSlow(text, false);
    let pos = 0;
    for (;;) {
      while (pos < text.length && text.charCodeAt(pos) === 10) pos++;
      const end = text.indexOf('\n\n', pos);
      if (end === -1) break;
      if (!onFrame(text, pos, end)) return switchToSlow(text.slice(pos), false);
      pos = end + 2;
      if (reader.done) return;
    }
    if (pos < text.length) pending = text.slice(pos);
  }

  const finished = () => reader.done || failure !== undefined;

  return {
    push(chunk) {
      if (ended || finished() || chunk.byteLength === 0) return;
      onChunk(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    },
    end() {
      if (ended) return;
      ended = true;
      if (!finished()) {
        if (slow) {
          for (const event of slow.end()) if (event.data !== '') parse(event.data);
        } else if (pending.trim() !== '') switchToSlow(`${pending}\n\n`, true);
      }
      pending = '';
      // A stream that ended after its stop reason but before message_stop is finished; one without either is cut short.
      if (!reader.done && failure === undefined && reader.finish === undefined) failure = streamEndedEarlyError(provider);
    },
    get usage() {
      return reader.usage;
    },
    get finishReason() {
      return reader.finish;
    },
    get model() {
      return reader.model;
    },
    get error() {
      return reader.error ?? failure;
    },
    get errorForwarded() {
      return reader.error !== undefined;
    },
    get complete() {
      return reader.error === undefined && failure === undefined && (sawStop || reader.finish !== undefined);
    },
    closingFrames: () => (sawStop ? '' : MESSAGE_STOP),
  };
}
