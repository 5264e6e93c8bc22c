/** Whole Anthropic Messages answers: a `message` → parts, and an Answer → a `message`. */
import type { StreamPart } from '../../stream/parts.js';
import { normalizeUpstreamError } from '../../upstream-errors.js';
import type { Answer } from '../answer.js';
import type { AnswerMeta, JsonObject } from '../codec.js';
import { isRecord } from '../validation.js';
import { anthropicUsage, finishFromStopReason, readAnthropicUsage, stopReasonFor, usageFromAnthropic } from './stream.js';

/** The parts of a whole `message`, in block order, then finish and usage. */
export function decodeMessagesAnswer(json: unknown, options: { provider?: string | undefined } = {}): StreamPart[] {
  const parts: StreamPart[] = [];
  if (!isRecord(json)) return parts;
  if (json.type === 'error') {
    parts.push({ type: 'error', error: normalizeUpstreamError({ status: 500, body: JSON.stringify(json), provider: options.provider }) });
    return parts;
  }
  let tools = 0;
  for (const block of Array.isArray(json.content) ? json.content : []) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') parts.push({ type: 'text', text: block.text });
    else if (block.type === 'thinking') {
      if (typeof block.thinking === 'string' && block.thinking !== '') parts.push({ type: 'reasoning', text: block.thinking });
      if (typeof block.signature === 'string' && block.signature !== '') parts.push({ type: 'reasoning-signature', signature: block.signature });
    } else if (block.type === 'redacted_thinking' && typeof block.data === 'string') parts.push({ type: 'reasoning-redacted', data: block.data });
    else if (block.type === 'tool_use') {
      parts.push({ type: 'tool-call-delta', index: tools++, id: typeof block.id === 'string' ? block.id : '', name: typeof block.name === 'string' ? block.name : '', arguments: JSON.stringify(block.input ?? {}) });
    }
  }
  if (typeof json.stop_reason === 'string') {
    const finish: Extract<StreamPart, { type: 'finish' }> = { type: 'finish', reason: finishFromStopReason(json.stop_reason) };
    if (typeof json.model === 'string') finish.model = json.model;
    if (typeof json.stop_sequence === 'string') finish.stopSequence = json.stop_sequence;
    parts.push(finish);
  }
  if (isRecord(json.usage)) parts.push({ type: 'usage', usage: usageFromAnthropic(readAnthropicUsage(json.usage)) });
  return parts;
}

/** A whole `message` for an Answer. */
export function encodeMessagesAnswer(answer: Answer, meta: AnswerMeta): JsonObject {
  const content: JsonObject[] = [];
  for (const block of answer.blocks) {
    switch (block.type) {
      case 'text':
        if (block.text !== '') content.push({ type: 'text', text: block.text });
        break;
      case 'reasoning':
        content.push({ type: 'thinking', thinking: block.text, signature: block.signature ?? '' });
        break;
      case 'reasoning-redacted':
        content.push({ type: 'redacted_thinking', data: block.data });
        break;
      case 'tool-call': {
        let input: unknown = {};
        try {
          input = block.arguments.trim() === '' ? {} : JSON.parse(block.arguments);
        } catch {
          // Arguments the model left unfinished (a length stop) are passed on as text, not lost.
          input = { _raw: block.arguments };
        }
        content.push({ type: 'tool_use', id: block.id, name: block.name, input });
        break;
      }
    }
  }
  return {
    id: meta.id,
    type: 'message',
    role: 'assistant',
    model: meta.model,
    content,
    stop_reason: stopReasonFor(answer.finishReason, answer.stopSequence),
    stop_sequence: answer.stopSequence ?? null,
    usage: anthropicUsage(answer.usage),
  };
}
