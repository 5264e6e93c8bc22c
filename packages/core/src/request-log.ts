import type { ErrorCode } from './errors.js';

/**
 * One line per request, for the operator's logger (the `onRequest` option). Never carries a key. Request-level
 * consumers (the logger, limits, metrics) read it once the request is over.
 */
export interface RequestLogEntry {
  /** The request id (the `/api/chat` `id` event). */
  requestId: string;
  /** The HTTP method. */
  method: string;
  /** The path, without the query. */
  path: string;
  /** The endpoint that served the request (`chat`, `chatCompletions`, …). */
  endpoint?: string | undefined;
  /** Set to `websocket` for a chat turn that came over the WebSocket (one entry per turn); absent for plain HTTP. */
  transport?: 'websocket' | undefined;
  /** The HTTP status answered. */
  status: number;
  /** From arrival to the end of the answer, in ms. */
  durationMs: number;
  /** From the request's arrival to the first byte of the answer's body (headers excluded); absent when none was written. */
  firstByteMs?: number | undefined;
  /** The provider that answered (or was last tried). */
  provider?: string | undefined;
  /** The model that answered (or was last tried). */
  model?: string | undefined;
  /** How many tries it took. */
  attempts?: number | undefined;
  /** Why the answer came from another provider than the route's. */
  fallbackReason?: string | undefined;
  /** The error code, when the request failed. */
  code?: ErrorCode | undefined;
  /** Whose key went upstream (never the key). */
  keySource?: 'caller' | 'operator' | 'none' | undefined;
  /** Token counts of the answer, as the upstream reported them. */
  inputTokens?: number | undefined;
  /** Tokens of the answer. */
  outputTokens?: number | undefined;
  /** Input tokens served from the provider's cache. */
  cachedTokens?: number | undefined;
  /** Output tokens spent reasoning. */
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
  /** Set when the client left before the answer was finished. */
  clientAborted?: boolean | undefined;
}
