import { fixtureContentType, readFixture } from './fixtures.js';
import type { Wire } from './routes.js';

/** Providers whose error shapes the testkit can answer with. */
export type ErrorProvider = 'openai' | 'azure' | 'dashscope' | 'volcengine' | 'gemini' | 'anthropic';

/** What a synthesized error body may mention. */
export interface ProviderErrorOptions {
  /** The model the request named; some providers quote it in the message. */
  model?: string;
  /** Shown in OpenAI's rate-limit message ("Please try again in …"). */
  retryAfterSeconds?: number;
  /** Sent as `retry-after-ms`. */
  retryAfterMs?: number;
  /** The wire of the route (default `chat`): on `responses`, OpenAI answers with its Responses variants (another status or layout). */
  wire?: Wire;
  /** Anthropic's `request_id` in synthesized bodies and the `request-id` header (recorded bodies keep their own). */
  requestId?: string;
}

/** An error answer as the provider sends it: status, headers and the body's exact text. */
export interface ProviderErrorResponse {
  /** The HTTP status. */
  status: number;
  /** The response headers. */
  headers: Record<string, string>;
  /** The body's exact text. */
  body: string;
}

interface CatalogEntry {
  status: number;
  /** A recorded body, replayed byte for byte. */
  fixture?: string;
  /** A body synthesized in the provider's real shape where nothing was recorded. */
  body?: (options: ProviderErrorOptions) => string;
  contentType?: string;
  headers?: Record<string, string>;
  /** What the provider answers instead on its Responses endpoint. */
  responses?: Omit<CatalogEntry, 'responses'>;
}

const OPENAI_JSON = 'application/json; charset=utf-8';
const PLAIN_JSON = 'application/json';

/** OpenAI's own serialisation: 4-space indentation, keys `message, type, param, code`, trailing newline. */
export function openaiErrorBody(message: string, type: string | null, param: string | null, code: string | null): string {
  return `${JSON.stringify({ error: { message, type, param, code } }, null, 4)}\n`;
}

/** OpenAI's layout on `/v1/responses`: 2-space indentation, no trailing newline. */
export function responsesErrorBody(message: string, type: string | null, param: string | null, code: string | null): string {
  return JSON.stringify({ error: { message, type, param, code } }, null, 2);
}

/** OpenAI's error body in the layout of the wire it answers on. */
export function openaiErrorBodyFor(wire: Wire | undefined, message: string, type: string | null, param: string | null, code: string | null): string {
  return wire === 'responses' ? responsesErrorBody(message, type, param, code) : openaiErrorBody(message, type, param, code);
}

/** Anthropic's error body: compact, `{type: "error", error: {type, message}, request_id}` in that order. */
export function anthropicErrorBody(type: string, message: string, requestId?: string): string {
  return JSON.stringify({ type: 'error', error: { type, message }, ...(requestId === undefined ? {} : { request_id: requestId }) });
}

/** Anthropic's 429 wording for an organisation on API keys (continuedev/continue#11664). */
export function anthropicRateLimitBody(options: ProviderErrorOptions = {}): string {
  return anthropicErrorBody(
    'rate_limit_error',
    `This request would exceed your organization's rate limit of 50 requests per minute (org: 00000000-0000-4000-8000-000000000000, model: ${options.model ?? 'claude-sonnet-4-6'}). For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate limit increase.`,
    options.requestId,
  );
}

const TESTKIT_REQUEST_ID = 'req_011CTestkit00000000000000';

const anthropic = (type: string, message: string) => (options: ProviderErrorOptions) => anthropicErrorBody(type, message, options.requestId ?? TESTKIT_REQUEST_ID);

function retryHint(options: ProviderErrorOptions): string {
  if (options.retryAfterMs !== undefined) return `${options.retryAfterMs}ms`;
  if (options.retryAfterSeconds !== undefined) return `${options.retryAfterSeconds}s`;
  return '20s';
}

/** OpenAI's 429 for requests per minute; no raw recording exists, so the shape follows the SDK reprs in issues. */
export function openaiRateLimitBody(options: ProviderErrorOptions = {}): string {
  const model = options.model ?? 'gpt-4o-mini';
  return openaiErrorBodyFor(
    options.wire,
    `Rate limit reached for ${model} in organization org-testkit on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${retryHint(options)}. Visit https://platform.openai.com/account/rate-limits to learn more.`,
    'requests',
    null,
    'rate_limit_exceeded',
  );
}

const dashscope = (code: string, message: string, requestId: string) => () =>
  JSON.stringify({ code, message, request_id: requestId });

const ark = (code: string, type: string, message: string) => () =>
  JSON.stringify({ error: { code, message: `${message} Request id: 021700000000000testkit00000000000000000000000000000`, param: '', type } });

