import type { ErrorCode, SwitchyardError } from '../errors.js';
import type { CallOutcome } from './circuit-breaker.js';

/** Codes that say the provider itself answered: the caller's key, quota or request was the problem, not the provider. */
const ANSWERED: ReadonlySet<ErrorCode> = new Set(['invalid_api_key', 'insufficient_quota', 'invalid_request', 'model_not_found', 'rate_limited']);

/**
 * What a failed call says about a provider's health: connection failures, timeouts, truncated streams, 5xx and region
 * blocks count against it; a bad key, an exhausted quota, a bad request or a missing model prove it answered.
 */
export function healthOutcome(error: SwitchyardError): CallOutcome {
  switch (error.code) {
    case 'provider_unreachable':
    case 'upstream_timeout':
    case 'region_restricted':
      return 'failure';
    case 'upstream_error':
      if (error.upstreamStatus !== undefined) return error.upstreamStatus >= 500 ? 'failure' : 'success';
      // No status: the connection broke (retryable) or the call was cancelled (not).
      return error.retryable ? 'failure' : 'neutral';
    default:
      // A request refused before it left (a translation the target cannot carry) says nothing about the provider.
      if (error.code === 'invalid_request' && error.upstreamStatus === undefined) return 'neutral';
      return ANSWERED.has(error.code) ? 'success' : 'neutral';
  }
}
