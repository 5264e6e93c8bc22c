import { describe, expect, it } from 'vitest';
import { SwitchyardError } from '../../errors.js';
import type { StreamPart } from '../../stream/parts.js';
import { answerParts, createAnswerCollector } from '../answer.js';
import { decodeChatRequest, encodeChatRequest } from '../chat/request.js';
import type { TranslationTarget } from '../codec.js';
import { anthropicErrorAnswer } from './errors.js';
import { messagesCodec } from './index.js';
import { createMessagesObserver } from './observer.js';
import { decodeMessagesRequest, encodeMessagesRequest } from './request.js';
import { createMessagesDecoder, createMessagesEncoder } from './stream.js';

const toChat: TranslationTarget = { wire: 'chat', provider: 'openai', model: 'gpt-4o' };
const toDashscope: TranslationTarget = { wire: 'chat', provider: 'dashscope', model: 'qwen-plus', cacheControl: true, reasoningParameter: 'enable_thinking' };
const toAnthropic: TranslationTarget = { wire: 'messages', provider: 'anthropic', model: 'claude-sonnet-4-5' };
const meta = { id: 'msg_test', model: 'claude-sonnet-4-5', created: 1 };

/** A request the way Claude Code shapes one: system blocks with cache_control, tools, a finished tool turn, metadata. */
const claudeCodeLike = {
  model: 'claude-sonnet-4-5',
  max_tokens: 32000,
  stream: true,
  metadata: { user_id: 'user_abc' },
  system: [
    { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
    { type: 'text', text: 'Be concise.' },
  ],
  tools: [{ name: 'Read', description: 'Read a file', input_schema: { type: 'object', properties: { path: { type: 'string' } } }, cache_control: { type: 'ephemeral' } }],
  thinking: { type: 'enabled', budget_tokens: 4000 },
  messages: [
    { role: 'user', content: [{ type: 'text', text: 'read a.txt', cache_control: { type: 'ephemeral' } }] },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'I should read it.', signature: 'sig-1' },
        { type: 'text', text: 'Reading.' },
        { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { path: 'a.txt' } },
      ],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'hello' }, { type: 'text', text: 'and now?' }] },
  ],
};

describe('Anthropic Messages requests → Conversation → Chat Completions', () => {
  it('keeps system, tools, a tool turn and thinking; cache_control dropped for a target that ignores it', () => {
    const conversation = decodeMessagesRequest(claudeCodeLike, toChat);
    expect(conversation.system.map((part) => part.text)).toEqual(['You are Claude Code.', 'Be concise.']);
    expect(conversation.reasoning).toEqual({ enabled: true, budgetTokens: 4000 });
    expect(conversation.user).toBe('user_abc');
    const body = encodeChatRequest(conversation, toChat);
    expect(body).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are Claude Code.\n\nBe concise.' },
        { role: 'user', content: 'read a.txt' },
        { role: 'assistant', content: 'Reading.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'Read', arguments: '{"path":"a.txt"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'hello' },
        { role: 'user', content: 'and now?' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 32000,
      tools: [{ type: 'function', function: { name: 'Read', description: 'Read a file', parameters: { type: 'object', properties: { path: { type: 'string' } } } } }],
      user: 'user_abc',
    });
  });

  it('keeps cache_control on content parts for a chat target that honours it, and asks it to think its own way', () => {
    const body = encodeChatRequest(decodeMessagesRequest(claudeCodeLike, toDashscope), toDashscope);
    const messages = body.messages as Array<{ role: string; content: unknown }>;
    expect(messages[0]).toEqual({
      role: 'system',
      content: [
        { type: 'text', text: 'You are Claude Code.', cache_control: { type: 'ephemeral' } },
        { type: 'text', text: 'Be concise.' },
      ],
    });
    expect(messages[1]).toEqual({ role: 'user', content: [{ type: 'text', text: 'read a.txt', cache_control: { type: 'ephemeral' } }] });
    expect(body).toMatchObject({ enable_thinking: true, thinking_budget: 4000 });
  });

  it.each([
    ['a server tool', { tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, /server tool/],
    ['MCP servers', { mcp_servers: [{ type: 'url', url: 'https://x', name: 'x' }] }, /"mcp_servers" parameter/],
    ['a document', { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } }] }] }, /"document" block/],
    ['a file image source', { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'f' } }] }] }, /"file" source/],
  ])('refuses %s with a 400 and a hint rather than dropping it', (_name, patch, message) => {
    const error = (() => {
      try {
        decodeMessagesRequest({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }], ...patch }, toChat);
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();
    expect(SwitchyardError.isInstance(error)).toBe(true);
    expect((error as SwitchyardError).code).toBe('invalid_request');
    expect((error as SwitchyardError).status).toBe(400);
    expect((error as SwitchyardError).message).toMatch(message);
    expect((error as SwitchyardError).hint).toBeTruthy();
  });

  it('checks the shape at the edge: max_tokens, messages, roles, content types', () => {
    const problems = [
      {},
      { max_tokens: 5 },
      { max_tokens: 5, messages: [] },
      { max_tokens: 5, messages: 'hi' },
      { max_tokens: 5, messages: [{ role: 'system', content: 'x' }] },
      { max_tokens: 5, messages: [{ role: 'user', content: 42 }] },
      { max_tokens: 0, messages: [{ role: 'user', content: 'x' }] },
      { max_tokens: 5, messages: [{ role: 'user', content: [{ text: 'no type' }] }] },
    ];
    for (const body of problems) {
      expect(() => messagesCodec.check(body), JSON.stringify(body)).toThrow(SwitchyardError);
    }
    expect(messagesCodec.check({ model: 'general', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] })).toEqual({ model: 'general', stream: true });
  });
});

