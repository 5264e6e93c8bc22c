import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { fixtureStatus, listFixtures, providerError, readFixture } from '@switchyard/testkit';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { fetch as undiciFetch, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_STATUS, SwitchyardError, type ErrorCode } from './errors.js';
import { REDACTED } from './redact.js';
import { MAX_MESSAGE_LENGTH, normalizeUpstreamError, parseRetryAfter, toSwitchyardError, type ErrorContext } from './upstream-errors.js';

const SECRET = 'sk-caller-secret-0123456789';
const ARK_SECRET = '3f2a9c1e-7b4d-4e8a-9c6f-1d2e3f4a5b6c';

interface Expected {
  code: ErrorCode;
  hint?: string;
  retryable: boolean;
  param?: string | null;
  type?: string;
  message?: string;
  requestId?: string;
}

function expectError(error: SwitchyardError, expected: Expected, upstreamStatus?: number): void {
  expect(SwitchyardError.isInstance(error)).toBe(true);
  expect(error.code).toBe(expected.code);
  expect(error.status).toBe(ERROR_STATUS[expected.code]);
  expect(error.retryable).toBe(expected.retryable);
  if (expected.hint !== undefined) expect(error.hint).toContain(expected.hint);
  if (expected.param !== undefined) expect(error.param).toBe(expected.param);
  if (expected.type !== undefined) expect(error.type).toBe(expected.type);
  if (expected.message !== undefined) expect(error.message).toContain(expected.message);
  if (expected.requestId !== undefined) expect(error.upstreamRequestId).toBe(expected.requestId);
  if (upstreamStatus !== undefined) expect(error.upstreamStatus).toBe(upstreamStatus);
  // One line, bounded, never an HTML page.
  expect(error.message).not.toMatch(/[\r\n]/);
  expect(error.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
  expect(error.message).not.toMatch(/<html|<!doctype/i);
  expect(error.hint).not.toMatch(/[\r\n]/);
}

// -----------------------------------------------------------------------------------------------------------------
// Recorded bodies.

const FIXTURES: Record<string, { provider: string } & Expected> = {
  'openai-invalid_api_key.error.json': {
    provider: 'openai',
    code: 'invalid_api_key',
    hint: 'the key was revoked or rotated; create a new one',
    retryable: false,
    type: 'invalid_request_error',
    param: null,
    message: `Incorrect API key provided: ${REDACTED}. You can find your API key`,
  },
  'openai-model_not_found.error.json': {
    provider: 'openai',
    code: 'model_not_found',
    hint: 'check the model id',
    retryable: false,
    message: 'The model `gpt-4.1-nano-wrong` does not exist',
  },
  'openai-unsupported_parameter.error.json': {
    provider: 'openai',
    code: 'invalid_request',
    hint: 'check the request body',
    retryable: false,
    param: 'max_tokens',
    type: 'invalid_request_error',
    message: "Unsupported parameter: 'max_tokens'",
  },
  'openai-empty_array.error.json': { provider: 'openai', code: 'invalid_request', hint: 'check the request body', retryable: false, param: 'messages' },
  'openai-insufficient_quota.error.json': {
    provider: 'openai',
    code: 'insufficient_quota',
    hint: 'the balance is used up or the monthly cap was hit',
    retryable: false,
    type: 'insufficient_quota',
  },
  'openai-unsupported_country_region_territory.error.json': {
    provider: 'openai',
    code: 'region_restricted',
    hint: 'region',
    retryable: false,
    type: 'request_forbidden',
    message: 'Country, region, or territory not supported',
  },
  'dashscope-invalid_parameter_error.error.json': {
    provider: 'dashscope',
    code: 'invalid_request',
    hint: 'check the request body',
    retryable: false,
    param: null,
    message: '<400> InternalError.Algo.InvalidParameter: The "function.arguments" parameter',
    requestId: '46d4b65d-a6a7-9d02-a198-ce9eab53accd',
  },
  'dashscope-InvalidApiKey.error.json': {
    provider: 'dashscope',
    code: 'invalid_api_key',
    hint: 'revoked or rotated',
    retryable: false,
    message: 'Invalid API-key provided.',
    requestId: '01415ff3-53f4-989d-83c0-3eb61fa1418e',
  },
  'volcengine-ark-AuthenticationError.error.json': {
    provider: 'volcengine',
    code: 'invalid_api_key',
    hint: 'revoked or rotated',
    retryable: false,
    param: null,
    type: 'Unauthorized',
    message: 'The API key format is incorrect.',
    requestId: '0217757585294121fd265a4e2c1482f666194d4df1ffdb365aef3',
  },
  'gemini-openai-compat-INVALID_ARGUMENT.error.json': {
    provider: 'gemini',
    code: 'invalid_request',
    hint: 'check the request body',
    retryable: false,
    message: 'Unknown name "web_search_options"',
  },
  'gemini-API_KEY_INVALID.error.json': {
    provider: 'gemini',
    code: 'invalid_api_key',
    hint: 'revoked or rotated',
    retryable: false,
    message: 'API key not valid.',
  },
  'gemini-RESOURCE_EXHAUSTED.error.json': {
    provider: 'gemini',
    code: 'rate_limited',
    hint: 'daily or plan quota',
    retryable: true,
    message: 'You exceeded your current quota',
  },
};

const errorFixtures = listFixtures().filter((name) => name.endsWith('.error.json'));

describe('normalizeUpstreamError: recorded provider bodies', () => {
  it('has an expectation for every recorded error body, and a body for every expectation', () => {
    expect(errorFixtures.sort()).toEqual(Object.keys(FIXTURES).sort());
  });

  it.each(errorFixtures)('%s', (name) => {
    const expected = FIXTURES[name];
    const status = fixtureStatus(name);
    if (!expected || status === undefined) throw new Error(`no expectation or status for ${name}`);
    const error = normalizeUpstreamError({
      status,
      body: readFixture(name),
      headers: { 'content-type': 'application/json' },
      provider: expected.provider,
      secrets: [SECRET],
    });
    expectError(error, expected, status);
    expect(error.provider).toBe(expected.provider);
  });

  it('never echoes the partly masked key of the recorded 401', () => {
    const error = normalizeUpstreamError({ status: 401, body: readFixture('openai-invalid_api_key'), provider: 'openai' });
    expect(error.message).not.toContain('bad-key');
    expect(error.message).not.toContain('*test');
    expect(JSON.stringify(error.toJSON())).not.toContain('bad-key');
  });
});

// -----------------------------------------------------------------------------------------------------------------
// Shapes nothing was recorded for.

const openai = (code: string | null, message: string, type: string | null = 'invalid_request_error', param: string | null = null) =>
  JSON.stringify({ error: { message, type, param, code } });
const dashscope = (code: string, message: string) => JSON.stringify({ code, message, request_id: 'b1d2c3e4-0000-4000-8000-000000000001' });
const ark = (code: string, message: string, type = 'BadRequest') => JSON.stringify({ error: { code, message: `${message} Request id: 021700000000000abc`, param: '', type } });
const gemini = (code: number, status: string, message: string, details?: unknown[], wrap = false) => {
  const body = { error: details ? { code, message, status, details } : { code, message, status } };
  return JSON.stringify(wrap ? [body] : body);
};

interface ShapeCase extends Expected {
  name: string;
  status: number;
  body: string;
  provider?: string;
  headers?: Record<string, string | string[]>;
  retryAfterMs?: number;
}

const SHAPES: ShapeCase[] = [
  // OpenAI envelope
  { name: 'OpenAI rate_limit_exceeded', status: 429, body: openai('rate_limit_exceeded', 'Rate limit reached for gpt-4o in organization org-x on requests per min (RPM): Limit 3.', 'requests'), code: 'rate_limited', retryable: true, hint: 'slow down', type: 'requests' },
  { name: 'OpenAI insufficient_quota by type only', status: 429, body: openai(null, 'You exceeded your current quota.', 'insufficient_quota'), code: 'insufficient_quota', retryable: false },
  { name: 'OpenAI server_error 500 with code null', status: 500, body: openai(null, 'The server had an error while processing your request. Sorry about that!', 'server_error'), code: 'upstream_error', retryable: true, message: 'The server had an error' },
  { name: 'OpenAI context_length_exceeded', status: 400, body: openai('context_length_exceeded', "This model's maximum context length is 128000 tokens.", 'invalid_request_error', 'messages'), code: 'invalid_request', retryable: false, param: 'messages' },
  { name: 'OpenAI account_deactivated', status: 401, body: openai('account_deactivated', 'This key is associated with a deactivated account.'), code: 'invalid_api_key', retryable: false, hint: 'deactivated' },
  { name: 'an Anthropic-style authentication_error type', status: 401, body: JSON.stringify({ type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }), code: 'invalid_api_key', retryable: false },
  { name: 'an overloaded_error type (529)', status: 529, body: JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), code: 'upstream_error', retryable: true, hint: 'overloaded' },
  // Azure
  { name: 'Azure 401 with code "401"', status: 401, body: providerError('azure', '401').body, code: 'invalid_api_key', retryable: false, message: 'Access denied due to invalid subscription key' },
  { name: 'Azure DeploymentNotFound', status: 404, body: providerError('azure', 'DeploymentNotFound').body, code: 'model_not_found', retryable: false, hint: 'deployment' },
  { name: 'Azure 429 with Retry-After', status: 429, body: providerError('azure', '429').body, headers: providerError('azure', '429').headers, code: 'rate_limited', retryable: true, retryAfterMs: 1000 },
  { name: 'Azure content_filter', status: 400, body: providerError('azure', 'content_filter').body, code: 'invalid_request', retryable: false, hint: 'moderation', param: 'prompt' },
  // DashScope compatible-mode and flat
  { name: 'DashScope compatible-mode invalid_api_key', status: 401, provider: 'dashscope', body: JSON.stringify({ error: { message: 'Incorrect API key provided. ', type: 'invalid_request_error', param: null, code: 'invalid_api_key' }, id: 'chatcmpl-1', request_id: 'req-1' }), code: 'invalid_api_key', retryable: false, requestId: 'req-1', hint: 'Model Studio' },
  { name: 'DashScope Throttling', status: 429, body: dashscope('Throttling', 'Requests throttling triggered.'), code: 'rate_limited', retryable: true },
  { name: 'DashScope Throttling.User', status: 429, body: dashscope('Throttling.User', 'Requests rate limit exceeded, please try again later.'), code: 'rate_limited', retryable: true },
  { name: 'DashScope Throttling.RateQuota', status: 429, body: dashscope('Throttling.RateQuota', 'Requests rate limit exceeded, please try again later.'), code: 'rate_limited', retryable: true },
  { name: 'DashScope Throttling.Burst', status: 429, body: dashscope('Throttling.Burst', 'Request rate increased too quickly.'), code: 'rate_limited', retryable: true },
  { name: 'DashScope Throttling.AllocationQuota', status: 429, body: dashscope('Throttling.AllocationQuota', 'Free allocated quota exceeded.'), code: 'insufficient_quota', retryable: false, hint: 'quota' },
  { name: 'DashScope AllocationQuota.FreeTierOnly', status: 403, body: dashscope('AllocationQuota.FreeTierOnly', 'The free tier of the model has been exhausted.'), code: 'insufficient_quota', retryable: false, hint: 'free tier only' },
  { name: 'DashScope Arrearage (a 400)', status: 400, body: providerError('dashscope', 'Arrearage').body, code: 'insufficient_quota', retryable: false, hint: 'balance is used up' },
  { name: 'DashScope DataInspectionFailed', status: 400, body: dashscope('DataInspectionFailed', 'Input data may contain inappropriate content.'), code: 'invalid_request', retryable: false, hint: 'moderation' },
  { name: 'DashScope data_inspection_failed in a 200 stream frame', status: 200, body: JSON.stringify({ error: { code: 'data_inspection_failed', message: 'Output data may contain inappropriate content.', type: 'data_inspection_failed' } }), code: 'invalid_request', retryable: false, hint: 'moderation' },
  { name: 'DashScope Model.AccessDenied', status: 403, provider: 'dashscope', body: providerError('dashscope', 'Model.AccessDenied').body, code: 'model_not_found', retryable: false, hint: 'activate it in the Alibaba Cloud Model Studio console' },
  { name: 'DashScope AccessDenied.Unpurchased', status: 403, provider: 'dashscope', body: dashscope('AccessDenied.Unpurchased', 'Access to model denied. Please make sure you are eligible for using the model.'), code: 'model_not_found', retryable: false, hint: 'activate' },
  { name: 'DashScope AccessDenied saying the model is not activated', status: 403, body: dashscope('AccessDenied', 'The model qwen-max has not been activated for this workspace.'), code: 'model_not_found', retryable: false, hint: 'activate it in the provider console' },
  { name: 'DashScope AccessDenied otherwise', status: 403, body: dashscope('AccessDenied', 'Access denied.'), code: 'invalid_api_key', retryable: false, hint: 'lacks permission' },
  { name: 'DashScope InvalidParameter "Model not exist."', status: 400, body: dashscope('InvalidParameter', 'Model not exist.'), code: 'model_not_found', retryable: false },
  { name: 'DashScope InvalidParameter', status: 400, body: dashscope('InvalidParameter', 'Range of input length should be [1, 30720]'), code: 'invalid_request', retryable: false, requestId: 'b1d2c3e4-0000-4000-8000-000000000001' },
  { name: 'DashScope InternalError 500', status: 500, body: dashscope('InternalError', 'An internal error has occured, please try again later.'), code: 'upstream_error', retryable: true },
  // Volcengine Ark
  { name: 'Ark RateLimitExceeded', status: 429, body: ark('RateLimitExceeded', 'Too many requests.', 'TooManyRequests'), code: 'rate_limited', retryable: true },
  { name: 'Ark RateLimitExceeded.EndpointRPMExceeded', status: 429, body: providerError('volcengine', 'RateLimitExceeded.EndpointRPMExceeded').body, code: 'rate_limited', retryable: true },
  { name: 'Ark RateLimitExceeded.EndpointTPMExceeded', status: 429, body: ark('RateLimitExceeded.EndpointTPMExceeded', 'TPM exceeded.', 'TooManyRequests'), code: 'rate_limited', retryable: true },
  { name: 'Ark QuotaExceeded', status: 429, body: ark('QuotaExceeded', 'The request failed because you have exceeded the usage quota.', 'TooManyRequests'), code: 'insufficient_quota', retryable: false, hint: 'balance is used up' },
  { name: 'Ark AccountOverdueError', status: 403, body: ark('AccountOverdueError', 'Your account has an overdue balance.', 'Forbidden'), code: 'insufficient_quota', retryable: false, hint: 'top it up' },
  { name: 'Ark ModelNotOpen', status: 404, provider: 'volcengine', body: providerError('volcengine', 'ModelNotOpen').body, code: 'model_not_found', retryable: false, hint: 'activate it in the Volcengine Ark console', param: null, type: 'NotFound' },
  { name: 'Ark InvalidEndpointOrModel.NotFound', status: 404, body: providerError('volcengine', 'InvalidEndpointOrModel.NotFound').body, code: 'model_not_found', retryable: false, hint: 'endpoint id' },
  { name: 'Ark InvalidParameter saying "Model not found"', status: 400, body: ark('InvalidParameter', 'Model not found: doubao-x.'), code: 'model_not_found', retryable: false },
  { name: 'Ark ServerOverloaded (a 429 that is no rate limit)', status: 429, body: ark('ServerOverloaded', 'The service is currently unable to handle additional requests due to server overload.', 'TooManyRequests'), code: 'upstream_error', retryable: true, hint: 'overloaded' },
  { name: 'Ark InputTextSensitiveContentDetected', status: 400, body: ark('InputTextSensitiveContentDetected', 'The request failed because the input text may contain sensitive information.'), code: 'invalid_request', retryable: false, hint: 'moderation' },
  // Gemini
  { name: 'Gemini API_KEY_INVALID, object-shaped', status: 400, provider: 'gemini', body: gemini(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID' }]), code: 'invalid_api_key', retryable: false, hint: 'Google AI Studio' },
  { name: 'Gemini RESOURCE_EXHAUSTED with RetryInfo, array-wrapped', status: 429, body: gemini(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).', [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '31s' }], true), code: 'rate_limited', retryable: true, hint: 'daily or plan quota', retryAfterMs: 31_000 },
  { name: 'Gemini PERMISSION_DENIED (suspended key)', status: 403, body: providerError('gemini', 'PERMISSION_DENIED').body, code: 'invalid_api_key', retryable: false, hint: 'suspended' },
  { name: 'Gemini PERMISSION_DENIED (no permission)', status: 403, body: gemini(403, 'PERMISSION_DENIED', 'Method doesn\'t allow unregistered callers.'), code: 'invalid_api_key', retryable: false, hint: 'lacks permission' },
  { name: 'Gemini PERMISSION_DENIED about location', status: 403, body: gemini(403, 'PERMISSION_DENIED', 'This API is not available in your location.'), code: 'region_restricted', retryable: false },
  { name: 'Gemini FAILED_PRECONDITION user location', status: 400, body: providerError('gemini', 'FAILED_PRECONDITION').body, code: 'region_restricted', retryable: false, message: 'User location is not supported' },
  { name: 'Gemini FAILED_PRECONDITION otherwise', status: 400, body: gemini(400, 'FAILED_PRECONDITION', 'Precondition check failed.'), code: 'invalid_request', retryable: false },
  { name: 'Gemini SERVICE_DISABLED', status: 403, body: gemini(403, 'PERMISSION_DENIED', 'Generative Language API has not been used in project 1 before or it is disabled.', [{ reason: 'SERVICE_DISABLED' }]), code: 'invalid_api_key', retryable: false, hint: 'not enabled' },
  { name: 'Gemini UNAVAILABLE 503', status: 503, body: gemini(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.'), code: 'upstream_error', retryable: true },
  { name: 'Gemini NOT_FOUND', status: 404, body: gemini(404, 'NOT_FOUND', 'models/gemini-9 is not found for API version v1beta.'), code: 'model_not_found', retryable: false },
  { name: 'Gemini DEADLINE_EXCEEDED', status: 504, body: gemini(504, 'DEADLINE_EXCEEDED', 'Deadline expired before operation could complete.'), code: 'upstream_timeout', retryable: true },
  // Fallbacks by status
  { name: '400 with an empty body', status: 400, body: '', code: 'invalid_request', retryable: false, message: 'with an empty body' },
  { name: '401 with an HTML page', status: 401, body: '<html><body><h1>401 Authorization Required</h1></body></html>', code: 'invalid_api_key', retryable: false, message: 'HTML page' },
  { name: '402 Insufficient Balance', status: 402, body: JSON.stringify({ error: { message: 'Insufficient Balance', type: 'unknown_error', param: null, code: 'invalid_request_error' } }), code: 'insufficient_quota', retryable: false },
  { name: '403 about the country', status: 403, body: JSON.stringify({ error: { message: 'Request not allowed from your country.' } }), code: 'region_restricted', retryable: false },
  { name: '403 with an empty body', status: 403, body: '', code: 'invalid_api_key', retryable: false, hint: 'lacks permission' },
  { name: '404 with plain text', status: 404, body: 'Not Found', code: 'model_not_found', retryable: false, message: 'not a JSON error' },
  { name: '408', status: 408, body: '', code: 'upstream_timeout', retryable: true },
  { name: '413 from a proxy', status: 413, body: '<html><head><title>413 Request Entity Too Large</title></head></html>', code: 'invalid_request', retryable: false },
  { name: '418 (another 4xx)', status: 418, body: '{}', code: 'upstream_error', retryable: false },
  { name: '429 with a plain message', status: 429, body: JSON.stringify({ error: { message: 'Too many requests, slow down.' } }), code: 'rate_limited', retryable: true },
  { name: '429 about billing', status: 429, body: JSON.stringify({ message: 'Your credit balance is too low. Check your billing.' }), code: 'insufficient_quota', retryable: false },
  { name: '500 with invalid JSON', status: 500, body: '{"error": {"message": "trunc', code: 'upstream_error', retryable: true, message: 'not a JSON error' },
  { name: '502 with an nginx page', status: 502, body: '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n', code: 'upstream_error', retryable: true, message: 'answered HTTP 502 with an HTML page' },
  { name: 'a plain-text body that starts with "<400>"', status: 400, body: '<400> InternalError.Algo.InvalidParameter: bad', code: 'invalid_request', retryable: false, message: 'not a JSON error' },
  { name: '503 with an empty body', status: 503, body: '', code: 'upstream_error', retryable: true },
  { name: '504', status: 504, body: 'upstream request timeout', code: 'upstream_timeout', retryable: true },
  { name: 'a JSON array with no object', status: 500, body: '[1, "x"]', code: 'upstream_error', retryable: true, message: 'not a JSON error' },
  { name: 'an empty JSON array (400)', status: 400, body: '[]', code: 'invalid_request', retryable: false },
  { name: 'JSON with a code and no message', status: 429, body: JSON.stringify({ error: { code: 'rate_limit_exceeded' } }), code: 'rate_limited', retryable: true, message: '(rate_limit_exceeded)' },
  { name: 'a code named like an Object.prototype member', status: 401, body: JSON.stringify({ error: { code: 'constructor', type: 'toString', message: 'no', details: [{ reason: '__proto__' }] } }), code: 'invalid_api_key', retryable: false },
  { name: 'a flat code named like an Object.prototype member', status: 500, body: JSON.stringify({ code: 'hasOwnProperty', message: 'no' }), code: 'upstream_error', retryable: true },
  { name: 'a byte-order mark before the JSON', status: 401, body: `\uFEFF${dashscope('InvalidApiKey', 'Invalid API-key provided.')}`, code: 'invalid_api_key', retryable: false, message: 'Invalid API-key provided.' },
];

describe('normalizeUpstreamError: shapes', () => {
  it.each(SHAPES)('$name → $code', (shape) => {
    const error = normalizeUpstreamError({ status: shape.status, body: shape.body, headers: shape.headers, provider: shape.provider });
    expectError(error, shape, shape.status);
    if (shape.retryAfterMs !== undefined) expect(error.retryAfterMs).toBe(shape.retryAfterMs);
  });

  it('names the provider in a neutral message', () => {
    expect(normalizeUpstreamError({ status: 502, body: '', provider: 'dashscope' }).message).toBe('The upstream (dashscope) answered HTTP 502 with an empty body.');
    expect(normalizeUpstreamError({ status: 502, body: '' }).message).toBe('The upstream answered HTTP 502 with an empty body.');
  });

  it('always yields a known code for odd bodies and statuses', () => {
    const bodies = ['', ' ', 'null', 'true', '42', '"str"', '[]', '[null]', '{}', '{"error":null}', '{"error":[]}', '{"error":{"message":null,"code":7}}', '{"error":"plain string"}', '{"detail":"FastAPI style"}', '<', '{'];
    for (const status of [0, 200, 204, 302, 400, 401, 403, 404, 409, 429, 451, 500, 599, 999]) {
      for (const body of bodies) {
        const error = normalizeUpstreamError({ status, body, provider: 'constructor' });
        expect(ERROR_STATUS[error.code], `${status} ${body}`).toBe(error.status);
        expect(typeof error.hint).toBe('string');
        expect(error.message.length).toBeGreaterThan(0);
      }
    }
    expect(normalizeUpstreamError({ status: 400, body: '{"error":"plain string"}' }).message).toBe('plain string');
    expect(normalizeUpstreamError({ status: 422, body: '{"detail":"FastAPI style"}' }).message).toBe('FastAPI style');
  });

  it('never echoes a non-JSON body, even one that is short and harmless', () => {
    const error = normalizeUpstreamError({ status: 500, body: `internal failure for key ${SECRET}` });
    expect(error.message).not.toContain('internal failure');
    expect(error.message).not.toContain(SECRET);
  });
});

describe('normalizeUpstreamError: headers', () => {
  const body = openai('rate_limit_exceeded', 'slow down', 'requests');

  it.each([
    { name: 'retry-after-ms wins over Retry-After', headers: { 'retry-after-ms': '1500', 'retry-after': '9' }, expected: 1500 },
    { name: 'fractional retry-after-ms', headers: { 'retry-after-ms': '20.6' }, expected: 21 },
    { name: 'Retry-After in seconds', headers: { 'retry-after': '7' }, expected: 7000 },
    { name: 'mixed-case header names', headers: { 'Retry-After': '2' }, expected: 2000 },
    { name: 'an array value', headers: { 'retry-after': ['3', '4'] }, expected: 3000 },
    { name: 'a garbage value', headers: { 'retry-after': 'soon' }, expected: undefined },
    { name: 'a negative value', headers: { 'retry-after': '-5' }, expected: undefined },
    { name: 'garbage retry-after-ms falls back to Retry-After', headers: { 'retry-after-ms': 'x', 'retry-after': '1' }, expected: 1000 },
    { name: 'no header', headers: {}, expected: undefined },
  ])('$name', ({ headers, expected }) => {
    expect(normalizeUpstreamError({ status: 429, body, headers }).retryAfterMs).toBe(expected);
  });

  it('reads Retry-After as an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter({ 'retry-after': 'Thu, 01 Jan 2026 00:00:30 GMT' }, now)).toBe(30_000);
    expect(parseRetryAfter({ 'retry-after': 'Wed, 31 Dec 2025 23:59:00 GMT' }, now)).toBe(0);
    const live = normalizeUpstreamError({ status: 429, body, headers: { 'retry-after': new Date(Date.now() + 60_000).toUTCString() } }).retryAfterMs;
    expect(live).toBeGreaterThan(55_000);
    expect(live).toBeLessThanOrEqual(60_000);
  });

  it('reads a fetch Headers object', () => {
    expect(parseRetryAfter(new Headers({ 'Retry-After-Ms': '250' }))).toBe(250);
  });

  it('takes the request id from x-request-id first, then the body', () => {
    const flat = dashscope('Throttling.User', 'slow down');
    expect(normalizeUpstreamError({ status: 429, body: flat, headers: { 'x-request-id': 'hdr-1' } }).upstreamRequestId).toBe('hdr-1');
    expect(normalizeUpstreamError({ status: 429, body: flat, headers: { 'X-Request-Id': 'hdr-2' } }).upstreamRequestId).toBe('hdr-2');
    expect(normalizeUpstreamError({ status: 429, body: flat }).upstreamRequestId).toBe('b1d2c3e4-0000-4000-8000-000000000001');
    expect(normalizeUpstreamError({ status: 429, body }).upstreamRequestId).toBeUndefined();
  });
});

describe('normalizeUpstreamError: the message', () => {
  it('redacts the given secrets and key shapes from the upstream message', () => {
    const body = ark('AuthenticationError', `The API key ${ARK_SECRET} is invalid; also saw ${SECRET}.`, 'Unauthorized');
    const error = normalizeUpstreamError({ status: 401, body, provider: 'volcengine', secrets: [ARK_SECRET, undefined] });
    expect(error.message).not.toContain(ARK_SECRET);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).toContain(`The API key ${REDACTED} is invalid`);
  });

  it('redacts a Google key quoted by Gemini', () => {
    const key = 'AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q';
    const error = normalizeUpstreamError({ status: 403, body: gemini(403, 'PERMISSION_DENIED', `Consumer 'api_key:${key}' has been suspended.`) });
    expect(error.message).toBe(`Consumer 'api_key:${REDACTED}' has been suspended.`);
  });

  it('cuts a long message to the limit, after redacting', () => {
    const message = `${'x'.repeat(MAX_MESSAGE_LENGTH - 10)} ${SECRET} ${'y'.repeat(1000)}`;
    const error = normalizeUpstreamError({ status: 400, body: openai('invalid_value', message), secrets: [SECRET] });
    expect(error.message.length).toBe(MAX_MESSAGE_LENGTH);
    expect(error.message.endsWith('…')).toBe(true);
    expect(error.message).not.toContain('sk-caller');
  });

  it('collapses a multi-line message to one line', () => {
    const error = normalizeUpstreamError({ status: 400, body: openai('invalid_value', '  first line\n\tsecond line  ') });
    expect(error.message).toBe('first line second line');
  });

  it('stringifies a structured message instead of dropping it', () => {
    const error = normalizeUpstreamError({ status: 400, body: JSON.stringify({ error: { message: { detail: 'bad field' } } }) });
    expect(error.message).toBe('{"detail":"bad field"}');
  });
});

// -----------------------------------------------------------------------------------------------------------------
// isInstance and pass-through.

describe('toSwitchyardError: SwitchyardErrors and lookalikes', () => {
  it('returns a SwitchyardError unchanged', () => {
    const original = new SwitchyardError('unknown_provider', 'no such provider');
    expect(toSwitchyardError(original)).toBe(original);
  });

  it('returns a SwitchyardError from another copy of the package unchanged', () => {
    const foreign = Object.assign(Object.create(null) as object, { [Symbol.for('switchyard.error')]: true, code: 'rate_limited' });
    expect(SwitchyardError.isInstance(foreign)).toBe(true);
    expect(toSwitchyardError(foreign)).toBe(foreign);
  });

  it('does not take a plain-object lookalike for a SwitchyardError', () => {
    const lookalike = { name: 'SwitchyardError', code: 'invalid_api_key', status: 401, hint: 'x', retryable: false, message: `leaked ${SECRET}` };
    expect(SwitchyardError.isInstance(lookalike)).toBe(false);
    const error = toSwitchyardError(lookalike, { secrets: [SECRET] });
    expect(error).not.toBe(lookalike);
    expect(SwitchyardError.isInstance(error)).toBe(true);
    expectError(error, { code: 'upstream_error', retryable: false });
    expect(error.message).not.toContain(SECRET);
    expect(error.cause).toBe(lookalike);
  });

  it('keeps the verdict of a SwitchyardError found in the cause chain (a deadline abort)', () => {
    const deadline = new SwitchyardError('upstream_timeout', 'The upstream call took longer than allowed.');
    const wrapped = new Error('aborted', { cause: deadline });
    expect(toSwitchyardError(wrapped)).toBe(deadline);
  });
});

describe('toSwitchyardError: unknown errors', () => {
  it.each([
    { name: 'an Error with internals', error: new Error(`Cannot read properties of undefined at /srv/app/index.js:12 with ${SECRET}`) },
    { name: 'a string', error: `boom ${SECRET}` },
    { name: 'null', error: null },
    { name: 'undefined', error: undefined },
    { name: 'a number', error: 42 },
    { name: 'a cyclic cause chain', error: (() => { const a = new Error('a'); const b = new Error('b', { cause: a }); (a as { cause?: unknown }).cause = b; return a; })() },
  ])('$name → a neutral upstream_error', ({ error }) => {
    const normalized = toSwitchyardError(error, { provider: 'openai', secrets: [SECRET] });
    expectError(normalized, { code: 'upstream_error', retryable: false, message: 'The upstream call failed.' });
    expect(normalized.message).toBe('The upstream call failed.');
    expect(normalized.provider).toBe('openai');
  });
});

// -----------------------------------------------------------------------------------------------------------------
// Network errors: real ones on loopback where cheap, constructed where not.

async function listen(server: Server | HttpServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

const servers: (Server | HttpServer)[] = [];
const sockets = new Set<Socket>();
function track<T extends Server | HttpServer>(server: T): T {
  servers.push(server);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return server;
}

let refusedPort = 0;
let destroyPort = 0; // closes the connection once the request arrives
let resetPort = 0; // sends a TCP RST once the request arrives
let midResetPort = 0; // sends headers and part of the body, then RST
let hangPort = 0; // accepts and never answers
let stallBodyPort = 0; // sends headers and part of the body, then nothing
let plainHttpPort = 0; // answers plain HTTP, so a TLS client fails the handshake
let answerPort = 0; // answers each path with a recorded error body

const PARTIAL_HEAD = 'HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\nabc';

beforeAll(async () => {
  refusedPort = await closedPort();
  destroyPort = await listen(track(createServer((socket) => socket.once('data', () => socket.destroy()))));
  resetPort = await listen(track(createServer((socket) => socket.once('data', () => socket.resetAndDestroy()))));
  midResetPort = await listen(
    track(createServer((socket) => socket.once('data', () => socket.write(PARTIAL_HEAD, () => setImmediate(() => socket.resetAndDestroy()))))),
  );
  hangPort = await listen(track(createServer(() => {})));
  stallBodyPort = await listen(track(createServer((socket) => socket.once('data', () => socket.write(PARTIAL_HEAD)))));
  plainHttpPort = await listen(track(createHttpServer((_req, res) => res.end('plain'))));
  answerPort = await listen(
    track(
      createHttpServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const name = decodeURIComponent((req.url ?? '').split('/')[1] ?? '');
          if (name === 'html') {
            res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body><h1>502 Bad Gateway</h1></body></html>');
            return;
          }
          const status = fixtureStatus(name) ?? 500;
          res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req-${name}`, 'retry-after-ms': '1234' }).end(readFixture(name));
        });
      }),
    ),
  );
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

const url = (port: number, path = '/') => `http://127.0.0.1:${port}${path}`;
const sdk = (port: number, options: { timeout?: number; path?: string } = {}) =>
  new OpenAI({ apiKey: SECRET, baseURL: url(port, options.path ?? '/v1'), maxRetries: 0, timeout: options.timeout ?? 10_000 });
const chat = (client: OpenAI, signal?: AbortSignal) =>
  client.chat.completions.create({ model: 'gpt-5-mini', messages: [{ role: 'user', content: 'hi' }] }, signal ? { signal } : {});

function expectNetwork(error: SwitchyardError, expected: Expected): void {
  expectError(error, expected);
  // Neither the address nor the key is echoed; the raw error stays as the cause, for the server log.
  expect(error.message).not.toContain('127.0.0.1');
  expect(error.message).not.toContain(SECRET);
  expect(error.upstreamStatus).toBeUndefined();
  expect(error.cause).toBeDefined();
}

const CTX: ErrorContext = { provider: 'dashscope', cluster: 'cn', secrets: [SECRET] };

describe('toSwitchyardError: real network failures on loopback', () => {
  const refused: Expected = { code: 'provider_unreachable', retryable: true, hint: 'refused the connection', message: 'ECONNREFUSED' };

  it('ECONNREFUSED from undici request()', async () => {
    const error = await caught(request(url(refusedPort)));
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expectNetwork(toSwitchyardError(error, CTX), refused);
  });

  it('ECONNREFUSED under undici fetch\'s "fetch failed"', async () => {
    const error = await caught(undiciFetch(url(refusedPort)));
    expect(error).toBeInstanceOf(TypeError);
    expectNetwork(toSwitchyardError(error, CTX), refused);
  });

  it('ECONNREFUSED under the global fetch', async () => {
    expectNetwork(toSwitchyardError(await caught(fetch(url(refusedPort))), CTX), refused);
  });

  it('ECONNREFUSED under the openai SDK\'s APIConnectionError', async () => {
    const error = await caught(chat(sdk(refusedPort)));
    expect(error).toBeInstanceOf(APIConnectionError);
    expectNetwork(toSwitchyardError(error, CTX), refused);
  });

  it('a closed connection (UND_ERR_SOCKET, "other side closed") is an upstream_error', async () => {
    const error = await caught(request(url(destroyPort)));
    expect((error as { code?: string }).code).toBe('UND_ERR_SOCKET');
    expectNetwork(toSwitchyardError(error, CTX), { code: 'upstream_error', retryable: true, hint: 'cut before the answer was complete', message: 'UND_ERR_SOCKET' });
  });

  it('a reset (ECONNRESET) is an upstream_error', async () => {
    const error = await caught(request(url(resetPort)));
    expect((error as { code?: string }).code).toBe('ECONNRESET');
    expectNetwork(toSwitchyardError(error, CTX), { code: 'upstream_error', retryable: true, message: 'ECONNRESET' });
  });

  it('a reset in the middle of the body is an upstream_error', async () => {
    const response = await request(url(midResetPort));
    const error = await caught(response.body.text());
    expectNetwork(toSwitchyardError(error, CTX), { code: 'upstream_error', retryable: true });
  });

  it('a closed connection seen through the openai SDK', async () => {
    expectNetwork(toSwitchyardError(await caught(chat(sdk(destroyPort))), CTX), { code: 'upstream_error', retryable: true });
  });

  it('undici headersTimeout is an upstream_timeout', async () => {
    const error = await caught(request(url(hangPort), { headersTimeout: 50 }));
    expect((error as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
    expectNetwork(toSwitchyardError(error, CTX), { code: 'upstream_timeout', retryable: true, hint: 'did not answer in time' });
  });

  it('undici bodyTimeout is an upstream_timeout', async () => {
    const response = await request(url(stallBodyPort), { bodyTimeout: 50 });
    const error = await caught(response.body.text());
    expect((error as { code?: string }).code).toBe('UND_ERR_BODY_TIMEOUT');
    expectNetwork(toSwitchyardError(error, CTX), { code: 'upstream_timeout', retryable: true });
  });

  it('AbortSignal.timeout() (a TimeoutError DOMException) is an upstream_timeout', async () => {
    const error = await caught(undiciFetch(url(hangPort), { signal: AbortSignal.timeout(50) }));
    expect((error as Error).name).toBe('TimeoutError');
    expectNetwork(toSwitchyardError(error, CTX), { code: 'upstream_timeout', retryable: true, message: 'TimeoutError' });
  });

  it('the openai SDK timeout is an upstream_timeout', async () => {
    const error = await caught(chat(sdk(hangPort, { timeout: 50 })));
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);
    expectNetwork(toSwitchyardError(error, CTX), { code: 'upstream_timeout', retryable: true });
  });

  it('an abort (the client went away) is a non-retryable upstream_error', async () => {
    const controller = new AbortController();
    const pending = caught(request(url(hangPort), { signal: controller.signal }));
    setImmediate(() => controller.abort());
    const error = await pending;
    expect((error as Error).name).toBe('AbortError');
    expectNetwork(toSwitchyardError(error, CTX), { code: 'upstream_error', retryable: false, hint: 'cancelled' });
  });

  it('an abort through the openai SDK (APIUserAbortError) is a non-retryable upstream_error', async () => {
    const controller = new AbortController();
    const pending = caught(chat(sdk(hangPort), controller.signal));
    setImmediate(() => controller.abort());
    const error = await pending;
    expect(error).toBeInstanceOf(APIUserAbortError);
    expectNetwork(toSwitchyardError(error, CTX), { code: 'upstream_error', retryable: false });
  });

  it('an abort whose reason is a SwitchyardError (the dispatcher\'s deadline) keeps that error', async () => {
    const controller = new AbortController();
    const deadline = new SwitchyardError('upstream_timeout', 'The upstream call took longer than allowed.');
    const pending = caught(request(url(hangPort), { signal: controller.signal }));
    setImmediate(() => controller.abort(deadline));
    expect(toSwitchyardError(await pending, CTX)).toBe(deadline);
  });

  it('a TLS handshake against a plain-HTTP port is provider_unreachable with a TLS hint', async () => {
    const error = await caught(request(`https://127.0.0.1:${plainHttpPort}/`));
    expect((error as { code?: string }).code).toMatch(/^ERR_SSL_/);
    expectNetwork(toSwitchyardError(error, CTX), { code: 'provider_unreachable', retryable: true, hint: 'TLS' });
  });
});

function coded(code: string, message = `${code} failure`, name = 'Error'): Error {
  const error = Object.assign(new Error(message), { code, errno: -1, syscall: 'connect' });
  error.name = name;
  return error;
}
const fetchFailed = (cause: unknown) => new TypeError('fetch failed', { cause });

describe('toSwitchyardError: constructed network failures', () => {
  const cases: { name: string; error: unknown; expected: Expected }[] = [
    { name: 'DNS ENOTFOUND', error: fetchFailed(coded('ENOTFOUND', 'getaddrinfo ENOTFOUND api.example.com')), expected: { code: 'provider_unreachable', retryable: true, hint: 'does not resolve', message: 'ENOTFOUND' } },
    { name: 'DNS EAI_AGAIN', error: coded('EAI_AGAIN', 'getaddrinfo EAI_AGAIN api.example.com'), expected: { code: 'provider_unreachable', retryable: true, hint: 'does not resolve' } },
    { name: 'DNS under APIConnectionError', error: new APIConnectionError({ cause: fetchFailed(coded('ENOTFOUND')) }), expected: { code: 'provider_unreachable', retryable: true, hint: 'does not resolve' } },
    { name: 'CERT_HAS_EXPIRED', error: fetchFailed(coded('CERT_HAS_EXPIRED', 'certificate has expired')), expected: { code: 'provider_unreachable', retryable: true, hint: 'TLS' } },
    { name: 'DEPTH_ZERO_SELF_SIGNED_CERT', error: fetchFailed(coded('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate')), expected: { code: 'provider_unreachable', retryable: true, hint: 'TLS' } },
    { name: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', error: coded('UNABLE_TO_VERIFY_LEAF_SIGNATURE'), expected: { code: 'provider_unreachable', retryable: true, hint: 'TLS' } },
    { name: 'SELF_SIGNED_CERT_IN_CHAIN', error: coded('SELF_SIGNED_CERT_IN_CHAIN'), expected: { code: 'provider_unreachable', retryable: true, hint: 'TLS' } },
    { name: 'ERR_TLS_CERT_ALTNAME_INVALID', error: coded('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames"), expected: { code: 'provider_unreachable', retryable: true, hint: 'TLS' } },
    { name: 'a reset before the TLS handshake finished', error: coded('ECONNRESET', 'Client network socket disconnected before secure TLS connection was established'), expected: { code: 'provider_unreachable', retryable: true } },
    { name: 'UND_ERR_CONNECT_TIMEOUT', error: fetchFailed(coded('UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error', 'ConnectTimeoutError')), expected: { code: 'upstream_timeout', retryable: true, message: 'connect timeout' } },
    { name: 'ETIMEDOUT', error: coded('ETIMEDOUT'), expected: { code: 'upstream_timeout', retryable: true } },
    { name: 'an Error named TimeoutError', error: Object.assign(new Error('timed out'), { name: 'TimeoutError' }), expected: { code: 'upstream_timeout', retryable: true } },
    { name: 'a plain AbortError DOMException', error: new DOMException('aborted', 'AbortError'), expected: { code: 'upstream_error', retryable: false } },
    { name: 'an AbortError whose cause is a TimeoutError', error: Object.assign(new Error('This operation was aborted', { cause: new DOMException('timeout', 'TimeoutError') }), { name: 'AbortError' }), expected: { code: 'upstream_timeout', retryable: true } },
    { name: 'EPIPE', error: coded('EPIPE', 'write EPIPE'), expected: { code: 'upstream_error', retryable: true } },
    { name: 'EHOSTUNREACH', error: coded('EHOSTUNREACH'), expected: { code: 'provider_unreachable', retryable: true, hint: 'no network route' } },
    { name: 'happy-eyeballs AggregateError of refusals', error: Object.assign(new AggregateError([coded('ECONNREFUSED'), coded('ECONNREFUSED')], ''), { code: 'ECONNREFUSED' }), expected: { code: 'provider_unreachable', retryable: true, hint: 'refused' } },
    { name: 'an AggregateError without its own code', error: fetchFailed(new AggregateError([coded('ENETUNREACH'), coded('ECONNREFUSED')], '')), expected: { code: 'provider_unreachable', retryable: true } },
    { name: 'an unknown errno code', error: fetchFailed(coded('EPROTO')), expected: { code: 'upstream_error', retryable: true, message: 'EPROTO' } },
    { name: '"fetch failed" with no cause', error: new TypeError('fetch failed'), expected: { code: 'upstream_error', retryable: true } },
    { name: 'APIConnectionError with no cause', error: new APIConnectionError({}), expected: { code: 'provider_unreachable', retryable: true } },
    { name: 'a key inside the raw error message', error: fetchFailed(coded('ECONNREFUSED', `connect ECONNREFUSED https://x/?llm_api_key=${SECRET}`)), expected: { code: 'provider_unreachable', retryable: true } },
  ];

  it.each(cases)('$name', ({ error, expected }) => {
    const normalized = toSwitchyardError(error, { provider: 'dashscope', cluster: 'global', secrets: [SECRET] });
    expectNetwork(normalized, expected);
    expect(normalized.cause).toBe(error);
    expect(normalized.provider).toBe('dashscope');
  });
});

describe('toSwitchyardError: the cn cluster and blocked providers', () => {
  const CN_HINT = 'expected for this provider here; use dashscope or volcengine';

  it.each([
    { name: 'a timeout', error: coded('UND_ERR_HEADERS_TIMEOUT'), code: 'upstream_timeout' },
    { name: 'a connect timeout', error: coded('UND_ERR_CONNECT_TIMEOUT'), code: 'upstream_timeout' },
    { name: 'a refused connection', error: coded('ECONNREFUSED'), code: 'provider_unreachable' },
    { name: 'a DNS failure', error: coded('ENOTFOUND'), code: 'provider_unreachable' },
    { name: 'a TLS failure', error: coded('ERR_SSL_WRONG_VERSION_NUMBER'), code: 'provider_unreachable' },
    { name: 'a reset (how blocked connections end)', error: coded('ECONNRESET'), code: 'provider_unreachable' },
    { name: 'the SDK timeout', error: new APIConnectionTimeoutError(), code: 'upstream_timeout' },
  ] as const)('$name to openai or gemini from cn gets the cn hint', ({ error, code }) => {
    for (const provider of ['openai', 'gemini']) {
      const normalized = toSwitchyardError(error, { provider, cluster: 'cn' });
      expect(normalized.code).toBe(code);
      expect(normalized.hint).toBe(CN_HINT);
      expect(normalized.retryable).toBe(true);
    }
  });

  it('other providers in cn, and openai in global, get the usual hints', () => {
    expect(toSwitchyardError(coded('ECONNREFUSED'), { provider: 'dashscope', cluster: 'cn' }).hint).not.toBe(CN_HINT);
    expect(toSwitchyardError(coded('ECONNREFUSED'), { provider: 'openai', cluster: 'global' }).hint).not.toBe(CN_HINT);
    expect(toSwitchyardError(coded('ETIMEDOUT'), { provider: 'openai', cluster: 'global' }).hint).not.toBe(CN_HINT);
    expect(toSwitchyardError(coded('ECONNRESET'), { provider: 'openai', cluster: 'global' }).code).toBe('upstream_error');
  });

  it('a real refused connection to openai from cn', async () => {
    const error = toSwitchyardError(await caught(chat(sdk(refusedPort))), { provider: 'openai', cluster: 'cn', secrets: [SECRET] });
    expectNetwork(error, { code: 'provider_unreachable', retryable: true, hint: CN_HINT });
  });

  it('an abort is not blamed on the cluster', () => {
    const error = toSwitchyardError(new DOMException('aborted', 'AbortError'), { provider: 'openai', cluster: 'cn' });
    expect(error.hint).not.toBe(CN_HINT);
    expect(error.retryable).toBe(false);
  });
});

// -----------------------------------------------------------------------------------------------------------------
// The openai SDK's status errors.

/** Bodies the SDK keeps whole: an object with an `error` member. */
const ENVELOPE_FIXTURES = errorFixtures.filter((name) => {
  const parsed: unknown = JSON.parse(readFixture(name));
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && 'error' in parsed;
});

describe('toSwitchyardError: openai SDK APIErrors', () => {
  it.each(ENVELOPE_FIXTURES)('APIError.generate for %s maps like the raw body', (name) => {
    const status = fixtureStatus(name) ?? 0;
    const headers = new Headers({ 'x-request-id': 'req-sdk', 'retry-after': '2' });
    const apiError = APIError.generate(status, JSON.parse(readFixture(name)) as object, undefined, headers);
    const provider = FIXTURES[name]?.provider;
    const fromSdk = toSwitchyardError(apiError, { provider, secrets: [SECRET] });
    const fromBody = normalizeUpstreamError({ status, body: readFixture(name), provider });
    expect(fromSdk.code).toBe(fromBody.code);
    expect(fromSdk.hint).toBe(fromBody.hint);
    expect(fromSdk.retryable).toBe(fromBody.retryable);
    expect(fromSdk.message).toBe(fromBody.message);
    expect(fromSdk.param).toBe(fromBody.param);
    expect(fromSdk.upstreamStatus).toBe(status);
    expect(fromSdk.upstreamRequestId).toBe('req-sdk');
    expect(fromSdk.retryAfterMs).toBe(2000);
    expect(fromSdk.cause).toBe(apiError);
  });

  it('never echoes the partly masked key through the SDK either', () => {
    const apiError = APIError.generate(401, JSON.parse(readFixture('openai-invalid_api_key')) as object, undefined, new Headers());
    expect(apiError.message).toContain('bad-key');
    expect(toSwitchyardError(apiError).message).not.toContain('bad-key');
  });

  it('falls back on the status for bodies the SDK drops (DashScope flat, Gemini array)', () => {
    // The SDK keeps only `body.error`; these shapes have none, so only the status is left.
    const flat = APIError.generate(401, JSON.parse(readFixture('dashscope-InvalidApiKey')) as object, undefined, new Headers());
    expect(toSwitchyardError(flat).code).toBe('invalid_api_key');
    const array = APIError.generate(400, JSON.parse(readFixture('gemini-API_KEY_INVALID')) as object, undefined, new Headers());
    const mapped = toSwitchyardError(array, { provider: 'gemini' });
    expect(mapped.code).toBe('invalid_request');
    expect(mapped.message).toBe('The upstream (gemini) answered HTTP 400.');
  });

  it('does not echo a non-JSON body kept in the SDK message', () => {
    const apiError = APIError.generate(502, undefined, '<html><body>Bad Gateway</body></html>', new Headers());
    const mapped = toSwitchyardError(apiError);
    expectError(mapped, { code: 'upstream_error', retryable: true, message: 'HTML page' });
  });

  it.each([
    { fixture: 'openai-invalid_api_key.error.json', code: 'invalid_api_key' },
    { fixture: 'openai-insufficient_quota.error.json', code: 'insufficient_quota' },
    { fixture: 'openai-unsupported_country_region_territory.error.json', code: 'region_restricted' },
    { fixture: 'volcengine-ark-AuthenticationError.error.json', code: 'invalid_api_key' },
    { fixture: 'gemini-RESOURCE_EXHAUSTED.error.json', code: 'rate_limited' },
  ] as const)('a real SDK call answered with $fixture', async ({ fixture, code }) => {
    const error = await caught(chat(sdk(answerPort, { path: `/${encodeURIComponent(fixture)}` })));
    expect(error).toBeInstanceOf(APIError);
    const mapped = toSwitchyardError(error, { provider: 'openai', secrets: [SECRET] });
    expect(mapped.code).toBe(code);
    expect(mapped.upstreamStatus).toBe(fixtureStatus(fixture));
    expect(mapped.upstreamRequestId).toBe(`req-${fixture}`);
    expect(mapped.retryAfterMs).toBe(1234);
    expect(mapped.message).not.toContain('bad-key');
    expect(mapped.message).not.toContain(SECRET);
  });

  it('a real SDK call answered with an HTML 502', async () => {
    const error = await caught(chat(sdk(answerPort, { path: '/html' })));
    expectError(toSwitchyardError(error, { provider: 'openai' }), { code: 'upstream_error', retryable: true, message: 'answered HTTP 502 with an HTML page' });
  });
});
