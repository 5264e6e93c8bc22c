/** The decoder shared by the wires whose streams are typed JSON events (Anthropic Messages, Responses). */
import type { StreamPart } from '../stream/parts.js';
import { createSseParser, type SseEvent } from '../stream/sse-parser.js';
import { invalidFrameError, streamEndedEarlyError } from '../stream/stream-errors.js';
import type { PartDecoder } from './codec.js';
import { isRecord } from './validation.js';

/** Reads one parsed event into parts; `done` once the stream's terminal event (or an error event) came. */
export interface EventReader {
  read(data: Record<string, unknown>, out: StreamPart[]): void;
  readonly done: boolean;
}

/**
 * SSE bytes → JSON events → `reader`. A frame that is not JSON is an error part; a body that ends before the
 * terminal event ends with one. Empty data lines and Chat Completions' `[DONE]` (some compatible servers add it) are
 * skipped: the terminal event is what counts.
 */
export function createEventDecoder(reader: EventReader, provider: string | undefined): PartDecoder {
  const parser = createSseParser();
  let failed = false;
  let ended = false;

  function events(list: SseEvent[], out: StreamPart[]): void {
    for (const event of list) {
      if (reader.done || failed) return;
      if (event.data === '' || event.data === '[DONE]') continue;
      let data: unknown;
      try {
        data = JSON.parse(event.data);
      } catch {
        failed = true;
        out.push({ type: 'error', error: invalidFrameError(provider) });
        return;
      }
      if (isRecord(data)) reader.read(data, out);
    }
  }

  function push(chunk: Uint8Array): StreamPart[] {
    const out: StreamPart[] = [];
    if (!reader.done && !failed) events(parser.push(chunk), out);
    self.finished = reader.done || failed;
    return out;
  }

  function end(): StreamPart[] {
    const out: StreamPart[] = [];
    if (ended) return out;
    ended = true;
    if (!reader.done && !failed) events(parser.end(), out);
    if (!reader.done && !failed) out.push({ type: 'error', error: streamEndedEarlyError(provider) });
    self.finished = reader.done || failed;
    return out;
  }

  // `finished` as a data property kept up to date by push and end: an object literal with a getter costs about a microsecond.
  const self: { push: PartDecoder['push']; end: PartDecoder['end']; finished: boolean } = { push, end, finished: false };
  return self;
}
