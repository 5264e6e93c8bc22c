import type { TokenUsage } from './behavior.js';

/** What a chat answer says, independent of whether it is streamed. */
export interface ChatAnswer {
  /** Content deltas, in order; joined for a non-streaming answer. */
  content: string[];
  /** `reasoning_content` deltas, sent before the content. */
  reasoning: string[];
  finishReason: string;
  /** Omitted from the answer when undefined. */
  usage: TokenUsage | undefined;
  /** DeepSeek style: usage on the finish chunk, no separate usage chunk. */
  usageOnFinishChunk: boolean;
  /** End the stream with `data: [DONE]`. */
  done: boolean;
}

/** The envelope fields every chunk of one answer shares. */
export interface ChatIdentity {
  id: string;
  created: number;
  model: string;
}

/** One SSE frame: `data: <json>\n\n`. */
export function sseFrame(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

/** The terminator OpenAI-compatible upstreams send. */
export const DONE_FRAME = 'data: [DONE]\n\n';

function chunk(identity: ChatIdentity, delta: Record<string, unknown>, finishReason: string | null = null, usage?: TokenUsage): string {
  return sseFrame({
    id: identity.id,
    object: 'chat.completion.chunk',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(usage === undefined ? {} : { usage }),
  });
}

/** The role chunk that opens every stream. */
export function roleFrame(identity: ChatIdentity): string {
  return chunk(identity, { role: 'assistant', content: '' });
}

/** A content delta chunk. */
export function contentFrame(identity: ChatIdentity, content: string): string {
  return chunk(identity, { content });
}

/** Every frame of a streamed answer, in order. */
export function answerFrames(answer: ChatAnswer, identity: ChatIdentity): string[] {
  const frames = [roleFrame(identity)];
  // DeepSeek and DashScope send the inactive field as null beside the active one.
  for (const reasoning of answer.reasoning) frames.push(chunk(identity, { content: null, reasoning_content: reasoning }));
  for (const content of answer.content) frames.push(contentFrame(identity, content));
  const usageOnFinish = answer.usageOnFinishChunk ? answer.usage : undefined;
  frames.push(chunk(identity, {}, answer.finishReason, usageOnFinish));
  if (answer.usage !== undefined && !answer.usageOnFinishChunk) {
    frames.push(sseFrame({ id: identity.id, object: 'chat.completion.chunk', created: identity.created, model: identity.model, choices: [], usage: answer.usage }));
  }
  if (answer.done) frames.push(DONE_FRAME);
  return frames;
}

/** The answer as a non-streaming `chat.completion`. */
export function completionBody(answer: ChatAnswer, identity: ChatIdentity): Record<string, unknown> {
  const reasoning = answer.reasoning.join('');
  return {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: answer.content.join(''),
          ...(answer.reasoning.length > 0 ? { reasoning_content: reasoning } : {}),
          refusal: null,
        },
        logprobs: null,
        finish_reason: answer.finishReason,
      },
    ],
    ...(answer.usage === undefined ? {} : { usage: answer.usage }),
  };
}
