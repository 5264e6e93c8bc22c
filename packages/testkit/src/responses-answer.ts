import { argumentsOf, cacheTokens, responsesOutcome, signatureOf, type Answer, type AnswerToolCall } from './answer.js';
import type { TokenUsage } from './behavior.js';

/** What every event of one Responses answer shares, and the request it echoes settings from. */
export interface ResponsesIdentity {
  /** `resp_…`. */
  id: string;
  created: number;
  model: string;
  /** The request's number on the upstream, for item ids. */
  sequence: number;
  /** The request body, whose settings (`instructions`, `max_output_tokens`, `tools`, …) the response object repeats. */
  request: Record<string, unknown>;
}

type Item = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The usage of a response: input includes the cached tokens, output includes reasoning. */
export function responsesUsage(usage: TokenUsage): Record<string, unknown> {
  const { cached, written } = cacheTokens(usage);
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: cached, ...(written > 0 ? { cache_write_tokens: written } : {}) },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.completion_tokens_details?.reasoning_tokens ?? 0 },
    total_tokens: usage.total_tokens,
  };
}

interface ResponseState {
  status: 'in_progress' | 'completed' | 'incomplete' | 'failed';
  output: Item[];
  usage: TokenUsage | undefined;
  incompleteReason?: string;
  error?: { code: string; message: string };
}

const isString = (value: unknown): boolean => typeof value === 'string';
const isNumber = (value: unknown): boolean => typeof value === 'number';
const isBoolean = (value: unknown): boolean => typeof value === 'boolean';

/** The request's value when it has the right type, else OpenAI's default. */
function pick(value: unknown, test: (value: unknown) => boolean, fallback: unknown): unknown {
  return test(value) ? value : fallback;
}

/** The `response` object in OpenAI's mid-2025 key order, repeating the request's settings as OpenAI does. */
export function responseObject(identity: ResponsesIdentity, state: ResponseState): Record<string, unknown> {
  const request = identity.request;
  const reasoning = isRecord(request.reasoning) ? request.reasoning : {};
  return {
    id: identity.id,
    object: 'response',
    created_at: identity.created,
    status: state.status,
    background: false,
    error: state.error ?? null,
    incomplete_details: state.incompleteReason === undefined ? null : { reason: state.incompleteReason },
    instructions: pick(request.instructions, isString, null),
    max_output_tokens: pick(request.max_output_tokens, isNumber, null),
    max_tool_calls: null,
    model: identity.model,
    output: state.output,
    parallel_tool_calls: pick(request.parallel_tool_calls, isBoolean, true),
    previous_response_id: pick(request.previous_response_id, isString, null),
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    // OpenAI says `auto` while the response runs and the tier it used once it is done.
    service_tier: state.status === 'in_progress' ? 'auto' : 'default',
    store: pick(request.store, isBoolean, true),
    temperature: pick(request.temperature, isNumber, 1),
    text: pick(request.text, isRecord, { format: { type: 'text' } }),
    tool_choice: request.tool_choice ?? 'auto',
    tools: pick(request.tools, Array.isArray, []),
    top_logprobs: 0,
    top_p: pick(request.top_p, isNumber, 1),
    truncation: 'disabled',
    usage: state.usage === undefined ? null : responsesUsage(state.usage),
    user: pick(request.user, isString, null),
    metadata: pick(request.metadata, isRecord, {}),
  };
}

function wantsEncryptedReasoning(identity: ResponsesIdentity): boolean {
  const include = identity.request.include;
  return Array.isArray(include) && include.includes('reasoning.encrypted_content');
}

function reasoningId(identity: ResponsesIdentity): string {
  return `rs_testkit_${identity.sequence}`;
}

function messageId(identity: ResponsesIdentity): string {
  return `msg_testkit_${identity.sequence}`;
}

