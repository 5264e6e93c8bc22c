/**
 * Responses streams: upstream `response.*` events → parts, and parts → the Responses event sequence for a client
 * (`response.created` … `response.completed`, every event numbered by `sequence_number` from 0).
 */
import type { SwitchyardError } from '../../errors.js';
import { toUsage } from '../../stream/chunk-parts.js';
import type { FinishReason, StreamPart, Usage } from '../../stream/parts.js';
import { normalizeUpstreamError } from '../../upstream-errors.js';
import { createEventDecoder } from '../event-decoder.js';
import type { AnswerMeta, JsonObject, PartDecoder, PartEncoder } from '../codec.js';
import { isRecord } from '../validation.js';
import { responsesErrorBody, responsesErrorEvent } from './errors.js';
import { trailerMembers } from '../trailer.js';

type Json = Record<string, unknown>;

/** The finish reason (Chat Completions' words) for a response's `incomplete_details.reason`. */
export function finishFromIncomplete(details: unknown): FinishReason {
  return isRecord(details) && details.reason === 'content_filter' ? 'content_filter' : 'length';
}

/**
 * A response's usage as Usage. An all-zero usage is no usage: OpenAI reported zeros on `response.incomplete` for
 * tokens it had streamed (2025-07), and zero is a worse guess than unknown.
 */
export function usageFromResponses(raw: unknown): Usage | undefined {
  const usage = toUsage(raw);
  if (usage === undefined || (usage.input_tokens === 0 && usage.output_tokens === 0 && usage.total_tokens === 0)) return undefined;
  return usage;
}

/** The Responses `usage` object for a Usage (zeros when none was reported: clients require the object). */
export function responsesUsage(usage: Usage | undefined): Json {
  const input: Json = { cached_tokens: usage?.cached_tokens ?? 0 };
  if (usage?.cache_write_tokens !== undefined) input.cache_write_tokens = usage.cache_write_tokens;
  return {
    input_tokens: usage?.input_tokens ?? 0,
    input_tokens_details: input,
    output_tokens: usage?.output_tokens ?? 0,
    output_tokens_details: { reasoning_tokens: usage?.reasoning_tokens ?? 0 },
    total_tokens: usage?.total_tokens ?? 0,
  };
}

/** The HTTP status to read an in-stream Responses error as: from its code where the code says, else 500. */
export function errorStatus(code: unknown): number {
  switch (code) {
    case 'insufficient_quota':
    case 'rate_limit_exceeded':
      return 429;
    case 'invalid_api_key':
      return 401;
    case 'model_not_found':
      return 404;
    case 'invalid_prompt':
    case 'invalid_request_error':
      return 400;
    default:
      return 500;
  }
}

interface CallState {
  index: number;
  /** Argument text already turned into parts. */
  arguments: string;
}

interface ReasoningState {
  text: boolean;
  encrypted: string | undefined;
}

/** What {@link createResponsesEventReader} returns: `read`, and what the events said so far. */
export interface ResponsesEventReader {
  /** Reads one event's data, pushing its parts onto `out`. */
  read(data: Json, out: StreamPart[]): void;
  /** A terminal event or an error came. */
  done: boolean;
  /** An in-stream error or a failed response. */
  error: SwitchyardError | undefined;
  /** The first model the stream names. */
  model: string | undefined;
  /** How the response finished. */
  finish: FinishReason | undefined;
  /** The usage of the terminal event. */
  usage: Usage | undefined;
}

/**
 * Reads Responses events into parts. Function calls are numbered in the order their items start; a reasoning item's
 * `encrypted_content` (final in `output_item.done`) is the signature of its text, or redacted reasoning without one.
 */
