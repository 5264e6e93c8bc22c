/** Chat Completions streams: upstream frames → parts, and parts → `chat.completion.chunk` frames for a client. */
import type { SwitchyardError } from '../../errors.js';
import { createChunkReader } from '../../stream/chunk-parts.js';
import type { StreamPart, Usage } from '../../stream/parts.js';
import { ByteObserver } from '../../stream/passthrough-observer.js';
import { DONE_FRAME, encodeOpenAIErrorFrame } from '../../stream/sse-encoder.js';
import { createSseParser } from '../../stream/sse-parser.js';
import { invalidFrameError, streamEndedEarlyError } from '../../stream/stream-errors.js';
import { normalizeUpstreamError } from '../../upstream-errors.js';
import type { AnswerMeta, PartDecoder, PartEncoder, StreamObserver } from '../codec.js';
import { trailerMembers } from '../trailer.js';

/** A decoder of an upstream's `chat.completion.chunk` stream (the push-based twin of `readParts`). */
export function createChatDecoder(options: { provider?: string | undefined } = {}): PartDecoder {
  const { provider } = options;
  const parser = createSseParser();
  const reader = createChunkReader({ provider });
  let ended = false;

  function events(events: ReturnType<typeof parser.push>, out: StreamPart[]): void {
    for (const event of events) {
      if (self.finished) return;
      const data = event.data;
      if (data === '[DONE]') {
        self.finished = true;
        return;
      }
      if (data === '') continue;
      let chunk: unknown;
      let parsed = true;
      try {
        chunk = JSON.parse(data);
      } catch {
        parsed = false;
      }
      if (event.event === 'error' && !(parsed && typeof chunk === 'object' && chunk !== null && 'error' in chunk)) {
        self.finished = true;
        out.push({ type: 'error', error: normalizeUpstreamError({ status: 500, body: data, provider }) });
        return;
      }
      if (!parsed) {
        self.finished = true;
        out.push({ type: 'error', error: invalidFrameError(provider) });
        return;
      }
      for (const part of reader.read(chunk)) out.push(part);
      if (reader.state.error !== undefined) self.finished = true;
    }
  }

  function push(chunk: Uint8Array): StreamPart[] {
    const out: StreamPart[] = [];
    if (!self.finished) events(parser.push(chunk), out);
    return out;
  }

  function end(): StreamPart[] {
    const out: StreamPart[] = [];
    if (ended) return out;
    ended = true;
    if (!self.finished) events(parser.end(), out);
    if (!self.finished && reader.state.finishReason === undefined) out.push({ type: 'error', error: streamEndedEarlyError(provider) });
    self.finished = true;
    return out;
  }

  // `finished` as a data property ([DONE], or an error part): an object literal with a getter costs about a microsecond.
  const self: { push: PartDecoder['push']; end: PartDecoder['end']; finished: boolean } = { push, end, finished: false };
  return self;
}

/** OpenAI's `usage` object for a Usage. */
export function chatUsage(usage: Usage): Record<string, unknown> {
  const out: Record<string, unknown> = { prompt_tokens: usage.input_tokens, completion_tokens: usage.output_tokens, total_tokens: usage.total_tokens };
  if (usage.cached_tokens !== undefined) out.prompt_tokens_details = { cached_tokens: usage.cached_tokens };
  if (usage.reasoning_tokens !== undefined) out.completion_tokens_details = { reasoning_tokens: usage.reasoning_tokens };
  return out;
}

/** Chat Completions' finish reason for a part's (which already speaks Chat Completions' words). */
export function chatFinishReason(reason: string | undefined): string {
  return reason === undefined || reason === 'error' || reason === 'unavailable' ? 'stop' : reason;
}

/**
 * An encoder of parts as `chat.completion.chunk` frames: a role chunk first, then one frame per delta, the finish
 * chunk, a usage chunk (`choices: []`) when the caller asked for usage, and `[DONE]`. `continued`: the role chunk
 * already went out (the encoder takes over a stream forwarded as bytes).
 */
export function createChatEncoder(meta: AnswerMeta, options: { includeUsage?: boolean; continued?: boolean } = {}): PartEncoder {
  const head = `{"id":${JSON.stringify(meta.id)},"object":"chat.completion.chunk","created":${meta.created},"model":${JSON.stringify(meta.model)},"choices":`;
  let started = options.continued === true;
  let usage: Usage | undefined;
  // Members the last frame carries (annotate): the usage chunk when one is asked for, else the finish chunk.
  let trailer = '';
  const tools = new Set<number>();
  const frame = (choice: string, extra = '') => `data: ${head}[${choice}]${extra}}\n\n`;
  const delta = (body: string) => {
    const first = started ? '' : frame('{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}');
    started = true;
    return `${first}${frame(`{"index":0,"delta":${body},"finish_reason":null}`)}`;
  };
  return {
    open() {
      if (started) return '';
      started = true;
      return frame('{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}');
    },
    encode(part) {
      switch (part.type) {
        case 'text':
          return delta(`{"content":${JSON.stringify(part.text)}}`);
        case 'reasoning':
          return delta(`{"reasoning_content":${JSON.stringify(part.text)}}`);
        case 'tool-call-delta': {
          const call: Record<string, unknown> = { index: part.index };
          const fn: Record<string, unknown> = {};
          if (!tools.has(part.index)) {
            tools.add(part.index);
            call.id = part.id ?? `call_${part.index}`;
            call.type = 'function';
            fn.name = part.name ?? '';
          }
          fn.arguments = part.arguments;
          call.function = fn;
          return delta(JSON.stringify({ tool_calls: [call] }));
        }
        case 'finish': {
          const first = started ? '' : frame('{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}');
          started = true;
          let extra = '';
          if (!options.includeUsage) {
            extra = trailer;
            trailer = '';
          }
          return `${first}${frame(`{"index":0,"delta":{},"finish_reason":${JSON.stringify(chatFinishReason(part.reason))}}`, extra)}`;
        }
        case 'usage':
          usage = part.usage;
          return '';
        default:
          // Signatures and redacted reasoning have no place in Chat Completions.
          return '';
      }
    },
    end() {
      let last = '';
      if (options.includeUsage && (usage || trailer !== '')) {
        last = `data: {"id":${JSON.stringify(meta.id)},"object":"chat.completion.chunk","created":${meta.created},"model":${JSON.stringify(meta.model)},"choices":[]${usage ? `,"usage":${JSON.stringify(chatUsage(usage))}` : ''}${trailer}}\n\n`;
      } else if (trailer !== '') {
        // No finish chunk carried it: a frame of its own, still the last before [DONE].
        last = frame('{"index":0,"delta":{},"finish_reason":null}', trailer);
      }
      trailer = '';
      return `${last}${DONE_FRAME}`;
    },
    error(error: SwitchyardError) {
      return encodeOpenAIErrorFrame(error);
    },
    annotate(fields) {
      trailer = trailerMembers(fields);
    },
  };
}

/** The byte-level observer of a forwarded Chat Completions stream, as a StreamObserver. */
class ChatObserver extends ByteObserver implements StreamObserver {
  get errorForwarded(): boolean {
    return this.errorFrameSeen;
  }

  closingFrames(): string {
    return this.sawDone ? '' : DONE_FRAME;
  }
}

/** Creates the byte-level observer of a forwarded Chat Completions stream. */
export function createChatObserver(options: { provider?: string | undefined } = {}): StreamObserver {
  return new ChatObserver(options.provider);
}
