/**
 * Turns OpenAI-protocol `chat.completion.chunk` objects (and whole `chat.completion`s) into StreamParts,
 * smoothing over what each provider does differently (see testkit/fixtures/README.md).
 */
import type { SwitchyardError } from '../errors.js';
import { normalizeUpstreamError } from '../upstream-errors.js';
import type { FinishReason, StreamPart, Usage } from './parts.js';

/** Options of a chunk reader. */
export interface ChunkReaderOptions {
  /** The provider the chunks come from, for errors. */
  provider?: string | undefined;
}

/** A tool call as merged so far from its deltas. */
export interface ToolCallState {
  /** Which call, in the choice. */
  index: number;
  /** The call's id, once sent. */
  id: string | undefined;
  /** The tool's name, once sent. */
  name: string | undefined;
  /** The arguments received so far (JSON text once the call is complete). */
  arguments: string;
}

/** What a chunk reader has learned from the stream so far. */
export interface ChunkReaderState {
  /** The first non-empty `model` the upstream named. */
  readonly model: string | undefined;
  /** Choice 0's finish reason, once it came. */
  readonly finishReason: FinishReason | undefined;
  /** The last usage reported. */
  readonly usage: Usage | undefined;
  /** The error frame's error, once one came. */
  readonly error: SwitchyardError | undefined;
  /** Choice 0's tool calls by `tool_calls[].index`. */
  readonly toolCalls: ReadonlyMap<number, Readonly<ToolCallState>>;
}

/** Turns `chat.completion.chunk` objects into parts, keeping what it learned on the way. */
export interface ChunkReader {
  /** Reads one parsed chunk and returns the parts it carries, in wire order (deltas, finish, usage). */
  read(chunk: unknown): StreamPart[];
  /** What it learned from the stream so far. */
  readonly state: ChunkReaderState;
}

type ToolCallDeltaPart = Extract<StreamPart, { type: 'tool-call-delta' }>;
type Json = Record<string, unknown>;

interface MutableState {
  model: string | undefined;
  finishReason: FinishReason | undefined;
  usage: Usage | undefined;
  error: SwitchyardError | undefined;
  toolCalls: Map<number, ToolCallState>;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null;
}

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Text from a `content` that is a string or (some compatible servers) an array of `{type:'text', text}` parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const item of content) {
    if (isObject(item) && item.type === 'text' && typeof item.text === 'string') text += item.text;
  }
  return text;
}

/** Maps an upstream `usage` object (Chat Completions or Responses field names) to Usage; undefined when it has no counts. */
export function toUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  const input = count(raw.prompt_tokens) ?? count(raw.input_tokens);
  const output = count(raw.completion_tokens) ?? count(raw.output_tokens);
  const total = count(raw.total_tokens);
  if (input === undefined && output === undefined && total === undefined) return undefined;
  // Anthropic's input_tokens leaves cache reads and writes out; Usage counts every input token.
  const cacheRead = count(raw.cache_read_input_tokens);
  const cacheWrite = count(raw.cache_creation_input_tokens);
  if (cacheRead !== undefined || cacheWrite !== undefined) {
    const all = (input ?? 0) + (cacheRead ?? 0) + (cacheWrite ?? 0);
    const anthropic: Usage = { input_tokens: all, output_tokens: output ?? 0, total_tokens: all + (output ?? 0) };
    if (cacheRead !== undefined) anthropic.cached_tokens = cacheRead;
    if (cacheWrite !== undefined) anthropic.cache_write_tokens = cacheWrite;
    return anthropic;
  }
  const usage: Usage = {
    input_tokens: input ?? 0,
    output_tokens: output ?? 0,
    // As reported: xAI's total is larger than input + output because its completion count leaves out reasoning.
    total_tokens: total ?? (input ?? 0) + (output ?? 0),
  };
  const details = raw.completion_tokens_details ?? raw.output_tokens_details;
  // Azure-hosted DeepSeek puts reasoning_tokens at the top of usage.
  const reasoning = (isObject(details) ? count(details.reasoning_tokens) : undefined) ?? count(raw.reasoning_tokens);
  if (reasoning !== undefined) usage.reasoning_tokens = reasoning;
  // OpenAI: `prompt_tokens_details.cached_tokens` (Responses: `input_tokens_details`); DeepSeek: `prompt_cache_hit_tokens`.
  const inputDetails = raw.prompt_tokens_details ?? raw.input_tokens_details;
  const cached = (isObject(inputDetails) ? count(inputDetails.cached_tokens) : undefined) ?? count(raw.prompt_cache_hit_tokens);
  if (cached !== undefined) usage.cached_tokens = cached;
  const cacheWritten = isObject(inputDetails) ? count(inputDetails.cache_write_tokens) : undefined;
  if (cacheWritten !== undefined) usage.cache_write_tokens = cacheWritten;
  return usage;
}

