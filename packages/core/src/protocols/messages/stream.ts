/** Anthropic Messages streams: upstream events → parts, and parts → `event:` + `data:` frames for a client. */
import type { SwitchyardError } from '../../errors.js';
import type { FinishReason, StreamPart, Usage } from '../../stream/parts.js';
import { normalizeUpstreamError } from '../../upstream-errors.js';
import { createEventDecoder } from '../event-decoder.js';
import type { AnswerMeta, PartDecoder, PartEncoder } from '../codec.js';
import { isRecord } from '../validation.js';
import { anthropicErrorBody } from './errors.js';
import { trailerMembers } from '../trailer.js';

type Json = Record<string, unknown>;

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Anthropic's usage figures, as far as one object reports them. */
export interface AnthropicUsage {
  input?: number | undefined;
  output?: number | undefined;
  cacheRead?: number | undefined;
  cacheWrite?: number | undefined;
  thinking?: number | undefined;
}

/** Reads an Anthropic `usage` object. */
export function readAnthropicUsage(raw: unknown): AnthropicUsage {
  if (!isRecord(raw)) return {};
  const details = raw.output_tokens_details;
  return {
    input: count(raw.input_tokens),
    output: count(raw.output_tokens),
    cacheRead: count(raw.cache_read_input_tokens),
    cacheWrite: count(raw.cache_creation_input_tokens),
    thinking: isRecord(details) ? count(details.thinking_tokens) : undefined,
  };
}

/** Usage in Switchyard's convention (input counts cache reads and writes too) from Anthropic's figures. */
export function usageFromAnthropic(figures: AnthropicUsage): Usage {
  const cacheRead = figures.cacheRead ?? 0;
  const cacheWrite = figures.cacheWrite ?? 0;
  const input = (figures.input ?? 0) + cacheRead + cacheWrite;
  const output = figures.output ?? 0;
  const usage: Usage = { input_tokens: input, output_tokens: output, total_tokens: input + output };
  if (figures.cacheRead !== undefined) usage.cached_tokens = cacheRead;
  if (figures.cacheWrite !== undefined) usage.cache_write_tokens = cacheWrite;
  if (figures.thinking !== undefined) usage.reasoning_tokens = figures.thinking;
  return usage;
}

/** Anthropic's `usage` object for a Usage (its `input_tokens` leaves cache reads and writes out). */
export function anthropicUsage(usage: Usage | undefined): Json {
  if (!usage) return { input_tokens: 0, output_tokens: 0 };
  const cacheRead = usage.cached_tokens ?? 0;
  const cacheWrite = usage.cache_write_tokens ?? 0;
  return {
    input_tokens: Math.max(0, usage.input_tokens - cacheRead - cacheWrite),
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    output_tokens: usage.output_tokens,
  };
}

const STOP_TO_FINISH: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

/** The finish reason (Chat Completions' words) for an Anthropic `stop_reason`. */
export function finishFromStopReason(reason: string): FinishReason {
  return Object.hasOwn(STOP_TO_FINISH, reason) ? (STOP_TO_FINISH[reason] as FinishReason) : 'stop';
}

/** Anthropic's `stop_reason` for a finish reason. */
export function stopReasonFor(reason: FinishReason | undefined, stopSequence: string | undefined): string {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool_calls':
      return 'tool_use';
    case 'content_filter':
      return 'refusal';
    default:
      return stopSequence !== undefined ? 'stop_sequence' : 'end_turn';
  }
}

/** The status to read an Anthropic in-stream error as (an `overloaded_error` is a 529, as over HTTP). */
function errorStatus(data: Json): number {
  const error = isRecord(data.error) ? data.error : undefined;
  switch (error?.type) {
    case 'overloaded_error':
      return 529;
    case 'rate_limit_error':
      return 429;
    case 'authentication_error':
      return 401;
    case 'permission_error':
      return 403;
    case 'not_found_error':
      return 404;
    case 'invalid_request_error':
      return 400;
    default:
      return 500;
  }
}

/**
 * Reads Anthropic Messages events into parts; tool calls are numbered in the order their blocks start. A class: one
 * is made per stream, and an object literal with getters costs about a microsecond to create.
 */
export class MessagesEventReader {
  private readonly provider: string | undefined;
  private readonly toolIndex = new Map<number, number>();
  private tools = 0;
  private start: AnthropicUsage = {};
  private stopSequence: string | undefined = undefined;
  /** The first model the stream names. */
  model: string | undefined = undefined;
  /** The stop reason, once `message_delta` said it. */
  finish: FinishReason | undefined = undefined;
  /** The usage so far (the latest figures win). */
  usage: Usage | undefined = undefined;
  /** `message_stop` or an error came. */
  done = false;
  /** An in-stream `error` event. */
  error: SwitchyardError | undefined = undefined;

