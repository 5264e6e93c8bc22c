/** The Responses error envelope: OpenAI's `{error: {message, type, code, param}}`, plus Switchyard's `hint`. */
import type { SwitchyardError } from '../../errors.js';
import { type OpenAIErrorBody, openAIErrorBody } from '../../stream/sse-encoder.js';
import type { ErrorAnswer } from '../codec.js';
import { errorHeaders } from '../error-headers.js';

/** The body of an error on `/v1/responses` (the same envelope as Chat Completions'). */
export function responsesErrorBody(error: SwitchyardError): OpenAIErrorBody {
  return openAIErrorBody(error);
}

/** A whole error answer on `/v1/responses`. */
export function responsesErrorAnswer(error: SwitchyardError): ErrorAnswer {
  return { status: error.status, headers: errorHeaders(error), body: JSON.stringify(responsesErrorBody(error)) };
}

/**
 * The `error` event of a Responses stream: the error nested as OpenAI sends it (the openai SDKs throw on it), and its
 * code, message and param repeated at the top as the SDKs' event type declares them.
 */
export function responsesErrorEvent(error: SwitchyardError, sequence: number | undefined): string {
  const body = responsesErrorBody(error).error;
  const numbered = sequence === undefined ? '' : `,"sequence_number":${sequence}`;
  const rest = JSON.stringify({ error: body, code: body.code, message: body.message, param: body.param }).slice(1);
  return `event: error\ndata: {"type":"error"${numbered},${rest}\n\n`;
}
