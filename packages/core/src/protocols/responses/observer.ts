/**
 * Watches a Responses stream forwarded to the client as bytes (`/v1/responses` passthrough). Only the terminal events
 * (`response.completed`, `response.incomplete`, `response.failed`) and `error` are decoded; every other frame is
 * skipped by its `event:` line, read as latin1 (one char per byte) so nothing else is decoded. Frames are counted,
 * so an error added after a break continues the stream's `sequence_number`s.
 */
import type { SwitchyardError } from '../../errors.js';
import type { FinishReason, Usage } from '../../stream/parts.js';
import { createSseParser, type SseEvent, type SseParser } from '../../stream/sse-parser.js';
import { invalidFrameError, streamEndedEarlyError } from '../../stream/stream-errors.js';
import { normalizeUpstreamError } from '../../upstream-errors.js';
import type { StreamObserver } from '../codec.js';
import { lastUsageObject } from '../../stream/chunk-parts.js';
import { isRecord } from '../validation.js';
import { responsesErrorEvent } from './errors.js';
import { errorStatus, finishFromIncomplete, usageFromResponses } from './stream.js';

const WATCHED = new Set(['response.created', 'response.completed', 'response.incomplete', 'response.failed', 'error']);
/** A frame without an `event:` line is read only when its data says one of the watched types (a quote inside a string is escaped, so only a key matches). */
const WATCHED_DATA = /"type"\s*:\s*"(response\.(?:created|completed|incomplete|failed)|error)"/;

/** The data of a `response.completed` event (its type is always the first key). */
const COMPLETED = /^\s*\{\s*"type"\s*:\s*"response\.completed"/;
/** An output item that is a function call (a quote inside a string is escaped, so only a key and its value match). */
const FUNCTION_CALL_ITEM = /"type"\s*:\s*"function_call"/;
/** The response's model: its first `model` key, an unescaped string. */
const MODEL_VALUE = /"model"\s*:\s*"([^"\\]+)"/;

/** A Responses passthrough observer; `errorFrames` ends a broken stream with `error` then `response.failed`. */
export interface ResponsesObserver extends StreamObserver {
  errorFrames(error: SwitchyardError): string;
}

/** What a Responses observer has learnt; shared by its closures and its view. */
class ObserverState {
  model: string | undefined = undefined;
  usage: Usage | undefined = undefined;
  finish: FinishReason | undefined = undefined;
  terminal = false;
  /** response.failed went by. */
  failed = false;
  upstreamError: SwitchyardError | undefined = undefined;
  failure: SwitchyardError | undefined = undefined;
}

/** The observer's face: a class, since one is made per stream and an object literal with getters costs about a microsecond. */
class ResponsesObserverView implements ResponsesObserver {
  constructor(
    private readonly st: ObserverState,
    readonly push: (chunk: Uint8Array) => void,
    readonly end: () => void,
    readonly errorFrames: (error: SwitchyardError) => string,
  ) {}

  get usage(): Usage | undefined {
    return this.st.usage;
  }

  get finishReason(): FinishReason | undefined {
    return this.st.finish;
  }

  get model(): string | undefined {
    return this.st.model;
  }

  get error(): SwitchyardError | undefined {
    return this.st.upstreamError ?? this.st.failure;
  }

  get errorForwarded(): boolean {
    return this.st.failed;
  }

  get complete(): boolean {
    const { st } = this;
    return st.terminal && !st.failed && st.upstreamError === undefined && st.failure === undefined;
  }

  closingFrames(): string {
    return '';
  }
}

