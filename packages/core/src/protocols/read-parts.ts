/**
 * Reads an upstream body into parts with a wire's decoder. A broken stream never ends silently: the decoder ends
 * it with an error part. Errors thrown by the body (a reset socket) reach the caller unchanged.
 */
import { onCancel } from '../cancellation.js';
import type { StreamPart } from '../stream/parts.js';
import type { PartDecoder } from './codec.js';


/** Body → parts through `decoder`; stops at the decoder's end or its first error part; `signal` stops reading. */
export async function* readWireParts(body: AsyncIterable<Uint8Array>, decoder: PartDecoder, signal?: AbortSignal): AsyncGenerator<StreamPart, void, undefined> {
  signal?.throwIfAborted();
  const iterator = body[Symbol.asyncIterator]();
  let settled = false; // the body iterator finished or threw: nothing to close
  let aborted: Promise<never> | undefined;
  let stopWatching: (() => void) | undefined;
  if (signal !== undefined) {
    aborted = new Promise<never>((_, reject) => {
      stopWatching = onCancel(signal, () => reject(signal.reason));
    });
    aborted.catch(() => {}); // observed through the race below
  }
  try {
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = aborted === undefined ? await iterator.next() : await Promise.race([iterator.next(), aborted]);
      } catch (error) {
        if (signal?.aborted) void Promise.resolve(iterator.return?.()).catch(() => {});
        settled = true;
        throw error;
      }
      if (next.done === true) {
        settled = true;
        break;
      }
      for (const part of decoder.push(next.value)) {
        yield part;
        if (part.type === 'error') return;
      }
      if (decoder.finished) return;
    }
    for (const part of decoder.end()) {
      yield part;
      if (part.type === 'error') return;
    }
  } finally {
    stopWatching?.();
    if (!settled) await iterator.return?.();
  }
}
