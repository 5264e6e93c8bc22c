import { resolveFixture } from './fixtures.js';
import { assertProviderError, type ErrorProvider } from './provider-errors.js';

/**
 * Token counts as OpenAI Chat Completions reports them. The other wires render the same numbers in their own fields:
 * messages `input_tokens` = prompt − cached − cache writes, `cache_read_input_tokens` = cached,
 * `cache_creation_input_tokens` = cache writes, `output_tokens` = completion; responses `input_tokens` = prompt,
 * `input_tokens_details.cached_tokens` = cached, `output_tokens` = completion, `output_tokens_details.reasoning_tokens`.
 */
export interface TokenUsage {
  /** Tokens of the request (cached and written ones included). */
  prompt_tokens: number;
  /** Tokens of the answer (reasoning included). */
  completion_tokens: number;
  /** Both together. */
  total_tokens: number;
  /** Prompt tokens read from the provider's cache, and (where a provider reports them) written to it. */
  prompt_tokens_details?: {
    /** Read from the cache. */
    cached_tokens?: number;
    /** Written to the cache. */
    cache_write_tokens?: number;
  };
  /** The answer's tokens by kind. */
  completion_tokens_details?: {
    /** Tokens spent reasoning. */
    reasoning_tokens: number;
  };
}

/** A tool call the scripted answer makes; parallel calls are several entries, sent one after the other. */
export interface ScriptedToolCall {
  /** Default `call_testkit_<request>_<n>` (chat `id`, responses `call_id`) or `toolu_testkit_<request>_<n>` (messages). */
  id?: string;
  /** The tool's name. */
  name: string;
  /** The arguments' JSON text. A string is streamed in fragments (see `splitArguments`); an array is streamed as these fragments. */
  arguments: string | string[];
}

/** What `stream` and `completion` answers may add beyond text and reasoning, on every wire. */
export interface AnswerExtras {
  /** Tool calls after the text. Sets the default finish reason to `tool_calls` (`tool_use` on messages). */
  toolCalls?: ScriptedToolCall[];
  /** The stop sequence that ended the answer: the finish becomes `stop_sequence` on messages (`stop` on chat, `completed` on responses). */
  stopSequence?: string;
  /** The thinking block's `signature` (messages) and the reasoning item's `encrypted_content` (responses, when the request asks for it). Default: derived from the reasoning text. */
  signature?: string;
}

/** The sandbox: replies `echo: ` + the last user message; embeddings get deterministic vectors; `/models` lists the models. */
export interface EchoBehavior {
  /** Selects this behavior. */
  type: 'echo';
}

/**
 * A scripted answer streamed as these content deltas (or joined into one completion if the request did not stream),
 * rendered in the wire of the request. Finish reasons may be named in either vocabulary (`stop`/`end_turn`,
 * `length`/`max_tokens`, `tool_calls`/`tool_use`, `content_filter`/`refusal`, `stop_sequence`).
 */
export interface StreamBehavior extends AnswerExtras {
  /** Selects this behavior. */
  type: 'stream';
  /** The text deltas, one frame each. */
  chunks: string[];
  /** `reasoning_content` deltas sent before the content. */
  reasoning?: string[];
  /** Pause between frames. */
  delayMs?: number;
  /** Pause before the response headers: a provider slow to its first token. */
  firstByteDelayMs?: number;
  /** Send usage (default true; messages and responses always carry it); an object overrides the counted numbers. */
  usage?: boolean | Partial<TokenUsage>;
  /** Default `stop` (`tool_calls` when there are tool calls, `stop_sequence` when `stopSequence` is set). */
  finishReason?: string;
  /** Chat only: put usage on the finish chunk instead of a separate `choices: []` chunk (DeepSeek style). */
  usageOnFinishChunk?: boolean;
  /** Chat only: end with `data: [DONE]` (default true). */
  done?: boolean;
}

/** A scripted non-streaming answer (streamed in word chunks if the request asked to stream), in the wire of the request. */
export interface CompletionBehavior extends AnswerExtras {
  /** Selects this behavior. */
  type: 'completion';
  /** The answer text. */
  content: string;
  /** The answer's reasoning. */
  reasoning?: string;
  /** Overrides the counted numbers. */
  usage?: Partial<TokenUsage>;
  /** Default `stop` (`tool_calls` with tool calls). */
  finishReason?: string;
}

/**
 * Replays a recorded file from `fixtures/` whatever the route: a stream frame by frame, or a body with its recorded status.
 * A name without extension that has both a stream and a body (`anthropic-text`) picks by the request's `stream` flag.
 */
