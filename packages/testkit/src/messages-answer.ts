import { argumentsOf, cacheTokens, messagesStopReason, signatureOf, type Answer } from './answer.js';
import type { TokenUsage } from './behavior.js';

/** What every event of one Anthropic message shares. */
export interface MessagesIdentity {
  /** `msg_…`. */
  id: string;
  model: string;
  /** The request's number on the upstream, for default tool-use ids. */
  sequence: number;
}

/** One Anthropic SSE frame: `event: <type>` then `data: <json>`. */
export function messagesFrame(data: { type: string; [field: string]: unknown }): string {
  return `event: ${data.type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Anthropic writes ping with a space after the colon, unlike every other event. */
export const PING_FRAME = 'event: ping\ndata: {"type": "ping"}\n\n';

/** The usage fields of a message: Anthropic's `input_tokens` leaves out the tokens read from and written to the cache. */
export function messagesUsage(usage: TokenUsage, outputTokens = usage.completion_tokens): Record<string, number> {
  const { cached, written } = cacheTokens(usage);
  return {
    input_tokens: Math.max(0, usage.prompt_tokens - cached - written),
    cache_creation_input_tokens: written,
    cache_read_input_tokens: cached,
    output_tokens: outputTokens,
  };
}

/** The id of the n-th tool_use block, unless the script gave one. */
export function toolUseId(identity: MessagesIdentity, index: number, id: string | undefined): string {
  return id ?? `toolu_testkit_${identity.sequence}_${index}`;
}

/** `message_start`: the message with no content yet; usage has the input side and a first output count, as Anthropic sends. */
export function messageStartFrame(identity: MessagesIdentity, usage: TokenUsage): string {
  return messagesFrame({
    type: 'message_start',
    message: {
      model: identity.model,
      id: identity.id,
      type: 'message',
      role: 'assistant',
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: messagesUsage(usage, Math.min(1, usage.completion_tokens)),
    },
  });
}

/** `content_block_start` of a text block. */
export function textBlockStartFrame(index: number): string {
  return messagesFrame({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
}

/** One `text_delta`. */
export function textDeltaFrame(index: number, text: string): string {
  return messagesFrame({ type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
}

function blockStopFrame(index: number): string {
  return messagesFrame({ type: 'content_block_stop', index });
}

/** Whether the answer has a text block: when it has text, or nothing else to say. */
function hasTextBlock(answer: Answer): boolean {
  return answer.content.length > 0 || (answer.reasoning.length === 0 && answer.toolCalls.length === 0);
}

/** Every frame of a streamed message: thinking, text and tool_use blocks, a ping after the first block starts, then the end. */
export function messagesFrames(answer: Answer, identity: MessagesIdentity, usage: TokenUsage): string[] {
  const frames = [messageStartFrame(identity, usage)];
  let index = 0;
  const open = (frame: string): void => {
    frames.push(frame);
    // Anthropic pings early, right after the first block opens.
    if (index === 0) frames.push(PING_FRAME);
  };
  if (answer.reasoning.length > 0) {
    open(messagesFrame({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }));
    for (const thinking of answer.reasoning) frames.push(messagesFrame({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking } }));
    frames.push(messagesFrame({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: signatureOf(answer) } }));
    frames.push(blockStopFrame(index));
    index += 1;
  }
  if (hasTextBlock(answer)) {
    open(textBlockStartFrame(index));
    for (const text of answer.content) frames.push(textDeltaFrame(index, text));
    frames.push(blockStopFrame(index));
    index += 1;
  }
  for (const [position, call] of answer.toolCalls.entries()) {
    open(messagesFrame({ type: 'content_block_start', index, content_block: { type: 'tool_use', id: toolUseId(identity, position, call.id), name: call.name, input: {} } }));
    // The first input_json_delta is always empty, as recorded.
    for (const partial_json of ['', ...call.fragments]) frames.push(messagesFrame({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } }));
    frames.push(blockStopFrame(index));
    index += 1;
  }
  const stopReason = messagesStopReason(answer.finishReason);
  frames.push(
    messagesFrame({
      type: 'message_delta',
      delta: { stop_reason: stopReason, stop_sequence: stopReason === 'stop_sequence' ? (answer.stopSequence ?? null) : null },
      usage: messagesUsage(usage),
    }),
  );
  frames.push(messagesFrame({ type: 'message_stop' }));
  return frames;
}

function toolInput(call: Answer['toolCalls'][number]): unknown {
  const text = argumentsOf(call);
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`tool call '${call.name}' has arguments that are not JSON, which a whole Anthropic message cannot carry: ${text}`);
  }
}

/** The answer as a non-streamed Anthropic `message`. Throws when a tool call's arguments are not JSON. */
export function messageBody(answer: Answer, identity: MessagesIdentity, usage: TokenUsage): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (answer.reasoning.length > 0) content.push({ type: 'thinking', thinking: answer.reasoning.join(''), signature: signatureOf(answer) });
  if (hasTextBlock(answer)) content.push({ type: 'text', text: answer.content.join('') });
  for (const [position, call] of answer.toolCalls.entries()) {
    content.push({ type: 'tool_use', id: toolUseId(identity, position, call.id), name: call.name, input: toolInput(call) });
  }
  const stopReason = messagesStopReason(answer.finishReason);
  return {
    model: identity.model,
    id: identity.id,
    type: 'message',
    role: 'assistant',
    content,
    stop_reason: stopReason,
    stop_sequence: stopReason === 'stop_sequence' ? (answer.stopSequence ?? null) : null,
    usage: messagesUsage(usage),
  };
}

/** Anthropic's in-stream error event; `details: null` is what streamed errors carry and HTTP error bodies do not. */
export function messagesErrorFrame(type: string, message: string): string {
  return messagesFrame({ type: 'error', error: { details: null, type, message } });
}
