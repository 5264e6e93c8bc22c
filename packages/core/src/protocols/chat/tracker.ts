/** The tracker of a Chat Completions stream forwarded as bytes (resume): the chunk identity, and the finish reason. */
import { DONE_FRAME } from '../../stream/sse-encoder.js';
import type { AnswerMeta, StreamTracker } from '../codec.js';
import { createTracker, frameJson } from '../tracker.js';
import { createChatDecoder, createChatEncoder } from './stream.js';

/** Creates a tracker for a forwarded `chat.completion.chunk` stream; a continuation goes on with the same id, created and model. */
export function createChatTracker(options: { provider?: string | undefined } = {}): StreamTracker {
  let meta: AnswerMeta | undefined;
  let finished = false;
  return createTracker(createChatDecoder(options), {
    frame(bytes, parts) {
      if (meta === undefined) {
        const json = frameJson(bytes);
        if (json !== undefined && typeof json.id === 'string') {
          meta = { id: json.id, model: typeof json.model === 'string' ? json.model : '', created: typeof json.created === 'number' ? json.created : Math.floor(Date.now() / 1000) };
        }
      }
      for (const part of parts) if (part.type === 'finish') finished = true;
    },
    untakeable: undefined,
    get finished() {
      return finished;
    },
    earlyUsage: undefined,
    closingFrames: () => DONE_FRAME,
    continuation({ includeUsage, fallback }) {
      if (meta === undefined) return createChatEncoder(fallback, { includeUsage: includeUsage === true });
      return createChatEncoder({ ...meta, model: meta.model || fallback.model }, { includeUsage: includeUsage === true, continued: true });
    },
  });
}
