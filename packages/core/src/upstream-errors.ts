/**
 * The one normalizer (STYLE "Errors"): every upstream error answer and everything a call can throw becomes a
 * SwitchyardError with a stable code (SPEC §7), a one-line hint, `retryable`, and no key in the message.
 */
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { Cluster } from './config.js';
import { DEFAULT_HINTS, SwitchyardError, type ErrorCode } from './errors.js';
import { redactSecrets } from './redact.js';
import type { HeaderBag } from './router/resolve.js';

/** An upstream error answer, as `normalizeUpstreamError` reads it. */
export interface UpstreamErrorInput {
  /** The upstream's HTTP status. */
  status: number;
  /** The upstream's body as text (may be JSON, a JSON array, HTML or empty). */
  body: string;
  /** The upstream's headers (`retry-after`, `x-request-id`). */
  headers?: HeaderBag | undefined;
  /** The provider that answered. */
  provider?: string | undefined;
  /** Where this server runs, for cluster-specific hints. */
  cluster?: Cluster | undefined;
  /** Keys to redact from anything echoed. */
  secrets?: readonly (string | undefined)[] | undefined;
}

/** What `toSwitchyardError` knows about where an error came from. */
export interface ErrorContext {
  /** The provider called. */
  provider?: string | undefined;
  /** Where this server runs, for cluster-specific hints. */
  cluster?: Cluster | undefined;
  /** Keys to redact from the message. */
  secrets?: readonly (string | undefined)[] | undefined;
}

/** The longest upstream message passed on, in characters. */
export const MAX_MESSAGE_LENGTH = 500;

/** A table lookup that ignores inherited keys: upstream strings such as "constructor" must not hit Object.prototype. */
function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Hints beyond DEFAULT_HINTS.

const HINTS = {
  keyLacksPermission: "the key is valid but lacks permission for this model or API; check the key's project, workspace or restrictions",
  accountDeactivated: 'the account behind this key was deactivated; contact the provider or use another key',
  consumerSuspended: "the key's Google Cloud project was suspended; use a key from an active project",
  geminiServiceDisabled: "the Generative Language API is not enabled for the key's Google Cloud project; enable it in the console",
  geminiResourceExhausted:
    "Gemini's per-minute limit was hit; retry after a short wait. If it keeps happening, the daily or plan quota is used up (check the plan and billing)",
  overloaded: 'the provider is overloaded right now; retry later or pick another provider',
  moderation: "the provider's content moderation rejected the input or output; change the content",
  azureDeployment: 'the Azure deployment name is wrong, or the deployment was created moments ago; check it in the Azure portal',
  arkEndpoint: 'the model id or endpoint id (ep-…) does not exist in this Ark account; check it in the Volcengine Ark console',
  arrears: 'the account is in arrears: the balance is used up; top it up in the provider console',
  freeTierOnly: "the model's free quota is used up and the account allows the free tier only; turn that off in the console to pay as you go",
  allocationQuota: "the model's free or allocated quota is used up; top up or raise the quota in the provider console",
  cnBlocked: 'expected for this provider here; use dashscope or volcengine',
  refused: "the provider's address refused the connection; check the base URL and port, or pick another provider",
  dns: "the provider's host name does not resolve from here; check the base URL and DNS, or pick another provider",
  tls: "the TLS connection failed: the certificate could not be verified or the port does not speak https; check the base URL and any TLS-intercepting proxy",
  hostUnreachable: 'no network route to the provider from here; check the network or pick another provider',
  reset: 'the connection was cut before the answer was complete; retry',
  aborted: 'the call was cancelled before it finished, usually because the client went away',
  unknown: 'the call failed for an unexpected reason; see the server log',
} as const;

function activationHint(provider: string | undefined): string {
  if (provider === 'dashscope') return 'the model is not activated for this account; activate it in the Alibaba Cloud Model Studio console, or pick another model';
  if (provider === 'volcengine') return 'the model is not activated for this account; activate it in the Volcengine Ark console (开通管理), or pick another model';
  return 'the model is not activated for this account; activate it in the provider console, or pick another model';
}

