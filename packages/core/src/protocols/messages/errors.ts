/** Anthropic's error envelope: `{type: "error", error: {type, message}}`, plus Switchyard's `hint`. */
import type { ErrorCode, SwitchyardError } from '../../errors.js';
import type { ErrorAnswer } from '../codec.js';
import { errorHeaders } from '../error-headers.js';

/** Anthropic's error type for each of Switchyard's codes. */
const TYPES: Readonly<Record<ErrorCode, string>> = {
  invalid_request: 'invalid_request_error',
  unknown_provider: 'invalid_request_error',
  missing_api_key: 'authentication_error',
  base_url_forbidden: 'invalid_request_error',
  invalid_api_key: 'authentication_error',
  unauthorized: 'authentication_error',
  region_restricted: 'permission_error',
  model_not_found: 'not_found_error',
  payload_too_large: 'request_too_large',
  insufficient_quota: 'billing_error',
  rate_limited: 'rate_limit_error',
  budget_exceeded: 'rate_limit_error',
  upstream_error: 'api_error',
  provider_unreachable: 'api_error',
  upstream_timeout: 'timeout_error',
};

/** Whether an error is an upstream's overload (Anthropic's 529, or an `overloaded_error` relayed from any wire). */
function overloaded(error: SwitchyardError): boolean {
  return error.upstreamStatus === 529 || error.type === 'overloaded_error';
}

/** Anthropic's type and status for a SwitchyardError: its own code's, except an overload stays a 529 `overloaded_error`. */
export function anthropicErrorType(error: SwitchyardError): { type: string; status: number } {
  if (error.code === 'upstream_error' && overloaded(error)) return { type: 'overloaded_error', status: 529 };
  // `missing_api_key` is the caller's mistake about credentials, but its status stays 400 (SPEC §7).
  return { type: Object.hasOwn(TYPES, error.code) ? TYPES[error.code] : 'api_error', status: error.status };
}

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
  hint: string;
  code: string;
}

/** The body of an error in Anthropic's envelope, with `hint` and Switchyard's `code` beside it. */
export function anthropicErrorBody(error: SwitchyardError): AnthropicErrorBody {
  return { type: 'error', error: { type: anthropicErrorType(error).type, message: error.message }, hint: error.hint, code: error.code };
}

/** A whole error answer in Anthropic's envelope. */
export function anthropicErrorAnswer(error: SwitchyardError): ErrorAnswer {
  const { status } = anthropicErrorType(error);
  const headers = errorHeaders(error);
  if (error.upstreamRequestId !== undefined) headers['request-id'] = error.upstreamRequestId;
  // An overload is worth retrying; Anthropic's SDKs read this header first.
  if (status === 529) headers['x-should-retry'] = 'true';
  return { status, headers, body: JSON.stringify(anthropicErrorBody(error)) };
}
