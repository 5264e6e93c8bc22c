import type { OutgoingHttpHeaders } from 'node:http';
import { argumentsOf, defaultFinish, toolCallsOf, type Answer, type AnswerToolCall } from './answer.js';
import type { Behavior, CompletionBehavior, StreamBehavior, TokenUsage } from './behavior.js';
import { answerFrames, chatErrorFrame, completionBody, contentFrame, DONE_FRAME, roleFrame, type ChatIdentity } from './chat-answer.js';
import { countTokens, ECHO_PREFIX, echoEmbedding, embeddingInputs, encodeEmbeddingBase64, splitIntoChunks } from './echo.js';
import type { Exchange } from './exchange.js';
import { fixtureContentType, fixtureStatus, readFixtureBytes, resolveFixture, splitFrames } from './fixtures.js';
import {
  messageBody,
  messagesErrorFrame,
  messagesFrames,
  messageStartFrame,
  PING_FRAME,
  textBlockStartFrame,
  textDeltaFrame,
  type MessagesIdentity,
} from './messages-answer.js';
import {
  anthropicErrorBody,
  anthropicRateLimitBody,
  openaiErrorBody,
  openaiErrorBodyFor,
  openaiRateLimitBody,
  providerError,
  responsesErrorBody,
} from './provider-errors.js';
import { messagesRequestProblem, responsesRequestProblem } from './request-problems.js';
import { lastUserTextOf, promptTokensOf } from './request-text.js';
import { responseBody, responsesFrames, ResponsesStream, type ResponsesIdentity } from './responses-answer.js';
import type { Route, Wire } from './routes.js';

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

interface JsonAnswer {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

const OPENAI_JSON = 'application/json; charset=utf-8';
const SSE_HEADERS: OutgoingHttpHeaders = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };
/** The fallback model name when a request names none. */
export const SANDBOX_MODEL = 'sandbox-echo';
/** Fixed so `/models` answers are byte-stable. */
const MODEL_CREATED = 1_700_000_000;

// nginx writes its error pages with CRLF line endings.
const NGINX_502 = [
  '<html>',
  '<head><title>502 Bad Gateway</title></head>',
  '<body>',
  '<center><h1>502 Bad Gateway</h1></center>',
  '<hr><center>nginx</center>',
  '</body>',
  '</html>',
  '',
].join('\r\n');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function modelOf(context: ResponseContext): string {
  if (context.route.deployment !== undefined) return context.route.deployment;
  const model = isRecord(context.json) ? context.json.model : undefined;
  return typeof model === 'string' && model !== '' ? model : SANDBOX_MODEL;
}

function wantsStream(context: ResponseContext): boolean {
  return isRecord(context.json) && context.json.stream === true;
}

function requestIdOf(context: ResponseContext): string {
  return `req_${context.sequence}`;
}

function identityOf(context: ResponseContext): ChatIdentity {
  return { id: `chatcmpl-testkit-${context.sequence}`, created: Math.floor(Date.now() / 1000), model: modelOf(context), sequence: context.sequence };
}

function messagesIdentityOf(context: ResponseContext): MessagesIdentity {
  return { id: `msg_testkit_${context.sequence}`, model: modelOf(context), sequence: context.sequence };
}

function responsesIdentityOf(context: ResponseContext): ResponsesIdentity {
  const request = isRecord(context.json) ? context.json : {};
  return { id: `resp_testkit_${context.sequence}`, created: Math.floor(Date.now() / 1000), model: modelOf(context), sequence: context.sequence, request };
}

function json(status: number, body: unknown, contentType = 'application/json'): JsonAnswer {
  return { status, headers: { 'content-type': contentType }, body: JSON.stringify(body) };
}

function openaiError(status: number, message: string, type: string | null, param: string | null, code: string | null): JsonAnswer {
  return { status, headers: { 'content-type': OPENAI_JSON }, body: openaiErrorBody(message, type, param, code) };
}

/** OpenAI's 404 for a path it does not serve. */
export function notFound(method: string, path: string): JsonAnswer {
  return openaiError(404, `Invalid URL (${method} ${path})`, 'invalid_request_error', null, null);
}

