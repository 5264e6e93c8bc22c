/**
 * Content capture (opt-in, `telemetry.captureContent`): the prompt from the request body and the answer from the bytes
 * written to the client, as the GenAI conventions' `gen_ai.input.messages` / `gen_ai.output.messages` JSON.
 */

/** Longest JSON written to one attribute; the rest is cut (spans are not a transcript store). */
export const CONTENT_LIMIT = 64 * 1024;
/** Most answer bytes kept for extraction. */
const OUTPUT_BYTES = 256 * 1024;

interface Part {
  type: string;
  content?: string;
}
interface Message {
  role: string;
  parts: Part[];
  finish_reason?: string;
}

function partsOf(content: unknown): Part[] {
  if (typeof content === 'string') return [{ type: 'text', content }];
  if (!Array.isArray(content)) return [];
  return content.map((item: unknown) => {
    const part = (item ?? {}) as { type?: unknown; text?: unknown };
    const type = typeof part.type === 'string' ? part.type : 'unknown';
    return typeof part.text === 'string' ? { type: 'text', content: part.text } : { type };
  });
}

function messagesOf(list: unknown): Message[] {
  if (!Array.isArray(list)) return [];
  return list.map((item: unknown) => {
    const message = (item ?? {}) as { role?: unknown; content?: unknown };
    return { role: typeof message.role === 'string' ? message.role : 'user', parts: partsOf(message.content) };
  });
}

/** The conversation a request body carries, in the conventions' message shape; undefined when it has none. */
export function inputMessages(body: unknown): Message[] | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  // `/api/chat`: history, then the question.
  if (typeof b.question === 'string') return [...messagesOf(b.messages), { role: 'user', parts: [{ type: 'text', content: b.question }] }];
  if (Array.isArray(b.messages)) return messagesOf(b.messages);
  if (typeof b.input === 'string') return [{ role: 'user', parts: [{ type: 'text', content: b.input }] }];
  if (Array.isArray(b.input)) return b.input.every((item) => typeof item === 'string') ? [{ role: 'user', parts: (b.input as string[]).map((content) => ({ type: 'text', content })) }] : messagesOf(b.input);
  return undefined;
}

/** Collects the first bytes an answer writes, for `outputMessages`. */
export interface OutputCapture {
  push(chunk: string | Uint8Array): void;
  text(): string;
}

/** A bounded collector of answer bytes. */
export function createOutputCapture(): OutputCapture {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push(chunk) {
      if (size >= OUTPUT_BYTES) return;
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      chunks.push(buffer);
      size += buffer.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

function record(json: unknown, state: { text: string; reasoning: string; finish?: string }): void {
  if (typeof json !== 'object' || json === null) return;
  const j = json as Record<string, any>;
  // `/api/chat` events.
  if (j.type === 'reply' && typeof j.content === 'string') state.text += j.content;
  else if (j.type === 'thinking' && typeof j.content === 'string') state.reasoning += j.content;
  else if (j.type === 'end' && typeof j.finish_reason === 'string') state.finish = j.finish_reason;
  // Chat Completions chunks and whole answers.
  const choice = Array.isArray(j.choices) ? j.choices[0] : undefined;
  if (choice) {
    const content = choice.delta?.content ?? choice.message?.content;
    if (typeof content === 'string') state.text += content;
    if (typeof choice.finish_reason === 'string') state.finish = choice.finish_reason;
  }
  // Anthropic Messages and OpenAI Responses streams.
  if (j.type === 'content_block_delta' && typeof j.delta?.text === 'string') state.text += j.delta.text;
  if (j.type === 'response.output_text.delta' && typeof j.delta === 'string') state.text += j.delta;
  if (j.type === 'message' && Array.isArray(j.content)) for (const part of j.content) if (typeof part?.text === 'string') state.text += part.text;
}

/** The answer text found in the bytes of an answer (SSE frames or one JSON body); undefined when there is none. */
export function outputMessages(written: string): Message[] | undefined {
  const state: { text: string; reasoning: string; finish?: string } = { text: '', reasoning: '' };
  const trimmed = written.trimStart();
  if (trimmed.startsWith('{')) {
    try {
      record(JSON.parse(trimmed), state);
    } catch {
      return undefined;
    }
  } else {
    for (const line of written.split('\n')) {
      if (!line.startsWith('data:')) continue;
      const data = line.slice(5).trim();
      if (data === '' || data === '[DONE]') continue;
      try {
        record(JSON.parse(data), state);
      } catch {
        // A frame cut by the capture limit.
      }
    }
  }
  if (state.text === '' && state.reasoning === '') return undefined;
  const parts: Part[] = [];
  if (state.reasoning) parts.push({ type: 'reasoning', content: state.reasoning });
  if (state.text) parts.push({ type: 'text', content: state.text });
  return [{ role: 'assistant', parts, ...(state.finish ? { finish_reason: state.finish } : {}) }];
}

/** JSON for an attribute, cut to `CONTENT_LIMIT`. */
export function contentJson(messages: Message[]): string {
  const json = JSON.stringify(messages);
  return json.length > CONTENT_LIMIT ? json.slice(0, CONTENT_LIMIT) : json;
}