export interface FixtureBehavior {
  /** Selects this behavior. */
  type: 'fixture';
  /** File name in `fixtures/`, with or without extension. */
  name: string;
  /** Pause between frames. */
  delayMs?: number;
  /** Append `data: [DONE]` when the recording has none (default false: replay exactly). */
  done?: boolean;
  /** Overrides the recorded status. */
  status?: number;
}

/** A provider's own error answer (status, headers, body); on a responses route OpenAI's Responses variants where recorded. */
export interface ErrorBehavior {
  /** Selects this behavior. */
  type: 'error';
  /** Whose error shape to send. */
  provider: ErrorProvider;
  /** The provider's own error code (see `providerErrorCodes`). */
  code: string;
}

/** A 429 with `Retry-After` / `retry-after-ms` when given: OpenAI's `rate_limit_exceeded`, or Anthropic's `rate_limit_error` on a messages route. */
export interface RateLimitBehavior {
  /** Selects this behavior. */
  type: 'rateLimit';
  /** Sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** Sent as `retry-after-ms`. */
  retryAfterMs?: number;
}

/** A region block: OpenAI's recorded 403 `unsupported_country_region_territory`, or Anthropic's 403 `forbidden` on a messages route. */
export interface RegionBlockBehavior {
  /** Selects this behavior. */
  type: 'regionBlock';
}

/** Any status with any body. An object body is sent as JSON; a string as `text/plain` unless `headers` say otherwise. */
export interface StatusBehavior {
  /** Selects this behavior. */
  type: 'status';
  /** The HTTP status. */
  status: number;
  /** The body: an object as JSON, a string as it is. */
  body?: string | object;
  /** Response headers. */
  headers?: Record<string, string>;
}

/** Reads the request and never answers. */
export interface StallBeforeFirstByteBehavior {
  /** Selects this behavior. */
  type: 'stallBeforeFirstByte';
}

/** 200 SSE headers, the wire's opening events, `afterChunks` text deltas, then silence. Not streamed: half the promised body. */
export interface StallMidStreamBehavior {
  /** Selects this behavior. */
  type: 'stallMidStream';
  /** Text deltas sent before the silence. */
  afterChunks: number;
  /** Content deltas to send (default: the echo reply's chunks). */
  chunks?: string[];
}

/** 200 SSE headers, the wire's opening events, `afterChunks` text deltas, then the socket is destroyed. Not streamed: half the promised body. */
export interface CutMidStreamBehavior {
  /** Selects this behavior. */
  type: 'cutMidStream';
  /** Text deltas sent before the cut. */
  afterChunks: number;
  /** Content deltas to send (default: the echo reply's chunks). */
  chunks?: string[];
}

/**
 * 200 SSE headers, the wire's opening events, `afterChunks` text deltas, then the wire's own in-stream error, and the
 * body ends: chat `data: {"error":{…}}`; messages `event: error` (`overloaded_error`); responses an `error` event then
 * `response.failed`. A request that did not stream gets the same error as an HTTP status (500, or 529 for `overloaded_error`).
 */
export interface StreamErrorBehavior {
  /** Selects this behavior. */
  type: 'streamError';
  /** Text deltas sent before the error. */
  afterChunks: number;
  /** Text deltas to send (default: the echo reply's chunks). */
  chunks?: string[];
  /** The error's type (responses: also its code). Default `server_error` on chat and responses, `overloaded_error` on messages. */
  errorType?: string;
  /** Default: the provider's wording for the type. */
  message?: string;
}

/**
 * A known answer, continued from wherever the request left it: with no prefill it streams `text` whole; when the
 * request's last assistant turn is a start of `text` (an assistant prefill, or a partial answer followed by an
 * instruction to carry on), it streams only the rest, as a model asked to continue would. Makes a resumed answer
 * deterministic: the client's text can be compared with `text`.
 */
export interface ContinuationBehavior {
  /** Selects this behavior. */
  type: 'continuation';
  /** The whole answer. */
  text: string;
  /** Pause between frames. */
  delayMs?: number;
  /** Pause before the response headers: a provider slow to its first token. */
  firstByteDelayMs?: number;
  /** Characters at the end of the received start that the continuation says again before going on (a model that repeats itself). */
  overlap?: number;
  /** Answer `text` whole even after a start (a model that starts over). */
  restart?: boolean;
}

/** A 502 nginx HTML page, as a broken proxy in front of a provider sends it. */
export interface GarbageBehavior {
  /** Selects this behavior. */
  type: 'garbage';
}