function functionCallIds(identity: ResponsesIdentity, position: number, call: AnswerToolCall): { id: string; call_id: string } {
  return { id: `fc_testkit_${identity.sequence}_${position}`, call_id: call.id ?? `call_testkit_${identity.sequence}_${position}` };
}

function outputText(text: string): Item {
  return { type: 'output_text', annotations: [], logprobs: [], text };
}

function messageItem(identity: ResponsesIdentity, status: string, text: string | undefined): Item {
  return { id: messageId(identity), type: 'message', status, content: text === undefined ? [] : [outputText(text)], role: 'assistant' };
}

function reasoningItem(identity: ResponsesIdentity, answer: Answer, summary: string | undefined): Item {
  return {
    id: reasoningId(identity),
    type: 'reasoning',
    ...(wantsEncryptedReasoning(identity) ? { encrypted_content: signatureOf(answer) } : {}),
    summary: summary === undefined ? [] : [{ type: 'summary_text', text: summary }],
  };
}

function functionCallItem(identity: ResponsesIdentity, position: number, call: AnswerToolCall, status: string, args: string): Item {
  const { id, call_id } = functionCallIds(identity, position, call);
  return { id, type: 'function_call', status, arguments: args, call_id, name: call.name };
}

/** Whether the answer has a message item: when it has text, or nothing else to say. */
function hasMessage(answer: Answer): boolean {
  return answer.content.length > 0 || (answer.reasoning.length === 0 && answer.toolCalls.length === 0);
}

/** Writes the events of one streamed response, numbering them from 0 and keeping the output for the terminal event. */
export class ResponsesStream {
  #sequence = 0;
  readonly #output: Item[] = [];
  #messageIndex = -1;
  #text = '';

  constructor(readonly identity: ResponsesIdentity) {}