/** A 500 that names the testkit, in the envelope of the route's wire, so a script mistake is not mistaken for an upstream error. */
export function testkitError(message: string, wire: Wire = 'chat'): JsonAnswer {
  if (wire === 'messages') return { status: 500, headers: { 'content-type': 'application/json' }, body: anthropicErrorBody('testkit_error', `testkit: ${message}`) };
  if (wire === 'responses') {
    return { status: 500, headers: { 'content-type': 'application/json' }, body: responsesErrorBody(`testkit: ${message}`, 'testkit_error', null, 'testkit_error') };
  }
  return openaiError(500, `testkit: ${message}`, 'testkit_error', null, 'testkit_error');
}

function usageFor(context: ResponseContext, content: string[], reasoning: string[], override?: Partial<TokenUsage>, toolCalls: AnswerToolCall[] = []): TokenUsage {
  const prompt = promptTokensOf(context.route.wire, context.json);
  const reasoningTokens = countTokens(reasoning.join(''));
  const toolTokens = toolCalls.reduce((sum, call) => sum + countTokens(`${call.name} ${argumentsOf(call)}`), 0);
  const completion = countTokens(content.join('')) + reasoningTokens + toolTokens;
  const usage: TokenUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (reasoning.length > 0) usage.completion_tokens_details = { reasoning_tokens: reasoningTokens };
  return { ...usage, ...override };
}

/** Validates a chat body the way OpenAI does, so the sandbox does not echo nonsense. */
function chatBodyProblem(context: ResponseContext): JsonAnswer | undefined {
  if (!isRecord(context.json)) {
    return openaiError(
      400,
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      'invalid_request_error',
      null,
      null,
    );
  }
  if (!Array.isArray(context.json.messages)) {
    return openaiError(400, "Missing required parameter: 'messages'.", 'invalid_request_error', 'messages', 'missing_required_parameter');
  }
  return undefined;
}

/** The sandbox's reply to the request, in whichever shape it came: `echo: ` + the last user text. */
function echoText(context: ResponseContext): string {
  return `${ECHO_PREFIX}${lastUserTextOf(context.route.wire, context.json)}`;
}

