import { describe, expect, it } from 'vitest';
import { readFixture } from '@switchyard/testkit';
import { SwitchyardError } from '../../errors.js';
import type { StreamPart } from '../../stream/parts.js';
import { fixtureBytes, streamFixtureNames } from '../../stream/test-support.js';
import { type Answer, answerParts, createAnswerCollector } from '../answer.js';
import { createChatDecoder, createChatEncoder, decodeChatRequest, encodeChatRequest } from '../chat/index.js';
import type { AnswerMeta, PartDecoder, TranslationTarget } from '../codec.js';
import { createMessagesDecoder, createMessagesEncoder, decodeMessagesRequest, encodeMessagesRequest } from '../messages/index.js';
import { responsesCodec } from './index.js';
import { createResponsesObserver } from './observer.js';
import { decodeResponsesRequest, encodeResponsesRequest } from './request.js';
import { createResponsesDecoder, createResponsesEncoder } from './stream.js';

/** A recorded Responses file's exact bytes (the testkit's copies of real traffic). */
const recorded = (name: string) => Buffer.from(readFixture(name), 'utf8');
const RESPONSES_STREAMS = [
  'openai-responses-text-cached',
  'openai-responses-reasoning-summary',
  'openai-responses-reasoning-encrypted-function-call',
  'openai-responses-function-call',
  'openai-responses-incomplete',
  'openai-responses-error-event',
  'openai-responses-deepseek-v4-flash-reasoning',
] as const;

const toChat: TranslationTarget = { wire: 'chat', provider: 'openai', model: 'gpt-4o' };
const toAnthropic: TranslationTarget = { wire: 'messages', provider: 'anthropic', model: 'claude-sonnet-4-5' };
const toResponses: TranslationTarget = { wire: 'responses', provider: 'openai', model: 'gpt-5' };
const meta: AnswerMeta = { id: 'resp_0123456789abcdef0123456789abcdef', model: 'gpt-5', created: 1_700_000_000 };

function decodeAll(decoder: PartDecoder, bytes: Buffer, split: number): StreamPart[] {
  const out: StreamPart[] = [];
  for (let at = 0; at < bytes.length && !decoder.finished; at += split) out.push(...decoder.push(bytes.subarray(at, at + split)));
  out.push(...decoder.end());
  return out;
}

function collect(parts: StreamPart[]): Answer {
  const collector = createAnswerCollector();
  for (const part of parts) collector.push(part);
  return collector.answer;
}

/** What must survive a translation: text, reasoning, tool calls with their joined arguments, the stop, usage. */
function essence(answer: Answer) {
  return {
    text: answer.blocks.filter((block) => block.type === 'text').map((block) => block.text).join(''),
    reasoning: answer.blocks.filter((block) => block.type === 'reasoning').map((block) => block.text).join(''),
    calls: answer.blocks.filter((block) => block.type === 'tool-call').map((block) => ({ id: block.id, name: block.name, arguments: block.arguments })),
    finish: answer.finishReason,
    usage: answer.usage,
    error: answer.error?.code,
  };
}

/** Parts → a wire's stream through its encoder, and back through its decoder. */
function throughWire(parts: StreamPart[], wire: 'chat' | 'messages' | 'responses', split = 17): StreamPart[] {
  const encoder = wire === 'chat' ? createChatEncoder({ ...meta, id: 'chatcmpl-1' }, { includeUsage: true }) : wire === 'messages' ? createMessagesEncoder({ ...meta, id: 'msg_1' }) : createResponsesEncoder(meta);
  let text = '';
  let failure: SwitchyardError | undefined;
  for (const part of parts) {
    if (part.type === 'error') {
      failure = part.error;
      break;
    }
    text += encoder.encode(part);
  }
  text += failure ? encoder.error(failure) : encoder.end();
  const decoder = wire === 'chat' ? createChatDecoder({ provider: 'x' }) : wire === 'messages' ? createMessagesDecoder({ provider: 'x' }) : createResponsesDecoder({ provider: 'x' });
  return decodeAll(decoder, Buffer.from(text), split);
}

/** The `event:`/`data:` frames of a Responses stream. */
function events(text: string): Array<Record<string, any>> {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('event: '))
    .map((frame) => {
      const [eventLine, dataLine] = frame.split('\n') as [string, string];
      const data = JSON.parse(dataLine.slice(6)) as Record<string, any>;
      expect(data.type).toBe(eventLine.slice(7));
      return data;
    });
}