/** Creates an observer for a forwarded Responses stream. */
export function createResponsesObserver(options: { provider?: string | undefined } = {}): ResponsesObserver {
  const { provider } = options;
  let pending = '';
  let slow: SseParser | undefined;
  let ended = false;
  let events = 0;
  let created: { data: string; latin1: boolean } | undefined; // response.created, decoded only if an error needs the response's id
  let errorEvent = false; // an `error` event went by
  const st = new ObserverState();

  /**
   * `response.completed` read without parsing it whole: it repeats the entire answer and the request's settings, and
   * parsing it cost more than all the rest of a passthrough stream. Only its model, whether an output item is a
   * function call, and its usage object (parsed alone) are read. False when the data does not start as expected.
   */
  function skimCompleted(data: string): boolean {
    if (!COMPLETED.test(data)) return false;
    const model = MODEL_VALUE.exec(data)?.[1];
    if (model !== undefined) st.model = model;
    st.finish = FUNCTION_CALL_ITEM.test(data) ? 'tool_calls' : 'stop';
    st.usage = usageFromResponses(lastUsageObject(data));
    st.terminal = true;
    return true;
  }

  function onEvent(name: string, data: string): void {
    if (name === 'response.completed' && skimCompleted(data)) return;
    let json: unknown;
    try {
      json = JSON.parse(data);
    } catch {
      st.failure ??= invalidFrameError(provider);
      return;
    }
    if (!isRecord(json)) return;
    const response = isRecord(json.response) ? json.response : {};
    if (typeof response.model === 'string' && response.model !== '') st.model = response.model;
    switch (json.type) {
      case 'response.completed': {
        const output = Array.isArray(response.output) ? response.output : [];
        st.finish = output.some((item) => isRecord(item) && item.type === 'function_call') ? 'tool_calls' : 'stop';
        st.usage = usageFromResponses(response.usage);
        st.terminal = true;
        return;
      }
      case 'response.incomplete':
        st.finish = finishFromIncomplete(response.incomplete_details);
        st.usage = usageFromResponses(response.usage);
        st.terminal = true;
        return;
      case 'response.failed': {
        st.failed = true;
        st.terminal = true;
        const error = isRecord(response.error) ? response.error : { code: 'server_error', message: 'The response failed.' };
        st.upstreamError ??= normalizeUpstreamError({ status: errorStatus(error.code), body: JSON.stringify({ error }), provider });
        return;
      }
      case 'error': {
        errorEvent = true;
        const error = isRecord(json.error) ? json.error : { code: json.code, message: json.message, param: json.param };
        st.upstreamError ??= normalizeUpstreamError({ status: errorStatus(error.code), body: JSON.stringify({ error }), provider });
        return;
      }
      default:
        return;
    }
  }

  /** One frame of the latin1 text in [start, end): an `event:` line then a `data:` line, or a `data:` line alone. */
  function onFrame(text: string, start: number, end: number): boolean {
    if (text.charCodeAt(start) === 58) return true; // a comment
    events++;
    let dataStart = start;
    let name: string | undefined;
    if (text.startsWith('event:', start)) {
      const lineEnd = text.indexOf('\n', start);
      if (lineEnd === -1 || lineEnd >= end) return false;
      let from = start + 6;
      if (text.charCodeAt(from) === 32) from++;
      name = text.slice(from, lineEnd);
      if (!WATCHED.has(name)) return true;
      dataStart = lineEnd + 1;
    } else if (!text.startsWith('data:', start)) return false;
    const newline = text.indexOf('\n', dataStart);
    if (!text.startsWith('data:', dataStart) || (newline !== -1 && newline < end)) return false;
    let from = dataStart + 5;
    if (text.charCodeAt(from) === 32) from++;
    const data = text.slice(from, end);
    name ??= WATCHED_DATA.exec(data)?.[1];
    if (name === undefined) return true;
    if (name === 'response.created') created ??= { data, latin1: true };
    else onEvent(name, Buffer.from(data, 'latin1').toString('utf8'));
    return true;
  }

  function feed(list: SseEvent[]): void {
    for (const event of list) {
      if (st.terminal) return;
      events++;
      if (event.event !== undefined && !WATCHED.has(event.event)) continue;
      const name = event.event ?? WATCHED_DATA.exec(event.data)?.[1];
      if (name === 'response.created') created ??= { data: event.data, latin1: false };
      else if (name !== undefined && event.data !== '') onEvent(name, event.data);
    }
  }

  function switchToSlow(rest: string, atEnd: boolean): void {
    slow = createSseParser();
    feed(slow.push(Buffer.from(rest, 'latin1')));
    if (atEnd) feed(slow.end());
  }

  function onChunk(chunk: Buffer): void {
    if (slow) return feed(slow.push(chunk));
    const text = pending + chunk.toString('latin1');
    pending = '';
    if (text.includes('\r')) return switchToSlow(text, false);
    let pos = 0;
    for (;;) {
      while (pos < text.length && text.charCodeAt(pos) === 10) pos++;
      const end = text.indexOf('\n\n', pos);
      if (end === -1) break;
      if (!onFrame(text, pos, end)) return switchToSlow(text.slice(pos), false);
      pos = end + 2;
      if (st.terminal) return;
    }
    if (pos < text.length) pending = text.slice(pos);
  }

  const finished = () => st.terminal || st.failure !== undefined;

  /** The response of `response.created`, for the `response.failed` Switchyard adds. */
  function createdResponse(): Record<string, unknown> {
    try {
      const json: unknown = created === undefined ? undefined : JSON.parse(created.latin1 ? Buffer.from(created.data, 'latin1').toString('utf8') : created.data);
      if (isRecord(json) && isRecord(json.response)) return json.response;
    } catch {
      // An unreadable created event: the failed event says what it can without it.
    }
    return { id: `resp_${globalThis.crypto.randomUUID().replaceAll('-', '')}`, object: 'response', model: st.model ?? null, output: [] };
  }

  function push(chunk: Uint8Array): void {
    if (ended || finished() || chunk.byteLength === 0) return;
    onChunk(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }

  function end(): void {
    if (ended) return;
    ended = true;
    if (!finished()) {
      if (slow) feed(slow.end());
      else if (pending.trim() !== '') switchToSlow(`${pending}\n\n`, true);
    }
    pending = '';
    if (!st.terminal && st.failure === undefined && st.upstreamError === undefined) st.failure = streamEndedEarlyError(provider);
  }

  function errorFrames(error: SwitchyardError): string {
    const response = createdResponse();
    const body = { ...response, status: 'failed', error: { code: error.code, message: error.message }, usage: null };
    const event = errorEvent ? '' : responsesErrorEvent(error, events++);
    return `${event}event: response.failed\ndata: {"type":"response.failed","sequence_number":${events++},"response":${JSON.stringify(body)}}\n\n`;
  }

  return new ResponsesObserverView(st, push, end, errorFrames);
}