const gemini = (code: number, status: string, message: string, details?: unknown[]) => () =>
  JSON.stringify([{ error: details === undefined ? { code, message, status } : { code, message, status, details } }], null, 2);

const CATALOG: Record<ErrorProvider, Record<string, CatalogEntry>> = {
  openai: {
    invalid_api_key: { status: 401, fixture: 'openai-invalid_api_key', responses: { status: 401, fixture: 'openai-responses-invalid_api_key' } },
    // An unknown model is a 404 on Chat Completions but a 400 on Responses.
    model_not_found: { status: 404, fixture: 'openai-model_not_found', responses: { status: 400, fixture: 'openai-responses-model_not_found' } },
    unsupported_parameter: { status: 400, fixture: 'openai-unsupported_parameter' },
    empty_array: { status: 400, fixture: 'openai-empty_array' },
    insufficient_quota: { status: 429, fixture: 'openai-insufficient_quota' },
    unsupported_country_region_territory: { status: 403, fixture: 'openai-unsupported_country_region_territory' },
    // Recorded on Responses only; the same body on every wire.
    invalid_json_schema: { status: 400, fixture: 'openai-responses-invalid_json_schema' },
    rate_limit_exceeded: { status: 429, body: openaiRateLimitBody, contentType: OPENAI_JSON },
    // A real 500 carries `code: null`; the type is what tells it apart.
    server_error: {
      status: 500,
      body: (options) => openaiErrorBodyFor(options.wire, 'The server had an error while processing your request. Sorry about that!', 'server_error', null, null),
      contentType: OPENAI_JSON,
    },
  },
  azure: {
    '401': {
      status: 401,
      body: () =>
        JSON.stringify({
          error: {
            code: '401',
            message:
              'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
          },
        }),
    },
    DeploymentNotFound: {
      status: 404,
      body: () =>
        JSON.stringify({
          error: {
            code: 'DeploymentNotFound',
            message: 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
          },
        }),
    },
    '429': {
      status: 429,
      headers: { 'retry-after': '1' },
      body: () =>
        JSON.stringify({
          error: {
            code: '429',
            message:
              'Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.',
          },
        }),
    },
    content_filter: {
      status: 400,
      body: () =>
        JSON.stringify({
          error: {
            message:
              "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
            type: null,
            param: 'prompt',
            code: 'content_filter',
            status: 400,
            innererror: {
              code: 'ResponsibleAIPolicyViolation',
              content_filter_result: {
                hate: { filtered: false, severity: 'safe' },
                jailbreak: { filtered: false, detected: false },
                self_harm: { filtered: false, severity: 'safe' },
                sexual: { filtered: false, severity: 'safe' },
                violence: { filtered: true, severity: 'medium' },
              },
            },
          },
        }),
    },
  },
  dashscope: {
    InvalidApiKey: { status: 401, fixture: 'dashscope-InvalidApiKey' },
    invalid_parameter_error: { status: 400, fixture: 'dashscope-invalid_parameter_error' },
    'Throttling.User': {
      status: 429,
      body: dashscope('Throttling.User', 'Requests rate limit exceeded, please try again later.', '5e1d3c2a-7b4f-9a61-8c3e-2f0b6d4a1c97'),
    },
    Arrearage: {
      status: 400,
      body: dashscope('Arrearage', 'Access denied, please make sure your account is in good standing.', '8a3f6b1e-2c4d-9e57-a0b1-6d7c8e9f0a12'),
    },
    'Model.AccessDenied': {
      status: 403,
      body: dashscope('Model.AccessDenied', 'Model access denied.', '3c9e7a5b-1d2f-9b84-b6c5-4e3a2d1f0b98'),
    },
  },
  volcengine: {
    AuthenticationError: { status: 401, fixture: 'volcengine-ark-AuthenticationError' },
    'RateLimitExceeded.EndpointRPMExceeded': {
      status: 429,
      body: ark(
        'RateLimitExceeded.EndpointRPMExceeded',
        'TooManyRequests',
        'The request failed because you have exceeded the RPM limit of the endpoint. Please try again later.',
      ),
    },
    ModelNotOpen: {
      status: 404,
      body: (options) =>
        ark(
          'ModelNotOpen',
          'NotFound',
          `Your account 2100000000 has not activated the model ${options.model ?? 'doubao-seed-2-0-lite-260428'}. Please activate the model service in the Ark Console.`,
        )(),
    },
    'InvalidEndpointOrModel.NotFound': {
      status: 404,
      body: (options) =>
        ark(
          'InvalidEndpointOrModel.NotFound',
          'NotFound',
          `The model or endpoint ${options.model ?? 'doubao-seed-2-0-lite-260428'} does not exist or you do not have access to it.`,
        )(),
    },
  },
  gemini: {
    API_KEY_INVALID: { status: 400, fixture: 'gemini-API_KEY_INVALID' },
    RESOURCE_EXHAUSTED: { status: 429, fixture: 'gemini-RESOURCE_EXHAUSTED' },
    INVALID_ARGUMENT: { status: 400, fixture: 'gemini-openai-compat-INVALID_ARGUMENT' },
    PERMISSION_DENIED: {
      status: 403,
      body: gemini(403, 'PERMISSION_DENIED', "Permission denied: Consumer 'api_key:testkit' has been suspended.", [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'CONSUMER_SUSPENDED',
          domain: 'googleapis.com',
          metadata: { service: 'generativelanguage.googleapis.com', consumer: 'projects/testkit' },
        },
      ]),
    },
    // Gemini's region block: the API is not offered where the caller is.
    FAILED_PRECONDITION: {
      status: 400,
      body: gemini(400, 'FAILED_PRECONDITION', 'User location is not supported for the API use.'),
    },
  },
  anthropic: {
    authentication_error: { status: 401, fixture: 'anthropic-authentication_error', headers: { 'x-should-retry': 'false' } },
    invalid_request_error: { status: 400, fixture: 'anthropic-invalid_request_error' },
    // The recorded 404 was re-serialised by its recorder (sorted keys); this is Anthropic's own layout, naming the requested model.
    not_found_error: { status: 404, body: (options) => anthropicErrorBody('not_found_error', `model: ${options.model ?? 'claude-sonet-4-5'}`, options.requestId ?? TESTKIT_REQUEST_ID) },
    rate_limit_error: { status: 429, fixture: 'anthropic-rate_limit_error', headers: { 'x-should-retry': 'true' } },
    // Anthropic's non-standard overload status.
    overloaded_error: { status: 529, fixture: 'anthropic-overloaded_error', headers: { 'x-should-retry': 'true' } },
    permission_error: { status: 403, body: anthropic('permission_error', 'Your API key does not have permission to use the specified resource.') },
    api_error: { status: 500, body: anthropic('api_error', 'Internal server error'), headers: { 'x-should-retry': 'true' } },
    request_too_large: { status: 413, body: anthropic('request_too_large', 'Request exceeds the maximum allowed number of bytes.') },
    // The region block comes from the edge, without Anthropic's envelope (anthropics/anthropic-sdk-typescript#457).
    forbidden: { status: 403, body: () => JSON.stringify({ error: { type: 'forbidden', message: 'Request not allowed' } }) },
  },
};