function echoAnswer(context: ResponseContext): Answer {
  const content = splitIntoChunks(echoText(context));
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

/** The answer a `stream` or `completion` script describes. */
function scriptedAnswer(context: ResponseContext, behavior: StreamBehavior | CompletionBehavior): Answer {
  const toolCalls = toolCallsOf(behavior.toolCalls);
  const common = {
    toolCalls,
    finishReason: behavior.finishReason ?? defaultFinish(toolCalls, behavior.stopSequence),
    stopSequence: behavior.stopSequence,
    signature: behavior.signature,
  };
  if (behavior.type === 'stream') {
    const reasoning = behavior.reasoning ?? [];
    const usage = behavior.usage ?? true;
    return {
      ...common,
      content: behavior.chunks,
      reasoning,
      usage: usage === false ? undefined : usageFor(context, behavior.chunks, reasoning, usage === true ? undefined : usage, toolCalls),
      usageOnFinishChunk: behavior.usageOnFinishChunk ?? false,
      done: behavior.done ?? true,
    };
  }
  const content = behavior.content === '' && toolCalls.length > 0 ? [] : splitIntoChunks(behavior.content);
  const reasoning = behavior.reasoning === undefined ? [] : splitIntoChunks(behavior.reasoning);
  return { ...common, content, reasoning, usage: usageFor(context, content, reasoning, behavior.usage, toolCalls), usageOnFinishChunk: false, done: true };
}

/** Usage on the wires that always carry it: the script's, else the counted numbers. */
function carriedUsage(context: ResponseContext, answer: Answer): TokenUsage {
  return answer.usage ?? usageFor(context, answer.content, answer.reasoning, undefined, answer.toolCalls);
}

function embeddingsAnswer(context: ResponseContext): JsonAnswer {
  const inputs = isRecord(context.json) ? embeddingInputs(context.json.input) : undefined;
  if (inputs === undefined) {
    return openaiError(400, "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", 'invalid_request_error', null, null);
  }
  const base64 = isRecord(context.json) && context.json.encoding_format === 'base64';
  const tokens = inputs.reduce((sum, text) => sum + countTokens(text), 0);
  return json(200, {
    object: 'list',
    data: inputs.map((text, index) => {
      const vector = echoEmbedding(text);
      return { object: 'embedding', index, embedding: base64 ? encodeEmbeddingBase64(vector) : vector };
    }),
    model: modelOf(context),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

function countTokensAnswer(context: ResponseContext): JsonAnswer {
  return (
    messagesRequestProblem(context.json, requestIdOf(context), true) ?? json(200, { input_tokens: promptTokensOf('messages', context.json) })
  );
}

function modelsAnswer(context: ResponseContext): JsonAnswer {
  return json(200, { object: 'list', data: context.models.map((id) => ({ id, object: 'model', created: MODEL_CREATED, owned_by: 'testkit' })) });
}

/** The sandbox's whole JSON answer for a request that is not streamed. */
function sandboxJson(context: ResponseContext): JsonAnswer {
  switch (context.route.endpoint) {
    case 'models':
      return modelsAnswer(context);
    case 'embeddings':
      return embeddingsAnswer(context);
    case 'chat':
      return chatBodyProblem(context) ?? json(200, completionBody(echoAnswer(context), identityOf(context)));
    case 'countTokens':
      return countTokensAnswer(context);
    case 'messages': {
      const problem = messagesRequestProblem(context.json, requestIdOf(context));
      if (problem !== undefined) return problem;
      const answer = echoAnswer(context);
      return json(200, messageBody(answer, messagesIdentityOf(context), carriedUsage(context, answer)));
    }
    case 'responses': {
      const problem = responsesRequestProblem(context.json, context.route.deployment !== undefined);
      if (problem !== undefined) return problem;
      const answer = echoAnswer(context);
      return json(200, responseBody(answer, responsesIdentityOf(context), carriedUsage(context, answer)));
    }
  }
}

/** The sandbox's validation for a streamed request on a wire: the 400 the real API would send, or undefined. */
function streamProblem(context: ResponseContext): JsonAnswer | undefined {
  if (context.route.wire === 'messages') return messagesRequestProblem(context.json, requestIdOf(context));
  if (context.route.wire === 'responses') return responsesRequestProblem(context.json, context.route.deployment !== undefined);
  return chatBodyProblem(context);
}

function sendAnswer(exchange: Exchange, answer: JsonAnswer): void {
  exchange.send(answer.status, answer.headers, answer.body);
}

async function writeFrames(exchange: Exchange, status: number, frames: readonly (string | Buffer)[], delayMs = 0): Promise<void> {
  exchange.open(status, SSE_HEADERS);
  for (const [index, frame] of frames.entries()) {
    if (index > 0) await exchange.sleep(delayMs);
    if (exchange.closed) return;
    await exchange.write(frame);
  }
  exchange.end();
}

/** Sends an answer in the wire of the request, streamed or whole as the request asked. */
async function answerInWire(context: ResponseContext, answer: Answer, delayMs?: number): Promise<void> {
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

/** Whether the request is a stream on an endpoint that answers with text. */
function isTextStream(context: ResponseContext): boolean {
  const { endpoint } = context.route;
  return (endpoint === 'chat' || endpoint === 'messages' || endpoint === 'responses') && wantsStream(context);
}

/**
 * Opens a streamed answer in the request's wire and sends its first `afterChunks` text deltas
 * (the given chunks, else the echo reply's, numbered beyond them). Hands back the wire's stream writer for what follows.
 */
async function streamPrefix(context: ResponseContext, afterChunks: number, chunks: string[] | undefined): Promise<ResponsesStream | undefined> {
  const { exchange } = context;
  const text = chunks ?? splitIntoChunks(echoText(context));
  const deltaAt = (index: number): string => text[index] ?? ` ${index + 1}`;
  let opening: string[];
  let delta: (text: string) => string;
  let responses: ResponsesStream | undefined;
  switch (context.route.wire) {
    case 'chat': {
      const identity = identityOf(context);
      opening = [roleFrame(identity)];
      delta = (piece) => contentFrame(identity, piece);
      break;
    }
    case 'messages': {
      const identity = messagesIdentityOf(context);
      const answer = { ...echoAnswer(context), content: text };
      opening = [messageStartFrame(identity, carriedUsage(context, answer)), textBlockStartFrame(0), PING_FRAME];
      delta = (piece) => textDeltaFrame(0, piece);
      break;
    }
    case 'responses': {
      const stream = new ResponsesStream(responsesIdentityOf(context));
      responses = stream;
      opening = [...stream.opening(), ...stream.messageOpening()];
      delta = (piece) => stream.textDelta(piece);
      break;
    }
  }
  exchange.open(200, SSE_HEADERS);
  for (const frame of opening) await exchange.write(frame);
  for (let index = 0; index < afterChunks && !exchange.closed; index += 1) await exchange.write(delta(deltaAt(index)));
  return responses;
}

/** Sends part of an answer, then either goes silent or drops the connection. */
async function breakOff(context: ResponseContext, afterChunks: number, chunks: string[] | undefined, then: 'stall' | 'cut'): Promise<void> {
  const { exchange } = context;
  if (isTextStream(context)) {
    await streamPrefix(context, afterChunks, chunks);
  } else {
    // Not a stream: promise the whole sandbox body by Content-Length, deliver half of it.
    const answer = sandboxJson(context);
    const body = Buffer.from(answer.body);
    exchange.open(answer.status, { ...answer.headers, 'content-length': body.length });
    await exchange.write(body.subarray(0, Math.floor(body.length / 2)));
  }
  if (then === 'cut') exchange.cut();
}

const STREAM_ERROR_STATUS: Readonly<Record<string, number>> = { overloaded_error: 529, rate_limit_error: 429, rate_limit_exceeded: 429 };

function streamErrorMessage(type: string): string {
  if (type === 'overloaded_error') return 'Overloaded';
  if (type === 'api_error') return 'Internal server error';
  return 'The server had an error while processing your request. Sorry about that!';
}

/** Sends part of an answer, then the wire's own in-stream error, and ends the body. Not streamed: the error as an HTTP status. */
async function streamError(context: ResponseContext, afterChunks: number, chunks: string[] | undefined, errorType?: string, message?: string): Promise<void> {
  const { exchange, route } = context;
  const type = errorType ?? (route.wire === 'messages' ? 'overloaded_error' : 'server_error');
  const text = message ?? streamErrorMessage(type);
  if (!isTextStream(context)) {
    const status = STREAM_ERROR_STATUS[type] ?? 500;
    if (route.wire === 'messages') {
      const requestId = requestIdOf(context);
      sendAnswer(exchange, { status, headers: { 'content-type': 'application/json', 'request-id': requestId }, body: anthropicErrorBody(type, text, requestId) });
    } else {
      sendAnswer(exchange, { status, headers: { 'content-type': route.wire === 'responses' ? 'application/json' : OPENAI_JSON }, body: openaiErrorBodyFor(route.wire, text, type, null, null) });
    }
    return;
  }
  const responses = await streamPrefix(context, afterChunks, chunks);
  const frames =
    route.wire === 'messages' ? [messagesErrorFrame(type, text)] : responses !== undefined ? responses.failed(type, text) : [chatErrorFrame(text, type)];
  for (const frame of frames) await exchange.write(frame);
  exchange.end();
}

async function replayFixture(context: ResponseContext, name: string, delayMs: number | undefined, done: boolean, status: number | undefined): Promise<void> {
  // A bare name with both a stream and a body follows the request: the body when it did not ask to stream.
  const file = resolveFixture(name, !wantsStream(context));
  const bytes = readFixtureBytes(file);
  if (!file.endsWith('.sse.txt')) {
    context.exchange.send(status ?? fixtureStatus(file) ?? 400, { 'content-type': fixtureContentType(file) }, bytes);
    return;
  }
  const frames: (string | Buffer)[] = splitFrames(bytes);
  if (done && !bytes.includes(DONE_FRAME)) frames.push(DONE_FRAME);
  await writeFrames(context.exchange, status ?? 200, frames, delayMs);
}

/** Anthropic's 429: its body, `retry-after` when scripted, and the `anthropic-ratelimit-*` headers of a spent request budget. */
function anthropicRateLimit(context: ResponseContext, retryAfterSeconds: number | undefined, retryAfterMs: number | undefined): JsonAnswer {
  const requestId = requestIdOf(context);
  const waitMs = retryAfterMs ?? (retryAfterSeconds ?? 60) * 1000;
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'request-id': requestId,
    'x-should-retry': 'true',
    'anthropic-ratelimit-requests-limit': '50',
    'anthropic-ratelimit-requests-remaining': '0',
    'anthropic-ratelimit-requests-reset': new Date(Date.now() + waitMs).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  if (retryAfterMs !== undefined) headers['retry-after-ms'] = String(retryAfterMs);
  return { status: 429, headers, body: anthropicRateLimitBody({ model: modelOf(context), requestId }) };
}

function lowerCaseKeys(headers: Record<string, string> | undefined): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
}

/** Answers one request as the behavior says. */
export async function respond(behavior: Behavior, context: ResponseContext): Promise<void> {
  const { exchange, route } = context;
  switch (behavior.type) {
    case 'echo': {
      if (isTextStream(context)) {
        const problem = streamProblem(context);
        if (problem !== undefined) sendAnswer(exchange, problem);
        else await answerInWire(context, echoAnswer(context));
        return;
      }
      sendAnswer(exchange, sandboxJson(context));
      return;
    }
    case 'stream':
    case 'completion': {
      if (route.endpoint !== 'chat' && route.endpoint !== 'messages' && route.endpoint !== 'responses') {
        sendAnswer(exchange, testkitError(`the '${behavior.type}' behavior answers chat/completions, messages and responses, not ${route.endpoint}`, route.wire));
        return;
      }
      await answerInWire(context, scriptedAnswer(context, behavior), behavior.type === 'stream' ? behavior.delayMs : undefined);
      return;
    }
    case 'fixture':
      await replayFixture(context, behavior.name, behavior.delayMs, behavior.done ?? false, behavior.status);
      return;
    case 'error': {
      const answer = providerError(behavior.provider, behavior.code, { model: modelOf(context), wire: route.wire, requestId: requestIdOf(context) });
      exchange.send(answer.status, answer.headers, answer.body);
      return;
    }
    case 'rateLimit': {
      const { retryAfterSeconds, retryAfterMs } = behavior;
      if (route.wire === 'messages') {
        sendAnswer(exchange, anthropicRateLimit(context, retryAfterSeconds, retryAfterMs));
        return;
      }
      const headers: OutgoingHttpHeaders = {
        'content-type': OPENAI_JSON,
        'x-ratelimit-limit-requests': '3',
        'x-ratelimit-remaining-requests': '0',
      };
      if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
      if (retryAfterMs !== undefined) headers['retry-after-ms'] = String(retryAfterMs);
      const options = {
        model: modelOf(context),
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        wire: route.wire,
      };
      // Responses errors are plain `application/json`, in their own layout.
      if (route.wire === 'responses') headers['content-type'] = 'application/json';
      exchange.send(429, headers, openaiRateLimitBody(options));
      return;
    }
    case 'regionBlock': {
      if (route.wire === 'messages') {
        const answer = providerError('anthropic', 'forbidden');
        exchange.send(answer.status, answer.headers, answer.body);
        return;
      }
      await replayFixture(context, 'openai-unsupported_country_region_territory', undefined, false, undefined);
      return;
    }
    case 'status': {
      const { body } = behavior;
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
      const contentType = body === undefined ? {} : { 'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json' };
      exchange.send(behavior.status, { ...contentType, ...lowerCaseKeys(behavior.headers) }, text);
      return;
    }
    case 'stallBeforeFirstByte':
      // Nothing to do: the response stays open until the client or the upstream closes it.
      return;
    case 'stallMidStream':
      await breakOff(context, behavior.afterChunks, behavior.chunks, 'stall');
      return;
    case 'cutMidStream':
      await breakOff(context, behavior.afterChunks, behavior.chunks, 'cut');
      return;
    case 'streamError':
      await streamError(context, behavior.afterChunks, behavior.chunks, behavior.errorType, behavior.message);
      return;
    case 'garbage':
      exchange.send(502, { 'content-type': 'text/html', server: 'nginx' }, NGINX_502);
      return;
  }
}