function invalidKeyHint(provider: string | undefined): string {
  const where: Record<string, string> = {
    openai: ' at platform.openai.com/api-keys',
    anthropic: ' in the Anthropic Console (console.anthropic.com)',
    deepseek: ' at platform.deepseek.com/api_keys',
    gemini: ' in Google AI Studio',
    dashscope: ' in the Alibaba Cloud Model Studio console',
    volcengine: ' in the Volcengine Ark console',
  };
  return DEFAULT_HINTS.invalid_api_key + ((provider && own(where, provider)) || '');
}

// ---------------------------------------------------------------------------------------------------------------
// Classification of upstream answers.

interface Verdict {
  code: ErrorCode;
  hint?: string | ((provider: string | undefined) => string);
  retryable?: boolean;
}

const V = {
  key: { code: 'invalid_api_key', hint: invalidKeyHint },
  keyPermission: { code: 'invalid_api_key', hint: HINTS.keyLacksPermission },
  model: { code: 'model_not_found' },
  activate: { code: 'model_not_found', hint: activationHint },
  quota: { code: 'insufficient_quota' },
  rate: { code: 'rate_limited' },
  region: { code: 'region_restricted' },
  invalid: { code: 'invalid_request' },
  moderation: { code: 'invalid_request', hint: HINTS.moderation },
  timeout: { code: 'upstream_timeout' },
  upstream: { code: 'upstream_error' },
} as const satisfies Record<string, Verdict>;

/** Codes that say exactly what went wrong (OpenAI, Azure, DashScope in both shapes, Volcengine Ark). */
const STRONG_CODES: Readonly<Record<string, Verdict>> = {
  // OpenAI (Azure, DashScope compatible-mode and Gemini compat reuse these)
  invalid_api_key: V.key,
  account_deactivated: { code: 'invalid_api_key', hint: HINTS.accountDeactivated },
  model_not_found: V.model,
  insufficient_quota: V.quota,
  billing_hard_limit_reached: V.quota,
  rate_limit_exceeded: V.rate,
  unsupported_country_region_territory: V.region,
  DeploymentNotFound: { code: 'model_not_found', hint: HINTS.azureDeployment },
  content_filter: V.moderation,
  // DashScope
  InvalidApiKey: V.key,
  'Model.AccessDenied': V.activate,
  'AccessDenied.Unpurchased': V.activate,
  Arrearage: { code: 'insufficient_quota', hint: HINTS.arrears },
  'Throttling.AllocationQuota': { code: 'insufficient_quota', hint: HINTS.allocationQuota },
  'AllocationQuota.FreeTierOnly': { code: 'insufficient_quota', hint: HINTS.freeTierOnly },
  DataInspectionFailed: V.moderation,
  data_inspection_failed: V.moderation,
  RequestTimeOut: V.timeout,
  // Volcengine Ark
  AuthenticationError: V.key,
  QuotaExceeded: V.quota,
  AccountOverdueError: { code: 'insufficient_quota', hint: HINTS.arrears },
  ModelNotOpen: V.activate,
  'InvalidEndpointOrModel.NotFound': { code: 'model_not_found', hint: HINTS.arkEndpoint },
  ServerOverloaded: { code: 'upstream_error', hint: HINTS.overloaded, retryable: true },
};

/** Codes that only say "bad request"; a more specific message or status wins over them. */
const WEAK_CODES: ReadonlySet<string> = new Set([
  'invalid_parameter_error',
  'invalid_request_error',
  'invalid_value',
  'unsupported_parameter',
  'unsupported_value',
  'empty_array',
  'context_length_exceeded',
  'InvalidParameter',
  'MissingParameter',
  'BadRequest',
  'InvalidArgument',
]);

function codeVerdict(code: string): Verdict | undefined {
  const exact = own(STRONG_CODES, code);
  if (exact) return exact;
  // DashScope: Throttling, Throttling.User, Throttling.RateQuota, Throttling.Burst …
  if (code === 'Throttling' || code.startsWith('Throttling.')) return V.rate;
  // Ark: RateLimitExceeded.EndpointRPMExceeded, RateLimitExceeded.EndpointTPMExceeded …
  if (code.startsWith('RateLimitExceeded')) return V.rate;
  if (code.startsWith('InvalidEndpointOrModel')) return { code: 'model_not_found', hint: HINTS.arkEndpoint };
  // Ark: InputTextSensitiveContentDetected, OutputImageSensitiveContentDetected …
  if (code.includes('SensitiveContentDetected')) return V.moderation;
  return undefined;
}

