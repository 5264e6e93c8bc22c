import { resolveFixture } from './fixtures.js';
import { assertProviderError, type ErrorProvider } from './provider-errors.js';

/** Token counts as OpenAI reports them. */
export interface TokenUsage {
  /** Tokens of the request. */
  prompt_tokens: number;
  /** Tokens of the answer (reasoning included). */
  completion_tokens: number;
  /** Both together. */
  total_tokens: number;
  /** The answer's tokens by kind. */
  completion_tokens_details?: {
    /** Tokens spent reasoning. */
    reasoning_tokens: number;
  };
}

/** The sandbox: replies `echo: ` + the last user message; embeddings get deterministic vectors; `/models` lists the models. */
export interface EchoBehavior {
  /** Selects this behavior. */
  type: 'echo';
}

/** A scripted answer streamed as these content deltas (or joined into one completion if the request did not stream). */
export interface StreamBehavior {
  /** Selects this behavior. */
  type: 'stream';
  /** The content deltas, one frame each. */
  chunks: string[];
  /** `reasoning_content` deltas sent before the content. */
  reasoning?: string[];
  /** Pause between frames. */
  delayMs?: number;
  /** Send usage (default true); an object overrides the counted numbers. */
  usage?: boolean | Partial<TokenUsage>;
  /** Default `stop`. */
  finishReason?: string;
  /** Put usage on the finish chunk instead of a separate `choices: []` chunk (DeepSeek style). */
  usageOnFinishChunk?: boolean;
  /** End with `data: [DONE]` (default true). */
  done?: boolean;
}

/** A scripted non-streaming answer (streamed in word chunks if the request asked to stream). */
export interface CompletionBehavior {
  /** Selects this behavior. */
  type: 'completion';
  /** The answer text. */
  content: string;
  /** `reasoning_content` of the answer. */
  reasoning?: string;
  /** Overrides the counted numbers. */
  usage?: Partial<TokenUsage>;
  /** Default `stop`. */
  finishReason?: string;
}

/** Replays a recorded file from `fixtures/`: a stream frame by frame, or an error body with its recorded status. */
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

/** A provider's own error answer (status, headers, body). */
export interface ErrorBehavior {
  /** Selects this behavior. */
  type: 'error';
  /** Whose error shape to send. */
  provider: ErrorProvider;
  /** The provider's own error code (see `providerErrorCodes`). */
  code: string;
}

/** OpenAI's 429 `rate_limit_exceeded` with `Retry-After` / `retry-after-ms` when given. */
export interface RateLimitBehavior {
  /** Selects this behavior. */
  type: 'rateLimit';
  /** Sent as `Retry-After`. */
  retryAfterSeconds?: number;
  /** Sent as `retry-after-ms`. */
  retryAfterMs?: number;
}

/** OpenAI's 403 `unsupported_country_region_territory`, as recorded. */
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

/** 200 SSE headers, the role chunk, `afterChunks` content chunks, then silence. */
export interface StallMidStreamBehavior {
  /** Selects this behavior. */
  type: 'stallMidStream';
  /** Content chunks sent before the silence. */
  afterChunks: number;
  /** Content deltas to send (default: the echo reply's chunks). */
  chunks?: string[];
}

/** 200 SSE headers, the role chunk, `afterChunks` content chunks, then the socket is destroyed. */
export interface CutMidStreamBehavior {
  /** Selects this behavior. */
  type: 'cutMidStream';
  /** Content chunks sent before the cut. */
  afterChunks: number;
  /** Content deltas to send (default: the echo reply's chunks). */
  chunks?: string[];
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
    case 'stream':
      if (!isStrings(behavior.chunks)) fail('chunks must be an array of strings');
      if (behavior.reasoning !== undefined && !isStrings(behavior.reasoning)) fail('reasoning must be an array of strings');
      if (behavior.delayMs !== undefined && !isCount(behavior.delayMs)) fail('delayMs must be a non-negative integer');
      break;
    case 'completion':
      if (typeof behavior.content !== 'string') fail('content must be a string');
      break;
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
    default:
      break;
  }
}

/** Constructors for behaviors, for scripts that read as sentences: `upstream.enqueue(behaviors.rateLimit({ retryAfterMs: 10 }))`. */
export const behaviors = {
  /** The sandbox's echo. */
  echo: (): EchoBehavior => ({ type: 'echo' }),
  /** A stream of these content deltas. */
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
  /** OpenAI's 429 rate limit. */
  rateLimit: (options: Omit<RateLimitBehavior, 'type'> = {}): RateLimitBehavior => ({ type: 'rateLimit', ...options }),
  /** OpenAI's 403 region block. */
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
  /** Some chunks, then silence. */
  stallMidStream: (afterChunks: number, chunks?: string[]): StallMidStreamBehavior => ({
    type: 'stallMidStream',
    afterChunks,
    ...(chunks === undefined ? {} : { chunks }),
  }),
  /** Some chunks, then a destroyed socket. */
  cutMidStream: (afterChunks: number, chunks?: string[]): CutMidStreamBehavior => ({
    type: 'cutMidStream',
    afterChunks,
    ...(chunks === undefined ? {} : { chunks }),
  }),
  /** A broken proxy's HTML 502. */
  garbage: (): GarbageBehavior => ({ type: 'garbage' }),
} as const;