describe('Chat Completions requests → Conversation → Anthropic Messages', () => {
  const chatRequest = {
    model: 'general',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'developer', content: [{ type: 'text', text: 'Use tools.' }] },
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get', arguments: '{"a":1}' } }, { id: 'call_2', type: 'function', function: { name: 'get', arguments: '{"a":2}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'one' },
      { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'two' }] },
      { role: 'user', content: 'so?' },
    ],
    tools: [{ type: 'function', function: { name: 'get', description: 'get a thing', parameters: { type: 'object' } } }],
    tool_choice: 'required',
    parallel_tool_calls: false,
    stop: 'END',
    temperature: 0.5,
    reasoning_effort: 'high',
    max_tokens: 30000,
    stream: true,
    stream_options: { include_usage: true },
    user: 'u1',
  };

  it('builds alternating turns, tool results first, tool_use inputs parsed, thinking from the effort', () => {
    const body = encodeMessagesRequest(decodeChatRequest(chatRequest, toAnthropic), toAnthropic);
    expect(body).toEqual({
      model: 'claude-sonnet-4-5',
      max_tokens: 30000,
      system: 'Be brief.\n\nUse tools.',
      stream: true,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 'call_1', name: 'get', input: { a: 1 } },
            { type: 'tool_use', id: 'call_2', name: 'get', input: { a: 2 } },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: 'one' }] },
            { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: 'two' }] },
            { type: 'text', text: 'so?' },
          ],
        },
      ],
      // The last assistant turn called tools with no signed thinking to send back: thinking stays off for this turn.
      stop_sequences: ['END'],
      temperature: 0.5,
      tools: [{ name: 'get', description: 'get a thing', input_schema: { type: 'object' } }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      metadata: { user_id: 'u1' },
    });
  });

  it('turns an effort into a thinking budget that fits max_tokens, and drops temperature while thinking', () => {
    const body = encodeMessagesRequest(decodeChatRequest({ model: 'x', reasoning_effort: 'high', max_tokens: 10000, temperature: 0.3, messages: [{ role: 'user', content: 'hi' }] }, toAnthropic), toAnthropic);
    expect(body.thinking).toEqual({ type: 'enabled', budget_tokens: 9999 });
    expect(body.temperature).toBeUndefined();
    const roomy = encodeMessagesRequest(decodeChatRequest({ model: 'x', reasoning_effort: 'low', messages: [{ role: 'user', content: 'hi' }] }, toAnthropic), toAnthropic);
    expect(roomy).toMatchObject({ max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 } });
  });

  it.each([
    ['n > 1', { n: 3 }],
    ['logprobs', { logprobs: true }],
    ['a JSON response format', { response_format: { type: 'json_object' } }],
    ['audio', { audio: { voice: 'alloy' } }],
    ['a presence penalty', { presence_penalty: 0.5 }],
  ])('refuses %s for Anthropic with a 400 and a hint', (_name, patch) => {
    expect(() => encodeMessagesRequest(decodeChatRequest({ model: 'x', messages: [{ role: 'user', content: 'hi' }], ...patch }, toAnthropic), toAnthropic)).toThrow(/cannot be translated to Anthropic Messages/);
  });

  it('accepts what clients send without meaning a feature: n: 1, logprobs: false, seed, store, stream_options', () => {
    expect(() => decodeChatRequest({ model: 'x', n: 1, logprobs: false, seed: 7, store: false, presence_penalty: 0, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] }, toAnthropic)).not.toThrow();
  });
});