/** OpenAI-style `type`s that carry meaning on their own (OpenAI and Anthropic-style relays). */
const TYPES: Readonly<Record<string, Verdict>> = {
  insufficient_quota: V.quota,
  authentication_error: V.key,
  rate_limit_error: V.rate,
  overloaded_error: { code: 'upstream_error', hint: HINTS.overloaded, retryable: true },
  // Anthropic's own types
  not_found_error: V.model,
  billing_error: V.quota,
  timeout_error: V.timeout,
  request_too_large: V.invalid,
  api_error: V.upstream,
};

/** Gemini's `details[].reason` (google.rpc.ErrorInfo). */
const REASONS: Readonly<Record<string, Verdict>> = {
  API_KEY_INVALID: V.key,
  API_KEY_SERVICE_BLOCKED: V.keyPermission,
  SERVICE_DISABLED: { code: 'invalid_api_key', hint: HINTS.geminiServiceDisabled },
  CONSUMER_SUSPENDED: { code: 'invalid_api_key', hint: HINTS.consumerSuspended },
  RATE_LIMIT_EXCEEDED: { code: 'rate_limited', hint: HINTS.geminiResourceExhausted },
};

const REGION_WORDS = /\b(?:countr(?:y|ies)|regions?|territor(?:y|ies)|location)\b/i;
const REGION_PHRASE =
  /\b(?:location|countr(?:y|ies)|regions?|territor(?:y|ies))\b[^.]{0,60}?\bnot (?:supported|available|allowed)|\bnot (?:supported|available)\b[^.]{0,40}?\b(?:your|this|the) (?:location|country|region|territory)\b/i;
