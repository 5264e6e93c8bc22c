import { chatErrorFrame, contentFrame, roleFrame } from './chat-answer.js';
import { splitIntoChunks } from './echo.js';
import { messagesErrorFrame, messageStartFrame, PING_FRAME, textBlockStartFrame, textDeltaFrame } from './messages-answer.js';
import { anthropicErrorBody, openaiErrorBodyFor } from './provider-errors.js';
import {
  carriedUsage,
  echoAnswer,
  echoText,
  identityOf,
  isTextStream,
  messagesIdentityOf,
  OPENAI_JSON,
  requestIdOf,
  responsesIdentityOf,
  sendAnswer,
  SSE_HEADERS,
  type ResponseContext,
} from './response-context.js';
import { ResponsesStream } from './responses-answer.js';
import { sandboxJson } from './sandbox.js';

/**
 * Opens a streamed answer in the request's wire and sends its first `afterChunks` text deltas
 * (the given chunks, else the echo reply's, numbered beyond them). Hands back the Responses writer for what follows.
 */
async function streamPrefix(context: ResponseContext, afterChunks: number, chunks: string[] | undefined): Promise<ResponsesStream | undefined> {
  const { exchange } = context;
  const text = chunks ?? splitIntoChunks(echoText(context));
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
      const usage = carriedUsage(context, { ...echoAnswer(context), content: text });
      // Stops inside the text block: no content_block_stop follows.
      opening = [messageStartFrame(identity, usage), textBlockStartFrame(0), PING_FRAME];
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
  for (let index = 0; index < afterChunks && !exchange.closed; index += 1) await exchange.write(delta(text[index] ?? ` ${index + 1}`));
  return responses;
}

/** Sends part of an answer, then either goes silent or drops the connection. */
export async function breakOff(context: ResponseContext, afterChunks: number, chunks: string[] | undefined, then: 'stall' | 'cut'): Promise<void> {
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
export async function streamError(
  context: ResponseContext,
  afterChunks: number,
  chunks: string[] | undefined,
  errorType: string | undefined,
  message: string | undefined,
): Promise<void> {
  const { exchange, route } = context;
  const type = errorType ?? (route.wire === 'messages' ? 'overloaded_error' : 'server_error');
  const text = message ?? streamErrorMessage(type);
  if (!isTextStream(context)) {
    const status = STREAM_ERROR_STATUS[type] ?? 500;
    if (route.wire === 'messages') {
      const requestId = requestIdOf(context);
      sendAnswer(exchange, { status, headers: { 'content-type': 'application/json', 'request-id': requestId }, body: anthropicErrorBody(type, text, requestId) });
    } else {
      const contentType = route.wire === 'responses' ? 'application/json' : OPENAI_JSON;
      sendAnswer(exchange, { status, headers: { 'content-type': contentType }, body: openaiErrorBodyFor(route.wire, text, type, null, null) });
    }
    return;
  }
  const responses = await streamPrefix(context, afterChunks, chunks);
  let frames: string[];
  if (route.wire === 'messages') frames = [messagesErrorFrame(type, text)];
  else if (responses !== undefined) frames = responses.failed(type, text);
  else frames = [chatErrorFrame(text, type)];
  for (const frame of frames) await exchange.write(frame);
  exchange.end();
}