describe('recorded Responses streams → parts', () => {
  it.each([1, 3, 64, 100_000])('reads every kind of event, split every %i bytes', (split) => {
    const text = essence(collect(decodeAll(createResponsesDecoder({ provider: 'openai' }), recorded('openai-responses-text-cached.sse.txt'), split)));
    expect(text).toEqual({ text: '2, 3, 4', reasoning: '', calls: [], finish: 'stop', usage: { input_tokens: 1515, output_tokens: 8, total_tokens: 1523, reasoning_tokens: 0, cached_tokens: 1390 }, error: undefined });

    const summary = collect(decodeAll(createResponsesDecoder(), recorded('openai-responses-reasoning-summary.sse.txt'), split));
    expect(essence(summary)).toMatchObject({ text: 'The number is 9.', reasoning: '**Solving for the number**\n\nThe user is asking 1.', finish: 'stop', usage: { output_tokens: 166, reasoning_tokens: 128 } });
    expect(summary.model).toBe('o4-mini-2025-04-16');

    const encrypted = collect(decodeAll(createResponsesDecoder(), recorded('openai-responses-reasoning-encrypted-function-call.sse.txt'), split));
    expect(essence(encrypted)).toMatchObject({
      reasoning: expect.stringMatching(/^\*\*Calculating step-by-step using calculator\*\*\n\nI'll compute 12 plus 7/),
      calls: [{ id: 'call_AB6AaRZ1FYZB2RwS6A5vbdqn', name: 'calculator', arguments: '{"a":12,"b":7,"op":"add"}' }],
      finish: 'tool_calls',
      usage: { input_tokens: 134, output_tokens: 28, total_tokens: 162, reasoning_tokens: 0, cached_tokens: 0 },
    });
    // The encrypted content of output_item.done (not the one of .added) signs the summary.
    const signature = encrypted.blocks.find((block) => block.type === 'reasoning')?.signature;
    expect(signature).toMatch(/^gAAAAABpPDIVOKrsHNZ0/);

    const deepseek = collect(decodeAll(createResponsesDecoder(), recorded('openai-responses-deepseek-v4-flash-reasoning.sse.txt'), split));
    expect(essence(deepseek)).toMatchObject({ text: 'The capital of France is Paris.', reasoning: 'We need answer capital of France.', finish: 'stop', usage: { reasoning_tokens: 7 } });
  });

  it('joins fragmented function-call arguments and calls the finish tool_calls', () => {
    const parts = decodeAll(createResponsesDecoder(), recorded('openai-responses-function-call.sse.txt'), 5);
    expect(parts.filter((part) => part.type === 'tool-call-delta')).toHaveLength(6);
    expect(essence(collect(parts)).calls).toEqual([{ id: 'call_XGGwP1jrWvsIWpiBa8XikiVm', name: 'weather', arguments: '{"location":"Tokyo"}' }]);
    expect(parts.at(-2)).toEqual({ type: 'finish', reason: 'tool_calls', model: 'gpt-4o-mini-2024-07-18' });
  });

  it('reads response.incomplete as a length stop, and its all-zero usage as no usage', () => {
    const answer = collect(decodeAll(createResponsesDecoder(), recorded('openai-responses-incomplete.sse.txt'), 50));
    expect(essence(answer)).toEqual({ text: 'In the bustling city of Detroit, a sleek, metallic blue sedan rolled off the', reasoning: '', calls: [], finish: 'length', usage: undefined, error: undefined });
  });

  it('reads the error event before response.failed as the upstream error, and stops there', () => {
    const decoder = createResponsesDecoder({ provider: 'openai' });
    const parts = decodeAll(decoder, recorded('openai-responses-error-event.sse.txt'), 100_000);
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ type: 'error', error: { code: 'insufficient_quota', status: 429, provider: 'openai' } });
    expect(decoder.finished).toBe(true);
  });

  it('a stream cut before its terminal event ends with an error part, never a clean end', () => {
    const bytes = recorded('openai-responses-text-cached.sse.txt');
    const parts = decodeAll(createResponsesDecoder(), bytes.subarray(0, bytes.indexOf('event: response.completed')), 64);
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_error' } });
    expect(parts.some((part) => part.type === 'finish')).toBe(false);
  });

  it('reads a response.failed alone (no error event) as the error it carries', () => {
    const text = 'event: response.failed\ndata: {"type":"response.failed","sequence_number":0,"response":{"id":"r","status":"failed","error":{"code":"rate_limit_exceeded","message":"slow down"}}}\n\n';
    const parts = decodeAll(createResponsesDecoder(), Buffer.from(text), 7);
    expect(parts).toEqual([{ type: 'error', error: expect.objectContaining({ code: 'rate_limited', message: 'slow down' }) }]);
  });

  it('reads frames without event: lines, CRLF line ends, and a trailing [DONE] from a compatible server', () => {
    const text = recorded('openai-responses-function-call.sse.txt')
      .toString('utf8')
      .split('\n\n')
      .map((frame) => frame.split('\n').filter((line) => !line.startsWith('event:')).join('\r\n'))
      .join('\r\n\r\n');
    const answer = collect(decodeAll(createResponsesDecoder(), Buffer.from(`${text}data: [DONE]\r\n\r\n`), 11));
    expect(essence(answer).calls[0]?.arguments).toBe('{"location":"Tokyo"}');
    expect(answer.error).toBeUndefined();
  });
});

