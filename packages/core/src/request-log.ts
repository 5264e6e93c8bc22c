import type { ErrorCode } from './errors.js';

/**
 * One line per request, for the operator's logger (the `onRequest` option). Never carries a key. Request-level
 * consumers (the logger, limits, metrics) read it once the request is over.
 */
export interface RequestLogEntry {
  requestId: string;
  method: string;
  path: string;
  /** The endpoint that served the request (`chat`, `chatCompletions`, …). */
  endpoint?: string | undefined;
  /** Set to `websocket` for a chat turn that came over the WebSocket (one entry per turn); absent for plain HTTP. */
  transport?: 'websocket' | undefined;
  status: number;
  durationMs: number;
  /** From the request's arrival to the first byte of the answer's body (headers excluded); absent when none was written. */
  firstByteMs?: number | undefined;
  provider?: string | undefined;
  model?: string | undefined;
  attempts?: number | undefined;
  /** Why the answer came from another provider than the route's. */
  fallbackReason?: string | undefined;
  code?: ErrorCode | undefined;
  keySource?: 'caller' | 'operator' | 'none' | undefined;
  /** Token counts of the answer, as the upstream reported them. */
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  cachedTokens?: number | undefined;
  reasoningTokens?: number | undefined;
  /** USD, from the price table; null for a model without a known price. */
  cost?: number | null | undefined;
  /** How long the request waited for its quota reservation (a Redis round trip when shared); absent without quotas. */
  quotaMs?: number | undefined;
  /** `alone` when this instance has Redis configured but served the request on its own state (SPEC §9). */
  sharedState?: 'alone' | undefined;
  /** Set when the stream failed after the commit point (and no continuation finished it). */
  streamError?: ErrorCode | undefined;
  /** How many times the answer's stream broke and went on elsewhere (resume). */
  resumes?: number | undefined;
  /** Which attempt answered when a second one was started for a late first byte (hedge). */
  hedged?: 'primary' | 'hedge' | undefined;
  clientAborted?: boolean | undefined;
}
