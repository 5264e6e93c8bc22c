import { anthropicErrorBody, responsesErrorBody, type ProviderErrorResponse } from './provider-errors.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function anthropic400(message: string, requestId: string): ProviderErrorResponse {
  return { status: 400, headers: { 'content-type': 'application/json', 'request-id': requestId }, body: anthropicErrorBody('invalid_request_error', message, requestId) };
}

function responses400(message: string, param: string | null, code: string | null): ProviderErrorResponse {
  return { status: 400, headers: { 'content-type': 'application/json' }, body: responsesErrorBody(message, 'invalid_request_error', param, code) };
}

/**
 * What Anthropic answers a Messages (or count_tokens) body it cannot mean with: its 400 `invalid_request_error`,
 * worded as the API words it (`max_tokens: Field required`). Undefined when the body is fine.
 */
export function messagesRequestProblem(json: unknown, requestId: string, countTokens = false): ProviderErrorResponse | undefined {
  if (!isRecord(json)) return anthropic400('The request body is not valid JSON: Expecting value: line 1 column 1 (char 0)', requestId);
  if (typeof json.model !== 'string') return anthropic400(json.model === undefined ? 'model: Field required' : 'model: Input should be a valid string', requestId);
  if (json.messages === undefined) return anthropic400('messages: Field required', requestId);
  if (!Array.isArray(json.messages)) return anthropic400('messages: Input should be a valid list', requestId);
  if (!countTokens && json.max_tokens === undefined) return anthropic400('max_tokens: Field required', requestId);
  if (!countTokens && (typeof json.max_tokens !== 'number' || !Number.isInteger(json.max_tokens))) {
    return anthropic400('max_tokens: Input should be a valid integer', requestId);
  }
  for (const [index, message] of json.messages.entries()) {
    if (!isRecord(message)) return anthropic400(`messages.${index}: Input should be a valid dictionary or object to extract fields from`, requestId);
    if (message.role !== 'user' && message.role !== 'assistant') return anthropic400(`messages.${index}.role: Input should be 'user' or 'assistant'`, requestId);
    if (typeof message.content !== 'string' && !Array.isArray(message.content)) return anthropic400(`messages.${index}.content: Field required`, requestId);
  }
  return undefined;
}

/**
 * What OpenAI answers a Responses body it cannot mean with: its 400 envelope in the Responses layout. Undefined when fine.
 * On an Azure deployment URL the deployment names the model, so `model` may be absent.
 */
export function responsesRequestProblem(json: unknown, deployment = false): ProviderErrorResponse | undefined {
  if (!isRecord(json)) {
    return responses400(
      "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
      null,
      null,
    );
  }
  if (!deployment && (typeof json.model !== 'string' || json.model === '')) return responses400("Missing required parameter: 'model'.", 'model', 'missing_required_parameter');
  if (json.input === undefined) return responses400("Missing required parameter: 'input'.", 'input', 'missing_required_parameter');
  if (typeof json.input !== 'string' && !Array.isArray(json.input)) {
    const got = json.input === null ? 'null' : typeof json.input === 'object' ? 'an object' : `a ${typeof json.input}`;
    return responses400(`Invalid type for 'input': expected one of a string or array of input items, but got ${got} instead.`, 'input', 'invalid_type');
  }
  return undefined;
}
