/**
 * What goes to the client: `/api/chat` events (SPEC §4) and OpenAI-protocol frames for `/v1`.
 */
import type { Cluster } from '../config.js';
import type { SwitchyardError } from '../errors.js';
import type { FinishReason } from './parts.js';

/** One try on the way to an answer, as the `route` event reports it. */
export interface RouteAttempt {
  /** The provider tried. */
  provider: string;
  /** The model tried. */
  model: string;
  /** How it went; `aborted`: stopped because another attempt answered first. */
  status?: 'ok' | 'failed' | 'aborted';
  /** The error code of a failed attempt. */
  code?: string;
  /** A continuation after a break (`resume`), or the second attempt of a hedge (`hedge`). */
  kind?: 'resume' | 'hedge';
}

/**
 * One continuation of an answer that broke after the commit (SPEC §5 resume): where the stream broke, why, and where
 * it went on. `at` counts the characters of answer text the client had when it broke. Carried by the `route` event on
 * `/api/chat` and by the `x_switchyard.resumed` field of the last frame of `/v1` streams.
 */
export interface ResumeRecord {
  from: { provider: string; model: string };
  to: { provider: string; model: string };
  at: number;
  code: string;
}

/** How an `/api/chat` stream ended. */
export type ChatFinishReason = 'stop' | 'length' | 'error' | 'unavailable';

/** The `route` event's content: where the answer comes from, and every try on the way. */
export interface ChatRouteContent {
  provider: string;
  model: string;
  cluster: Cluster;
  attempts: RouteAttempt[];
  /** Why the answer came from another provider than the one asked for (`X-LLM-Fallback-Reason`). */
  fallbackReason?: string;
  /** Set on the `route` event sent when a broken answer goes on elsewhere: every continuation so far. */
  resumed?: ResumeRecord[];
}

/** The `costStatistics` event's content: token counts as reported and the cost. */
export interface ChatCostContent {
  model: string;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /** USD; null when the model has no known price. */
  total_cost: number | null;
  /** Reasoning tokens (part of `output_tokens`), when the upstream reports them. */
  thought_tokens?: number;
  /** Input tokens read from the provider's prompt cache (part of `input_tokens`), when reported. */
  cache_read_tokens?: number;
}

/**
 * One `/api/chat` event, in the platform's own shape (SPEC §4): `{type, content}` on every event; `code` and `hint`
 * only on `error`; `finish_reason` only on `end`.
 */
export type ChatEvent =
  | { type: 'id'; content: string }
  | { type: 'route'; content: ChatRouteContent }
  | { type: 'thinking'; content: string }
  | { type: 'reply'; content: string }
  | { type: 'costStatistics'; content: ChatCostContent }
  | { type: 'heartbeat'; content: '' }
  | { type: 'error'; content: string; code: string; hint: string }
  | { type: 'end'; content: ''; finish_reason: ChatFinishReason };

function attemptOf(attempt: RouteAttempt): RouteAttempt {
  const out: RouteAttempt = { provider: attempt.provider, model: attempt.model };
  if (attempt.status !== undefined) out.status = attempt.status;
  if (attempt.code !== undefined) out.code = attempt.code;
  if (attempt.kind !== undefined) out.kind = attempt.kind;
  return out;
}

function resumeOf(record: ResumeRecord): ResumeRecord {
  return { from: { provider: record.from.provider, model: record.from.model }, to: { provider: record.to.provider, model: record.to.model }, at: record.at, code: record.code };
}

function routeOf(route: ChatRouteContent): ChatRouteContent {
  return {
    provider: route.provider,
    model: route.model,
    cluster: route.cluster,
    attempts: route.attempts.map(attemptOf),
    // Present only when the answer came from another provider than the one asked for.
    ...(route.fallbackReason === undefined ? {} : { fallbackReason: route.fallbackReason }),
    // Present only on the route event of a resumed answer.
    ...(route.resumed === undefined ? {} : { resumed: route.resumed.map(resumeOf) }),
  };
}