/** What the test upstream does with one request. */
export type Behavior =
  | EchoBehavior
  | StreamBehavior
  | CompletionBehavior
  | FixtureBehavior
  | ErrorBehavior
  | RateLimitBehavior
  | RegionBlockBehavior
  | StatusBehavior
  | StallBeforeFirstByteBehavior
  | StallMidStreamBehavior
  | CutMidStreamBehavior
  | StreamErrorBehavior
  | ContinuationBehavior
  | GarbageBehavior;

const BEHAVIOR_TYPES: ReadonlySet<string> = new Set<Behavior['type']>([
  'echo',
  'stream',
  'completion',
  'fixture',
  'error',
  'rateLimit',
  'regionBlock',
  'status',
  'stallBeforeFirstByte',
  'stallMidStream',
  'cutMidStream',
  'streamError',
  'continuation',
  'garbage',
]);

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function isStatus(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599;
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function extrasProblem(behavior: AnswerExtras & { finishReason?: unknown }): string | undefined {
  if (behavior.finishReason !== undefined && typeof behavior.finishReason !== 'string') return 'finishReason must be a string';
  if (behavior.stopSequence !== undefined && typeof behavior.stopSequence !== 'string') return 'stopSequence must be a string';
  if (behavior.signature !== undefined && typeof behavior.signature !== 'string') return 'signature must be a string';
  if (behavior.toolCalls === undefined) return undefined;
  if (!Array.isArray(behavior.toolCalls)) return 'toolCalls must be an array';
  for (const [index, call] of (behavior.toolCalls as unknown[]).entries()) {
    const { id, name, arguments: args } = (call ?? {}) as Partial<Record<string, unknown>>;
    if (typeof name !== 'string' || name === '') return `toolCalls[${index}].name must be a non-empty string`;
    if (typeof args !== 'string' && !isStrings(args)) return `toolCalls[${index}].arguments must be a string or an array of strings`;
    if (id !== undefined && (typeof id !== 'string' || id === '')) return `toolCalls[${index}].id must be a non-empty string`;
  }
  return undefined;
}

/** Throws a clear error for a behavior that cannot be served, so a bad script fails where it is written. */
export function assertBehavior(behavior: Behavior): void {
  const type: unknown = (behavior as { type?: unknown } | null)?.type;
  if (typeof type !== 'string' || !BEHAVIOR_TYPES.has(type)) {
    throw new Error(`testkit: unknown behavior type '${String(type)}'. Known types: ${[...BEHAVIOR_TYPES].join(', ')}`);
  }
  const fail = (problem: string): never => {
    throw new Error(`testkit: invalid '${type}' behavior: ${problem}`);
  };
  switch (behavior.type) {
    case 'stream': {
      if (!isStrings(behavior.chunks)) fail('chunks must be an array of strings');
      if (behavior.reasoning !== undefined && !isStrings(behavior.reasoning)) fail('reasoning must be an array of strings');
      if (behavior.delayMs !== undefined && !isCount(behavior.delayMs)) fail('delayMs must be a non-negative integer');
      if (behavior.firstByteDelayMs !== undefined && !isCount(behavior.firstByteDelayMs)) fail('firstByteDelayMs must be a non-negative integer');
      const problem = extrasProblem(behavior);
      if (problem !== undefined) fail(problem);
      break;
    }
    case 'completion': {
      if (typeof behavior.content !== 'string') fail('content must be a string');
      if (behavior.reasoning !== undefined && typeof behavior.reasoning !== 'string') fail('reasoning must be a string');
      const problem = extrasProblem(behavior);
      if (problem !== undefined) fail(problem);
      break;
    }
    case 'fixture':
      resolveFixture(behavior.name);
      if (behavior.delayMs !== undefined && !isCount(behavior.delayMs)) fail('delayMs must be a non-negative integer');
      if (behavior.status !== undefined && !isStatus(behavior.status)) fail('status must be an HTTP status');
      break;
    case 'error':
      assertProviderError(behavior.provider, behavior.code);
      break;
    case 'rateLimit':
      if (behavior.retryAfterSeconds !== undefined && !isCount(behavior.retryAfterSeconds)) fail('retryAfterSeconds must be a non-negative integer');
      if (behavior.retryAfterMs !== undefined && !isCount(behavior.retryAfterMs)) fail('retryAfterMs must be a non-negative integer');
      break;
    case 'status':
      if (!isStatus(behavior.status)) fail('status must be an HTTP status');
      break;
    case 'stallMidStream':
    case 'cutMidStream':
      if (!isCount(behavior.afterChunks)) fail('afterChunks must be a non-negative integer');
      if (behavior.chunks !== undefined && !isStrings(behavior.chunks)) fail('chunks must be an array of strings');
      break;
    case 'streamError':
      if (!isCount(behavior.afterChunks)) fail('afterChunks must be a non-negative integer');
      if (behavior.chunks !== undefined && !isStrings(behavior.chunks)) fail('chunks must be an array of strings');
      if (behavior.errorType !== undefined && (typeof behavior.errorType !== 'string' || behavior.errorType === '')) fail('errorType must be a non-empty string');
      if (behavior.message !== undefined && typeof behavior.message !== 'string') fail('message must be a string');
      break;
    case 'continuation':
      if (typeof behavior.text !== 'string' || behavior.text === '') fail('text must be a non-empty string');
      if (behavior.delayMs !== undefined && !isCount(behavior.delayMs)) fail('delayMs must be a non-negative integer');
      if (behavior.firstByteDelayMs !== undefined && !isCount(behavior.firstByteDelayMs)) fail('firstByteDelayMs must be a non-negative integer');
      if (behavior.overlap !== undefined && !isCount(behavior.overlap)) fail('overlap must be a non-negative integer');
      if (behavior.restart !== undefined && typeof behavior.restart !== 'boolean') fail('restart must be a boolean');
      break;
    default:
      break;
  }
}

/** Constructors for behaviors, for scripts that read as sentences: `upstream.enqueue(behaviors.rateLimit({ retryAfterMs: 10 }))`. */
export const behaviors = {
  /** The sandbox's echo. */
  echo: (): EchoBehavior => ({ type: 'echo' }),
  /** A stream of these text deltas. */
  stream: (chunks: string[], options: Omit<StreamBehavior, 'type' | 'chunks'> = {}): StreamBehavior => ({ type: 'stream', chunks, ...options }),
  /** One whole answer. */
  completion: (content: string, options: Omit<CompletionBehavior, 'type' | 'content'> = {}): CompletionBehavior => ({
    type: 'completion',
    content,
    ...options,
  }),
  /** A recorded stream or error from `fixtures/`. */
  fixture: (name: string, options: Omit<FixtureBehavior, 'type' | 'name'> = {}): FixtureBehavior => ({ type: 'fixture', name, ...options }),
  /** A provider's own error answer. */
  error: (provider: ErrorProvider, code: string): ErrorBehavior => ({ type: 'error', provider, code }),
  /** A 429 rate limit, in the wire's envelope. */
  rateLimit: (options: Omit<RateLimitBehavior, 'type'> = {}): RateLimitBehavior => ({ type: 'rateLimit', ...options }),
  /** A 403 region block. */
  regionBlock: (): RegionBlockBehavior => ({ type: 'regionBlock' }),
  /** Any status with any body. */
  status: (status: number, body?: string | object, headers?: Record<string, string>): StatusBehavior => ({
    type: 'status',
    status,
    ...(body === undefined ? {} : { body }),
    ...(headers === undefined ? {} : { headers }),
  }),
  /** Never answers. */
  stallBeforeFirstByte: (): StallBeforeFirstByteBehavior => ({ type: 'stallBeforeFirstByte' }),
  /** Some deltas, then silence. */
  stallMidStream: (afterChunks: number, chunks?: string[]): StallMidStreamBehavior => ({
    type: 'stallMidStream',
    afterChunks,
    ...(chunks === undefined ? {} : { chunks }),
  }),
  /** Some deltas, then a destroyed socket. */
  cutMidStream: (afterChunks: number, chunks?: string[]): CutMidStreamBehavior => ({
    type: 'cutMidStream',
    afterChunks,
    ...(chunks === undefined ? {} : { chunks }),
  }),
  /** Some deltas, then the wire's in-stream error. */
  streamError: (afterChunks: number, options: Omit<StreamErrorBehavior, 'type' | 'afterChunks'> = {}): StreamErrorBehavior => ({
    type: 'streamError',
    afterChunks,
    ...options,
  }),
  /** A known answer, continued after whatever start of it the request carries. */
  continuation: (text: string, options: Omit<ContinuationBehavior, 'type' | 'text'> = {}): ContinuationBehavior => ({ type: 'continuation', text, ...options }),
  /** A broken proxy's HTML 502. */
  garbage: (): GarbageBehavior => ({ type: 'garbage' }),
} as const;
