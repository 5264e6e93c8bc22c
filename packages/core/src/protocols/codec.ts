/**
 * What a wire codec does (ARCHITECTURE "protocols/"): check and decode a request arriving on its wire, encode a
 * request for an upstream of its wire, decode that upstream's answer into parts, encode parts as its own stream or
 * whole answer, and speak its error envelope. Translation is decode(wire A) → parts → encode(wire B); passthrough
 * uses only `check` and the observer.
 */
import type { SwitchyardError } from '../errors.js';
import type { StreamPart, Usage } from '../stream/parts.js';
import type { Answer } from './answer.js';
import type { Conversation, Wire } from './conversation.js';

/** A parsed JSON object (a request or response body). */
export type JsonObject = Record<string, unknown>;

/** What routing and the endpoint need from a request before anything else is decoded. */
export interface CheckedRequest {
  /** The tier, alias, model id or `provider/model` the caller named (unchecked type: the router checks it). */
  model: unknown;
  stream: boolean;
}

/** How the parameter a model takes for thinking is named on a chat upstream (providers differ). */
export type ReasoningParameter = 'reasoning_effort' | 'enable_thinking' | 'thinking' | 'none';

/** Who a request is translated for: named in hints, and the target's dialect. */
export interface TranslationTarget {
  wire: Wire;
  provider: string;
  /** The concrete model of this attempt. */
  model: string;
  reasoningParameter?: ReasoningParameter;
  /** Whether the target honours Anthropic-style `cache_control` on content parts (kept there, dropped elsewhere). */
  cacheControl?: boolean;
}

/** Turns an upstream's body, chunk by chunk, into parts. A body that ends unfinished ends with an error part. */
export interface PartDecoder {
  /** Reads the next chunk of the body; returns the parts it completed. */
  push(chunk: Uint8Array): StreamPart[];
  /** The body ended. */
  end(): StreamPart[];
  /** Whether nothing more will come: the stream's own last event (`[DONE]`, `message_stop`, `response.completed`) or an error part. */
  readonly finished: boolean;
}

/** Identity of an answer a codec writes itself (translation): ids and the model it names. */
export interface AnswerMeta {
  id: string;
  model: string;
  /** Unix seconds. */
  created: number;
  /** The caller's request, for wires whose answers repeat parts of it (a Responses answer echoes its tools and settings). */
  request?: JsonObject | undefined;
}

/** Turns parts into a client's stream, frame by frame. */
export interface PartEncoder {
  /** The frames that open the stream, written at the commit so the client has bytes at once (a role chunk, `message_start`). */
  open(): string;
  /** Frames for one part ('' when the part only updates state, as usage does). */
  encode(part: StreamPart): string;
  /** Frames that end a finished stream (the wire's terminal events). */
  end(): string;
  /** Frames that end a broken stream: the wire's error event; never a clean end. */
  error(error: SwitchyardError): string;
  /** Fields the stream's last frame carries beside its wire's own (`x_switchyard`); called before `finish` is encoded. */
  annotate(fields: JsonObject): void;
}

/** What a stream has shown its client so far: the answer's text, and whether reasoning or a tool call went by. */
export interface SentAnswer {
  text: string;
  reasoning: boolean;
  toolCall: boolean;
}

/**
 * Follows a stream forwarded as bytes closely enough to take it over (resume): only whole frames go out, so a frame
 * cut short is never half-delivered; the upstream's error frames are held back; and the position is kept (text so
 * far, open blocks, ids, sequence numbers) so that `continuation` can go on with the client's stream where the bytes
 * stopped. It decodes every frame, so it costs what translation costs; the observer stays the fast path.
 */
export interface StreamTracker {
  /** Takes upstream bytes; returns the whole frames to forward now, or undefined. Nothing after an error frame. */
  push(chunk: Uint8Array): Uint8Array | undefined;
  /** The body ended: the rest to forward (a last frame without its blank line), or undefined. */
  end(): Uint8Array | undefined;
  /** What the forwarded frames showed the client. */
  readonly sent: SentAnswer;
  /** Set when the stream cannot be taken over (several choices, an item or block a continuation cannot close). */
  readonly untakeable: string | undefined;
  readonly usage: Usage | undefined;
  /** An error frame (held back, never forwarded), an unparseable frame, or (after `end`) a stream cut short. */
  readonly error: SwitchyardError | undefined;
  /** The stream finished properly. */
  readonly complete: boolean;
  /** What the client still needs to see a properly finished stream, or ''. */
  closingFrames(): string;
  /** An encoder that continues the client's stream after the last forwarded frame; `fallback` names an answer whose opening never went out. */
  continuation(options: { includeUsage?: boolean; request?: JsonObject | undefined; fallback: AnswerMeta }): PartEncoder;
}

/** Watches a stream forwarded as bytes (passthrough): learns usage, finish, model and breaks, parsing as little as it can. */
export interface StreamObserver {
  /** Watches the next chunk of the body. */
  push(chunk: Uint8Array): void;
  /** The body ended. */
  end(): void;
  readonly usage: Usage | undefined;
  readonly finishReason: string | undefined;
  readonly model: string | undefined;
  /** An in-stream error frame, an unparseable frame, or (after `end`) a stream cut short. */
  readonly error: SwitchyardError | undefined;
  /** Whether the upstream's own error frame was among the bytes already forwarded. */
  readonly errorForwarded: boolean;
  /** The stream finished properly. */
  readonly complete: boolean;
  /** What the client still needs to see a properly finished stream (a missing `[DONE]` or `message_stop`), or ''. */
  closingFrames(): string;
  /** The frames that end this stream after `error` broke it, where they depend on what went by (Responses numbers its events); absent: the codec's `errorFrame`. */
  errorFrames?(error: SwitchyardError): string;
}

/** An error answer in a wire's envelope. */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Everything about one wire protocol: checking, translating and encoding requests, decoding and encoding answers. */
export interface WireCodec {
  readonly wire: Wire;
  /** Checks what this wire's protocol requires of a request (shape only); throws `invalid_request` in its words. */
  check(body: JsonObject): CheckedRequest;
  /** The request as a Conversation, for translation; throws `invalid_request` (with a hint) for what cannot be translated. */
  decodeRequest(body: JsonObject, target: TranslationTarget): Conversation;
  /** This wire's request body for an upstream, from a Conversation; throws `invalid_request` for what this wire cannot carry. */
  encodeRequest(conversation: Conversation, target: TranslationTarget): JsonObject;
  /** A decoder for an upstream's stream on this wire. */
  createDecoder(options: { provider?: string | undefined }): PartDecoder;
  /** The parts of a whole (non-streamed) upstream answer on this wire. */
  decodeAnswer(json: unknown, options: { provider?: string | undefined }): StreamPart[];
  /** An encoder of parts as this wire's stream. `includeUsage`: the caller asked for usage in the stream. */
  createEncoder(meta: AnswerMeta, options?: { includeUsage?: boolean }): PartEncoder;
  /** A whole answer in this wire's shape. */
  encodeAnswer(answer: Answer, meta: AnswerMeta): JsonObject;
  /** An observer for this wire's stream, forwarded as bytes. */
  createObserver(options: { provider?: string | undefined }): StreamObserver;
  /** A tracker for this wire's stream, forwarded as bytes where a break may be continued elsewhere (resume). */
  createTracker(options: { provider?: string | undefined }): StreamTracker;
  /** An error answer in this wire's envelope, plus `hint`. */
  errorAnswer(error: SwitchyardError): ErrorAnswer;
  /** The frame that ends a forwarded stream of this wire that broke after the commit. */
  errorFrame(error: SwitchyardError): string;
}