const NOT_ACTIVATED = /\bnot (?:yet )?(?:been )?(?:activated|opened)\b|\bactivate the model\b|\bmodel[^.]{0,40}?\bis not open\b|未开通/i;
const MODEL_MISSING = /\bmodel\b[^.]{0,120}?\b(?:not found|does not exist|doesn't exist|not exists?)\b/i;
const QUOTA_WORDS = /\b(?:quota|billing|balance|insufficient|arrears?|overdue|credits?|payment)\b|余额|欠费/i;

function googleStatusVerdict(status: string, message: string): Verdict | undefined {
  switch (status) {
    case 'RESOURCE_EXHAUSTED':
      return { code: 'rate_limited', hint: HINTS.geminiResourceExhausted };
    case 'PERMISSION_DENIED':
      return REGION_WORDS.test(message) ? V.region : V.keyPermission;
    case 'UNAUTHENTICATED':
      return V.key;
    case 'FAILED_PRECONDITION':
      // Gemini answers "User location is not supported for the API use." with 400 FAILED_PRECONDITION.
      return REGION_WORDS.test(message) ? V.region : V.invalid;
    case 'INVALID_ARGUMENT':
    case 'OUT_OF_RANGE':
      return V.invalid;
    case 'NOT_FOUND':
      return V.model;
    case 'DEADLINE_EXCEEDED':
      return V.timeout;
    case 'UNAVAILABLE':
    case 'INTERNAL':
      return V.upstream;
    default:
      return undefined;
  }
}

function statusVerdict(status: number, message: string): Verdict {
  switch (status) {
    case 400:
    case 413:
    case 422:
      return V.invalid;
    case 401:
      return V.key;
    case 402:
      return V.quota;
    case 403:
      return REGION_WORDS.test(message) ? V.region : V.keyPermission;
    case 404:
      return V.model;
    case 408:
    case 504:
    case 522: // Cloudflare: connection to the origin timed out
    case 524: // Cloudflare: the origin did not answer in time
      return V.timeout;
    case 429:
      return QUOTA_WORDS.test(message) ? V.quota : V.rate;
    default:
      // Another 4xx will not change on retry; a 5xx (or anything odd) may.
      return status >= 400 && status < 500 ? { code: 'upstream_error', retryable: false } : V.upstream;
  }
}

interface Envelope {
  message: string | undefined;
  code: string | undefined;
  type: string | undefined;
  param: string | undefined;
  googleStatus: string | undefined;
  reasons: string[];
  requestId: string | undefined;
  retryDelayMs: number | undefined;
}

type BodyKind = 'json' | 'empty' | 'html' | 'other';

function classify(status: number, envelope: Envelope | undefined): Verdict {
  const message = envelope?.message ?? '';
  if (envelope) {
    for (const reason of envelope.reasons) {
      const verdict = own(REASONS, reason);
      if (verdict) return verdict;
    }
    const code = envelope.code;
    if (code !== undefined) {
      const verdict = codeVerdict(code);
      if (verdict) return verdict;
    }
    const typed = envelope.type === undefined ? undefined : own(TYPES, envelope.type);
    if (typed) return typed;
    // Anthropic: "Your credit balance is too low to access the Anthropic API" comes as a 400 invalid_request_error.
    if (/\bcredit balance\b/i.test(message)) return V.quota;
    if (NOT_ACTIVATED.test(message) && /\bmodel|模型/i.test(message)) return V.activate;
    const clientError = status < 500 && status !== 401 && status !== 429;
    if (clientError && MODEL_MISSING.test(message)) return V.model;
    if (clientError && REGION_PHRASE.test(message)) return V.region;
    if (envelope.googleStatus !== undefined) {
      const verdict = googleStatusVerdict(envelope.googleStatus, message);
      if (verdict) return verdict;
    }
    // A weak code on a non-error status (an error frame inside a 200 stream) still says "bad request".
    if (code !== undefined && status < 400 && WEAK_CODES.has(code)) return V.invalid;
  }
  return statusVerdict(status, message);
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing.

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function messageOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (isRecord(value) || Array.isArray(value)) {
    try {
      return JSON.stringify(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

// google.rpc.RetryInfo: "retryDelay": "31s" or "0.5s".
function parseDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return match ? Math.round(Number(match[1]) * 1000) : undefined;
}

function toEnvelope(parsed: unknown): Envelope | undefined {
  // Gemini's OpenAI-compatible endpoint wraps the error in a one-element array.
  const root = Array.isArray(parsed) ? parsed.find(isRecord) : parsed;
  if (!isRecord(root)) return undefined;
  const inner = isRecord(root.error) ? root.error : undefined;
  const source = inner ?? root;
  const rawCode = source.code ?? (inner ? root.code : undefined);
  const reasons: string[] = [];
  let retryDelayMs: number | undefined;
  if (Array.isArray(source.details)) {
    for (const detail of source.details) {
      if (!isRecord(detail)) continue;
      if (typeof detail.reason === 'string') reasons.push(detail.reason);
      retryDelayMs ??= parseDuration(detail.retryDelay);
    }
  }
  return {
    message: messageOf(source.message) ?? (typeof root.error === 'string' ? messageOf(root.error) : undefined) ?? messageOf(root.message) ?? messageOf(root.detail),
    // Gemini's numeric `code` repeats the HTTP status, and so do Azure's "401"/"429" strings: neither names a cause.
    code: typeof rawCode === 'string' && !/^\d+$/.test(rawCode) && rawCode !== '' ? rawCode : undefined,
    type: str(source.type),
    param: str(source.param),
    googleStatus: str(source.status),
    reasons,
    requestId: str(root.request_id) ?? str(source.request_id),
    retryDelayMs,
  };
}

// A tag, not DashScope's "<400> …" prefix.
const HTML_START = /^<(?:!doctype|\?xml|[a-z][a-z0-9]*[\s>/])/i;

function parseBody(text: string): { kind: BodyKind; envelope?: Envelope } {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed === '') return { kind: 'empty' };
  const first = trimmed[0];
  if (first === '{' || first === '[') {
    try {
      const envelope = toEnvelope(JSON.parse(trimmed));
      return envelope ? { kind: 'json', envelope } : { kind: 'other' };
    } catch {
      return { kind: 'other' };
    }
  }
  return { kind: HTML_START.test(trimmed) ? 'html' : 'other' };
}

// ---------------------------------------------------------------------------------------------------------------
// Headers.

type AnyHeaders = HeaderBag | Headers | undefined;

function headerValue(headers: AnyHeaders, name: string): string | undefined {
  if (!headers) return undefined;
  let value: string | string[] | null | undefined;
  if (typeof (headers as Headers).get === 'function' && typeof (headers as Headers).has === 'function') {
    value = (headers as Headers).get(name);
  } else {
    const bag = headers as HeaderBag;
    value = bag[name];
    if (value === undefined) {
      for (const key of Object.keys(bag)) {
        if (key.toLowerCase() === name) {
          value = bag[key];
          break;
        }
      }
    }
  }
  const first = Array.isArray(value) ? value[0] : value;
  const trimmed = first?.trim();
  return trimmed ? trimmed : undefined;
}

/** Reads `retry-after-ms`, else `Retry-After` (seconds or an HTTP date), as milliseconds. */
export function parseRetryAfter(headers: AnyHeaders, now: number = Date.now()): number | undefined {
  const ms = headerValue(headers, 'retry-after-ms');
  if (ms !== undefined && /^\d+(?:\.\d+)?$/.test(ms)) return Math.round(Number(ms));
  const after = headerValue(headers, 'retry-after');
  if (after === undefined) return undefined;
  if (/^\d+(?:\.\d+)?$/.test(after)) return Math.round(Number(after) * 1000);
  // An HTTP date names a weekday and month; anything else ("-5", "soon") is not one.
  const date = /[A-Za-z]{3}/.test(after) ? Date.parse(after) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

// ---------------------------------------------------------------------------------------------------------------
// Messages.

function who(provider: string | undefined): string {
  return provider ? `The upstream (${provider})` : 'The upstream';
}

/** Redacts, collapses whitespace to one line and cuts to MAX_MESSAGE_LENGTH. */
function echo(message: string, secrets: readonly (string | undefined)[] | undefined): string {
  // Redact before cutting, so a key cut in half at the limit is still recognised.
  const line = redactSecrets(message, secrets).replace(/\s+/g, ' ').trim();
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : line;
}

function neutralMessage(kind: BodyKind | 'unread', status: number, provider: string | undefined, code: string | undefined): string {
  const head = `${who(provider)} answered HTTP ${status}`;
  switch (kind) {
    case 'empty':
      return `${head} with an empty body.`;
    case 'html':
      return `${head} with an HTML page, not a JSON error.`;
    case 'other':
      return `${head} with a body that is not a JSON error.`;
    case 'json':
      return code ? `${head} (${code}).` : `${head}.`;
    case 'unread':
      return `${head}.`;
  }
}

function resolveHint(verdict: Verdict, provider: string | undefined): string | undefined {
  return typeof verdict.hint === 'function' ? verdict.hint(provider) : verdict.hint;
}

function fromAnswer(
  status: number,
  body: string | undefined,
  headers: AnyHeaders,
  context: ErrorContext,
  cause?: unknown,
): SwitchyardError {
  const parsed = body === undefined ? { kind: 'unread' as const } : parseBody(body);
  const envelope = parsed.kind === 'json' ? parsed.envelope : undefined;
  const verdict = classify(status, envelope);
  const { provider, secrets } = context;
  const message = envelope?.message !== undefined
    ? echo(envelope.message, secrets)
    : neutralMessage(parsed.kind, status, provider, envelope?.code === undefined ? undefined : echo(envelope.code, secrets));
  // Ark puts its request id only in the message text.
  const arkRequestId = envelope?.message === undefined ? undefined : /\bRequest id: ([A-Za-z0-9-]+)/i.exec(envelope.message)?.[1];
  return new SwitchyardError(verdict.code, message, {
    hint: resolveHint(verdict, provider),
    retryable: verdict.retryable,
    provider,
    upstreamStatus: status,
    retryAfterMs: parseRetryAfter(headers) ?? envelope?.retryDelayMs,
    upstreamRequestId: headerValue(headers, 'x-request-id') ?? envelope?.requestId ?? arkRequestId,
    param: envelope?.param === undefined ? undefined : echo(envelope.param, secrets),
    type: envelope?.type,
    cause,
  });
}

/** Maps an upstream error answer (status, body, headers) to a SwitchyardError. */
export function normalizeUpstreamError(input: UpstreamErrorInput): SwitchyardError {
  return fromAnswer(input.status, input.body, input.headers, input);
}

// ---------------------------------------------------------------------------------------------------------------
// Thrown errors: the openai SDK, undici and Node network errors, aborts.

type NetworkKind = 'timeout' | 'tls' | 'dns' | 'refused' | 'unreachable' | 'reset' | 'network' | 'abort';

// Most specific first: an AbortError caused by a timeout is a timeout.
const KIND_ORDER: readonly NetworkKind[] = ['timeout', 'tls', 'dns', 'refused', 'unreachable', 'reset', 'network', 'abort'];

const TIMEOUT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ERR_TLS_HANDSHAKE_TIMEOUT',
]);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'ConnectTimeoutError', 'HeadersTimeoutError', 'BodyTimeoutError']);
const TLS_CODE =
  /^(?:CERT_|ERR_TLS_|ERR_SSL_|ERR_OSSL_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(?:VERIFY|GET)_|HOSTNAME_MISMATCH$)/;
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'EADDRNOTAVAIL']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

