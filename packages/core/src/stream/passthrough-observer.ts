/**
 * Watches an OpenAI-protocol SSE body that is forwarded to the client byte for byte (`/v1` passthrough):
 * it learns usage, the finish reason, the model, `[DONE]` and in-stream errors, and parses as little as it can.
 */
import type { SwitchyardError } from '../errors.js';
import { normalizeUpstreamError } from '../upstream-errors.js';
import { createChunkReader } from './chunk-parts.js';
import type { FinishReason, Usage } from './parts.js';
import { createSseParser, type SseEvent, type SseParser } from './sse-parser.js';
import { invalidFrameError, streamEndedEarlyError } from './stream-errors.js';

/** Options of a passthrough observer. */
export interface PassthroughObserverOptions {
  /** The provider the body comes from, for errors. */
  provider?: string | undefined;
}

/** Watches upstream bytes passed on as they came: usage, finish, errors and the end, without re-encoding. */
export interface PassthroughObserver {
  /** Watches the next chunk of the body. */
  push(chunk: Uint8Array): void;
  /** The body ended; one that ended before a finish reason or `[DONE]` sets `error`. */
  end(): void;
  /** The last usage the upstream reported. */
  readonly usage: Usage | undefined;
  /** Choice 0's finish reason. */
  readonly finishReason: FinishReason | undefined;
  /** Whether `data: [DONE]` came. */
  readonly sawDone: boolean;
  /** An in-stream error frame, a parsed frame that was not JSON, or (after `end`) a cut-off stream. */
  readonly error: SwitchyardError | undefined;
  /** The first non-empty `model` in the stream. */
  readonly model: string | undefined;
  /** Whether `error` came in an error frame of the upstream's own, which the client has already been sent. */
  readonly errorFrameSeen: boolean;
  /** The stream finished properly: a finish reason or `[DONE]`, and no error. */
  readonly complete: boolean;
}

const BOM = '\xEF\xBB\xBF'; // the UTF-8 BOM's bytes, as latin1 text

/**
 * Finds a quoted key in one text, frame after frame, remembering the next occurrence: a frame without the
 * key costs nothing and each text is scanned at most once per key. It searches for `key"` and checks the
 * opening quote after: starting the needle with `"`, the commonest byte in JSON, makes `indexOf` stop everywhere.
 */
class KeyFinder {
  /** The key with its quotes, as in the JSON text. */
  readonly key: string;
  private readonly needle: string;
  private next = -2; // -2: not searched in this text yet; -1: not in the rest of it
  constructor(key: string) {
    this.key = `"${key}"`;
    this.needle = `${key}"`;
  }
  reset(): void {
    this.next = -2;
  }
  /** The position of the key's opening quote in [from, to), or -1. */
  find(text: string, from: number, to: number): number {
    while (this.next !== -1 && this.next < from) {
      const at = text.indexOf(this.needle, from + 1);
      this.next = at === -1 ? -1 : at - 1;
      if (at !== -1 && text.charCodeAt(at - 1) !== 34) from = at; // a key that only ends like this one
    }
    return this.next !== -1 && this.next < to ? this.next : -1;
  }
}

function skipSpace(text: string, at: number, to: number): number {
  let i = at;
  while (i < to && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  return i;
}

/** Where the value of the key found at `at` starts (after `:` and spaces), or -1 when no `:` follows the key. */
function valueStart(text: string, at: number, keyLength: number, to: number): number {
  const colon = skipSpace(text, at + keyLength, to);
  return colon < to && text.charCodeAt(colon) === 58 ? skipSpace(text, colon + 1, to) : -1;
}

/** Whether the key occurs in [from, to) with a value opening with `first`: `{` for usage, `"` for a finish reason. */
function hasValue(text: string, finder: KeyFinder, first: string, from: number, to: number): boolean {
  for (let at = finder.find(text, from, to); at !== -1; at = finder.find(text, at + 1, to)) {
    const value = valueStart(text, at, finder.key.length, to);
    if (value !== -1 && text[value] === first) return true;
  }
  return false;
}

/** Whether the data in [from, to) is a JSON object whose first key is `error`. */
function startsWithError(text: string, from: number, to: number): boolean {
  if (text[from] !== '{') return false;
  let i = from + 1;
  while (i < to && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n')) i++;
  return text.startsWith('"error"', i);
}

const MODEL_VALUE = /^\s*:\s*"((?:[^"\\]|\\.)*)"/;

