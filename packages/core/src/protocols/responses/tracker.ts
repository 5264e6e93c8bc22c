/**
 * The tracker of a Responses stream forwarded as bytes (resume): the Response object of `response.created`, every
 * output item as its last event showed it, the item still open and its text, and the next `sequence_number`.
 */
import type { StreamTracker } from '../codec.js';
import { createTracker, frameJson } from '../tracker.js';
import { isRecord } from '../validation.js';
import { createResponsesDecoder, createResponsesEncoder, type OpenItem, type ResponsesPosition } from './stream.js';

type Json = Record<string, unknown>;

const SEQUENCE = /"sequence_number"\s*:\s*(\d+)/;
/** The events whose data the position reads; text deltas are read by the decoder only. */
const READ = /^event: ?(response\.(created|in_progress|output_item\.(added|done)|content_part\.(added|done)|reasoning_summary_part\.(added|done)|completed|incomplete))\r?$/m;

/** Creates a tracker for a forwarded Responses stream; a continuation goes on in the open message, or with a new one. */
export function createResponsesTracker(options: { provider?: string | undefined } = {}): StreamTracker {
  let sequence = 0;
  let response: Json | undefined;
  const output: Json[] = [];
  let open: OpenItem | undefined;
  let openOther: string | undefined; // an item the encoder cannot close (a function call, a built-in tool call)
  let finished = false;
  return createTracker(createResponsesDecoder(options), {
    frame(bytes, parts) {
      const head = bytes.toString('latin1', 0, Math.min(bytes.length, 160));
      const number = SEQUENCE.exec(head)?.[1] ?? SEQUENCE.exec(bytes.toString('latin1'))?.[1];
      if (number !== undefined) sequence = Number(number) + 1;
      for (const part of parts) {
        if (part.type === 'text' && open?.kind === 'message') open.text += part.text;
        else if (part.type === 'reasoning' && open?.kind === 'reasoning') open.text += part.text;
        else if (part.type === 'finish') finished = true;
      }
      // Frames without an `event:` line are read whole; named ones only when they shape the position.
      if (head.startsWith('event:') && !READ.test(head.slice(0, head.indexOf('\n') + 1 || undefined))) return;
      const json = frameJson(bytes);
      if (json === undefined) return;
      const item = isRecord(json.item) ? json.item : undefined;
      const at = typeof json.output_index === 'number' ? json.output_index : -1;
      switch (json.type) {
        case 'response.created':
        case 'response.in_progress':
          if (isRecord(json.response)) response = json.response;
          return;
        case 'response.output_item.added':
          if (!item || at < 0) return;
          output[at] = item;
          open = undefined;
          openOther = undefined;
          if ((item.type === 'message' || item.type === 'reasoning') && typeof item.id === 'string') {
            open = { kind: item.type, outputIndex: at, id: item.id, text: '', part: 0, earlier: [] };
          } else openOther = typeof item.type === 'string' ? item.type : 'unknown';
          return;
        case 'response.output_item.done':
          if (!item || at < 0) return;
          output[at] = item;
          if (open?.outputIndex === at) open = undefined;
          openOther = undefined;
          return;
        case 'response.content_part.added':
        case 'response.reasoning_summary_part.added': {
          const index = typeof json.content_index === 'number' ? json.content_index : typeof json.summary_index === 'number' ? json.summary_index : 0;
          if (open?.outputIndex === at) {
            open.part = index;
            open.text = '';
          }
          return;
        }
        case 'response.content_part.done':
        case 'response.reasoning_summary_part.done':
          if (open?.outputIndex === at && isRecord(json.part)) {
            open.earlier = [...(open.earlier ?? []), json.part];
            open.text = '';
          }
          return;
        case 'response.completed':
        case 'response.incomplete':
          finished = true;
          return;
        default:
          return;
      }
    },
    get untakeable() {
      return openOther === undefined ? undefined : `a ${openOther} item was open`;
    },
    get finished() {
      return finished;
    },
    earlyUsage: undefined,
    closingFrames: () => '',
    continuation({ fallback, request }) {
      if (response === undefined) return createResponsesEncoder({ ...fallback, request });
      const id = typeof response.id === 'string' ? response.id : fallback.id;
      const model = typeof response.model === 'string' ? response.model : fallback.model;
      const position: ResponsesPosition = { sequence, output, open: open && { ...open, earlier: [...(open.earlier ?? [])] }, response };
      return createResponsesEncoder({ id, model, created: fallback.created, request }, { continued: position });
    },
  });
}