export function createResponsesEventReader(options: { provider?: string | undefined } = {}): ResponsesEventReader {
  const { provider } = options;
  const calls = new Map<string, CallState>();
  const reasoning = new Map<string, ReasoningState>();
  const textSeen = new Set<string>();
  let tools = 0;
  // What the reader has learnt, as plain data properties the closures below keep up to date: an object literal with
  // getters would cost about a microsecond per stream to create.
  const self: ResponsesEventReader = { read, done: false, error: undefined, model: undefined, finish: undefined, usage: undefined };

  /** Items are told apart by id, or by output_index where a server sends no id. */
  const keyOf = (data: Json, item?: Json): string => {
    const id = item ? item.id : data.item_id;
    return typeof id === 'string' && id !== '' ? id : `#${String(data.output_index)}`;
  };

  function fail(status: number, body: Json, out: StreamPart[]): void {
    const error = (self.error ??= normalizeUpstreamError({ status, body: JSON.stringify(body), provider }));
    self.done = true;
    out.push({ type: 'error', error });
  }

  function noteModel(response: unknown): void {
    if (isRecord(response) && typeof response.model === 'string' && response.model !== '') self.model ??= response.model;
  }

  function argumentsDelta(call: CallState, text: string, out: StreamPart[]): void {
    if (text === '') return;
    call.arguments += text;
    out.push({ type: 'tool-call-delta', index: call.index, arguments: text });
  }

  /** The arguments a call's `done` events carry, where no delta sent them. */
  function completeArguments(call: CallState, full: unknown, out: StreamPart[]): void {
    if (typeof full !== 'string' || full === call.arguments) return;
    if (full.startsWith(call.arguments)) argumentsDelta(call, full.slice(call.arguments.length), out);
  }

  function itemAdded(data: Json, out: StreamPart[]): void {
    const item = isRecord(data.item) ? data.item : {};
    const key = keyOf(data, item);
    if (item.type === 'function_call') {
      const call: CallState = { index: tools++, arguments: '' };
      calls.set(key, call);
      const id = typeof item.call_id === 'string' && item.call_id !== '' ? item.call_id : typeof item.id === 'string' ? item.id : `call_${call.index}`;
      out.push({ type: 'tool-call-delta', index: call.index, id, name: typeof item.name === 'string' ? item.name : '', arguments: '' });
      if (typeof item.arguments === 'string') argumentsDelta(call, item.arguments, out);
    } else if (item.type === 'reasoning') {
      reasoning.set(key, { text: false, encrypted: typeof item.encrypted_content === 'string' ? item.encrypted_content : undefined });
    }
  }

  function itemDone(data: Json, out: StreamPart[]): void {
    const item = isRecord(data.item) ? data.item : {};
    const key = keyOf(data, item);
    if (item.type === 'function_call') {
      const call = calls.get(key);
      if (call) completeArguments(call, item.arguments, out);
      else {
        // A call seen only whole.
        itemAdded(data, out);
      }
    } else if (item.type === 'reasoning') {
      const state = reasoning.get(key) ?? { text: false, encrypted: undefined };
      if (!state.text) {
        const summary = Array.isArray(item.summary) ? item.summary : [];
        const content = Array.isArray(item.content) ? item.content : [];
        const text = [...summary, ...(summary.length > 0 ? [] : content)]
          .filter((part): part is Json => isRecord(part) && typeof part.text === 'string')
          .map((part) => part.text as string)
          .join('\n\n');
        if (text !== '') {
          state.text = true;
          out.push({ type: 'reasoning', text });
        }
      }
      const encrypted = typeof item.encrypted_content === 'string' && item.encrypted_content !== '' ? item.encrypted_content : state.encrypted;
      if (encrypted) out.push(state.text ? { type: 'reasoning-signature', signature: encrypted } : { type: 'reasoning-redacted', data: encrypted });
    } else if (item.type === 'message' && !textSeen.has(key)) {
      // A message seen only whole.
      for (const part of Array.isArray(item.content) ? item.content : []) {
        if (isRecord(part) && part.type === 'output_text' && typeof part.text === 'string' && part.text !== '') out.push({ type: 'text', text: part.text });
        else if (isRecord(part) && part.type === 'refusal' && typeof part.refusal === 'string' && part.refusal !== '') out.push({ type: 'text', text: part.refusal });
      }
    }
  }

  function terminal(response: Json, reason: FinishReason, out: StreamPart[]): void {
    self.done = true;
    noteModel(response);
    self.finish = reason;
    const { model } = self;
    out.push(model === undefined ? { type: 'finish', reason } : { type: 'finish', reason, model });
    const usage = (self.usage = usageFromResponses(response.usage));
    if (usage) out.push({ type: 'usage', usage });
  }

  function read(data: Json, out: StreamPart[]): void {
    if (self.done) return;
    switch (data.type) {
      case 'response.created':
      case 'response.in_progress':
        noteModel(data.response);
        return;
      case 'response.output_item.added':
        return itemAdded(data, out);
      case 'response.output_item.done':
        return itemDone(data, out);
      case 'response.output_text.delta':
      case 'response.refusal.delta':
        textSeen.add(keyOf(data));
        if (typeof data.delta === 'string' && data.delta !== '') out.push({ type: 'text', text: data.delta });
        return;
      case 'response.reasoning_summary_part.added': {
        const state = reasoning.get(keyOf(data));
        // Summary parts are paragraphs: the second and later start on a new one.
        if (state?.text && typeof data.summary_index === 'number' && data.summary_index > 0) out.push({ type: 'reasoning', text: '\n\n' });
        return;
      }
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta': {
        if (typeof data.delta !== 'string' || data.delta === '') return;
        const key = keyOf(data);
        const state = reasoning.get(key);
        if (state) state.text = true;
        else reasoning.set(key, { text: true, encrypted: undefined });
        out.push({ type: 'reasoning', text: data.delta });
        return;
      }
      case 'response.function_call_arguments.delta': {
        const call = calls.get(keyOf(data));
        if (call && typeof data.delta === 'string') argumentsDelta(call, data.delta, out);
        return;
      }
      case 'response.function_call_arguments.done': {
        const call = calls.get(keyOf(data));
        if (call) completeArguments(call, data.arguments, out);
        return;
      }
      case 'response.completed': {
        const response = isRecord(data.response) ? data.response : {};
        return terminal(response, tools > 0 ? 'tool_calls' : 'stop', out);
      }
      case 'response.incomplete': {
        const response = isRecord(data.response) ? data.response : {};
        return terminal(response, finishFromIncomplete(response.incomplete_details), out);
      }
      case 'response.failed': {
        const response = isRecord(data.response) ? data.response : {};
        noteModel(response);
        const failure = isRecord(response.error) ? response.error : { code: 'server_error', message: 'The response failed.' };
        return fail(errorStatus(failure.code), { error: failure }, out);
      }
      case 'error': {
        // Recorded with the error nested (2025-11); the SDK's types put code and message at the top.
        const failure = isRecord(data.error) ? data.error : { code: data.code, message: data.message, param: data.param, type: data.code };
        return fail(errorStatus(failure.code ?? failure.type), { error: failure }, out);
      }
      default:
        // content_part.*, *.done with text, queued, annotations, and events added later
        return;
    }
  }

  return self;
}

