/**
 * One error class, one code→status table (SPEC §7), and the normalizer that maps every upstream shape to it.
 */

/** Every error code Switchyard answers with, and its HTTP status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unknown_provider: 400,
  missing_api_key: 400,
  base_url_forbidden: 400,
  invalid_api_key: 401,
  unauthorized: 401,
  region_restricted: 403,
  model_not_found: 404,
  payload_too_large: 413,
  insufficient_quota: 429,
  rate_limited: 429,
  budget_exceeded: 429,
  upstream_error: 502,
  provider_unreachable: 503,
  upstream_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Default one-line hints, in the spirit of the providers' own troubleshooting notes. */
export const DEFAULT_HINTS: Record<ErrorCode, string> = {
  invalid_request: 'check the request body against the endpoint documentation',
  unknown_provider: 'send X-LLM-Provider with one of the configured provider ids',
  missing_api_key: 'send your key in X-LLM-Api-Key, or ask the operator to configure one for this provider',
  base_url_forbidden: 'X-LLM-Base-Url must be a public https URL, or one the operator allowlisted',
  invalid_api_key: 'the key was revoked or rotated; create a new one',
  unauthorized: 'send Authorization: Bearer <app token>; ask the operator of this server for one',
  region_restricted: 'this model or provider is not available in this region; check the model card or pick another provider',
  model_not_found: 'the model does not exist or your key has no access to it; check the model id or activate it',
  payload_too_large: 'the request body is larger than this server accepts; send less',
  insufficient_quota: 'the balance is used up or the monthly cap was hit',
  rate_limited: 'too many requests for this key; slow down and retry after a short wait',
  budget_exceeded: 'the daily token or spend budget of this app token or caller key is used up; retry after it resets, or ask the operator to raise it',
  upstream_error: 'the provider answered with an error; retry later',
  provider_unreachable: 'this provider cannot be reached from here; pick a reachable provider',
  upstream_timeout: 'the provider did not answer in time; retry, or pick a faster model or provider',
};

const RETRYABLE: ReadonlySet<ErrorCode> = new Set(['rate_limited', 'upstream_error', 'provider_unreachable', 'upstream_timeout']);

const MARKER = Symbol.for('switchyard.error');

export interface SwitchyardErrorOptions {
  /** One line telling the caller what to do. Defaults to the code's hint. */
  hint?: string;
  /** Whether retrying the same call may succeed. Defaults by code. */
  retryable?: boolean;
  cause?: unknown;
  /** The provider the error came from, when it came from one. */
  provider?: string;
  /** The HTTP status the upstream answered with. */
  upstreamStatus?: number;
  /** How long the upstream asked us to wait (from `retry-after-ms` or `Retry-After`). */
  retryAfterMs?: number;
  /** The OpenAI envelope's `param`, when the upstream named one. */
  param?: string | null;
  /** The OpenAI envelope's `type`, when the upstream sent one. */
  type?: string;
  /** The upstream's request id (`x-request-id`), to pass on. */
  upstreamRequestId?: string;
  /** Extra fields for the error body (for example the list of valid provider ids). */
  details?: Record<string, unknown>;
}

/** The one error class of Switchyard: a stable `code`, its HTTP `status`, a `hint`, and `retryable`. */
export class SwitchyardError extends Error {
  private readonly [MARKER] = true;
  override readonly name = 'SwitchyardError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly hint: string;
  readonly retryable: boolean;
  readonly provider: string | undefined;
  readonly upstreamStatus: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly param: string | null;
  readonly type: string | undefined;
  readonly upstreamRequestId: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.hint = options.hint ?? DEFAULT_HINTS[code];
    this.retryable = options.retryable ?? RETRYABLE.has(code);
    this.provider = options.provider;
    this.upstreamStatus = options.upstreamStatus;
    this.retryAfterMs = options.retryAfterMs;
    this.param = options.param ?? null;
    this.type = options.type;
    this.upstreamRequestId = options.upstreamRequestId;
    this.details = options.details;
  }

  /** True for a SwitchyardError from any copy of this package. */
  static isInstance(error: unknown): error is SwitchyardError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARKER] === true;
  }

  toJSON(): { code: ErrorCode; message: string; hint: string; retryable: boolean } {
    return { code: this.code, message: this.message, hint: this.hint, retryable: this.retryable };
  }
}

/** Whether a string is one of Switchyard's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}