  constructor(provider?: string | undefined) {
    this.provider = provider;
  }

  /** Reads one event's data, pushing its parts onto `out`. */
  read(data: Json, out: StreamPart[]): void {
    switch (data.type) {
      case 'message_start': {
        const message = isRecord(data.message) ? data.message : {};
        if (typeof message.model === 'string' && message.model !== '') this.model ??= message.model;
        this.start = readAnthropicUsage(message.usage);
        return;
      }
      case 'content_block_start': {
        const block = isRecord(data.content_block) ? data.content_block : {};
        const index = typeof data.index === 'number' ? data.index : -1;
        if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') out.push({ type: 'text', text: block.text });
        else if (block.type === 'thinking') {
          if (typeof block.thinking === 'string' && block.thinking !== '') out.push({ type: 'reasoning', text: block.thinking });
          if (typeof block.signature === 'string' && block.signature !== '') out.push({ type: 'reasoning-signature', signature: block.signature });
        } else if (block.type === 'redacted_thinking' && typeof block.data === 'string') out.push({ type: 'reasoning-redacted', data: block.data });
        else if (block.type === 'tool_use') {
          const ordinal = this.tools++;
          this.toolIndex.set(index, ordinal);
          const input = isRecord(block.input) && Object.keys(block.input).length > 0 ? JSON.stringify(block.input) : '';
          out.push({ type: 'tool-call-delta', index: ordinal, id: typeof block.id === 'string' ? block.id : `toolu_${ordinal}`, name: typeof block.name === 'string' ? block.name : '', arguments: input });
        }
        return;
      }
      case 'content_block_delta': {
        const delta = isRecord(data.delta) ? data.delta : {};
        switch (delta.type) {
          case 'text_delta':
            if (typeof delta.text === 'string' && delta.text !== '') out.push({ type: 'text', text: delta.text });
            return;
          case 'thinking_delta':
            if (typeof delta.thinking === 'string' && delta.thinking !== '') out.push({ type: 'reasoning', text: delta.thinking });
            return;
          case 'signature_delta':
            if (typeof delta.signature === 'string' && delta.signature !== '') out.push({ type: 'reasoning-signature', signature: delta.signature });
            return;
          case 'input_json_delta': {
            const ordinal = this.toolIndex.get(typeof data.index === 'number' ? data.index : -1);
            if (ordinal !== undefined && typeof delta.partial_json === 'string' && delta.partial_json !== '') out.push({ type: 'tool-call-delta', index: ordinal, arguments: delta.partial_json });
            return;
          }
          default:
            return;
        }
      }
      case 'message_delta': {
        const delta = isRecord(data.delta) ? data.delta : {};
        if (typeof delta.stop_reason === 'string' && this.finish === undefined) {
          this.finish = finishFromStopReason(delta.stop_reason);
          if (typeof delta.stop_sequence === 'string') this.stopSequence = delta.stop_sequence;
        }
        const late = readAnthropicUsage(data.usage);
        // A later figure wins: a compatible proxy reports the real input count only here.
        const { start } = this;
        this.usage = usageFromAnthropic({
          input: late.input ?? start.input,
          output: late.output ?? start.output,
          cacheRead: late.cacheRead ?? start.cacheRead,
          cacheWrite: late.cacheWrite ?? start.cacheWrite,
          thinking: late.thinking ?? start.thinking,
        });
        return;
      }
      case 'message_stop': {
        this.done = true;
        if (this.finish !== undefined) {
          const part: Extract<StreamPart, { type: 'finish' }> = { type: 'finish', reason: this.finish };
          if (this.model !== undefined) part.model = this.model;
          if (this.stopSequence !== undefined) part.stopSequence = this.stopSequence;
          out.push(part);
        }
        const { start } = this;
        this.usage ??= start.input !== undefined || start.output !== undefined ? usageFromAnthropic(start) : undefined;
        if (this.usage) out.push({ type: 'usage', usage: this.usage });
        return;
      }
      case 'error':
        this.error = normalizeUpstreamError({ status: errorStatus(data), body: JSON.stringify(data), provider: this.provider });
        this.done = true;
        out.push({ type: 'error', error: this.error });
        return;
      default:
        // ping, and events added later
        return;
    }
  }

}

/** Creates a {@link MessagesEventReader}. */
export function createMessagesEventReader(options: { provider?: string | undefined } = {}): MessagesEventReader {
  return new MessagesEventReader(options.provider);
}

/** A decoder of an upstream's Anthropic Messages stream. */
export function createMessagesDecoder(options: { provider?: string | undefined } = {}): PartDecoder {
  return createEventDecoder(createMessagesEventReader(options), options.provider);
}