function kindOf(node: object): NetworkKind | undefined {
  const { code, name, message } = node as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (TIMEOUT_CODES.has(code)) return 'timeout';
    if (TLS_CODE.test(code)) return 'tls';
    if (DNS_CODES.has(code)) return 'dns';
    if (code === 'ECONNREFUSED') return 'refused';
    if (UNREACHABLE_CODES.has(code)) return 'unreachable';
    // A reset during the TLS handshake happened before any answer: the provider was never reached.
    if (code === 'ECONNRESET' && typeof message === 'string' && message.includes('before secure TLS connection')) return 'unreachable';
    if (RESET_CODES.has(code)) return 'reset';
    if (code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR') return 'abort';
    if (/^(?:UND_ERR_|E[A-Z]+$)/.test(code)) return 'network';
  }
  if (typeof name === 'string') {
    if (TIMEOUT_NAMES.has(name)) return 'timeout';
    if (name === 'AbortError') return 'abort';
  }
  if (node instanceof APIConnectionTimeoutError) return 'timeout';
  if (node instanceof APIUserAbortError) return 'abort';
  // undici's fetch rejects with this for every network failure; the cause says which.
  if (node instanceof TypeError && message === 'fetch failed') return 'network';
  return undefined;
}

/** The error and its causes (undici and the SDK wrap errors; happy-eyeballs throws an AggregateError). */
function chainOf(error: unknown): object[] {
  const out: object[] = [];
  const queue: unknown[] = [error];
  while (queue.length > 0 && out.length < 16) {
    const node = queue.shift();
    if (typeof node !== 'object' || node === null || out.includes(node)) continue;
    out.push(node);
    const { cause, errors } = node as { cause?: unknown; errors?: unknown };
    if (cause !== undefined) queue.push(cause);
    if (Array.isArray(errors)) queue.push(...errors.slice(0, 4));
  }
  return out;
}