function costOf(cost: ChatCostContent): ChatCostContent {
  const out: ChatCostContent = {
    model: cost.model,
    input_tokens: cost.input_tokens,
    output_tokens: cost.output_tokens,
    total_tokens: cost.total_tokens,
    total_cost: cost.total_cost,
  };
  if (cost.thought_tokens !== undefined) out.thought_tokens = cost.thought_tokens;
  if (cost.cache_read_tokens !== undefined) out.cache_read_tokens = cost.cache_read_tokens;
  return out;
}

/**
 * One `/api/chat` event as JSON text: the payload of an SSE `data:` line and of a WebSocket frame. Fields are copied
 * by name, so the text has a fixed key order and nothing else the caller's object carries leaks out.
 */
export function chatEventJson(event: ChatEvent): string {
  switch (event.type) {
    // The hot events are written by hand: one JSON.stringify of the text instead of an object.
    case 'reply':
      return `{"type":"reply","content":${JSON.stringify(event.content)}}`;
    case 'thinking':
      return `{"type":"thinking","content":${JSON.stringify(event.content)}}`;
    case 'heartbeat':
      return '{"type":"heartbeat","content":""}';
    case 'id':
      return JSON.stringify({ type: 'id', content: event.content });
    case 'route':
      return JSON.stringify({ type: 'route', content: routeOf(event.content) });
    case 'costStatistics':
      return JSON.stringify({ type: 'costStatistics', content: costOf(event.content) });
    case 'error':
      return JSON.stringify({ type: 'error', content: event.content, code: event.code, hint: event.hint });
    case 'end':
      return JSON.stringify({ type: 'end', content: '', finish_reason: event.finish_reason });
  }
}

/** Encodes one `/api/chat` event as an SSE frame: `data: {json}\n\n` (no `event:` or `id:` lines). */
export function encodeChatEvent(event: ChatEvent): string {
  return `data: ${chatEventJson(event)}\n\n`;
}

/** The `error` event for a SwitchyardError. */
export function chatErrorEvent(error: SwitchyardError): Extract<ChatEvent, { type: 'error' }> {
  return { type: 'error', content: error.message, code: error.code, hint: error.hint };
}

/**
 * The `/api/chat` finish reason for an upstream one: `length` and the gateway's own `error`/`unavailable` pass
 * through; `stop`, `tool_calls`, `content_filter` and the rest are a finished answer, so `stop`.
 */
export function chatFinishReason(reason: FinishReason | undefined): ChatFinishReason {
  if (reason === 'length') return 'length';
  if (reason === 'error') return 'error';
  if (reason === 'unavailable') return 'unavailable';
  return 'stop';
}

/** `data: {json}\n\n`: one OpenAI-protocol frame. */
export function encodeDataFrame(json: unknown): string {
  return `data: ${JSON.stringify(json)}\n\n`;
}

/** The last frame of an OpenAI-protocol stream. */
export const DONE_FRAME = 'data: [DONE]\n\n';

/** An SSE comment: keeps idle connections (and proxies) open without an event. */
export const PING_COMMENT = ': ping\n\n';

/** OpenAI's error envelope, plus Switchyard's `hint`. */
export interface OpenAIErrorBody {
  /** The error, as OpenAI's SDKs read it. */
  error: {
    /** What went wrong, keys redacted. */
    message: string;
    /** OpenAI's error type (`invalid_request_error`, `server_error`, …). */
    type: string;
    /** The error code (SPEC §7). */
    code: string;
    /** The request field at fault, or null. */
    param: string | null;
    /** What to do about it. */
    hint: string;
  };
}

/** The OpenAI error envelope for a non-streamed error answer. `type` is the error's own, else by status. */
export function openAIErrorBody(error: SwitchyardError): OpenAIErrorBody {
  return {
    error: {
      message: error.message,
      type: error.type ?? (error.status >= 500 ? 'server_error' : 'invalid_request_error'),
      code: error.code,
      param: error.param,
      hint: error.hint,
    },
  };
}

/** The same envelope as an in-stream frame, for a failure after the commit. */
export function encodeOpenAIErrorFrame(error: SwitchyardError): string {
  return encodeDataFrame(openAIErrorBody(error));
}
