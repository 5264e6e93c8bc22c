import { argumentsOf, chatFinishReason, type Answer } from './answer.js';
import type { TokenUsage } from './behavior.js';

/** What a chat answer says: the wire-neutral answer (reasoning as `reasoning_content`). */
export type ChatAnswer = Answer;

/** The envelope fields every chunk of one answer shares. */
export interface ChatIdentity {
  id: string;
  created: number;
  model: string;
  /** The request's number on the upstream, for default tool-call ids. */
  sequence: number;
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

/** The id of the n-th tool call of an answer, unless the script gave one. */
export function chatToolCallId(identity: ChatIdentity, index: number, id: string | undefined): string {
  return id ?? `call_testkit_${identity.sequence}_${index}`;
}

/** The frames of the tool calls: per call, a first delta with id, name and `arguments: ""`, then the fragments. */
function toolCallFrames(answer: ChatAnswer, identity: ChatIdentity): string[] {
  return answer.toolCalls.flatMap((call, index) => [
    chunk(identity, { tool_calls: [{ index, id: chatToolCallId(identity, index, call.id), type: 'function', function: { name: call.name, arguments: '' } }] }),
    ...call.fragments.map((fragment) => chunk(identity, { tool_calls: [{ index, function: { arguments: fragment } }] })),
  ]);
}

/** Every frame of a streamed answer, in order. */
export function answerFrames(answer: ChatAnswer, identity: ChatIdentity): string[] {
  // A tool-only answer opens like OpenAI's: a role chunk with `content: null`.
  const toolOnly = answer.content.length === 0 && answer.toolCalls.length > 0;
  const frames = [toolOnly ? chunk(identity, { role: 'assistant', content: null }) : roleFrame(identity)];
  // DeepSeek and DashScope send the inactive field as null beside the active one.
  for (const reasoning of answer.reasoning) frames.push(chunk(identity, { content: null, reasoning_content: reasoning }));
  for (const content of answer.content) frames.push(contentFrame(identity, content));
  frames.push(...toolCallFrames(answer, identity));
  const usageOnFinish = answer.usageOnFinishChunk ? answer.usage : undefined;
  frames.push(chunk(identity, {}, chatFinishReason(answer.finishReason), usageOnFinish));
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
          content: answer.toolCalls.length > 0 && answer.content.length === 0 ? null : answer.content.join(''),
          ...(answer.reasoning.length > 0 ? { reasoning_content: reasoning } : {}),
          refusal: null,
          ...(answer.toolCalls.length > 0
            ? {
                tool_calls: answer.toolCalls.map((call, index) => ({
                  id: chatToolCallId(identity, index, call.id),
                  type: 'function',
                  function: { name: call.name, arguments: argumentsOf(call) },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: chatFinishReason(answer.finishReason),
      },
    ],
    ...(answer.usage === undefined ? {} : { usage: answer.usage }),
  };
}

/** OpenAI's in-stream error frame, as OpenAI-compatible upstreams send it after the stream has begun. */
export function chatErrorFrame(message: string, type: string): string {
  return sseFrame({ error: { message, type, param: null, code: null } });
}