function hasCode(node: object): boolean {
  return typeof (node as { code?: unknown }).code === 'string';
}

const TIMEOUT_WORDS: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout',
  UND_ERR_HEADERS_TIMEOUT: 'no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'the body stalled',
};

function describe(node: object | undefined): string {
  const { code, name } = (node ?? {}) as { code?: unknown; name?: unknown };
  if (typeof code === 'string' && /^[A-Z0-9_]+$/.test(code)) {
    const words = own(TIMEOUT_WORDS, code);
    return words ? `${words}, ${code}` : code;
  }
  return typeof name === 'string' && /^[A-Za-z]+$/.test(name) && name !== 'Error' ? name : '';
}

function networkError(kind: NetworkKind, node: object | undefined, error: unknown, context: ErrorContext): SwitchyardError {
  const { provider, cluster } = context;
  const detail = describe(node);
  const suffix = detail ? ` (${detail})` : '';
  const target = provider ? `the upstream (${provider})` : 'the upstream';
  const Target = provider ? `The upstream (${provider})` : 'The upstream';
  // OpenAI and Gemini are blocked from the cn cluster (SPEC §3): there a failed connection means exactly that.
  const blockedHere = cluster === 'cn' && (provider === 'openai' || provider === 'gemini' || provider === 'anthropic');
  const options = { provider, cause: error };
  switch (kind) {
    case 'timeout':
      return new SwitchyardError('upstream_timeout', `${Target} did not answer in time${suffix}.`, {
        ...options,
        hint: blockedHere ? HINTS.cnBlocked : undefined,
      });
    case 'tls':
      return new SwitchyardError('provider_unreachable', `The TLS connection to ${target} failed${suffix}.`, {
        ...options,
        hint: blockedHere ? HINTS.cnBlocked : HINTS.tls,
      });
    case 'dns':
      return new SwitchyardError('provider_unreachable', `The host name of ${target} could not be resolved${suffix}.`, {
        ...options,
        hint: blockedHere ? HINTS.cnBlocked : HINTS.dns,
      });
    case 'refused':
      return new SwitchyardError('provider_unreachable', `The connection to ${target} was refused${suffix}.`, {
        ...options,
        hint: blockedHere ? HINTS.cnBlocked : HINTS.refused,
      });
    case 'unreachable':
      return new SwitchyardError('provider_unreachable', `${Target} could not be reached${suffix}.`, {
        ...options,
        hint: blockedHere ? HINTS.cnBlocked : HINTS.hostUnreachable,
      });
    case 'reset':
      // From cn, a reset is how the blocked providers' connections end; elsewhere the provider answered and hung up.
      return blockedHere
        ? new SwitchyardError('provider_unreachable', `The connection to ${target} was reset${suffix}.`, { ...options, hint: HINTS.cnBlocked })
        : new SwitchyardError('upstream_error', `The connection to ${target} was closed before the answer was complete${suffix}.`, {
            ...options,
            hint: HINTS.reset,
          });
    case 'network':
      return new SwitchyardError('upstream_error', `The call to ${target} failed${suffix}.`, { ...options, hint: blockedHere ? HINTS.cnBlocked : undefined });
    case 'abort':
      return new SwitchyardError('upstream_error', `The call to ${target} was aborted.`, { ...options, hint: HINTS.aborted, retryable: false });
  }
}