/** The providers with an error catalog. */
export const errorProviders: readonly ErrorProvider[] = Object.keys(CATALOG) as ErrorProvider[];

/** The error codes the testkit knows for a provider. */
export function providerErrorCodes(provider: ErrorProvider): string[] {
  const entries = (CATALOG as Partial<Record<string, Record<string, CatalogEntry>>>)[provider];
  return entries === undefined ? [] : Object.keys(entries);
}

function catalogEntry(provider: string, code: string): CatalogEntry {
  const entries = (CATALOG as Partial<Record<string, Record<string, CatalogEntry>>>)[provider];
  if (entries === undefined) {
    throw new Error(`testkit: unknown error provider '${provider}'. Known providers: ${errorProviders.join(', ')}`);
  }
  const entry = Object.hasOwn(entries, code) ? entries[code] : undefined;
  if (entry === undefined) {
    throw new Error(`testkit: unknown ${provider} error code '${code}'. Known codes: ${Object.keys(entries).join(', ')}`);
  }
  return entry;
}

/** Throws, listing the known codes, unless the provider has an error with this code. */
export function assertProviderError(provider: string, code: string): void {
  catalogEntry(provider, code);
}

/**
 * The error answer a provider sends for `code`: the recorded body where one exists, else one in the provider's shape.
 * Usable without a server, e.g. to feed an error normalizer.
 */
export function providerError(provider: ErrorProvider, code: string, options: ProviderErrorOptions = {}): ProviderErrorResponse {
  const found = catalogEntry(provider, code);
  const entry = options.wire === 'responses' && found.responses !== undefined ? found.responses : found;
  const answer: ProviderErrorResponse =
    entry.fixture === undefined
      ? { status: entry.status, headers: { 'content-type': entry.contentType ?? PLAIN_JSON, ...entry.headers }, body: entry.body?.(options) ?? '' }
      : { status: entry.status, headers: { 'content-type': fixtureContentType(entry.fixture), ...entry.headers }, body: readFixture(entry.fixture) };
  if (provider === 'anthropic') {
    // Anthropic repeats the body's request_id in the `request-id` header.
    const requestId = /"request_id":\s*"([^"]+)"/.exec(answer.body)?.[1];
    if (requestId !== undefined) answer.headers['request-id'] = requestId;
  }
  return answer;
}