  /** One event: `event:` line, then JSON with `type` and `sequence_number` first. */
  event(type: string, fields: Record<string, unknown> = {}): string {
    const data = { type, sequence_number: this.#sequence, ...fields };
    this.#sequence += 1;
    return `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  /** `response.created` and `response.in_progress`. */
  opening(): string[] {
    const response = responseObject(this.identity, { status: 'in_progress', output: [], usage: undefined });
    return [this.event('response.created', { response }), this.event('response.in_progress', { response })];
  }

  #added(item: Item): string {
    this.#output.push(item);
    return this.event('response.output_item.added', { output_index: this.#output.length - 1, item });
  }

  #done(index: number, item: Item): string {
    this.#output[index] = item;
    return this.event('response.output_item.done', { output_index: index, item });
  }

  /** The reasoning item: one summary part, its text deltas, then the done events. */
  reasoning(answer: Answer): string[] {
    const index = this.#output.length;
    const item_id = reasoningId(this.identity);
    const text = answer.reasoning.join('');
    const at = { item_id, output_index: index, summary_index: 0 };
    return [
      this.#added(reasoningItem(this.identity, answer, undefined)),
      this.event('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } }),
      ...answer.reasoning.map((delta) => this.event('response.reasoning_summary_text.delta', { ...at, delta })),
      this.event('response.reasoning_summary_text.done', { ...at, text }),
      this.event('response.reasoning_summary_part.done', { ...at, part: { type: 'summary_text', text } }),
      this.#done(index, reasoningItem(this.identity, answer, text)),
    ];
  }

  /** Opens the message item and its output_text part. */
  messageOpening(): string[] {
    this.#messageIndex = this.#output.length;
    this.#text = '';
    return [
      this.#added(messageItem(this.identity, 'in_progress', undefined)),
      this.event('response.content_part.added', { item_id: messageId(this.identity), output_index: this.#messageIndex, content_index: 0, part: outputText('') }),
    ];
  }

  /** One `response.output_text.delta` of the open message. */
  textDelta(delta: string): string {
    this.#text += delta;
    return this.event('response.output_text.delta', { item_id: messageId(this.identity), output_index: this.#messageIndex, content_index: 0, delta, logprobs: [] });
  }

  /** Closes the open message: text done, part done, item done with `status`. */
  messageClosing(status: 'completed' | 'incomplete'): string[] {
    const at = { item_id: messageId(this.identity), output_index: this.#messageIndex, content_index: 0 };
    return [
      this.event('response.output_text.done', { ...at, text: this.#text, logprobs: [] }),
      this.event('response.content_part.done', { ...at, part: outputText(this.#text) }),
      this.#done(this.#messageIndex, messageItem(this.identity, status, this.#text)),
    ];
  }

  /** A function_call item: added with `arguments: ""`, the argument deltas, `.done`, item done. */
  functionCall(call: AnswerToolCall, position: number): string[] {
    const index = this.#output.length;
    const args = argumentsOf(call);
    const at = { item_id: functionCallIds(this.identity, position, call).id, output_index: index };
    return [
      this.#added(functionCallItem(this.identity, position, call, 'in_progress', '')),
      ...call.fragments.map((delta) => this.event('response.function_call_arguments.delta', { ...at, delta })),
      this.event('response.function_call_arguments.done', { ...at, arguments: args }),
      this.#done(index, functionCallItem(this.identity, position, call, 'completed', args)),
    ];
  }

  /** The terminal event: `response.completed`, or `response.incomplete` with its reason. */
  terminal(answer: Answer, usage: TokenUsage): string {
    const outcome = responsesOutcome(answer.finishReason);
    if (outcome.status === 'completed') {
      return this.event('response.completed', { response: responseObject(this.identity, { status: 'completed', output: this.#output, usage }) });
    }
    const response = responseObject(this.identity, { status: 'incomplete', output: this.#output, usage, incompleteReason: outcome.reason });
    return this.event('response.incomplete', { response });
  }

  /** After a break: an `error` event, then `response.failed` whose output holds what was sent, marked incomplete. */
  failed(type: string, message: string): string[] {
    if (this.#messageIndex >= 0) this.#output[this.#messageIndex] = messageItem(this.identity, 'incomplete', this.#text);
    const error = this.event('error', { error: { type, code: type, message, param: null } });
    const response = responseObject(this.identity, { status: 'failed', output: this.#output, usage: undefined, error: { code: type, message } });
    return [error, this.event('response.failed', { response })];
  }
}

/** Every event of a streamed response: reasoning item, message item, function calls, then the terminal event. */
export function responsesFrames(answer: Answer, identity: ResponsesIdentity, usage: TokenUsage): string[] {
  const stream = new ResponsesStream(identity);
  const frames = stream.opening();
  if (answer.reasoning.length > 0) frames.push(...stream.reasoning(answer));
  if (hasMessage(answer)) {
    frames.push(...stream.messageOpening());
    for (const delta of answer.content) frames.push(stream.textDelta(delta));
    frames.push(...stream.messageClosing(responsesOutcome(answer.finishReason).status));
  }
  answer.toolCalls.forEach((call, position) => frames.push(...stream.functionCall(call, position)));
  frames.push(stream.terminal(answer, usage));
  return frames;
}

/** The answer as a non-streamed `response` object. */
export function responseBody(answer: Answer, identity: ResponsesIdentity, usage: TokenUsage): Record<string, unknown> {
  const outcome = responsesOutcome(answer.finishReason);
  const output: Item[] = [];
  if (answer.reasoning.length > 0) output.push(reasoningItem(identity, answer, answer.reasoning.join('')));
  if (hasMessage(answer)) output.push(messageItem(identity, outcome.status, answer.content.join('')));
  answer.toolCalls.forEach((call, position) => output.push(functionCallItem(identity, position, call, 'completed', argumentsOf(call))));
  return responseObject(identity, {
    status: outcome.status,
    output,
    usage,
    ...(outcome.status === 'incomplete' ? { incompleteReason: outcome.reason } : {}),
  });
}