/** The usage a chunk carries: top-level `usage`, else Groq's `x_groq.usage`; `usage: null` counts as none. */
function usageOf(chunk: Json): Usage | undefined {
  const usage = toUsage(chunk.usage);
  if (usage !== undefined) return usage;
  const groq = chunk.x_groq;
  return isObject(groq) ? toUsage(groq.usage) : undefined;
}

/** The HTTP status to read an in-stream error as: a numeric HTTP-like `code` (Gemini), else 500. */
function errorStatus(error: unknown): number {
  const code = isObject(error) ? error.code : undefined;
  return typeof code === 'number' && Number.isInteger(code) && code >= 400 && code <= 599 ? code : 500;
}

/** A whole `error` in a frame or body: an object (OpenAI, DashScope, OpenRouter) or a bare message. */
function hasError(chunk: Json): boolean {
  const error = chunk.error;
  return isObject(error) || (typeof error === 'string' && error !== '');
}

function createReader(options: ChunkReaderOptions, field: 'delta' | 'message'): ChunkReader {
  const provider = options.provider;
  const state: MutableState = {
    model: undefined,
    finishReason: undefined,
    usage: undefined,
    error: undefined,
    toolCalls: new Map(),
  };

  function readToolCall(raw: unknown, position: number, parts: StreamPart[]): void {
    if (!isObject(raw)) return;
    const index = typeof raw.index === 'number' ? raw.index : position;
    let call = state.toolCalls.get(index);
    if (call === undefined) {
      call = { index, id: undefined, name: undefined, arguments: '' };
      state.toolCalls.set(index, call);
    }
    const fn = isObject(raw.function) ? raw.function : undefined;
    let newId: string | undefined;
    let newName: string | undefined;
    // Merge by index and keep the first id and name: DashScope repeats `"id":""` on every continuation.
    if (call.id === undefined && typeof raw.id === 'string' && raw.id !== '') call.id = newId = raw.id;
    const name = fn?.name;
    if (call.name === undefined && typeof name === 'string' && name !== '') call.name = newName = name;
    const rawArguments = fn?.arguments;
    const args =
      typeof rawArguments === 'string' ? rawArguments : isObject(rawArguments) ? JSON.stringify(rawArguments) : '';
    if (args === '' && newId === undefined && newName === undefined) return;
    call.arguments += args;
    const part: ToolCallDeltaPart = { type: 'tool-call-delta', index, arguments: args };
    if (newId !== undefined) part.id = newId;
    if (newName !== undefined) part.name = newName;
    parts.push(part);
  }

  function readDelta(delta: Json, parts: StreamPart[]): void {
    // DeepSeek, DashScope and xAI say `reasoning_content`, others `reasoning`; a server sending both means the same text.
    const reasoningContent = delta.reasoning_content;
    const reasoning =
      typeof reasoningContent === 'string' && reasoningContent !== '' ? reasoningContent : textOf(delta.reasoning);
    if (reasoning !== '') parts.push({ type: 'reasoning', text: reasoning });
    const content = textOf(delta.content);
    if (content !== '') parts.push({ type: 'text', text: content });
    // A refusal is what the model answers instead of content, and the reader must see it: a reply, not a
    // silent empty answer. /api/chat has no refusal event, and /v1 passthrough forwards the bytes untouched.
    const refusal = delta.refusal;
    if (typeof refusal === 'string' && refusal !== '') parts.push({ type: 'text', text: refusal });
    const toolCalls = delta.tool_calls;
    if (Array.isArray(toolCalls)) {
      for (let i = 0; i < toolCalls.length; i++) readToolCall(toolCalls[i], i, parts);
    }
  }

  function read(chunk: unknown): StreamPart[] {
    const parts: StreamPart[] = [];
    if (!isObject(chunk)) return parts;
    if (hasError(chunk)) {
      const error = normalizeUpstreamError({ status: errorStatus(chunk.error), body: JSON.stringify(chunk), provider });
      state.error = error;
      parts.push({ type: 'error', error });
      return parts;
    }
    const model = typeof chunk.model === 'string' && chunk.model !== '' ? chunk.model : undefined;
    if (state.model === undefined) state.model = model;
    const choices = chunk.choices;
    if (Array.isArray(choices)) {
      for (const choice of choices) {
        // Only choice 0 speaks: with n > 1 the others are read by nobody, and must not mix into its text.
        if (!isObject(choice) || (typeof choice.index === 'number' && choice.index !== 0)) continue;
        const delta = choice[field];
        if (isObject(delta)) readDelta(delta, parts);
        const finish = choice.finish_reason;
        if (typeof finish === 'string' && finish !== '' && state.finishReason === undefined) {
          state.finishReason = finish;
          const finishModel = model ?? state.model;
          parts.push(finishModel === undefined ? { type: 'finish', reason: finish } : { type: 'finish', reason: finish, model: finishModel });
        }
      }
    }
    const usage = usageOf(chunk);
    if (usage !== undefined) {
      state.usage = usage;
      parts.push({ type: 'usage', usage });
    }
    return parts;
  }

  return { read, state };
}

