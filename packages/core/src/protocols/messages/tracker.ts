/**
 * The tracker of an Anthropic Messages stream forwarded as bytes (resume): the message's id and model, the blocks
 * opened and closed, the stop reason, and the usage `message_start` reported.
 */
import type { Usage } from '../../stream/parts.js';
import type { StreamTracker } from '../codec.js';
import { createTracker, frameEvent, frameJson } from '../tracker.js';
import { isRecord } from '../validation.js';
import { createMessagesDecoder, createMessagesEncoder, readAnthropicUsage, usageFromAnthropic } from './stream.js';

const MESSAGE_STOP = 'event: message_stop\ndata: {"type":"message_stop"}\n\n';
/** The events whose data the position reads; text deltas are read by the decoder only. */
const READ = new Set(['message_start', 'content_block_start', 'content_block_stop', 'message_delta']);

/** Creates a tracker for a forwarded Messages stream; a continuation goes on in the open text block, or after the last one. */
export function createMessagesTracker(options: { provider?: string | undefined } = {}): StreamTracker {
  let message: { id: string; model: string } | undefined;
  let earlyUsage: Usage | undefined;
  let index = -1;
  let open: string | undefined; // the type of the block still open
  let finished = false;
  return createTracker(createMessagesDecoder(options), {
    frame(bytes) {
      const name = frameEvent(bytes);
      if (name !== undefined && !READ.has(name)) return;
      const json = frameJson(bytes);
      if (json === undefined) return;
      switch (json.type) {
        case 'message_start': {
          const start = isRecord(json.message) ? json.message : {};
          message = { id: typeof start.id === 'string' ? start.id : '', model: typeof start.model === 'string' ? start.model : '' };
          const usage = readAnthropicUsage(start.usage);
          if (usage.input !== undefined) earlyUsage = usageFromAnthropic(usage);
          return;
        }
        case 'content_block_start': {
          if (typeof json.index === 'number') index = Math.max(index, json.index);
          const block = isRecord(json.content_block) ? json.content_block : {};
          open = typeof block.type === 'string' ? block.type : 'unknown';
          return;
        }
        case 'content_block_stop':
          open = undefined;
          return;
        case 'message_delta':
          if (isRecord(json.delta) && typeof json.delta.stop_reason === 'string') finished = true;
          return;
        default:
          return;
      }
    },
    get untakeable() {
      return open === undefined || open === 'text' || open === 'thinking' ? undefined : `a ${open} block was open`;
    },
    get finished() {
      return finished;
    },
    get earlyUsage() {
      return earlyUsage;
    },
    closingFrames: () => MESSAGE_STOP,
    continuation({ fallback }) {
      if (message === undefined) return createMessagesEncoder(fallback);
      const at = open === 'text' || open === 'thinking' ? open : undefined;
      return createMessagesEncoder({ id: message.id || fallback.id, model: message.model || fallback.model, created: fallback.created }, { continued: { index, open: at } });
    },
  });
}
