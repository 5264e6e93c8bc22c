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
  /** How it went. */
  status?: 'ok' | 'failed';
  /** The error code of a failed attempt. */
  code?: string;
}

/** How an `/api/chat` stream ended. */
export type ChatFinishReason = 'stop' | 'length' | 'error' | 'unavailable';

/** One `/api/chat` event; every event is flat and has a `type`. */
export type ChatEvent =
  | {
      /** The first event. */
      type: 'id';
      /** The request id. */
      id: string;
    }
  | {
      /** What the router did, before any text. */
      type: 'route';
      /** The provider that answers. */
      provider: string;
      /** The model that answers. */
      model: string;
      /** Where this server runs. */
      cluster: Cluster;
      /** Every try, in order. */
      attempts: RouteAttempt[];
      /** Why another provider answered than the one asked for. */
      fallbackReason?: string;
    }
  | {
      /** A reasoning delta. */
      type: 'thinking';
      /** The reasoning text. */
      content: string;
    }
  | {
      /** An answer delta. */
      type: 'reply';
      /** The answer text. */
      content: string;
    }
  | {
      /** Usage and cost, once the answer is complete. */
      type: 'costStatistics';
      /** The model that answered. */
      model: string;
      /** Prompt tokens. */
      input_tokens: number;
      /** Answer tokens. */
      output_tokens: number;
      /** Both together. */
      total_tokens: number;
      /** USD; null when the model has no known price. */
      total_cost: number | null;
    }
  | {
      /** Sent after a silence, to keep the connection open. */
      type: 'heartbeat';
      /** When it was sent (ms since the epoch). */
      ts: number;
    }
  | {
      /** A failure; the stream then ends. */
      type: 'error';
      /** The message. */
      content: string;
      /** The error code (SPEC §7). */
      code: string;
      /** What to do about it. */
      hint: string;
    }
  | {
      /** The last event. */
      type: 'end';
      /** How the stream ended. */
      finish_reason: ChatFinishReason;
    };

function attemptOf(attempt: RouteAttempt): RouteAttempt {
  const out: RouteAttempt = { provider: attempt.provider, model: attempt.model };
  if (attempt.status !== undefined) out.status = attempt.status;
  if (attempt.code !== undefined) out.code = attempt.code;
  return out;
}

/**
 * Encodes one `/api/chat` event as `data: {json}\n\n`. Fields are copied by name, so the bytes have a fixed key
 * order and nothing the caller's object carries besides the event's own fields leaks out.
 */
export function encodeChatEvent(event: ChatEvent): string {
  switch (event.type) {
    // The hot events are written by hand: one JSON.stringify of the text instead of an object.
    case 'reply':
      return `data: {"type":"reply","content":${JSON.stringify(event.content)}}\n\n`;
    case 'thinking':
      return `data: {"type":"thinking","content":${JSON.stringify(event.content)}}\n\n`;
    case 'heartbeat':
      return `data: {"type":"heartbeat","ts":${JSON.stringify(event.ts)}}\n\n`;
    case 'id':
      return encodeDataFrame({ type: 'id', id: event.id });
    case 'route':
      return encodeDataFrame({
        type: 'route',
        provider: event.provider,
        model: event.model,
        cluster: event.cluster,
        attempts: event.attempts.map(attemptOf),
        // Present only when the answer came from another provider than the one asked for (X-LLM-Fallback-Reason).
        ...(event.fallbackReason === undefined ? {} : { fallbackReason: event.fallbackReason }),
      });
    case 'costStatistics':
      return encodeDataFrame({
        type: 'costStatistics',
        model: event.model,
        input_tokens: event.input_tokens,
        output_tokens: event.output_tokens,
        total_tokens: event.total_tokens,
        total_cost: event.total_cost,
      });
    case 'error':
      return encodeDataFrame({ type: 'error', content: event.content, code: event.code, hint: event.hint });
    case 'end':
      return encodeDataFrame({ type: 'end', finish_reason: event.finish_reason });
  }
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
