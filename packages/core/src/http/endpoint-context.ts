import type { ResolvedConfig } from '../config.js';
import type { UpstreamDispatcher } from '../dispatch/dispatcher.js';
import type { SwitchyardError } from '../errors.js';
import type { RequestLogEntry } from '../request-log.js';
import type { Provider } from '../providers/provider.js';
import type { HealthRegistry } from '../reachability/health-registry.js';
import type { AttemptRecord } from '../router/attempts.js';
import type { HeaderBag } from '../router/resolve.js';
import type { Route } from '../router/route.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import { computeCost } from '../stream/cost.js';
import type { Usage } from '../stream/parts.js';
import type { ResponseSink } from './response-sink.js';

/** What every endpoint shares: the config, the providers and the one way out. */
export interface SwitchyardRuntime {
  readonly config: ResolvedConfig;
  readonly dispatcher: UpstreamDispatcher;
  /** Breakers, passive health and probes per provider (absent: no breaker, no probes). */
  readonly health?: HealthRegistry | undefined;
  /** Spans and metrics (SPEC §10); absent: none. */
  readonly telemetry?: Telemetry | undefined;
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

export type { RequestLogEntry };

export type Endpoint = (context: EndpointContext) => Promise<void>;

/** The headers every upstream failure answer carries on `/v1` (OpenAI's conventions). */
export function errorHeaders(error: SwitchyardError): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (error.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  if (error.upstreamRequestId !== undefined) headers['x-request-id'] = error.upstreamRequestId;
  if (!error.retryable) headers['x-should-retry'] = 'false';
  return headers;
}

/** Puts an answer's usage and cost on the request's log entry, where request-level consumers read it. */
export function recordUsage(context: EndpointContext, model: string, usage: Usage | undefined): void {
  if (!usage) return;
  const { log } = context;
  log.inputTokens = usage.input_tokens;
  log.outputTokens = usage.output_tokens;
  if (usage.cached_tokens !== undefined) log.cachedTokens = usage.cached_tokens;
  if (usage.reasoning_tokens !== undefined) log.reasoningTokens = usage.reasoning_tokens;
  log.cost = computeCost(model, usage, context.runtime.config.prices);
}
