/** Whole Responses answers: a `response` object → parts, and an Answer → a `response` object. */
import type { StreamPart } from '../../stream/parts.js';
import { normalizeUpstreamError } from '../../upstream-errors.js';
import type { Answer } from '../answer.js';
import type { AnswerMeta, JsonObject } from '../codec.js';
import { isRecord } from '../validation.js';
import { errorStatus, finishFromIncomplete, itemId, responseObject, responsesUsage, usageFromResponses } from './stream.js';

type Json = Record<string, unknown>;

function texts(list: unknown, type: string, field = 'text'): string[] {
  if (!Array.isArray(list)) return [];
  return list.filter((part): part is Json => isRecord(part) && part.type === type && typeof part[field] === 'string' && part[field] !== '').map((part) => part[field] as string);
}

/** The parts of a whole `response`, in output order, then finish and usage. */
export function decodeResponsesAnswer(json: unknown, options: { provider?: string | undefined } = {}): StreamPart[] {
  const parts: StreamPart[] = [];
  if (!isRecord(json)) return parts;
  if (isRecord(json.error) && (json.status === 'failed' || json.object !== 'response')) {
    parts.push({ type: 'error', error: normalizeUpstreamError({ status: errorStatus(json.error.code), body: JSON.stringify({ error: json.error }), provider: options.provider }) });
    return parts;
  }
  let tools = 0;
  for (const item of Array.isArray(json.output) ? json.output : []) {
    if (!isRecord(item)) continue;
    switch (item.type) {
      case 'message':
        for (const part of Array.isArray(item.content) ? item.content : []) {
          if (!isRecord(part)) continue;
          if (part.type === 'output_text' && typeof part.text === 'string' && part.text !== '') parts.push({ type: 'text', text: part.text });
          else if (part.type === 'refusal' && typeof part.refusal === 'string' && part.refusal !== '') parts.push({ type: 'text', text: part.refusal });
        }
        break;
      case 'reasoning': {
        const summary = texts(item.summary, 'summary_text');
        const text = (summary.length > 0 ? summary : texts(item.content, 'reasoning_text')).join('\n\n');
        const encrypted = typeof item.encrypted_content === 'string' && item.encrypted_content !== '' ? item.encrypted_content : undefined;
        if (text !== '') parts.push({ type: 'reasoning', text });
        if (encrypted) parts.push(text !== '' ? { type: 'reasoning-signature', signature: encrypted } : { type: 'reasoning-redacted', data: encrypted });
        break;
      }
      case 'function_call': {
        const index = tools++;
        const id = typeof item.call_id === 'string' ? item.call_id : typeof item.id === 'string' ? item.id : `call_${index}`;
        parts.push({ type: 'tool-call-delta', index, id, name: typeof item.name === 'string' ? item.name : '', arguments: typeof item.arguments === 'string' ? item.arguments : '' });
        break;
      }
      default:
        break;
    }
  }
  const reason = json.status === 'incomplete' ? finishFromIncomplete(json.incomplete_details) : tools > 0 ? 'tool_calls' : 'stop';
  parts.push(typeof json.model === 'string' && json.model !== '' ? { type: 'finish', reason, model: json.model } : { type: 'finish', reason });
  const usage = usageFromResponses(json.usage);
  if (usage) parts.push({ type: 'usage', usage });
  return parts;
}

/** A whole `response` object for an Answer: reasoning, message and function_call items in the order they came. */
export function encodeResponsesAnswer(answer: Answer, meta: AnswerMeta): JsonObject {
  const output: Json[] = [];
  const incomplete = answer.finishReason === 'length' || answer.finishReason === 'content_filter';
  const status = incomplete ? 'incomplete' : 'completed';
  const namespaces = new Map<string, string>();
  const tools = meta.request?.tools;
  for (const tool of Array.isArray(tools) ? tools : []) {
    if (isRecord(tool) && tool.type === 'namespace' && typeof tool.name === 'string' && Array.isArray(tool.tools)) {
      for (const inner of tool.tools) if (isRecord(inner) && typeof inner.name === 'string') namespaces.set(inner.name, tool.name);
    }
  }
  let message: Json | undefined;
  for (const block of answer.blocks) {
    if (block.type !== 'text') message = undefined;
    switch (block.type) {
      case 'text': {
        if (block.text === '') break;
        if (!message) {
          message = { id: itemId(meta, 'msg', output.length), type: 'message', status, content: [], role: 'assistant' };
          output.push(message);
        }
        const content = message.content as Json[];
        const last = content.at(-1);
        if (last) last.text = `${last.text as string}${block.text}`;
        else content.push({ type: 'output_text', annotations: [], logprobs: [], text: block.text });
        break;
      }
      case 'reasoning':
        output.push({
          id: itemId(meta, 'rs', output.length),
          type: 'reasoning',
          summary: block.text === '' ? [] : [{ type: 'summary_text', text: block.text }],
          ...(block.signature !== undefined ? { encrypted_content: block.signature } : {}),
        });
        break;
      case 'reasoning-redacted':
        output.push({ id: itemId(meta, 'rs', output.length), type: 'reasoning', summary: [], encrypted_content: block.data });
        break;
      case 'tool-call': {
        const namespace = namespaces.get(block.name);
        output.push({
          id: itemId(meta, 'fc', output.length),
          type: 'function_call',
          status: 'completed',
          arguments: block.arguments,
          call_id: block.id,
          name: block.name,
          ...(namespace !== undefined ? { namespace } : {}),
        });
        break;
      }
    }
  }
  const details = incomplete ? { reason: answer.finishReason === 'length' ? 'max_output_tokens' : 'content_filter' } : null;
  return responseObject(meta, status, output, { incomplete: details, usage: responsesUsage(answer.usage) });
}