/** A decoder of an upstream's Responses stream. A body that ends before its terminal event ends with an error part. */
export function createResponsesDecoder(options: { provider?: string | undefined } = {}): PartDecoder {
  return createEventDecoder(createResponsesEventReader(options), options.provider);
}

// ---------------------------------------------------------------------------------------------------------------
// Parts → Responses events

/** One event frame: `event:` and `data:` lines, the JSON's `type` first and `sequence_number` second. */
function frame(type: string, sequence: number, rest: string): string {
  return `event: ${type}\ndata: {"type":"${type}","sequence_number":${sequence}${rest === '' ? '' : `,${rest}`}}\n\n`;
}

/** Which function tools of a request sit in a namespace (a call to one names its namespace). */
function namespacesOf(request: JsonObject | undefined): Map<string, string> {
  const out = new Map<string, string>();
  const tools = request?.tools;
  if (!Array.isArray(tools)) return out;
  for (const tool of tools) {
    if (!isRecord(tool) || tool.type !== 'namespace' || typeof tool.name !== 'string' || !Array.isArray(tool.tools)) continue;
    for (const inner of tool.tools) if (isRecord(inner) && typeof inner.name === 'string') out.set(inner.name, tool.name);
  }
  return out;
}

const ECHOED = ['instructions', 'max_output_tokens', 'parallel_tool_calls', 'reasoning', 'temperature', 'text', 'tool_choice', 'tools', 'top_p', 'user', 'metadata'] as const;