/**
 * Creates a reader for one stream of `chat.completion.chunk` objects. Only choice 0 yields text, reasoning and
 * tool-call parts; usage is taken wherever it comes; each reported usage gives one usage part (the last wins).
 */
export function createChunkReader(options: ChunkReaderOptions = {}): ChunkReader {
  return createReader(options, 'delta');
}

/** The parts of a non-streamed `chat.completion`: reasoning, text, tool calls, finish, usage (or one error part). */
export function completionToParts(completion: unknown, options: ChunkReaderOptions = {}): StreamPart[] {
  return createReader(options, 'message').read(completion);
}

/**
 * The usage of a whole JSON answer passed on as bytes, found without parsing the whole body: the last top-level-looking
 * `"usage":{…}` object is cut out and parsed alone. Undefined when there is none or it does not parse.
 */
export function usageOfJsonBytes(bytes: Buffer): Usage | undefined {
  return toUsage(lastUsageObject(bytes.toString('latin1')));
}

/**
 * The last top-level-looking `"usage":{…}` object of a JSON text, cut out and parsed alone (a quote inside a string is
 * escaped, so only a key matches); undefined when there is none or it does not parse.
 */
export function lastUsageObject(text: string): unknown {
  for (let at = text.lastIndexOf('"usage"'); at !== -1; at = at === 0 ? -1 : text.lastIndexOf('"usage"', at - 1)) {
    let i = at + 7;
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\t' || text[i] === '\r')) i++;
    if (text[i] !== ':') continue;
    i++;
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\t' || text[i] === '\r')) i++;
    if (text[i] !== '{') continue;
    const end = objectEnd(text, i);
    if (end === -1) return undefined;
    try {
      return JSON.parse(text.slice(i, end + 1)) as unknown;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The index of the `}` closing the object that opens at `start`, skipping strings; -1 when it never closes. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped char
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123) depth++;
    else if (c === 125 && --depth === 0) return i;
  }
  return -1;
}
