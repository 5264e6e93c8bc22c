/**
 * Reads an upstream OpenAI-protocol SSE body into StreamParts. A broken stream never ends silently:
 * it ends with an error part.
 */
import { normalizeUpstreamError } from '../upstream-errors.js';
import { createChunkReader } from './chunk-parts.js';
import type { StreamPart } from './parts.js';
import { createSseParser, type SseEvent } from './sse-parser.js';
import { invalidFrameError, streamEndedEarlyError } from './stream-errors.js';

/** Options of `readParts`. */
export interface ReadPartsOptions {
  /** The provider the body comes from, for errors. */
  provider?: string | undefined;
  /** Stops reading: the generator throws the signal's reason and closes the body. */
  signal?: AbortSignal | undefined;
}

/**
 * SSE body → parts. Ends at `[DONE]`, or at the end of the body once a finish reason was seen; a body that ends
 * before either gives a final `upstream_error` part. A frame that is not JSON, or carries an `error`, gives an
 * error part and ends the parts. Errors thrown by the body (a reset socket) reach the caller unchanged.
 */
export async function* readParts(
  body: AsyncIterable<Uint8Array>,
  options: ReadPartsOptions = {},
): AsyncGenerator<StreamPart, void, undefined> {
  const { provider, signal } = options;
  signal?.throwIfAborted();
  const parser = createSseParser();
  const reader = createChunkReader({ provider });
  const iterator = body[Symbol.asyncIterator]();
  let settled = false; // the body iterator finished or threw: nothing to close
  let sawDone = false;
  let stopped = false; // an error part ended the parts

  let aborted: Promise<never> | undefined;
  let onAbort: (() => void) | undefined;
  if (signal !== undefined) {
    aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {}); // observed through the race below; never an unhandled rejection
  }

  /** Parts for one event; sets sawDone or stopped when the parts end here. */
  function partsOf(event: SseEvent): StreamPart[] {
    const data = event.data;
    if (data === '[DONE]') {
      sawDone = true;
      return [];
    }
    if (data === '') return []; // an empty data line: a keep-alive, not a chunk
    let chunk: unknown;
    let parsed = true;
    try {
      chunk = JSON.parse(data);
    } catch {
      parsed = false;
    }
    // `event: error` with a body of its own shape (not a chunk with an `error` key): the data is the error body.
    if (event.event === 'error' && !(parsed && typeof chunk === 'object' && chunk !== null && 'error' in chunk)) {
      stopped = true;
      return [{ type: 'error', error: normalizeUpstreamError({ status: 500, body: data, provider }) }];
    }
    if (!parsed) {
      stopped = true;
      return [{ type: 'error', error: invalidFrameError(provider) }];
    }
    const parts = reader.read(chunk);
    if (reader.state.error !== undefined) stopped = true;
    return parts;
  }

  try {
    while (!sawDone && !stopped) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = aborted === undefined ? await iterator.next() : await Promise.race([iterator.next(), aborted]);
      } catch (error) {
        // A body that threw is finished. On abort the read may still be pending, so it is left to the
        // caller's abort of the upstream request rather than awaited here.
        if (signal?.aborted) void Promise.resolve(iterator.return?.()).catch(() => {});
        settled = true;
        throw error;
      }
      if (next.done === true) {
        settled = true;
        break;
      }
      for (const event of parser.push(next.value)) {
        for (const part of partsOf(event)) yield part;
        if (sawDone || stopped) break;
      }
    }
    if (settled) {
      for (const event of parser.end()) {
        if (sawDone || stopped) break;
        for (const part of partsOf(event)) yield part;
      }
    }
    if (!sawDone && !stopped && reader.state.finishReason === undefined) {
      yield { type: 'error', error: streamEndedEarlyError(provider) };
    }
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    if (!settled) await iterator.return?.();
  }
}
