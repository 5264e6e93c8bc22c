import type { Route } from '../router/route.js';
import type { EndpointContext } from './endpoint-context.js';

/** What the quota check reads and writes of a request (or of one WebSocket chat turn). */
export type QuotaContext = Pick<EndpointContext, 'runtime' | 'headers' | 'log' | 'reservation'>;

function appTokenOf(context: QuotaContext): string | undefined {
  // Only a token the app-token check accepted names a subject; without app tokens there is none.
  if (!context.runtime.config.appTokens) return undefined;
  const header = context.headers.authorization;
  const value = Array.isArray(header) ? header[0] : header;
  return value?.startsWith('Bearer ') ? value.slice(7).trim() : undefined;
}

function bodyBytesOf(context: QuotaContext): number | undefined {
  // A WebSocket turn's body is a frame, not the upgrade request's: its size is then the JSON's.
  if (context.headers.upgrade !== undefined) return undefined;
  const length = Number(context.headers['content-length']);
  return Number.isFinite(length) && length >= 0 ? length : undefined;
}

/**
 * Reserves the request's quota once its route is known (SPEC §9): the one call every endpoint that reaches a provider
 * makes before its first upstream call. Resolves at once when no quota is configured; throws `rate_limited` or
 * `budget_exceeded` (429, with `retryAfterMs`) for the endpoint to answer in its own envelope. The reservation is
 * settled with the real usage when the request is over, whatever the endpoint.
 */
export async function reserveQuota(context: QuotaContext, route: Route, body: Record<string, unknown>): Promise<void> {
  const { quotas } = context.runtime;
  if (!quotas || context.reservation) return;
  const started = performance.now();
  try {
    const reservation = quotas.reserve({
      appToken: appTokenOf(context),
      // A caller is known by its own key; a request on the operator's key is the app token's alone.
      callerKey: route.keySource === 'caller' ? route.apiKey : undefined,
      body,
      bodyBytes: bodyBytesOf(context),
      model: route.candidates[0] ?? '',
    });
    context.reservation = reservation instanceof Promise ? await reservation : reservation;
  } finally {
    // What the quota check added to this request: a Redis round trip when shared, at most the command deadline.
    context.log.quotaMs = Math.round((performance.now() - started) * 100) / 100;
  }
}