/** A Response object's fields that repeat the request (as a Responses server echoes them), with their defaults. */
export function echoedFields(request: JsonObject | undefined): Json {
  const defaults: Json = {
    instructions: null,
    max_output_tokens: null,
    parallel_tool_calls: true,
    reasoning: { effort: null, summary: null },
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: 'auto',
    tools: [],
    top_p: 1,
    user: null,
    metadata: {},
  };
  for (const key of ECHOED) {
    const value = request?.[key];
    if (value !== undefined && value !== null) defaults[key] = value;
  }
  return defaults;
}

/** The Response object around `output`, in the field order OpenAI writes it. */
export function responseObject(meta: AnswerMeta, status: string, output: Json[], extra: { error?: Json | null; incomplete?: Json | null; usage?: Json | null } = {}): Json {
  const echoed = echoedFields(meta.request);
  return {
    id: meta.id,
    object: 'response',
    created_at: meta.created,
    status,
    background: false,
    error: extra.error ?? null,
    incomplete_details: extra.incomplete ?? null,
    instructions: echoed.instructions,
    max_output_tokens: echoed.max_output_tokens,
    model: meta.model,
    output,
    parallel_tool_calls: echoed.parallel_tool_calls,
    previous_response_id: null,
    reasoning: echoed.reasoning,
    store: false,
    temperature: echoed.temperature,
    text: echoed.text,
    tool_choice: echoed.tool_choice,
    tools: echoed.tools,
    top_p: echoed.top_p,
    truncation: 'disabled',
    usage: extra.usage ?? null,
    user: echoed.user,
    metadata: echoed.metadata,
  };
}

/** The item ids of a translated answer: the response's own id with the item's kind and number. */
export function itemId(meta: AnswerMeta, kind: 'msg' | 'rs' | 'fc', index: number): string {
  const base = meta.id.startsWith('resp_') ? meta.id.slice(5) : meta.id;
  return `${kind}_${base}${index.toString(16).padStart(2, '0')}`;
}

/** An output item still open (a message or a reasoning summary being written). */
export interface OpenItem {
  kind: 'message' | 'reasoning';
  outputIndex: number;
  id: string;
  /** The text of its current part. */
  text: string;
  encrypted?: string;
  /** The current part's `content_index` (message) or `summary_index` (reasoning); 0 when absent. */
  part?: number;
  /** Parts finished before the current one, as their `done` events carried them. */
  earlier?: Json[];
}

/** Where a Responses stream forwarded as bytes stopped: what the encoder needs to go on with it. */
export interface ResponsesPosition {
  /** The next `sequence_number`. */
  sequence: number;
  /** The output items so far, by `output_index`, as their last event showed them. */
  output: Json[];
  open?: OpenItem | undefined;
  /** The Response object of `response.created`: the later events repeat it, with their status, output and usage. */
  response?: Json | undefined;
}

interface OpenCall {
  outputIndex: number;
  item: Json;
}

/**
 * An encoder of parts as Responses events. Text, reasoning and each tool call become output items (`added`, their
 * deltas, `done`); the stream ends with `response.completed`, or `response.incomplete` for a length or content-filter
 * stop, carrying the whole output and usage; a broken stream ends with an `error` event then `response.failed`.
 */
