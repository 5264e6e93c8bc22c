import type { OutgoingHttpHeaders } from 'node:http';
import { defaultFinish, toolCallsOf, type Answer } from './answer.js';
import type { Behavior, CompletionBehavior, ContinuationBehavior, StreamBehavior } from './behavior.js';
import { breakOff, streamError } from './breaks.js';
import { DONE_FRAME } from './chat-answer.js';
import { splitIntoChunks } from './echo.js';
import { fixtureContentType, fixtureStatus, readFixtureBytes, resolveFixture, splitFrames } from './fixtures.js';
import { anthropicErrorBody, anthropicRateLimitBody, openaiRateLimitBody, providerError, responsesErrorBody } from './provider-errors.js';
import {
  answerInWire,
  echoAnswer,
  isTextStream,
  modelOf,
  OPENAI_JSON,
  openaiError,
  requestIdOf,
  sendAnswer,
  textAnswer,
  usageFor,
  wantsStream,
  writeFrames,
  type JsonAnswer,
  type ResponseContext,
} from './response-context.js';
import type { Wire } from './routes.js';
import { sandboxJson, sandboxProblem } from './sandbox.js';
import { lastAssistantTextOf } from './request-text.js';

export { SANDBOX_MODEL, type ResponseContext } from './response-context.js';

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
  const content = splitIntoChunks(behavior.content);
  const reasoning = behavior.reasoning === undefined ? [] : splitIntoChunks(behavior.reasoning);
  return { ...common, content, reasoning, usage: usageFor(context, content, reasoning, behavior.usage, toolCalls), usageOnFinishChunk: false, done: true };
}

/** What a `continuation` says to this request: the rest of its text after the start the request carries (see the behavior). */
export function continuationText(context: ResponseContext, behavior: ContinuationBehavior): string {
  const { text } = behavior;
  const start = lastAssistantTextOf(context.route.wire, context.json);
  if (behavior.restart || start === '' || !text.startsWith(start)) return text;
  const overlap = Math.min(behavior.overlap ?? 0, start.length);
  return text.slice(start.length - overlap);
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
        const problem = sandboxProblem(context);
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
      if (behavior.type === 'stream' && behavior.firstByteDelayMs) {
        await exchange.sleep(behavior.firstByteDelayMs);
        if (exchange.closed) return;
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
    case 'continuation': {
      if (route.endpoint !== 'chat' && route.endpoint !== 'messages' && route.endpoint !== 'responses') {
        sendAnswer(exchange, testkitError(`the 'continuation' behavior answers chat/completions, messages and responses, not ${route.endpoint}`, route.wire));
        return;
      }
      if (behavior.firstByteDelayMs) {
        await exchange.sleep(behavior.firstByteDelayMs);
        if (exchange.closed) return;
      }
      await answerInWire(context, textAnswer(context, splitIntoChunks(continuationText(context, behavior))), behavior.delayMs);
      return;
    }
    case 'garbage':
      exchange.send(502, { 'content-type': 'text/html', server: 'nginx' }, NGINX_502);
      return;
  }
}