describe('Responses streams → parts → Chat Completions and Anthropic Messages streams', () => {
  it.each(RESPONSES_STREAMS)('%s: the same text, reasoning, tool calls, stop and usage after a round through each wire', (name) => {
    const parts = decodeAll(createResponsesDecoder({ provider: 'openai' }), recorded(`${name}.sse.txt`), 29);
    const want = essence(collect(parts));
    for (const wire of ['chat', 'messages', 'responses'] as const) {
      const got = essence(collect(throughWire(parts, wire)));
      // Anthropic usage always carries its cache figures; Chat Completions does not say cache writes.
      expect({ ...got, usage: undefined, calls: got.calls.map(({ id: _, ...call }) => call) }, `${name} via ${wire}`).toEqual({ ...want, usage: undefined, calls: want.calls.map(({ id: _, ...call }) => call) });
      if (wire !== 'messages' && want.usage) expect(got.usage, `${name} via ${wire}`).toEqual(want.usage);
      if (wire !== 'chat') expect(got.calls.map((call) => call.id)).toEqual(want.calls.map((call) => call.id));
      if (want.usage) expect(got.usage).toMatchObject({ input_tokens: want.usage.input_tokens, output_tokens: want.usage.output_tokens });
    }
  });

  it('gives an Anthropic client the reasoning signed with the encrypted content, to send back', () => {
    const parts = decodeAll(createResponsesDecoder(), recorded('openai-responses-reasoning-encrypted-function-call.sse.txt'), 1000);
    const encoder = createMessagesEncoder({ ...meta, id: 'msg_1' });
    const wire = parts.map((part) => encoder.encode(part)).join('') + encoder.end();
    expect(wire).toContain('"type":"signature_delta","signature":"gAAAAABpPDIVOKrsHNZ0');
    expect(wire).toContain('"stop_reason":"tool_use"');
  });
});

