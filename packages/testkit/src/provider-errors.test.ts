import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chat, send } from '../test/http.js';
import { behaviors } from './behavior.js';
import { readFixture } from './fixtures.js';
import { errorProviders, providerError, providerErrorCodes, type ErrorProvider } from './provider-errors.js';
import { startTestUpstream, type TestUpstream } from './test-upstream.js';

let upstream: TestUpstream;

beforeAll(async () => {
  upstream = await startTestUpstream();
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

/** Every code, its status, and the fixture it must replay where one was recorded. */
const EXPECTED: Record<ErrorProvider, Record<string, [number, string?]>> = {
  openai: {
    invalid_api_key: [401, 'openai-invalid_api_key'],
    model_not_found: [404, 'openai-model_not_found'],
    unsupported_parameter: [400, 'openai-unsupported_parameter'],
    empty_array: [400, 'openai-empty_array'],
    insufficient_quota: [429, 'openai-insufficient_quota'],
    unsupported_country_region_territory: [403, 'openai-unsupported_country_region_territory'],
    invalid_json_schema: [400, 'openai-responses-invalid_json_schema'],
    rate_limit_exceeded: [429],
    server_error: [500],
  },
  azure: { '401': [401], DeploymentNotFound: [404], '429': [429], content_filter: [400] },
  dashscope: {
    InvalidApiKey: [401, 'dashscope-InvalidApiKey'],
    invalid_parameter_error: [400, 'dashscope-invalid_parameter_error'],
    'Throttling.User': [429],
    Arrearage: [400],
    'Model.AccessDenied': [403],
  },
  volcengine: {
    AuthenticationError: [401, 'volcengine-ark-AuthenticationError'],
    'RateLimitExceeded.EndpointRPMExceeded': [429],
    ModelNotOpen: [404],
    'InvalidEndpointOrModel.NotFound': [404],
  },
  gemini: {
    API_KEY_INVALID: [400, 'gemini-API_KEY_INVALID'],
    RESOURCE_EXHAUSTED: [429, 'gemini-RESOURCE_EXHAUSTED'],
    INVALID_ARGUMENT: [400, 'gemini-openai-compat-INVALID_ARGUMENT'],
    PERMISSION_DENIED: [403],
    FAILED_PRECONDITION: [400],
  },
  anthropic: {
    authentication_error: [401, 'anthropic-authentication_error'],
    invalid_request_error: [400, 'anthropic-invalid_request_error'],
    not_found_error: [404],
    rate_limit_error: [429, 'anthropic-rate_limit_error'],
    overloaded_error: [529, 'anthropic-overloaded_error'],
    permission_error: [403],
    api_error: [500],
    request_too_large: [413],
    forbidden: [403],
  },
};

const cases = errorProviders.flatMap((provider) => providerErrorCodes(provider).map((code) => [provider, code] as const));

async function answer(provider: ErrorProvider, code: string, model = 'doubao-seed-2-0-lite-260428') {
  upstream.enqueue(behaviors.error(provider, code));
  const response = await send(`${upstream.url}/chat/completions`, { body: chat('q', { model }) });
  return { ...response, parsed: JSON.parse(response.text) as unknown };
}

describe('provider error catalog', () => {
  it('knows exactly the expected codes', () => {
    expect(Object.fromEntries(errorProviders.map((provider) => [provider, providerErrorCodes(provider)]))).toEqual(
      Object.fromEntries(Object.entries(EXPECTED).map(([provider, codes]) => [provider, Object.keys(codes)])),
    );
  });

  it.each(cases)('%s %s answers with its status, and the recorded bytes where there are some', async (provider, code) => {
    const [status, fixture] = EXPECTED[provider][code] ?? [];
    const response = await answer(provider, code);
    expect(response.status).toBe(status);
    expect(response.headers['x-request-id']).toBe(upstream.lastRequest()?.id);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    if (fixture !== undefined) expect(response.text).toBe(readFixture(fixture));
  });

  it('throws at enqueue time for an unknown code, listing the known ones', () => {
    expect(() => upstream.enqueue(behaviors.error('dashscope', 'Nope'))).toThrow(
      "testkit: unknown dashscope error code 'Nope'. Known codes: InvalidApiKey, invalid_parameter_error, Throttling.User, Arrearage, Model.AccessDenied",
    );
    expect(() => upstream.enqueue(behaviors.error('mistral' as ErrorProvider, 'x'))).toThrow(/unknown error provider 'mistral'.*openai, azure/);
    expect(() => upstream.enqueue(behaviors.error('openai', 'toString'))).toThrow(/unknown openai error code 'toString'/);
  });
});

describe('provider error shapes', () => {
  it("openai: the envelope {error: {message, type, param, code}} in OpenAI's own formatting", async () => {
    for (const code of providerErrorCodes('openai').filter((item) => !['unsupported_country_region_territory'].includes(item))) {
      const { parsed } = await answer('openai', code);
      expect(Object.keys((parsed as { error: object }).error).sort(), code).toEqual(['code', 'message', 'param', 'type']);
    }
    const rateLimit = await answer('openai', 'rate_limit_exceeded', 'gpt-5');
    expect(rateLimit.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(rateLimit.text).toMatch(/^\{\n {4}"error": \{\n {8}"message": "Rate limit reached for gpt-5 /);
    expect(rateLimit.text.endsWith('\n    }\n}\n')).toBe(true);
    expect(rateLimit.parsed).toMatchObject({ error: { type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    const serverError = await answer('openai', 'server_error');
    expect(serverError.parsed).toEqual({
      error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null },
    });
  });

  it('azure: {error: {code, message}} with the status as a string code where Azure does that', async () => {
    const deployment = await answer('azure', 'DeploymentNotFound');
    expect(deployment.parsed).toEqual({
      error: {
        code: 'DeploymentNotFound',
        message: 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
      },
    });
    const unauthorized = await answer('azure', '401');
    expect(unauthorized.parsed).toMatchObject({ error: { code: '401' } });
    const throttled = await answer('azure', '429');
    expect(throttled.headers['retry-after']).toBe('1');
    const filtered = await answer('azure', 'content_filter');
    expect(filtered.parsed).toMatchObject({ error: { code: 'content_filter', param: 'prompt', status: 400, innererror: { code: 'ResponsibleAIPolicyViolation' } } });
  });

  it('dashscope: the flat {code, message, request_id} shape', async () => {
    const messages: Record<string, string> = {
      InvalidApiKey: 'Invalid API-key provided.',
      'Throttling.User': 'Requests rate limit exceeded, please try again later.',
      Arrearage: 'Access denied, please make sure your account is in good standing.',
      'Model.AccessDenied': 'Model access denied.',
    };
    for (const [code, message] of Object.entries(messages)) {
      const { parsed, headers } = await answer('dashscope', code);
      expect(headers['content-type']).toBe('application/json');
      expect(Object.keys(parsed as object)).toEqual(['code', 'message', 'request_id']);
      expect(parsed).toMatchObject({ code, message });
      expect((parsed as { request_id: string }).request_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    }
    const compatible = await answer('dashscope', 'invalid_parameter_error');
    expect(compatible.parsed).toMatchObject({ error: { code: 'invalid_parameter_error', type: 'invalid_request_error' }, request_id: expect.any(String) });
  });

  it("volcengine: {error: {code, message, param: '', type}} with the request id in the message", async () => {
    const expected: Record<string, [string, RegExp]> = {
      AuthenticationError: ['Unauthorized', /^The API key format is incorrect\. Request id: /],
      'RateLimitExceeded.EndpointRPMExceeded': ['TooManyRequests', /RPM limit.* Request id: \w+$/],
      ModelNotOpen: ['NotFound', /^Your account \d+ has not activated the model doubao-seed-2-0-pro\. .* Request id: \w+$/],
      'InvalidEndpointOrModel.NotFound': ['NotFound', /^The model or endpoint doubao-seed-2-0-pro does not exist or you do not have access to it\. Request id: \w+$/],
    };
    for (const [code, [type, message]] of Object.entries(expected)) {
      const { parsed } = await answer('volcengine', code, 'doubao-seed-2-0-pro');
      const error = (parsed as { error: { code: string; message: string; param: string; type: string } }).error;
      expect(Object.keys(error), code).toEqual(['code', 'message', 'param', 'type']);
      expect(error).toMatchObject({ code, param: '', type });
      expect(error.message).toMatch(message);
    }
  });

  it('gemini: an array around {error: {code, message, status, details}}, with the HTTP status as the numeric code', async () => {
    for (const code of ['API_KEY_INVALID', 'INVALID_ARGUMENT', 'PERMISSION_DENIED', 'FAILED_PRECONDITION']) {
      const { parsed, status } = await answer('gemini', code);
      expect(Array.isArray(parsed), code).toBe(true);
      const [element] = parsed as [{ error: { code: number; status: string } }];
      expect(element.error.code).toBe(status);
    }
    const denied = await answer('gemini', 'PERMISSION_DENIED');
    expect(denied.parsed).toMatchObject([{ error: { code: 403, status: 'PERMISSION_DENIED', details: [{ reason: 'CONSUMER_SUSPENDED' }] } }]);
    const invalidKey = await answer('gemini', 'API_KEY_INVALID');
    expect(invalidKey.parsed).toMatchObject([{ error: { status: 'INVALID_ARGUMENT', details: expect.arrayContaining([expect.objectContaining({ reason: 'API_KEY_INVALID' })]) } }]);
    // The recorded 429 came from the native API, which does not wrap it.
    const exhausted = await answer('gemini', 'RESOURCE_EXHAUSTED');
    expect(exhausted.parsed).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
  });
});

describe('providerError', () => {
  it('gives the answer without a server, for normalizer tests', () => {
    expect(providerError('dashscope', 'InvalidApiKey')).toEqual({
      status: 401,
      headers: { 'content-type': 'application/json' },
      body: readFixture('dashscope-InvalidApiKey'),
    });
    expect(providerError('volcengine', 'ModelNotOpen', { model: 'm-1' }).body).toContain('has not activated the model m-1.');
  });
});
