/**
 * A whole answer assembled from parts: what a non-streamed answer carries on every wire, in the order the blocks
 * came. Decoding a whole upstream answer gives parts; encoding one for a client takes an Answer.
 */
import type { SwitchyardError } from '../errors.js';
import type { FinishReason, StreamPart, Usage } from '../stream/parts.js';

/** One block of a whole answer, in the order it came. */
export type AnswerBlock =
  | { type: 'reasoning'; text: string; signature?: string }
  | { type: 'reasoning-redacted'; data: string }
  | { type: 'text'; text: string }
  | { type: 'tool-call'; index: number; id: string; name: string; arguments: string };

/** A whole answer: its blocks, why it ended, usage and the model. */
export interface Answer {
  blocks: AnswerBlock[];
  finishReason: FinishReason | undefined;
  stopSequence?: string | undefined;
  usage: Usage | undefined;
  /** The model the upstream named, when it named one. */
  model: string | undefined;
  error?: SwitchyardError | undefined;
}

/** Collects parts into an Answer; consecutive text (or reasoning) deltas join into one block. */
export function createAnswerCollector(): {
  /** Adds one part. */
  push(part: StreamPart): void;
  /** The answer so far. */
  readonly answer: Answer;
} {
  const answer: Answer = { blocks: [], finishReason: undefined, usage: undefined, model: undefined };
  const calls = new Map<number, Extract<AnswerBlock, { type: 'tool-call' }>>();
  let last: AnswerBlock | undefined;
  return {
    answer,
    push(part) {
      switch (part.type) {
        case 'text':
          if (last?.type === 'text') last.text += part.text;
          else answer.blocks.push((last = { type: 'text', text: part.text }));
          return;
        case 'reasoning':
          if (last?.type === 'reasoning' && last.signature === undefined) last.text += part.text;
          else answer.blocks.push((last = { type: 'reasoning', text: part.text }));
          return;
        case 'reasoning-signature':
          if (last?.type === 'reasoning') last.signature = (last.signature ?? '') + part.signature;
          else answer.blocks.push((last = { type: 'reasoning', text: '', signature: part.signature }));
          return;
        case 'reasoning-redacted':
          answer.blocks.push((last = { type: 'reasoning-redacted', data: part.data }));
          return;
        case 'tool-call-delta': {
          let call = calls.get(part.index);
          if (!call) {
            call = { type: 'tool-call', index: part.index, id: part.id ?? '', name: part.name ?? '', arguments: '' };
            calls.set(part.index, call);
            answer.blocks.push(call);
          }
          if (part.id && !call.id) call.id = part.id;
          if (part.name && !call.name) call.name = part.name;
          call.arguments += part.arguments;
          last = call;
          return;
        }
        case 'usage':
          answer.usage = part.usage;
          return;
        case 'finish':
          answer.finishReason ??= part.reason;
          if (part.stopSequence !== undefined) answer.stopSequence = part.stopSequence;
          if (part.model !== undefined) answer.model ??= part.model;
          return;
        case 'error':
          answer.error ??= part.error;
          return;
      }
    },
  };
}

/** The parts of an Answer, in block order, then finish and usage (what a decoder of a whole answer yields). */
export function answerParts(answer: Answer): StreamPart[] {
  const parts: StreamPart[] = [];
  for (const block of answer.blocks) {
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: block.text });
        break;
      case 'reasoning':
        if (block.text !== '') parts.push({ type: 'reasoning', text: block.text });
        if (block.signature !== undefined) parts.push({ type: 'reasoning-signature', signature: block.signature });
        break;
      case 'reasoning-redacted':
        parts.push({ type: 'reasoning-redacted', data: block.data });
        break;
      case 'tool-call':
        parts.push({ type: 'tool-call-delta', index: block.index, id: block.id, name: block.name, arguments: block.arguments });
        break;
    }
  }
  if (answer.error) parts.push({ type: 'error', error: answer.error });
  if (answer.finishReason !== undefined) {
    const finish: Extract<StreamPart, { type: 'finish' }> = { type: 'finish', reason: answer.finishReason };
    if (answer.model !== undefined) finish.model = answer.model;
    if (answer.stopSequence !== undefined) finish.stopSequence = answer.stopSequence;
    parts.push(finish);
  }
  if (answer.usage) parts.push({ type: 'usage', usage: answer.usage });
  return parts;
}