describe('Chat Completions recordings → parts → Responses events', () => {
  const chatStreams = streamFixtureNames();

  it('has chat recordings to translate', () => {
    expect(chatStreams.length).toBeGreaterThan(15);
  });

  it.each(chatStreams)('%s: the Responses stream says the same, numbered from 0, with items opened before their deltas', (name) => {
    const parts = decodeAll(createChatDecoder({ provider: 'openai' }), fixtureBytes(name), 41);
    const want = essence(collect(parts));
    const encoder = createResponsesEncoder(meta);
    let text = '';
    let failure: SwitchyardError | undefined;
    for (const part of parts) {
      if (part.type === 'error') failure = part.error;
      else text += encoder.encode(part);
    }
    text += failure ? encoder.error(failure) : encoder.end();
    const list = events(text);
    expect(list.map((event) => event.sequence_number)).toEqual(list.map((_, index) => index));
    expect(list[0]?.type).toBe('response.created');
    expect(list[1]?.type).toBe('response.in_progress');
    const terminal = list.at(-1) as Record<string, any>;
    expect(['response.completed', 'response.incomplete', 'response.failed']).toContain(terminal.type);
    const opened = new Set<number>();
    for (const event of list) {
      if (event.type === 'response.output_item.added') {
        expect(event.output_index).toBe(opened.size);
        opened.add(event.output_index);
      } else if (typeof event.output_index === 'number') expect(opened.has(event.output_index), event.type).toBe(true);
    }
    const got = essence(collect(decodeAll(createResponsesDecoder(), Buffer.from(text), 23)));
    expect(got.text).toBe(want.text);
    expect(got.reasoning).toBe(want.reasoning);
    expect(got.calls).toEqual(want.calls);
    if (!failure) {
      expect(got.finish).toBe(want.finish === 'length' || want.finish === 'tool_calls' || want.finish === 'content_filter' ? want.finish : want.calls.length > 0 ? 'tool_calls' : 'stop');
      if (want.usage && want.usage.total_tokens > 0) expect(got.usage).toMatchObject({ input_tokens: want.usage.input_tokens, output_tokens: want.usage.output_tokens, reasoning_tokens: want.usage.reasoning_tokens ?? 0, cached_tokens: want.usage.cached_tokens ?? 0 });
      expect(terminal.response.output.map((item: { type: string }) => item.type)).toEqual([...(want.reasoning ? ['reasoning'] : []), ...(want.text ? ['message'] : []), ...want.calls.map(() => 'function_call')]);
    }
  });

  it('ends a length stop with response.incomplete, the open message incomplete, usage with cached and reasoning tokens', () => {
    const encoder = createResponsesEncoder(meta);
    const text = [
      encoder.encode({ type: 'reasoning', text: 'hm' }),
      encoder.encode({ type: 'text', text: 'cut' }),
      encoder.encode({ type: 'finish', reason: 'length' }),
      encoder.encode({ type: 'usage', usage: { input_tokens: 100, output_tokens: 20, total_tokens: 120, cached_tokens: 60, reasoning_tokens: 12, cache_write_tokens: 3 } }),
      encoder.end(),
    ].join('');
    const list = events(text);
    const last = list.at(-1) as Record<string, any>;
    expect(last.type).toBe('response.incomplete');
    expect(last.response.status).toBe('incomplete');
    expect(last.response.incomplete_details).toEqual({ reason: 'max_output_tokens' });
    expect(last.response.output[1]).toMatchObject({ type: 'message', status: 'incomplete', content: [{ type: 'output_text', text: 'cut' }] });
    expect(last.response.usage).toEqual({ input_tokens: 100, input_tokens_details: { cached_tokens: 60, cache_write_tokens: 3 }, output_tokens: 20, output_tokens_details: { reasoning_tokens: 12 }, total_tokens: 120 });
    expect(list.some((event) => event.type === 'response.completed')).toBe(false);
  });

  it('after a failure: an error event then response.failed, never response.completed', () => {
    const encoder = createResponsesEncoder(meta);
    const text = encoder.encode({ type: 'text', text: 'partial' }) + encoder.error(new SwitchyardError('upstream_error', 'the stream ended before it finished'));
    const list = events(text);
    expect(list.map((event) => event.type).slice(-4)).toEqual(['response.content_part.done', 'response.output_item.done', 'error', 'response.failed']);
    expect(list.at(-2)).toMatchObject({ error: { code: 'upstream_error', message: 'the stream ended before it finished', hint: expect.any(String) }, code: 'upstream_error' });
    expect(list.at(-1)).toMatchObject({ response: { status: 'failed', error: { code: 'upstream_error' } } });
    expect(encoder.end()).toBe('');
  });

  it('names the namespace of a namespaced function in its call, and echoes the request', () => {
    const request = { model: 'general', instructions: 'be brief', tools: [{ type: 'namespace', name: 'agents', description: 'd', tools: [{ type: 'function', name: 'spawn', parameters: {} }] }] };
    const encoder = createResponsesEncoder({ ...meta, request });
    const text = encoder.encode({ type: 'tool-call-delta', index: 0, id: 'call_1', name: 'spawn', arguments: '{}' }) + encoder.encode({ type: 'finish', reason: 'tool_calls' }) + encoder.end();
    const list = events(text);
    expect(list.find((event) => event.type === 'response.output_item.added')?.item).toMatchObject({ type: 'function_call', name: 'spawn', namespace: 'agents', call_id: 'call_1' });
    expect(list[0]?.response).toMatchObject({ instructions: 'be brief', tools: request.tools, model: 'gpt-5', status: 'in_progress' });
  });
});

