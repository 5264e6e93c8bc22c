/**
 * The wire-neutral half of a stream tracker (`StreamTracker`): whole frames out, error frames held back, the parts of
 * every frame read with the wire's decoder. Each wire adds its position: what it keeps of the frames that went by and
 * how an encoder goes on after them.
 */
import type { SwitchyardError } from '../errors.js';
import type { StreamPart, Usage } from '../stream/parts.js';
import type { AnswerMeta, JsonObject, PartDecoder, PartEncoder, SentAnswer, StreamTracker } from './codec.js';

/** A wire's part of a tracker. */
export interface TrackedPosition {
  /** One whole frame that goes out (its bytes), with the parts the decoder made of it. */
  frame(bytes: Buffer, parts: readonly StreamPart[]): void;
  /** Set when the stream cannot be taken over. */
  readonly untakeable: string | undefined;
  /** The wire's finish went by (a finish reason, a stop reason, a terminal event), even if its very last event did not. */
  readonly finished: boolean;
  /** Usage the frames reported before the stream's end (Anthropic reports its input at `message_start`). */
  readonly earlyUsage: Usage | undefined;
  /** What a properly finished stream still lacks (`[DONE]`, `message_stop`), or ''. */
  closingFrames(): string;
  /** An encoder going on after the last frame; `fallback` names an answer whose opening never went out. */
  continuation(options: { includeUsage?: boolean; request?: JsonObject | undefined; fallback: AnswerMeta }): PartEncoder;
}

/** A frame ends at a blank line, whatever the line ends. */
const BOUNDARY = /\r\n\r\n|\n\n|\r\r/g;

function firstError(parts: readonly StreamPart[]): SwitchyardError | undefined {
  for (const part of parts) if (part.type === 'error') return part.error;
  return undefined;
}

/** Creates a tracker from a wire's decoder and position. */
export function createTracker(decoder: PartDecoder, position: TrackedPosition): StreamTracker {
  const sent: SentAnswer = { text: '', reasoning: false, toolCall: false };
  let pending: Buffer | undefined;
  let usage: Usage | undefined;
  let error: SwitchyardError | undefined;
  let stopped = false; // an error frame came: nothing more goes out
  let ended = false;
  let done = false; // the decoder finished: what follows goes out as it came

  function take(parts: readonly StreamPart[]): void {
    for (const part of parts) {
      switch (part.type) {
        case 'text':
          sent.text += part.text;
          break;
        case 'reasoning':
        case 'reasoning-signature':
        case 'reasoning-redacted':
          sent.reasoning = true;
          break;
        case 'tool-call-delta':
          sent.toolCall = true;
          break;
        case 'usage':
          usage = part.usage;
          break;
        default:
          break;
      }
    }
  }

  return {
    push(chunk) {
      if (stopped || ended || chunk.byteLength === 0) return undefined;
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      if (done) return bytes;
      const buffer = pending === undefined ? bytes : Buffer.concat([pending, bytes]);
      pending = undefined;
      const text = buffer.toString('latin1');
      let start = 0;
      BOUNDARY.lastIndex = 0;
      for (let match = BOUNDARY.exec(text); match !== null; match = BOUNDARY.exec(text)) {
        const end = match.index + match[0].length;
        const frame = buffer.subarray(start, end);
        const parts = decoder.push(frame);
        const failure = firstError(parts);
        if (failure) {
          // The upstream's own error frame is held back: a continuation may still follow.
          error = failure;
          stopped = true;
          return start === 0 ? undefined : buffer.subarray(0, start);
        }
        take(parts);
        position.frame(frame, parts);
        start = end;
        if (decoder.finished) {
          done = true;
          return buffer;
        }
      }
      if (start < buffer.length) pending = buffer.subarray(start);
      return start === 0 ? undefined : buffer.subarray(0, start);
    },
    end() {
      if (ended) return undefined;
      ended = true;
      if (stopped || done) return undefined;
      const last = pending;
      pending = undefined;
      const parts = last === undefined ? [] : decoder.push(last);
      const failure = firstError(parts);
      if (failure) {
        error = failure;
        return undefined;
      }
      take(parts);
      if (last !== undefined) position.frame(last, parts);
      const closing = decoder.end();
      const cut = firstError(closing);
      // A stream that ended after its finish but before its very last event is finished; closingFrames completes it.
      if (cut && !position.finished) error = cut;
      else take(closing.filter((part) => part.type !== 'error'));
      return last;
    },
    sent,
    get untakeable() {
      return position.untakeable;
    },
    get usage() {
      return usage ?? position.earlyUsage;
    },
    get error() {
      return error;
    },
    get complete() {
      return error === undefined && (done || (ended && position.finished));
    },
    closingFrames: () => (done ? '' : position.closingFrames()),
    continuation: (options) => position.continuation(options),
  };
}

/** The `data:` payload of a frame of one `data:` line (after an optional `event:` line), as text; undefined otherwise. */
export function frameData(bytes: Buffer): string | undefined {
  const text = bytes.toString('utf8');
  const at = text.startsWith('data:') ? 0 : text.indexOf('\ndata:') + 1;
  if (at === 0 && !text.startsWith('data:')) return undefined;
  let from = at + 5;
  if (text.charCodeAt(from) === 32) from++;
  const end = text.indexOf('\n', from);
  return (end === -1 ? text.slice(from) : text.slice(from, end)).replace(/\r$/, '');
}

/** The name on a frame's `event:` line, or undefined. */
export function frameEvent(bytes: Buffer): string | undefined {
  if (bytes.length < 6 || bytes.toString('latin1', 0, 6) !== 'event:') return undefined;
  const text = bytes.toString('latin1');
  const end = text.search(/\r?\n/);
  return text.slice(6, end === -1 ? undefined : end).trim();
}

/** A frame's JSON data as an object, or undefined. */
export function frameJson(bytes: Buffer): Record<string, unknown> | undefined {
  const data = frameData(bytes);
  if (data === undefined || data === '' || data === '[DONE]') return undefined;
  try {
    const json: unknown = JSON.parse(data);
    return typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
