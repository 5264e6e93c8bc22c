/**
 * One error class, one code→status table (SPEC §7), and the normalizer that maps every upstream shape to it.
 */

/** Every error code Switchyard answers with, and its HTTP status. */
export const ERROR_STATUS = {
  /** A request its endpoint cannot mean (bad JSON, a wrong type, a missing field). */
  invalid_request: 400,
  /** `X-LLM-Provider` names no configured provider. */
  unknown_provider: 400,
  /** Neither the caller nor the operator has a key for the provider. */
  missing_api_key: 400,
  /** `X-LLM-Base-Url` was refused by the base-URL policy. */
  base_url_forbidden: 400,
  /** The provider refused the key. */
  invalid_api_key: 401,
  /** The app token (`Authorization: Bearer`) is missing or wrong. */
  unauthorized: 401,
  /** The model or provider is not available in this region. */
  region_restricted: 403,
  /** The model does not exist, or the key has no access to it. */
  model_not_found: 404,
  /** The request body is over the configured limit. */
  payload_too_large: 413,
  /** The balance is used up or the monthly cap was hit. */
  insufficient_quota: 429,
  /** Too many requests for the key (or over a configured limit). */
  rate_limited: 429,
  /** A configured token or spend budget is used up. */
  budget_exceeded: 429,
  /** The provider answered with an error of its own. */
  upstream_error: 502,
  /** The provider cannot be reached from this cluster (by policy, probe or breaker). */
  provider_unreachable: 503,
  /** The provider did not answer within a deadline. */
  upstream_timeout: 504,
} as const;

/** A stable error code of SPEC §7 (a key of `ERROR_STATUS`). */
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

/** What a `SwitchyardError` carries beyond its code and message. */
export interface SwitchyardErrorOptions {
  /** One line telling the caller what to do. Defaults to the code's hint. */
  hint?: string;
  /** Whether retrying the same call may succeed. Defaults by code. */
  retryable?: boolean;
  /** The error this one wraps. */
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
  /** Always `SwitchyardError`. */
  override readonly name = 'SwitchyardError';
  /** The stable error code (SPEC §7). */
  readonly code: ErrorCode;
  /** The HTTP status for `code`, from `ERROR_STATUS`. */
  readonly status: number;
  /** One line telling the caller what to do. */
  readonly hint: string;
  /** Whether retrying the same call may succeed. */
  readonly retryable: boolean;
  /** The provider the error came from, when it came from one. */
  readonly provider: string | undefined;
  /** The HTTP status the upstream answered with. */
  readonly upstreamStatus: number | undefined;
  /** How long the upstream asked to wait before a retry. */
  readonly retryAfterMs: number | undefined;
  /** The OpenAI envelope's `param` (null when none). */
  readonly param: string | null;
  /** The OpenAI envelope's `type`, when the upstream sent one. */
  readonly type: string | undefined;
  /** The upstream's request id, to pass on. */
  readonly upstreamRequestId: string | undefined;
  /** Extra fields for the error body. */
  readonly details: Record<string, unknown> | undefined;

  /** An error with this code (its status and default hint follow from it) and message. */
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

  /** The fields a log line or an error body may show (never a key). */
  toJSON(): {
    /** The stable error code. */
    code: ErrorCode;
    /** What went wrong, keys redacted. */
    message: string;
    /** What to do about it. */
    hint: string;
    /** Whether retrying may succeed. */
    retryable: boolean;
  } {
    return { code: this.code, message: this.message, hint: this.hint, retryable: this.retryable };
  }
}

/** Whether a string is one of Switchyard's error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_STATUS, value);
}