describe('the Responses passthrough observer', () => {
  it.each(RESPONSES_STREAMS.filter((name) => name !== 'openai-responses-error-event'))('%s: learns usage, the finish and the end, at every split', (name) => {
    const bytes = recorded(`${name}.sse.txt`);
    const want = collect(decodeAll(createResponsesDecoder(), bytes, 100_000));
    for (const split of [1, 9, 100, 100_000]) {
      const observer = createResponsesObserver({ provider: 'openai' });
      for (let at = 0; at < bytes.length; at += split) observer.push(bytes.subarray(at, at + split));
      observer.end();
      expect(observer.complete, `${name} split ${split}`).toBe(true);
      expect(observer.error).toBeUndefined();
      expect(observer.usage).toEqual(want.usage);
      expect(observer.finishReason).toBe(want.finishReason);
      expect(observer.model).toBe(want.model);
      expect(observer.closingFrames()).toBe('');
    }
  });

  it('reads CRLF line ends and frames without event: lines', () => {
    const text = recorded('openai-responses-text-cached.sse.txt').toString('utf8');
    const dataOnly = text.split('\n').filter((line) => !line.startsWith('event:')).join('\n');
    // A server that puts sequence_number first and sends no event: lines.
    const reordered = dataOnly.replace(/\{"type":"([^"]+)","sequence_number":(\d+),/g, '{"sequence_number":$2,"type":"$1",');
    expect(reordered).not.toBe(dataOnly);
    for (const variant of [text.replaceAll('\n', '\r\n'), dataOnly, reordered]) {
      const observer = createResponsesObserver();
      observer.push(Buffer.from(variant));
      observer.end();
      expect(observer.complete).toBe(true);
      expect(observer.usage?.cached_tokens).toBe(1390);
    }
  });

  it('reads response.completed without parsing it whole, and is not fooled by JSON quoted inside the answer', () => {
    const text = 'say {"type":"function_call","model":"x"} and "usage":{"input_tokens":9}';
    const response = { id: 'resp_1', object: 'response', status: 'completed', model: 'gpt-5.1', output: [{ type: 'message', id: 'msg_1', role: 'assistant', content: [{ type: 'output_text', text }] }], usage: { input_tokens: 3, output_tokens: 5, total_tokens: 8 } };
    const frames = `event: response.completed\ndata: ${JSON.stringify({ type: 'response.completed', sequence_number: 1, response })}\n\n`;
    const observer = createResponsesObserver();
    observer.push(Buffer.from(frames));
    observer.end();
    expect(observer.complete).toBe(true);
    expect(observer.finishReason).toBe('stop');
    expect(observer.model).toBe('gpt-5.1');
    expect(observer.usage).toMatchObject({ input_tokens: 3, output_tokens: 5, total_tokens: 8 });
  });

  it('the upstream error event and response.failed went by: forwarded, nothing to add', () => {
    const observer = createResponsesObserver({ provider: 'openai' });
    observer.push(recorded('openai-responses-error-event.sse.txt'));
    observer.end();
    expect(observer.complete).toBe(false);
    expect(observer.error?.code).toBe('insufficient_quota');
    expect(observer.errorForwarded).toBe(true);
  });

  it('a cut stream: the frames Switchyard adds continue the sequence numbers, error then response.failed', () => {
    const bytes = recorded('openai-responses-text-cached.sse.txt');
    const cut = bytes.subarray(0, bytes.indexOf('event: response.output_text.done'));
    const observer = createResponsesObserver({ provider: 'openai' });
    observer.push(cut);
    observer.end();
    expect(observer.complete).toBe(false);
    expect(observer.errorForwarded).toBe(false);
    const error = observer.error as SwitchyardError;
    expect(error.code).toBe('upstream_error');
    const added = events(observer.errorFrames(error));
    expect(added.map((event) => [event.type, event.sequence_number])).toEqual([
      ['error', 11],
      ['response.failed', 12],
    ]);
    expect(added[1]).toMatchObject({ response: { id: 'resp_6866cf894080819eb7bfe6d71ac9b5f60f7302bc38f74547', status: 'failed', error: { code: 'upstream_error' }, model: 'gpt-4o-2024-08-06' } });
  });

  it('an error event without response.failed: only response.failed is added', () => {
    const bytes = recorded('openai-responses-error-event.sse.txt');
    const observer = createResponsesObserver();
    observer.push(bytes.subarray(0, bytes.indexOf('event: response.failed')));
    observer.end();
    expect(observer.errorForwarded).toBe(false);
    expect(events(observer.errorFrames(observer.error as SwitchyardError)).map((event) => [event.type, event.sequence_number])).toEqual([['response.failed', 3]]);
  });

  it('a frame that is not JSON is an upstream error', () => {
    const observer = createResponsesObserver();
    observer.push(Buffer.from('event: response.completed\ndata: {oops\n\n'));
    observer.end();
    expect(observer.error?.code).toBe('upstream_error');
    expect(observer.complete).toBe(false);
  });
});

