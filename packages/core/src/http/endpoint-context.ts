import type { ResolvedConfig } from '../config.js';
import type { UpstreamDispatcher } from '../dispatch/dispatcher.js';
import type { ErrorCode, SwitchyardError } from '../errors.js';
import type { Provider } from '../providers/provider.js';
import type { HealthRegistry } from '../reachability/health-registry.js';
import type { AttemptRecord } from '../router/attempts.js';
import type { HeaderBag } from '../router/resolve.js';
import type { Route } from '../router/route.js';
import type { ResponseSink } from './response-sink.js';

/** One line per request, for the operator's logger. Never carries a key. */
export interface RequestLogEntry {
  requestId: string;
  method: string;
  path: string;
  status: number;
  durationMs: number;
  provider?: string | undefined;
  model?: string | undefined;
  attempts?: number | undefined;
  code?: ErrorCode | undefined;
  keySource?: Route['keySource'] | undefined;
  /** Set when the stream failed after the commit point. */
  streamError?: ErrorCode | undefined;
  clientAborted?: boolean | undefined;
}

/** What every endpoint shares: the config, the providers and the one way out. */
export interface SwitchyardRuntime {
  readonly config: ResolvedConfig;
  readonly dispatcher: UpstreamDispatcher;
  /** Breakers, passive health and probes per provider (absent: no breaker, no probes). */
  readonly health?: HealthRegistry | undefined;
  providerFor(route: Route): Provider;
}

/** One request as an endpoint sees it, whatever server it came through. */
export interface EndpointContext {
  runtime: SwitchyardRuntime;
  method: string;
  path: string;
  headers: HeaderBag;
  query: URLSearchParams | undefined;
  /** The JSON body as an object; throws a SwitchyardError for a bad or oversized body. */
  body(): Promise<Record<string, unknown>>;
  sink: ResponseSink;
  requestId: string;
  log: RequestLogEntry;
  attempts: AttemptRecord[];
}

export type Endpoint = (context: EndpointContext) => Promise<void>;

/** The headers every upstream failure answer carries on `/v1` (OpenAI's conventions). */
export function errorHeaders(error: SwitchyardError): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (error.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  if (error.upstreamRequestId !== undefined) headers['x-request-id'] = error.upstreamRequestId;
  if (!error.retryable) headers['x-should-retry'] = 'false';
  return headers;
}