function roundTrip(parts: StreamPart[], split: number): StreamPart[] {
  const encoder = createMessagesEncoder(meta);
  let wire = '';
  for (const part of parts) wire += encoder.encode(part);
  wire += encoder.end();
  const decoder = createMessagesDecoder({ provider: 'anthropic' });
  const bytes = Buffer.from(wire);
  const out: StreamPart[] = [];
  for (let at = 0; at < bytes.length; at += split) out.push(...decoder.push(bytes.subarray(at, at + split)));
  out.push(...decoder.end());
  return out;
}

describe('Anthropic Messages streams: parts → events → parts', () => {
  const parts: StreamPart[] = [
    { type: 'reasoning', text: 'Let me think. ' },
    { type: 'reasoning', text: 'Done.' },
    { type: 'reasoning-signature', signature: 'c2lnbmF0dXJl' },
    { type: 'text', text: 'Calling ' },
    { type: 'text', text: 'tools: ✓' },
    { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'one', arguments: '' },
    { type: 'tool-call-delta', index: 0, arguments: '{"x":' },
    { type: 'tool-call-delta', index: 0, arguments: '1}' },
    { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'two', arguments: '{"y":2}' },
    { type: 'finish', reason: 'tool_calls' },
    { type: 'usage', usage: { input_tokens: 120, output_tokens: 30, total_tokens: 150, cached_tokens: 100, cache_write_tokens: 5 } },
  ];

  it.each([1, 7, 64, 100_000])('decodes what the encoder wrote, split every %i bytes, to the same answer', (split) => {
    const collect = (list: StreamPart[]) => {
      const collector = createAnswerCollector();
      for (const part of list) collector.push(part);
      return collector.answer;
    };
    const back = collect(roundTrip(parts, split));
    const want = collect(parts);
    expect(back.blocks).toEqual(want.blocks);
    expect(back.finishReason).toBe('tool_calls');
    expect(back.usage).toEqual({ input_tokens: 120, output_tokens: 30, total_tokens: 150, cached_tokens: 100, cache_write_tokens: 5 });
  });

  it('writes Anthropic usage without cache reads and writes in input_tokens, in message_delta', () => {
    const encoder = createMessagesEncoder(meta);
    const wire = parts.map((part) => encoder.encode(part)).join('') + encoder.end();
    const delta = wire.split('\n\n').find((frame) => frame.startsWith('event: message_delta')) as string;
    expect(JSON.parse(delta.split('\n')[1]?.slice(6) as string)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'tool_use', stop_sequence: null },
      usage: { input_tokens: 15, cache_creation_input_tokens: 5, cache_read_input_tokens: 100, output_tokens: 30 },
    });
    expect(wire.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
  });

  it('ends a broken stream with an error event and no message_stop', () => {
    const encoder = createMessagesEncoder(meta);
    const wire = encoder.encode({ type: 'text', text: 'partial' }) + encoder.error(new SwitchyardError('upstream_error', 'cut', { upstreamStatus: 529 }));
    expect(wire).not.toContain('message_stop');
    expect(wire.trimEnd().split('\n\n').at(-1)).toBe('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"cut"},"hint":"the provider answered with an error; retry later","code":"upstream_error"}');
  });

  it('a stream that ends before message_stop or a stop reason is an error part, never a clean end', () => {
    const decoder = createMessagesDecoder({ provider: 'anthropic' });
    const parts = [...decoder.push(Buffer.from('event: message_start\ndata: {"type":"message_start","message":{"model":"m","usage":{"input_tokens":1}}}\n\nevent: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n')), ...decoder.end()];
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: { code: 'upstream_error' } });
  });

  it('reads an in-stream overload as a retryable upstream error', () => {
    const decoder = createMessagesDecoder({ provider: 'anthropic' });
    const parts = decoder.push(Buffer.from('event: error\ndata: {"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"} }\n\n'));
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ type: 'error', error: { code: 'upstream_error', upstreamStatus: 529, retryable: true } });
    expect(decoder.finished).toBe(true);
  });
});