/** A request the way Codex CLI 0.171 shapes one (store: false, developer messages, function and namespace tools). */
const codexLike = {
  model: 'general',
  stream: true,
  instructions: 'You are Codex.',
  input: [
    { type: 'message', id: 'msg_1', role: 'developer', content: [{ type: 'input_text', text: 'Sandbox: read-only.' }] },
    { type: 'message', id: 'msg_2', role: 'user', content: [{ type: 'input_text', text: '<environment_context/>' }] },
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'list the files' }] },
    { type: 'reasoning', summary: [{ type: 'summary_text', text: 'I will run ls.' }], encrypted_content: 'enc-1' },
    { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"ls"}' },
    { type: 'function_call_output', call_id: 'call_1', output: 'a.txt\nb.txt' },
  ],
  tools: [
    { type: 'function', name: 'exec_command', description: 'Runs a command', strict: false, parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] } },
    { type: 'namespace', name: 'multi_agent_v1', description: 'agents', tools: [{ type: 'function', name: 'close_agent', description: 'Close', strict: false, parameters: { type: 'object', properties: {} } }] },
  ],
  tool_choice: 'auto',
  parallel_tool_calls: true,
  reasoning: { summary: 'auto' },
  store: false,
  include: ['reasoning.encrypted_content'],
  prompt_cache_key: 'k',
  client_metadata: { 'x-codex-window-id': 'w' },
};

describe('Responses requests → Conversation → Chat Completions and Anthropic Messages', () => {
  it('translates what Codex CLI sends: instructions and developer messages as the system, a finished tool turn, namespaced tools flattened', () => {
    const conversation = decodeResponsesRequest(codexLike, toChat);
    expect(conversation.reasoning).toBeUndefined();
    const body = encodeChatRequest(conversation, toChat);
    expect(body).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are Codex.\n\nSandbox: read-only.' },
        { role: 'user', content: '<environment_context/>\n\nlist the files' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'exec_command', arguments: '{"cmd":"ls"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'a.txt\nb.txt' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      tools: [
        { type: 'function', function: { name: 'exec_command', description: 'Runs a command', parameters: codexLike.tools[0]?.parameters, strict: false } },
        { type: 'function', function: { name: 'close_agent', description: 'Close', parameters: { type: 'object', properties: {} }, strict: false } },
      ],
      parallel_tool_calls: true,
      tool_choice: 'auto',
    });
  });

  it('keeps a reasoning item and its encrypted content as signed thinking for Anthropic, and the tool turn after it', () => {
    const body = encodeMessagesRequest(decodeResponsesRequest({ ...codexLike, reasoning: { effort: 'high', summary: 'auto' }, max_output_tokens: 30000 }, toAnthropic), toAnthropic);
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: '<environment_context/>' }, { type: 'text', text: 'list the files' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'I will run ls.', signature: 'enc-1' },
          { type: 'tool_use', id: 'call_1', name: 'exec_command', input: { cmd: 'ls' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: 'a.txt\nb.txt' }] }] },
    ]);
    expect(body.system).toBe('You are Codex.\n\nSandbox: read-only.');
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 24576 });
  });

  it('translates what the AI SDK sends: a system message, images, a JSON schema format, effort and limits', () => {
    const body = encodeChatRequest(
      decodeResponsesRequest(
        {
          model: 'general',
          input: [
            { role: 'system', content: 'Answer in JSON.' },
            { role: 'user', content: [{ type: 'input_text', text: 'what is this?' }, { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' }] },
          ],
          max_output_tokens: 300,
          temperature: 0.2,
          top_p: 0.9,
          text: { format: { type: 'json_schema', name: 'thing', strict: true, schema: { type: 'object' } } },
          reasoning: { effort: 'low' },
          user: 'u1',
        },
        { ...toChat, model: 'o4-mini' },
      ),
      { ...toChat, model: 'o4-mini' },
    );
    expect(body).toEqual({
      model: 'o4-mini',
      messages: [
        { role: 'system', content: 'Answer in JSON.' },
        { role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } }] },
      ],
      max_completion_tokens: 300,
      reasoning_effort: 'low',
      response_format: { type: 'json_schema', json_schema: { name: 'thing', schema: { type: 'object' }, strict: true } },
      user: 'u1',
    });
  });

  it.each([
    ['previous_response_id', { previous_response_id: 'resp_1' }, /needs state kept by a Responses server/, 'previous_response_id'],
    ['store: true', { store: true }, /keeps the response on a Responses server/, 'store'],
    ['a conversation', { conversation: 'conv_1' }, /needs state kept/, 'conversation'],
    ['an item_reference', { input: [{ type: 'item_reference', id: 'msg_1' }] }, /item_reference/, 'input[0]'],
  ])('refuses %s on a translated target with a 400 that says how to go stateless', (_name, patch, message, param) => {
    const error = thrown(() => decodeResponsesRequest({ model: 'general', input: 'hi', ...patch }, toChat));
    expect(error.code).toBe('invalid_request');
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
    expect(error.param).toBe(param);
    expect(error.hint).toMatch(/store: false/);
  });

  it.each([
    ['web_search', { tools: [{ type: 'web_search', external_web_access: false }] }, /web_search = "disabled"/],
    ['file_search', { tools: [{ type: 'file_search', vector_store_ids: ['v'] }] }, /natively/],
    ['computer use', { tools: [{ type: 'computer_use_preview', display_width: 1, display_height: 1, environment: 'linux' }] }, /natively/],
    ['a custom tool', { tools: [{ type: 'custom', name: 'apply_patch' }] }, /natively/],
    ['a file input', { input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'f' }] }] }, /remove it/],
    ['an image by file id', { input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'f' }] }] }, /URL/],
  ])('refuses %s with a 400 and a hint rather than dropping it', (_name, patch, hint) => {
    const error = thrown(() => decodeResponsesRequest({ model: 'general', input: 'hi', ...patch }, toChat));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/cannot be translated to Chat Completions/);
    expect(error.hint).toMatch(hint);
  });

  it('checks the shape at the edge: input required, a string or items; model a string', () => {
    for (const body of [{}, { model: 'm' }, { input: 42 }, { input: [1] }, { input: 'x', model: 3 }, { input: 'x', stream: 'yes' }, { input: 'x', tools: {} }]) {
      expect(() => responsesCodec.check(body), JSON.stringify(body)).toThrow(SwitchyardError);
    }
    expect(thrown(() => responsesCodec.check({ model: 'general' })).param).toBe('input');
    expect(responsesCodec.check({ model: 'general', input: 'x', stream: true })).toEqual({ model: 'general', stream: true });
    expect(responsesCodec.check({ input: [{ role: 'user', content: 'x' }] })).toEqual({ model: undefined, stream: false });
  });
});