function frame(type: string, json: string): string {
  return `event: ${type}\ndata: ${json}\n\n`;
}

/** Where a Messages stream forwarded as bytes stopped: its last block's index, and the kind of block still open there. */
export interface MessagesPosition {
  index: number;
  open?: 'text' | 'thinking' | undefined;
}

/**
 * An encoder of parts as Anthropic Messages events: `message_start`, one block per run of text, thinking or tool
 * call (`content_block_start` … `_delta` … `_stop`), then `message_delta` with the stop reason and usage, and
 * `message_stop`. Usage arrives last on other wires, so `message_start` reports zeros and `message_delta` the figures.
 * `continued`: `message_start` and the blocks up to that position already went out (the encoder takes over a stream
 * forwarded as bytes).
 */
export function createMessagesEncoder(meta: AnswerMeta, options: { continued?: MessagesPosition } = {}): PartEncoder {
  const { continued } = options;
  let started = continued !== undefined;
  let index = continued?.index ?? -1;
  let open: { kind: 'text' | 'thinking' | 'tool'; tool?: number; signed?: boolean } | undefined = continued?.open ? { kind: continued.open } : undefined;
  let trailer = '';
  const toolBlocks = new Map<number, number>();
  let finish: FinishReason | undefined;
  let stopSequence: string | undefined;
  let usage: Usage | undefined;

  function begin(): string {
    if (started) return '';
    started = true;
    const message = {
      id: meta.id,
      type: 'message',
      role: 'assistant',
      model: meta.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return frame('message_start', JSON.stringify({ type: 'message_start', message }));
  }

  function close(): string {
    if (!open) return '';
    open = undefined;
    return frame('content_block_stop', `{"type":"content_block_stop","index":${index}}`);
  }

  function openBlock(kind: 'text' | 'thinking' | 'tool', block: string, tool?: number): string {
    const out = close();
    index += 1;
    open = tool === undefined ? { kind } : { kind, tool };
    return `${out}${frame('content_block_start', `{"type":"content_block_start","index":${index},"content_block":${block}}`)}`;
  }

  function delta(at: number, body: string): string {
    return frame('content_block_delta', `{"type":"content_block_delta","index":${at},"delta":${body}}`);
  }

  return {
    open: begin,
    encode(part) {
      let out = begin();
      switch (part.type) {
        case 'text':
          if (open?.kind !== 'text') out += openBlock('text', '{"type":"text","text":""}');
          return out + delta(index, `{"type":"text_delta","text":${JSON.stringify(part.text)}}`);
        case 'reasoning':
          if (open?.kind !== 'thinking' || open.signed) out += openBlock('thinking', '{"type":"thinking","thinking":"","signature":""}');
          return out + delta(index, `{"type":"thinking_delta","thinking":${JSON.stringify(part.text)}}`);
        case 'reasoning-signature':
          if (open?.kind !== 'thinking') out += openBlock('thinking', '{"type":"thinking","thinking":"","signature":""}');
          (open as { signed?: boolean }).signed = true;
          return out + delta(index, `{"type":"signature_delta","signature":${JSON.stringify(part.signature)}}`);
        case 'reasoning-redacted':
          out += openBlock('thinking', JSON.stringify({ type: 'redacted_thinking', data: part.data }));
          return out + close();
        case 'tool-call-delta': {
          let at = toolBlocks.get(part.index);
          if (at === undefined) {
            out += openBlock('tool', JSON.stringify({ type: 'tool_use', id: part.id ?? `toolu_${part.index}`, name: part.name ?? '', input: {} }), part.index);
            at = index;
            toolBlocks.set(part.index, at);
          }
          // A fragment of a call whose block was closed still names its block: SDKs accumulate by index.
          return part.arguments === '' ? out : out + delta(at, `{"type":"input_json_delta","partial_json":${JSON.stringify(part.arguments)}}`);
        }
        case 'finish':
          finish ??= part.reason;
          if (part.stopSequence !== undefined) stopSequence = part.stopSequence;
          return out;
        case 'usage':
          usage = part.usage;
          return out;
        case 'error':
          return out;
      }
    },
    end() {
      let out = begin() + close();
      const stopReason = stopReasonFor(finish, stopSequence);
      out += frame('message_delta', JSON.stringify({ type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: stopSequence ?? null }, usage: anthropicUsage(usage) }));
      return out + frame('message_stop', `{"type":"message_stop"${trailer}}`);
    },
    error(error: SwitchyardError) {
      return begin() + frame('error', JSON.stringify(anthropicErrorBody(error)));
    },
    annotate(fields) {
      trailer = trailerMembers(fields);
    },
  };
}
