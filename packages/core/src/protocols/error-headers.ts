import type { SwitchyardError } from '../errors.js';

/** The headers every error answer carries: JSON, `retry-after`, the upstream's request id, and `x-should-retry: false` where a retry cannot help. */
export function errorHeaders(error: SwitchyardError): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (error.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  if (error.upstreamRequestId !== undefined) headers['x-request-id'] = error.upstreamRequestId;
  if (!error.retryable) headers['x-should-retry'] = 'false';
  return headers;
}