describe('Conversations → Responses requests (for upstreams that speak only Responses)', () => {
  it('turns a Chat Completions tool turn into function_call and function_call_output items, stateless', () => {
    const chat = {
      model: 'general',
      stream: true,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
        { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: 'one' },
        { role: 'user', content: 'so?' },
      ],
      tools: [{ type: 'function', function: { name: 'get', description: 'get a thing', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'get' } },
      max_tokens: 100,
      temperature: 0.5,
      response_format: { type: 'json_object' },
      user: 'u',
    };
    expect(encodeResponsesRequest(decodeChatRequest(chat, toResponses), { ...toResponses, model: 'gpt-4o' })).toEqual({
      model: 'gpt-4o',
      input: [
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'auto' }] },
        { type: 'message', role: 'assistant', content: 'Checking.' },
        { type: 'function_call', call_id: 'call_1', name: 'get', arguments: '{"a":1}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'one' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'so?' }] },
      ],
      instructions: 'Be brief.',
      stream: true,
      store: false,
      max_output_tokens: 100,
      temperature: 0.5,
      tools: [{ type: 'function', name: 'get', description: 'get a thing', parameters: { type: 'object' }, strict: false }],
      tool_choice: { type: 'function', name: 'get' },
      text: { format: { type: 'json_object' } },
      user: 'u',
    });
  });

  it('sends Anthropic thinking back as reasoning items with their encrypted content, and asks a reasoning model to think', () => {
    const messages = {
      model: 'general',
      max_tokens: 2000,
      thinking: { type: 'enabled', budget_tokens: 1500 },
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 'gAAAA-sig' }, { type: 'redacted_thinking', data: 'gAAAA-red' }, { type: 'text', text: 'hello' }] },
        { role: 'user', content: 'again' },
      ],
    };
    const body = encodeResponsesRequest(decodeMessagesRequest(messages, toResponses), toResponses);
    expect(body.input).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'hmm' }], encrypted_content: 'gAAAA-sig' },
      { type: 'reasoning', summary: [], encrypted_content: 'gAAAA-red' },
      { type: 'message', role: 'assistant', content: 'hello' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'again' }] },
    ]);
    expect(body).toMatchObject({ max_output_tokens: 2000, reasoning: { effort: 'low', summary: 'auto' }, include: ['reasoning.encrypted_content'] });
    expect(body.temperature).toBeUndefined();
  });

  it('refuses stop sequences, which Responses has not', () => {
    expect(() => encodeResponsesRequest(decodeChatRequest({ model: 'x', stop: ['END'], messages: [{ role: 'user', content: 'hi' }] }, toResponses), toResponses)).toThrow(/Stop sequences cannot be translated to Responses/);
  });

  it('round-trips a Responses request through the Conversation', () => {
    const again = decodeResponsesRequest(encodeResponsesRequest(decodeResponsesRequest(codexLike, toResponses), toResponses), toResponses);
    const first = decodeResponsesRequest(codexLike, toResponses);
    expect(again.messages).toEqual(first.messages);
    expect(again.tools).toEqual(first.tools);
    expect(again.system.map((part) => part.text).join('\n\n')).toBe(first.system.map((part) => part.text).join('\n\n'));
  });
});