export function createResponsesEncoder(meta: AnswerMeta, options: { continued?: ResponsesPosition } = {}): PartEncoder {
  const { continued } = options;
  const namespaces = namespacesOf(meta.request);
  let sequence = continued?.sequence ?? 0;
  let started = continued !== undefined;
  let closed = false;
  const output: Json[] = continued ? [...continued.output] : [];
  let open: OpenItem | undefined = continued?.open;
  const calls = new Map<number, OpenCall>();
  let finish: FinishReason | undefined;
  let usage: Usage | undefined;
  let trailer = '';

  const next = (type: string, rest: string) => frame(type, sequence++, rest);
  const response = (status: string, extra: Parameters<typeof responseObject>[3] = {}) => {
    const base = continued?.response;
    // A stream taken over repeats its upstream's own Response object, with what changed since.
    if (base === undefined) return JSON.stringify(responseObject(meta, status, output, extra));
    return JSON.stringify({ ...base, status, error: extra.error ?? null, incomplete_details: extra.incomplete ?? null, output, usage: extra.usage ?? null });
  };

  function begin(): string {
    if (started) return '';
    started = true;
    const created = `"response":${response('in_progress')}`;
    return next('response.created', created) + next('response.in_progress', created);
  }

  function closeOpen(status = 'completed'): string {
    if (!open) return '';
    const item = open;
    open = undefined;
    const at = `"item_id":${JSON.stringify(item.id)},"output_index":${item.outputIndex}`;
    let out = '';
    let done: Json;
    const index = item.part ?? 0;
    const earlier = item.earlier ?? [];
    if (item.kind === 'message') {
      const part = { type: 'output_text', annotations: [], logprobs: [], text: item.text };
      out += next('response.output_text.done', `${at},"content_index":${index},"text":${JSON.stringify(item.text)},"logprobs":[]`);
      out += next('response.content_part.done', `${at},"content_index":${index},"part":${JSON.stringify(part)}`);
      done = { id: item.id, type: 'message', status, content: [...earlier, part], role: 'assistant' };
    } else {
      const part = { type: 'summary_text', text: item.text };
      out += next('response.reasoning_summary_text.done', `${at},"summary_index":${index},"text":${JSON.stringify(item.text)}`);
      out += next('response.reasoning_summary_part.done', `${at},"summary_index":${index},"part":${JSON.stringify(part)}`);
      done = { id: item.id, type: 'reasoning', summary: [...earlier, part], ...(item.encrypted !== undefined ? { encrypted_content: item.encrypted } : {}) };
    }
    output[item.outputIndex] = done;
    return out + next('response.output_item.done', `"output_index":${item.outputIndex},"item":${JSON.stringify(done)}`);
  }

  function closeCalls(status = 'completed'): string {
    let out = '';
    for (const call of calls.values()) {
      const item = call.item;
      const at = `"item_id":${JSON.stringify(item.id)},"output_index":${call.outputIndex}`;
      out += next('response.function_call_arguments.done', `${at},"arguments":${JSON.stringify(item.arguments)}`);
      const done = { ...item, status };
      output[call.outputIndex] = done;
      out += next('response.output_item.done', `"output_index":${call.outputIndex},"item":${JSON.stringify(done)}`);
    }
    calls.clear();
    return out;
  }

  function openItem(kind: OpenItem['kind']): string {
    let out = closeOpen() + closeCalls();
    const outputIndex = output.length;
    const id = itemId(meta, kind === 'message' ? 'msg' : 'rs', outputIndex);
    open = { kind, outputIndex, id, text: '' };
    const at = `"item_id":${JSON.stringify(id)},"output_index":${outputIndex}`;
    if (kind === 'message') {
      const added = { id, type: 'message', status: 'in_progress', content: [], role: 'assistant' };
      output.push(added);
      out += next('response.output_item.added', `"output_index":${outputIndex},"item":${JSON.stringify(added)}`);
      out += next('response.content_part.added', `${at},"content_index":0,"part":{"type":"output_text","annotations":[],"logprobs":[],"text":""}`);
    } else {
      const added = { id, type: 'reasoning', summary: [] };
      output.push(added);
      out += next('response.output_item.added', `"output_index":${outputIndex},"item":${JSON.stringify(added)}`);
      out += next('response.reasoning_summary_part.added', `${at},"summary_index":0,"part":{"type":"summary_text","text":""}`);
    }
    return out;
  }

  function reasoningItem(encrypted: string): string {
    // Redacted reasoning: an item with no summary, whole at once.
    let out = closeOpen() + closeCalls();
    const outputIndex = output.length;
    const item = { id: itemId(meta, 'rs', outputIndex), type: 'reasoning', summary: [], encrypted_content: encrypted };
    output.push(item);
    out += next('response.output_item.added', `"output_index":${outputIndex},"item":${JSON.stringify(item)}`);
    return out + next('response.output_item.done', `"output_index":${outputIndex},"item":${JSON.stringify(item)}`);
  }

  return {
    open() {
      return closed ? '' : begin();
    },
    encode(part) {
      if (closed) return '';
      let out = begin();
      switch (part.type) {
        case 'text': {
          if (open?.kind !== 'message') out += openItem('message');
          const item = open as OpenItem;
          item.text += part.text;
          return out + next('response.output_text.delta', `"item_id":${JSON.stringify(item.id)},"output_index":${item.outputIndex},"content_index":${item.part ?? 0},"delta":${JSON.stringify(part.text)},"logprobs":[]`);
        }
        case 'reasoning': {
          if (open?.kind !== 'reasoning' || open.encrypted !== undefined) out += openItem('reasoning');
          const item = open as OpenItem;
          item.text += part.text;
          return out + next('response.reasoning_summary_text.delta', `"item_id":${JSON.stringify(item.id)},"output_index":${item.outputIndex},"summary_index":${item.part ?? 0},"delta":${JSON.stringify(part.text)}`);
        }
        case 'reasoning-signature':
          // The signature that lets the reasoning go back later travels as the item's encrypted content.
          if (open?.kind === 'reasoning' && open.encrypted === undefined) {
            open.encrypted = part.signature;
            return out;
          }
          return out + reasoningItem(part.signature);
        case 'reasoning-redacted':
          return out + reasoningItem(part.data);
        case 'tool-call-delta': {
          let call = calls.get(part.index);
          if (!call) {
            out += closeOpen();
            const outputIndex = output.length;
            const name = part.name ?? '';
            const namespace = namespaces.get(name);
            const item: Json = {
              id: itemId(meta, 'fc', outputIndex),
              type: 'function_call',
              status: 'in_progress',
              arguments: '',
              call_id: part.id ?? `call_${part.index}`,
              name,
              ...(namespace !== undefined ? { namespace } : {}),
            };
            call = { outputIndex, item };
            calls.set(part.index, call);
            output.push({ ...item });
            out += next('response.output_item.added', `"output_index":${outputIndex},"item":${JSON.stringify(item)}`);
          }
          if (part.arguments === '') return out;
          call.item.arguments = `${call.item.arguments as string}${part.arguments}`;
          return out + next('response.function_call_arguments.delta', `"item_id":${JSON.stringify(call.item.id)},"output_index":${call.outputIndex},"delta":${JSON.stringify(part.arguments)}`);
        }
        case 'finish':
          finish ??= part.reason;
          return out;
        case 'usage':
          usage = part.usage;
          return out;
        case 'error':
          return out;
      }
    },
    end() {
      if (closed) return '';
      closed = true;
      const incomplete = finish === 'length' || finish === 'content_filter';
      const status = incomplete ? 'incomplete' : 'completed';
      let out = begin() + closeOpen(status) + closeCalls(status);
      const details = incomplete ? { reason: finish === 'length' ? 'max_output_tokens' : 'content_filter' } : null;
      const type = incomplete ? 'response.incomplete' : 'response.completed';
      out += next(type, `"response":${response(status, { incomplete: details, usage: responsesUsage(usage) })}${trailer}`);
      return out;
    },
    error(error: SwitchyardError) {
      if (closed) return '';
      closed = true;
      let out = begin() + closeOpen('incomplete') + closeCalls('incomplete');
      const body = responsesErrorBody(error);
      out += responsesErrorEvent(error, sequence++);
      out += next('response.failed', `"response":${response('failed', { error: { code: body.error.code, message: body.error.message } })}`);
      return out;
    },
    annotate(fields) {
      trailer = trailerMembers(fields);
    },
  };
}
