/** Whole Chat Completions answers: `chat.completion` → parts, and an Answer → `chat.completion`. */
import { completionToParts } from '../../stream/chunk-parts.js';
import type { StreamPart } from '../../stream/parts.js';
import type { Answer } from '../answer.js';
import type { AnswerMeta, JsonObject } from '../codec.js';
import { chatFinishReason, chatUsage } from './stream.js';

/** The parts of a whole `chat.completion`. */
export function decodeChatAnswer(json: unknown, options: { provider?: string | undefined } = {}): StreamPart[] {
  return completionToParts(json, options);
}

/** A `chat.completion` for an Answer. */
export function encodeChatAnswer(answer: Answer, meta: AnswerMeta): JsonObject {
  let text = '';
  let reasoning = '';
  const calls: JsonObject[] = [];
  for (const block of answer.blocks) {
    if (block.type === 'text') text += block.text;
    else if (block.type === 'reasoning') reasoning += block.text;
    else if (block.type === 'tool-call') calls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: block.arguments } });
  }
  const message: JsonObject = { role: 'assistant', content: text === '' && calls.length > 0 ? null : text };
  if (reasoning !== '') message.reasoning_content = reasoning;
  if (calls.length > 0) message.tool_calls = calls;
  const out: JsonObject = {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: chatFinishReason(answer.finishReason) }],
  };
  if (answer.usage) out.usage = chatUsage(answer.usage);
  return out;
}