describe('whole Responses answers', () => {
  it('decodes the recorded responses: reasoning tokens, an incomplete answer with cache writes', () => {
    const reasoning = collect(responsesCodec.decodeAnswer(JSON.parse(recorded('openai-responses-reasoning.json').toString('utf8')), {}));
    expect(reasoning.finishReason).toBe('stop');
    expect(reasoning.usage).toEqual({ input_tokens: 54, output_tokens: 164, total_tokens: 218, reasoning_tokens: 128, cached_tokens: 0 });
    expect(reasoning.blocks.map((block) => block.type)).toEqual(['text']);
    const incomplete = collect(responsesCodec.decodeAnswer(JSON.parse(recorded('openai-responses-incomplete-cache-write.json').toString('utf8')), {}));
    expect(incomplete.finishReason).toBe('length');
    expect(incomplete.usage).toEqual({ input_tokens: 1220, output_tokens: 100, total_tokens: 1320, reasoning_tokens: 54, cached_tokens: 0, cache_write_tokens: 1217 });
  });

  it('encodes an Answer as a response object and decodes it back to the same parts', () => {
    const parts: StreamPart[] = [
      { type: 'reasoning', text: 'hmm' },
      { type: 'reasoning-signature', signature: 'sig' },
      { type: 'text', text: 'ok ' },
      { type: 'text', text: 'then' },
      { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'f', arguments: '{"a":1}' },
      { type: 'finish', reason: 'tool_calls', model: 'gpt-5' },
      { type: 'usage', usage: { input_tokens: 7, output_tokens: 3, total_tokens: 10, cached_tokens: 2, reasoning_tokens: 1 } },
    ];
    const answer = collect(parts);
    const response = responsesCodec.encodeAnswer(answer, { ...meta, request: { model: 'general', input: 'x', max_output_tokens: 50 } });
    expect(response).toMatchObject({
      id: meta.id,
      object: 'response',
      status: 'completed',
      model: 'gpt-5',
      max_output_tokens: 50,
      output: [
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'hmm' }], encrypted_content: 'sig' },
        { type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok then', annotations: [] }] },
        { type: 'function_call', call_id: 'call_1', name: 'f', arguments: '{"a":1}', status: 'completed' },
      ],
      usage: { input_tokens: 7, input_tokens_details: { cached_tokens: 2 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 1 }, total_tokens: 10 },
    });
    expect(answerParts(collect(responsesCodec.decodeAnswer(response, {})))).toEqual(answerParts(answer));
  });

  it('answers errors in OpenAI envelope with a hint', () => {
    const answer = responsesCodec.errorAnswer(new SwitchyardError('rate_limited', 'slow', { retryAfterMs: 2500 }));
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('3');
    expect(JSON.parse(answer.body)).toEqual({ error: { message: 'slow', type: 'invalid_request_error', code: 'rate_limited', param: null, hint: expect.any(String) } });
  });
});

function thrown(fn: () => unknown): SwitchyardError {
  try {
    fn();
  } catch (error) {
    if (SwitchyardError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected an error');
}
