import type { RetryOptions } from '../config.js';
import type { ErrorCode, SwitchyardError } from '../errors.js';

/** Codes retried on the same model (SPEC §5): rate limits (not quota), 5xx, connection errors, timeouts. */
const RETRIED: ReadonlySet<ErrorCode> = new Set(['rate_limited', 'upstream_error', 'provider_unreachable', 'upstream_timeout']);

/** Whether the same call may be tried again after this error. */
export function isRetryable(error: SwitchyardError): boolean {
  return RETRIED.has(error.code) && error.retryable;
}

/**
 * How long to wait before retry number `retry` (0 for the first retry), or undefined when not to retry: the upstream
 * asked for a longer wait than `retryAfterCapMs`. Exponential backoff with jitter (half fixed, half random) otherwise.
 */
export function retryDelay(error: SwitchyardError, retry: number, options: RetryOptions, random: () => number = Math.random): number | undefined {
  if (error.retryAfterMs !== undefined) return error.retryAfterMs <= options.retryAfterCapMs ? error.retryAfterMs : undefined;
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Waits `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