/** The string value after a `"model"` key that starts `rest`, when it is a non-empty string. */
function modelAfterKey(rest: string): string | undefined {
  const value = MODEL_VALUE.exec(rest)?.[1];
  return value ? (JSON.parse(`"${value}"`) as string) : undefined;
}

/** Bytes seen as latin1 text (one char per byte, so offsets are byte offsets) back to what they say in UTF-8. */
function utf8(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

/**
 * An observer for a forwarded SSE body. The bytes are read as latin1 text (one char per byte, so searching is plain
 * `indexOf` and nothing is decoded), frames are split on blank lines, and only a frame carrying a usage object, a
 * finish reason or a leading `error` key is decoded and JSON-parsed. A body with `\r` line ends, or frames other than
 * one `data:` line or a comment, is handed to the full SSE parser. A class, not a closure with getters: one is made
 * per stream, and an object literal with accessors costs about a microsecond to create where a class costs nothing.
 */
export class ByteObserver implements PassthroughObserver {
  private readonly provider: string | undefined;
  private readonly reader: ReturnType<typeof createChunkReader>;
  private readonly usageKey = new KeyFinder('usage');
  private readonly finishKey = new KeyFinder('finish_reason');
  private readonly modelKey = new KeyFinder('model');
  private pending = ''; // the bytes (as latin1 text) after the last frame boundary
  private bomChecked = false;
  private slow: SseParser | undefined = undefined;
  private ended = false;
  model: string | undefined = undefined;
  sawDone = false;
  error: SwitchyardError | undefined = undefined;
  errorFrameSeen = false;

  constructor(provider?: string | undefined) {
    this.provider = provider;
    this.reader = createChunkReader({ provider });
  }

  get usage(): Usage | undefined {
    return this.reader.state.usage;
  }

  get finishReason(): FinishReason | undefined {
    return this.reader.state.finishReason;
  }

  get complete(): boolean {
    return this.error === undefined && (this.sawDone || this.reader.state.finishReason !== undefined);
  }

  push(chunk: Uint8Array): void {
    if (this.ended || this.finished() || chunk.byteLength === 0) return;
    this.onChunk(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.finished()) {
      if (this.slow !== undefined) {
        for (const event of this.slow.end()) this.onEvent(event);
      } else if (this.pending !== '') {
        // Same rule as the SSE parser: the last frame counts without its blank line if its lines all ended.
        this.switchToSlow(Buffer.from(this.pending, 'latin1'), true);
      }
    }
    this.pending = '';
    if (this.error === undefined && !this.sawDone && this.reader.state.finishReason === undefined) this.error = streamEndedEarlyError(this.provider);
  }

  private finished(): boolean {
    return this.sawDone || this.error !== undefined;
  }

  private parse(text: string): void {
    let chunk: unknown;
    try {
      chunk = JSON.parse(text);
    } catch {
      this.error = invalidFrameError(this.provider);
      return;
    }
    const { reader } = this;
    reader.read(chunk);
    if (this.error === undefined && reader.state.error !== undefined) {
      this.error = reader.state.error;
      this.errorFrameSeen = true;
    }
    this.model ??= reader.state.model;
  }

  /** An event on the slow path. */
  private onEvent(event: SseEvent): void {
    if (this.finished()) return;
    const data = event.data;
    if (data === '[DONE]') {
      this.sawDone = true;
      return;
    }
    if (event.event === 'error' && !startsWithError(data, 0, data.length)) {
      this.error = normalizeUpstreamError({ status: 500, body: data, provider: this.provider });
      this.errorFrameSeen = true;
      return;
    }
    if (this.model === undefined) {
      for (let at = data.indexOf('"model"'); at !== -1 && this.model === undefined; at = data.indexOf('"model"', at + 1)) {
        this.model = modelAfterKey(data.slice(at + 7, at + 400));
      }
    }
    this.usageKey.reset();
    this.finishKey.reset();
    const to = data.length;
    if (hasValue(data, this.usageKey, '{', 0, to) || hasValue(data, this.finishKey, '"', 0, to) || startsWithError(data, 0, to)) this.parse(data);
  }

  /** Reads the first non-empty `"model":"…"` in [from, to). */
  private findModel(text: string, from: number, to: number): void {
    const { modelKey } = this;
    for (let at = modelKey.find(text, from, to); at !== -1 && this.model === undefined; at = modelKey.find(text, at + 1, to)) {
      const value = valueStart(text, at, modelKey.key.length, to);
      if (value === -1 || text[value] !== '"') continue;
      const close = text.indexOf('"', value + 1);
      if (close === -1 || close >= to || close === value + 1) continue;
      const raw = text.slice(value + 1, close);
      this.model = raw.includes('\\') ? modelAfterKey(utf8(text.slice(at + modelKey.key.length, to))) : utf8(raw);
    }
  }

  /**
   * A frame of one line: [start, end) of the latin1 text, followed by a blank line. Returns false for a line the
   * fast path does not read (a field other than `data`).
   */
  private onFrame(text: string, start: number, end: number): boolean {
    if (text.charCodeAt(start) === 58) return true; // a comment, such as `: ping`
    if (!text.startsWith('data:', start)) return false;
    let from = start + 5;
    if (from < end && text.charCodeAt(from) === 32) from++;
    if (end - from === 6 && text.startsWith('[DONE]', from)) {
      this.sawDone = true;
      return true;
    }
    if (this.model === undefined) this.findModel(text, from, end);
    if (hasValue(text, this.usageKey, '{', from, end) || hasValue(text, this.finishKey, '"', from, end) || startsWithError(text, from, end)) {
      this.parse(utf8(text.slice(from, end)));
    }
    return true;
  }

  /** Hands the rest of the body, from a frame boundary on, to the full SSE parser. */
  private switchToSlow(rest: Buffer, atEnd: boolean): void {
    const parser = createSseParser();
    this.slow = parser;
    for (const event of parser.push(rest)) this.onEvent(event);
    if (atEnd) for (const event of parser.end()) this.onEvent(event);
  }

  private onChunk(chunk: Buffer): void {
    if (this.slow !== undefined) {
      for (const event of this.slow.push(chunk)) this.onEvent(event);
      return;
    }
    const held = this.pending.length;
    const text = held === 0 ? chunk.toString('latin1') : this.pending + chunk.toString('latin1');
    this.pending = '';
    let pos = 0;
    if (!this.bomChecked) {
      if (text.length < BOM.length && BOM.startsWith(text)) {
        this.pending = text;
        return;
      }
      this.bomChecked = true;
      if (text.startsWith(BOM)) pos = BOM.length;
    }
    if (chunk.indexOf(13) !== -1) return this.switchToSlow(Buffer.from(text.slice(pos), 'latin1'), false);
    this.usageKey.reset();
    this.finishKey.reset();
    this.modelKey.reset();
    const length = text.length;
    // The held bytes are one unfinished line: the first search can start at their last byte.
    let searchFrom = held - 1;
    for (;;) {
      while (pos < length && text.charCodeAt(pos) === 10) pos++; // blank lines between frames
      const lineEnd = text.indexOf('\n', searchFrom > pos ? searchFrom : pos);
      if (lineEnd === -1 || lineEnd + 1 === length) break; // the frame has not ended yet
      // A line end followed by a blank line is a one-line frame; anything else goes to the full parser.
      if (text.charCodeAt(lineEnd + 1) !== 10 || !this.onFrame(text, pos, lineEnd)) {
        return this.switchToSlow(Buffer.from(text.slice(pos), 'latin1'), false);
      }
      pos = lineEnd + 2;
      searchFrom = 0;
      if (this.finished()) return;
    }
    if (pos < text.length) this.pending = text.slice(pos);
  }
}

/** Creates an observer for a forwarded SSE body: it reads as little as it can (frames carrying usage, a finish reason or an error). */
export function createPassthroughObserver(options: PassthroughObserverOptions = {}): PassthroughObserver {
  return new ByteObserver(options.provider);
}
