import type { OutgoingHttpHeaders } from 'node:http';
import { argumentsOf, type Answer, type AnswerToolCall } from './answer.js';
import type { TokenUsage } from './behavior.js';
import { answerFrames, completionBody, type ChatIdentity } from './chat-answer.js';
import { countTokens, ECHO_PREFIX, splitIntoChunks } from './echo.js';
import type { Exchange } from './exchange.js';
import { messageBody, messagesFrames, type MessagesIdentity } from './messages-answer.js';
import { openaiErrorBody } from './provider-errors.js';
import { lastUserTextOf, promptTokensOf } from './request-text.js';
import { responseBody, responsesFrames, type ResponsesIdentity } from './responses-answer.js';
import type { Route } from './routes.js';

/** Everything a behavior may draw on to answer one request. */
export interface ResponseContext {
  exchange: Exchange;
  route: Route;
  /** The parsed request body, or undefined. */
  json: unknown;
  /** The request's sequence number on this upstream, for ids. */
  sequence: number;
  /** What `GET …/models` lists. */
  models: readonly string[];
}

/** A whole answer: status, headers and the body's text. */
export interface JsonAnswer {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

export const OPENAI_JSON = 'application/json; charset=utf-8';
export const SSE_HEADERS: OutgoingHttpHeaders = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
/** The fallback model name when a request names none. */
export const SANDBOX_MODEL = 'sandbox-echo';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The model to answer as: the Azure deployment, else the request's `model`, else the sandbox's. */
export function modelOf(context: ResponseContext): string {
  if (context.route.deployment !== undefined) return context.route.deployment;
  const model = isRecord(context.json) ? context.json.model : undefined;
  return typeof model === 'string' && model !== '' ? model : SANDBOX_MODEL;
}

/** Whether the request asked for a stream (`stream: true` on all three wires). */
export function wantsStream(context: ResponseContext): boolean {
  return isRecord(context.json) && context.json.stream === true;
}

/** Whether the request is a stream on an endpoint that answers with text. */
export function isTextStream(context: ResponseContext): boolean {
  const { endpoint } = context.route;
  return (endpoint === 'chat' || endpoint === 'messages' || endpoint === 'responses') && wantsStream(context);
}

/** The id the upstream answers this request with (`x-request-id`, and Anthropic's `request-id`). */
export function requestIdOf(context: ResponseContext): string {
  return `req_${context.sequence}`;
}

export function identityOf(context: ResponseContext): ChatIdentity {
  return { id: `chatcmpl-testkit-${context.sequence}`, created: Math.floor(Date.now() / 1000), model: modelOf(context), sequence: context.sequence };
}

export function messagesIdentityOf(context: ResponseContext): MessagesIdentity {
  return { id: `msg_testkit_${context.sequence}`, model: modelOf(context), sequence: context.sequence };
}

export function responsesIdentityOf(context: ResponseContext): ResponsesIdentity {
  const request = isRecord(context.json) ? context.json : {};
  return { id: `resp_testkit_${context.sequence}`, created: Math.floor(Date.now() / 1000), model: modelOf(context), sequence: context.sequence, request };
}

export function json(status: number, body: unknown, contentType = 'application/json'): JsonAnswer {
  return { status, headers: { 'content-type': contentType }, body: JSON.stringify(body) };
}

export function openaiError(status: number, message: string, type: string | null, param: string | null, code: string | null): JsonAnswer {
  return { status, headers: { 'content-type': OPENAI_JSON }, body: openaiErrorBody(message, type, param, code) };
}

/** Counted usage (words, see `countTokens`) of an answer to this request, with the script's overrides on top. */
export function usageFor(
  context: ResponseContext,
  content: string[],
  reasoning: string[],
  override?: Partial<TokenUsage>,
  toolCalls: AnswerToolCall[] = [],
): TokenUsage {
  const prompt = promptTokensOf(context.route.wire, context.json);
  const reasoningTokens = countTokens(reasoning.join(''));
  const toolTokens = toolCalls.reduce((sum, call) => sum + countTokens(`${call.name} ${argumentsOf(call)}`), 0);
  const completion = countTokens(content.join('')) + reasoningTokens + toolTokens;
  const usage: TokenUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (reasoning.length > 0) usage.completion_tokens_details = { reasoning_tokens: reasoningTokens };
  return { ...usage, ...override };
}

/** Usage on the wires that always carry it: the script's, else the counted numbers. */
export function carriedUsage(context: ResponseContext, answer: Answer): TokenUsage {
  return answer.usage ?? usageFor(context, answer.content, answer.reasoning, undefined, answer.toolCalls);
}

/** The sandbox's reply to the request, in whichever shape it came: `echo: ` + the last user text. */
export function echoText(context: ResponseContext): string {
  return `${ECHO_PREFIX}${lastUserTextOf(context.route.wire, context.json)}`;
}

/** The sandbox's answer: the echo text in word chunks, `stop`, counted usage. */
export function echoAnswer(context: ResponseContext): Answer {
  return textAnswer(context, splitIntoChunks(echoText(context)));
}

/** A finished text answer of `content` chunks: `stop`, usage counted from the request and the text. */
export function textAnswer(context: ResponseContext, content: string[]): Answer {
  return {
    content,
    reasoning: [],
    toolCalls: [],
    finishReason: 'stop',
    stopSequence: undefined,
    signature: undefined,
    usage: usageFor(context, content, []),
    usageOnFinishChunk: false,
    done: true,
  };
}

export function sendAnswer(exchange: Exchange, answer: JsonAnswer): void {
  exchange.send(answer.status, answer.headers, answer.body);
}

/** Opens an SSE answer and writes the frames, pausing between them, until done or the response closes. */
export async function writeFrames(exchange: Exchange, status: number, frames: readonly (string | Buffer)[], delayMs = 0): Promise<void> {
  exchange.open(status, SSE_HEADERS);
  for (const [index, frame] of frames.entries()) {
    if (index > 0) await exchange.sleep(delayMs);
    if (exchange.closed) return;
    await exchange.write(frame);
  }
  exchange.end();
}

/** Sends an answer in the wire of the request, streamed or whole as the request asked. */
export async function answerInWire(context: ResponseContext, answer: Answer, delayMs?: number): Promise<void> {
  const stream = wantsStream(context);
  switch (context.route.wire) {
    case 'chat': {
      const identity = identityOf(context);
      if (stream) await writeFrames(context.exchange, 200, answerFrames(answer, identity), delayMs);
      else sendAnswer(context.exchange, json(200, completionBody(answer, identity)));
      return;
    }
    case 'messages': {
      const identity = messagesIdentityOf(context);
      const usage = carriedUsage(context, answer);
      if (stream) await writeFrames(context.exchange, 200, messagesFrames(answer, identity, usage), delayMs);
      else sendAnswer(context.exchange, json(200, messageBody(answer, identity, usage)));
      return;
    }
    case 'responses': {
      const identity = responsesIdentityOf(context);
      const usage = carriedUsage(context, answer);
      if (stream) await writeFrames(context.exchange, 200, responsesFrames(answer, identity, usage), delayMs);
      else sendAnswer(context.exchange, json(200, responseBody(answer, identity, usage)));
      return;
    }
  }
}
