/**
 * Reads an upstream OpenAI-protocol SSE body into StreamParts. A broken stream never ends silently:
 * it ends with an error part.
 */
import type { StreamPart } from '../../stream/parts.js';
import { readWireParts } from '../read-parts.js';
import { createChatDecoder } from './stream.js';

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
export function readParts(body: AsyncIterable<Uint8Array>, options: ReadPartsOptions = {}): AsyncGenerator<StreamPart, void, undefined> {
  return readWireParts(body, createChatDecoder({ provider: options.provider }), options.signal);
}
