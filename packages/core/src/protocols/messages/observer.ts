/**
 * Watches an Anthropic Messages stream forwarded to the client as bytes (`/v1/messages` passthrough). Only the
 * events that carry usage, the stop reason, the model or an error are decoded; every other frame is skipped by
 * looking at its `event:` line, read as latin1 (one char per byte) so nothing else is decoded.
 */
import type { SwitchyardError } from '../../errors.js';
import { createSseParser, type SseParser } from '../../stream/sse-parser.js';
import { invalidFrameError, streamEndedEarlyError } from '../../stream/stream-errors.js';
import type { StreamObserver } from '../codec.js';
import type { Usage } from '../../stream/parts.js';
import { createMessagesEventReader, type MessagesEventReader } from './stream.js';

const WATCHED = ['message_start', 'message_delta', 'message_stop', 'error'] as const;
const MESSAGE_STOP = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';

/** An observer for a forwarded Messages stream; a class, since one is made per stream (see MessagesEventReader). */
class MessagesObserver implements StreamObserver {
  private readonly provider: string | undefined;
  private readonly reader: MessagesEventReader;
  private pending = '';
  private slow: SseParser | undefined = undefined;
  private ended = false;
  private failure: SwitchyardError | undefined = undefined;
  private sawStop = false;

  constructor(provider: string | undefined) {
    this.provider = provider;
    this.reader = createMessagesEventReader({ provider });
  }

  get usage(): Usage | undefined {
    return this.reader.usage;
  }

  get finishReason(): string | undefined {
    return this.reader.finish;
  }

  get model(): string | undefined {
    return this.reader.model;
  }

  get error(): SwitchyardError | undefined {
    return this.reader.error ?? this.failure;
  }

  get errorForwarded(): boolean {
    return this.reader.error !== undefined;
  }

  get complete(): boolean {
    return this.reader.error === undefined && this.failure === undefined && (this.sawStop || this.reader.finish !== undefined);
  }

  closingFrames(): string {
    return this.sawStop ? '' : MESSAGE_STOP;
  }

  push(chunk: Uint8Array): void {
    if (this.ended || this.finished() || chunk.byteLength === 0) return;
    this.onChunk(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.finished()) {
      if (this.slow) {
        for (const event of this.slow.end()) if (event.data !== '') this.parse(event.data);
      } else if (this.pending.trim() !== '') this.switchToSlow(`${this.pending}\n\n`, true);
    }
    this.pending = '';
    // A stream that ended after its stop reason but before message_stop is finished; one without either is cut short.
    if (!this.reader.done && this.failure === undefined && this.reader.finish === undefined) this.failure = streamEndedEarlyError(this.provider);
  }

  private finished(): boolean {
    return this.reader.done || this.failure !== undefined;
  }

  private parse(data: string): void {
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      this.failure ??= invalidFrameError(this.provider);
      return;
    }
    if (typeof json === 'object' && json !== null) {
      this.reader.read(json as Record<string, unknown>, []);
      if ((json as { type?: unknown }).type === 'message_stop') this.sawStop = true;
    }
  }

  /** One frame of the latin1 text in [start, end): an `event:` line then a `data:` line, or a `data:` line alone. */
  private onFrame(text: string, start: number, end: number): boolean {
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
    this.parse(Buffer.from(data, 'latin1').toString('utf8'));
    return true;
  }

  private feed(events: ReturnType<SseParser['push']>): void {
    for (const event of events) {
      if (event.event !== undefined && !(WATCHED as readonly string[]).includes(event.event)) continue;
      if (event.data !== '') this.parse(event.data);
    }
  }

  private switchToSlow(rest: string, atEnd: boolean): void {
    const slow = createSseParser();
    this.slow = slow;
    this.feed(slow.push(Buffer.from(rest, 'latin1')));
    if (atEnd) this.feed(slow.end());
  }

  private onChunk(chunk: Buffer): void {
    if (this.slow) {
      this.feed(this.slow.push(chunk));
      return;
    }
    const text = this.pending + chunk.toString('latin1');
    this.pending = '';
    if (text.includes('\r')) return this.switchToSlow(text, false);
    let pos = 0;
    for (;;) {
      while (pos < text.length && text.charCodeAt(pos) === 10) pos++;
      const end = text.indexOf('\n\n', pos);
      if (end === -1) break;
      if (!this.onFrame(text, pos, end)) return this.switchToSlow(text.slice(pos), false);
      pos = end + 2;
      if (this.reader.done) return;
    }
    if (pos < text.length) this.pending = text.slice(pos);
  }
}

/** Creates an observer for a forwarded Messages stream. */
export function createMessagesObserver(options: { provider?: string | undefined } = {}): StreamObserver {
  return new MessagesObserver(options.provider);
}
