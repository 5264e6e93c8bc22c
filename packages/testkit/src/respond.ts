import type { OutgoingHttpHeaders } from 'node:http';
import type { Behavior, TokenUsage } from './behavior.js';
import { answerFrames, completionBody, contentFrame, DONE_FRAME, roleFrame, type ChatAnswer, type ChatIdentity } from './chat-answer.js';
import {
  countTokens,
  echoEmbedding,
  echoReply,
  embeddingInputs,
  encodeEmbeddingBase64,
  promptTokens,
  splitIntoChunks,
} from './echo.js';
import type { Exchange } from './exchange.js';
import { fixtureContentType, fixtureStatus, isStreamFixture, readFixtureBytes, splitFrames } from './fixtures.js';
import { openaiErrorBody, openaiRateLimitBody, providerError } from './provider-errors.js';
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

function identityOf(context: ResponseContext): ChatIdentity {
  return { id: `chatcmpl-testkit-${context.sequence}`, created: Math.floor(Date.now() / 1000), model: modelOf(context) };
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

/** A 500 that names the testkit, so a script mistake is not mistaken for an upstream error. */
export function testkitError(message: string): JsonAnswer {
  return openaiError(500, `testkit: ${message}`, 'testkit_error', null, 'testkit_error');
}

function usageFor(context: ResponseContext, content: string[], reasoning: string[], override?: Partial<TokenUsage>): TokenUsage {
  const prompt = promptTokens(context.json);
  const reasoningTokens = countTokens(reasoning.join(''));
  const completion = countTokens(content.join('')) + reasoningTokens;
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

function echoAnswer(context: ResponseContext): ChatAnswer {
  const content = splitIntoChunks(echoReply(context.json));
  return { content, reasoning: [], finishReason: 'stop', usage: usageFor(context, content, []), usageOnFinishChunk: false, done: true };
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
  }
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

async function answerChat(context: ResponseContext, answer: ChatAnswer, delayMs?: number): Promise<void> {
  const identity = identityOf(context);
  if (wantsStream(context)) await writeFrames(context.exchange, 200, answerFrames(answer, identity), delayMs);
  else sendAnswer(context.exchange, json(200, completionBody(answer, identity)));
}

/** Sends part of an answer, then either goes silent or drops the connection. */
async function breakOff(context: ResponseContext, afterChunks: number, chunks: string[] | undefined, then: 'stall' | 'cut'): Promise<void> {
  const { exchange } = context;
  if (context.route.endpoint === 'chat' && wantsStream(context)) {
    const identity = identityOf(context);
    const echo = chunks ?? splitIntoChunks(echoReply(context.json));
    exchange.open(200, SSE_HEADERS);
    await exchange.write(roleFrame(identity));
    for (let index = 0; index < afterChunks && !exchange.closed; index += 1) {
      await exchange.write(contentFrame(identity, echo[index] ?? ` ${index + 1}`));
    }
  } else {
    // Not a stream: promise the whole sandbox body by Content-Length, deliver half of it.
    const answer = sandboxJson(context);
    const body = Buffer.from(answer.body);
    exchange.open(answer.status, { ...answer.headers, 'content-length': body.length });
    await exchange.write(body.subarray(0, Math.floor(body.length / 2)));
  }
  if (then === 'cut') exchange.cut();
}

async function replayFixture(context: ResponseContext, name: string, delayMs: number | undefined, done: boolean, status: number | undefined): Promise<void> {
  const bytes = readFixtureBytes(name);
  if (!isStreamFixture(name)) {
    context.exchange.send(status ?? fixtureStatus(name) ?? 400, { 'content-type': fixtureContentType(name) }, bytes);
    return;
  }
  const frames: (string | Buffer)[] = splitFrames(bytes);
  if (done && !bytes.includes(DONE_FRAME)) frames.push(DONE_FRAME);
  await writeFrames(context.exchange, status ?? 200, frames, delayMs);
}

function lowerCaseKeys(headers: Record<string, string> | undefined): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
}

/** Answers one request as the behavior says. */
export async function respond(behavior: Behavior, context: ResponseContext): Promise<void> {
  const { exchange, route } = context;
  switch (behavior.type) {
    case 'echo': {
      if (route.endpoint === 'chat' && wantsStream(context)) {
        const problem = chatBodyProblem(context);
        if (problem !== undefined) sendAnswer(exchange, problem);
        else await answerChat(context, echoAnswer(context));
        return;
      }
      sendAnswer(exchange, sandboxJson(context));
      return;
    }
    case 'stream':
    case 'completion': {
      if (route.endpoint !== 'chat') {
        sendAnswer(exchange, testkitError(`the '${behavior.type}' behavior answers chat/completions, not ${route.endpoint}`));
        return;
      }
      if (behavior.type === 'stream') {
        if (behavior.firstByteDelayMs) await exchange.sleep(behavior.firstByteDelayMs);
        if (exchange.closed) return;
        const reasoning = behavior.reasoning ?? [];
        const usage = behavior.usage ?? true;
        await answerChat(
          context,
          {
            content: behavior.chunks,
            reasoning,
            finishReason: behavior.finishReason ?? 'stop',
            usage: usage === false ? undefined : usageFor(context, behavior.chunks, reasoning, usage === true ? undefined : usage),
            usageOnFinishChunk: behavior.usageOnFinishChunk ?? false,
            done: behavior.done ?? true,
          },
          behavior.delayMs,
        );
        return;
      }
      const content = splitIntoChunks(behavior.content);
      const reasoning = behavior.reasoning === undefined ? [] : splitIntoChunks(behavior.reasoning);
      await answerChat(context, {
        content,
        reasoning,
        finishReason: behavior.finishReason ?? 'stop',
        usage: usageFor(context, content, reasoning, behavior.usage),
        usageOnFinishChunk: false,
        done: true,
      });
      return;
    }
    case 'fixture':
      await replayFixture(context, behavior.name, behavior.delayMs, behavior.done ?? false, behavior.status);
      return;
    case 'error': {
      const answer = providerError(behavior.provider, behavior.code, { model: modelOf(context) });
      exchange.send(answer.status, answer.headers, answer.body);
      return;
    }
    case 'rateLimit': {
      const { retryAfterSeconds, retryAfterMs } = behavior;
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
      };
      exchange.send(429, headers, openaiRateLimitBody(options));
      return;
    }
    case 'regionBlock':
      await replayFixture(context, 'openai-unsupported_country_region_territory', undefined, false, undefined);
      return;
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
    case 'garbage':
      exchange.send(502, { 'content-type': 'text/html', server: 'nginx' }, NGINX_502);
      return;
  }
}