function fromApiError(error: APIError, context: ErrorContext): SwitchyardError {
  const status = error.status;
  if (status === undefined) return new SwitchyardError('upstream_error', 'The upstream call failed.', { provider: context.provider, cause: error, hint: HINTS.unknown, retryable: false });
  let body: string | undefined;
  if (error.error !== undefined && error.error !== null) {
    try {
      body = JSON.stringify({ error: error.error });
    } catch {
      body = undefined;
    }
  } else {
    // Without an `error` object the SDK kept only "<status> <body text>" (or "status code (no body)"); a body that
    // was JSON of another shape (DashScope's flat one, Gemini's array) is gone, so the status decides.
    const rest = error.message.startsWith(`${status} `) ? error.message.slice(String(status).length + 1) : error.message;
    body = rest === 'status code (no body)' ? undefined : rest;
  }
  return fromAnswer(status, body, error.headers, context, error);
}

/** Maps anything thrown (SwitchyardError, openai SDK APIError, undici/network errors, aborts) to a SwitchyardError. */
export function toSwitchyardError(error: unknown, context: ErrorContext = {}): SwitchyardError {
  if (SwitchyardError.isInstance(error)) return error;
  if (error instanceof APIError && !(error instanceof APIConnectionError) && !(error instanceof APIUserAbortError)) {
    return fromApiError(error, context);
  }
  const chain = chainOf(error);
  // An abort whose reason is already a SwitchyardError (the dispatcher's deadline) keeps that verdict.
  const decided = chain.find((node) => SwitchyardError.isInstance(node));
  if (decided) return decided as SwitchyardError;
  let best: { kind: NetworkKind; node: object } | undefined;
  for (const node of chain) {
    const kind = kindOf(node);
    if (!kind) continue;
    const rank = KIND_ORDER.indexOf(kind);
    const bestRank = best ? KIND_ORDER.indexOf(best.kind) : Infinity;
    // On a tie, the node with an errno-style code describes the failure better than its "fetch failed" wrapper.
    if (rank < bestRank || (rank === bestRank && best && !hasCode(best.node) && hasCode(node))) best = { kind, node };
  }
  if (best) return networkError(best.kind, best.node, error, context);
  if (error instanceof APIConnectionError) {
    // The SDK saw no response and kept no cause we recognise: the provider was not reached.
    return networkError('unreachable', undefined, error, context);
  }
  return new SwitchyardError('upstream_error', 'The upstream call failed.', {
    provider: context.provider,
    cause: error,
    hint: HINTS.unknown,
    retryable: false,
  });
}
