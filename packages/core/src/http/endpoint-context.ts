import type { ResolvedConfig } from '../config.js';
import type { UpstreamDispatcher } from '../dispatch/dispatcher.js';
import type { SwitchyardError } from '../errors.js';
import type { RequestLogEntry } from '../request-log.js';
import type { ProviderV2 } from '../providers/provider.js';
import type { HealthRegistry } from '../reachability/health-registry.js';
import type { AttemptRecord } from '../router/attempts.js';
import type { HeaderBag } from '../router/resolve.js';
import type { Route } from '../router/route.js';
import type { Telemetry } from '../telemetry/telemetry.js';
import type { FirstByteStats } from '../router/hedge.js';
import type { QuotaGate } from '../state/quotas.js';
import type { Reservation, SharedState } from '../state/types.js';
import { computeCost } from '../stream/cost.js';
import type { Usage } from '../stream/parts.js';
import type { ResponseSink } from './response-sink.js';
import type { WireCodec } from '../protocols/codec.js';
import { toSwitchyardError } from '../upstream-errors.js';

/** What every endpoint shares: the config, the providers and the one way out. */
export interface SwitchyardRuntime {
  readonly config: ResolvedConfig;
  readonly dispatcher: UpstreamDispatcher;
  /** Breakers, passive health and probes per provider (absent: no breaker, no probes). */
  readonly health?: HealthRegistry | undefined;
  /** Spans and metrics (SPEC §10); absent: none. */
  readonly telemetry?: Telemetry | undefined;
  /** Recent times to first byte per provider, for hedge delays given as a percentile; absent without hedging. */
  readonly firstBytes?: FirstByteStats | undefined;
  /** Breakers, probes and quota counters beyond one request: in memory, or shared through Redis (SPEC §9). */
  readonly state?: SharedState | undefined;
  /** Limits per app token and per caller; absent when none is configured. */
  readonly quotas?: QuotaGate | undefined;
  /** The provider a route goes through, as a v2 provider (v1 adapters are wrapped). */
  providerFor(route: Route): ProviderV2;
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
  /** The quota this request holds until it is settled at its end (SPEC §9). */
  reservation?: Reservation | undefined;
}

export type { RequestLogEntry };

export type Endpoint = (context: EndpointContext) => Promise<void>;

export { errorHeaders } from '../protocols/error-headers.js';

/** `Retry-After` in whole seconds, for an error that says how long to wait. */
export function retryAfterHeader(error: SwitchyardError): Record<string, string> {
  return error.retryAfterMs === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))) };
}

/** Puts an answer's usage and cost on the request's log entry, where request-level consumers read it. */
export function recordUsage(context: Pick<EndpointContext, 'log' | 'runtime'>, model: string, usage: Usage | undefined): void {
  if (!usage) return;
  writeUsage(context.log, usage);
  context.log.cost = computeCost(model, usage, context.runtime.config.prices);
}

/** Puts token counts on a log entry (the cost is the caller's: one answer's price, or a resumed answer's sum). */
export function writeUsage(log: EndpointContext['log'], usage: Usage): void {
  log.inputTokens = usage.input_tokens;
  log.outputTokens = usage.output_tokens;
  if (usage.cached_tokens !== undefined) log.cachedTokens = usage.cached_tokens;
  if (usage.reasoning_tokens !== undefined) log.reasoningTokens = usage.reasoning_tokens;
}

/** Answers an error before the commit, in the envelope of a wire (`/v1` endpoints). */
export function writeWireError(context: EndpointContext, codec: WireCodec, thrown: unknown): void {
  const error = toSwitchyardError(thrown);
  context.log.status = error.status;
  context.log.code = error.code;
  const answer = codec.errorAnswer(error);
  if (context.attempts.length > 0) answer.headers['x-llm-attempts'] = String(context.attempts.length);
  context.sink.writeHead(answer.status, answer.headers);
  context.sink.end(answer.body);
}