describe('the Messages passthrough observer', () => {
  const encoder = createMessagesEncoder(meta);
  const wire = [
    encoder.encode({ type: 'text', text: 'hi ' }),
    ': ping\n\n',
    'event: ping\ndata: {"type": "ping"}\n\n',
    encoder.encode({ type: 'text', text: 'there' }),
    encoder.encode({ type: 'finish', reason: 'stop' }),
    encoder.encode({ type: 'usage', usage: { input_tokens: 10, output_tokens: 2, total_tokens: 12 } }),
    encoder.end(),
  ].join('');

  it.each([1, 5, 33, 100_000])('learns usage, the stop reason and the end, split every %i bytes', (split) => {
    const observer = createMessagesObserver({ provider: 'anthropic' });
    const bytes = Buffer.from(wire);
    for (let at = 0; at < bytes.length; at += split) observer.push(bytes.subarray(at, at + split));
    observer.end();
    expect(observer.complete).toBe(true);
    expect(observer.error).toBeUndefined();
    expect(observer.usage).toEqual({ input_tokens: 10, output_tokens: 2, total_tokens: 12, cached_tokens: 0, cache_write_tokens: 0 });
    expect(observer.finishReason).toBe('stop');
    expect(observer.model).toBe('claude-sonnet-4-5');
    expect(observer.closingFrames()).toBe('');
  });

  it('reads CRLF line ends too', () => {
    const observer = createMessagesObserver();
    observer.push(Buffer.from(wire.replaceAll('\n', '\r\n')));
    observer.end();
    expect(observer.complete).toBe(true);
    expect(observer.usage?.output_tokens).toBe(2);
  });

  it('a cut stream is an error the client has not seen; an upstream error event is one it has', () => {
    const cut = createMessagesObserver();
    cut.push(Buffer.from(wire.slice(0, wire.indexOf('event: message_delta'))));
    cut.end();
    expect(cut.complete).toBe(false);
    expect(cut.error?.code).toBe('upstream_error');
    expect(cut.errorForwarded).toBe(false);

    const failed = createMessagesObserver();
    failed.push(Buffer.from(`${wire.slice(0, wire.indexOf('event: message_delta'))}event: error\ndata: {"type":"error","error":{"type":"api_error","message":"boom"}}\n\n`));
    failed.end();
    expect(failed.errorForwarded).toBe(true);
    expect(failed.error?.message).toBe('boom');
  });

  it('a stream that stopped without message_stop is finished, and the client is given the missing message_stop', () => {
    const observer = createMessagesObserver();
    observer.push(Buffer.from(wire.slice(0, wire.indexOf('event: message_stop'))));
    observer.end();
    expect(observer.complete).toBe(true);
    expect(observer.closingFrames()).toBe('event: message_stop\ndata: {"type":"message_stop"}\n\n');
  });
});

describe('whole Anthropic answers', () => {
  it('encodes an Answer as a message and decodes it back', () => {
    const collector = createAnswerCollector();
    for (const part of [
      { type: 'reasoning', text: 'hmm' },
      { type: 'reasoning-signature', signature: 'sig' },
      { type: 'text', text: 'ok' },
      { type: 'tool-call-delta', index: 0, id: 't1', name: 'f', arguments: '{"a":1}' },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'usage', usage: { input_tokens: 7, output_tokens: 3, total_tokens: 10 } },
    ] as StreamPart[])
      collector.push(part);
    const message = messagesCodec.encodeAnswer(collector.answer, meta);
    expect(message).toEqual({
      id: 'msg_test',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [
        { type: 'thinking', thinking: 'hmm', signature: 'sig' },
        { type: 'text', text: 'ok' },
        { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } },
      ],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 7, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 3 },
    });
    const back = createAnswerCollector();
    for (const part of messagesCodec.decodeAnswer(message, {})) back.push(part);
    expect(answerParts(back.answer)).toEqual(answerParts(collector.answer).map((part) => (part.type === 'usage' ? { ...part, usage: { ...part.usage, cached_tokens: 0, cache_write_tokens: 0 } } : part)).map((part) => (part.type === 'finish' ? { ...part, model: 'claude-sonnet-4-5' } : part)));
  });

  it('maps Switchyard codes to Anthropic types and statuses, an overload staying a 529', () => {
    expect(JSON.parse(anthropicErrorAnswer(new SwitchyardError('invalid_api_key', 'bad key')).body)).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: 'bad key' } });
    expect(anthropicErrorAnswer(new SwitchyardError('model_not_found', 'x')).status).toBe(404);
    const overloaded = anthropicErrorAnswer(new SwitchyardError('upstream_error', 'Overloaded', { upstreamStatus: 529, retryable: true }));
    expect(overloaded.status).toBe(529);
    expect(overloaded.headers['x-should-retry']).toBe('true');
    expect(JSON.parse(overloaded.body).error.type).toBe('overloaded_error');
    const limited = anthropicErrorAnswer(new SwitchyardError('rate_limited', 'slow', { retryAfterMs: 3000 }));
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('3');
  });
});
