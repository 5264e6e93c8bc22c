import { describe, expect, it } from 'vitest';
import { SwitchyardError } from '../errors.js';
import type { FinishReason } from './parts.js';
import {
  chatErrorEvent,
  chatEventJson,
  chatFinishReason,
  DONE_FRAME,
  encodeChatEvent,
  encodeDataFrame,
  encodeOpenAIErrorFrame,
  openAIErrorBody,
  PING_COMMENT,
  type ChatEvent,
  type ChatFinishReason,
} from './sse-encoder.js';
import { createSseParser } from './sse-parser.js';

describe('encodeChatEvent', () => {
  const cases: Array<[ChatEvent, string]> = [
    [{ type: 'id', content: 'req_1' }, 'data: {"type":"id","content":"req_1"}\n\n'],
    [
      {
        type: 'route',
        content: {
          provider: 'dashscope',
          model: 'deepseek-v4-flash',
          cluster: 'cn',
          attempts: [
            { provider: 'dashscope', model: 'deepseek-v4-pro', status: 'failed', code: 'model_not_found' },
            { provider: 'dashscope', model: 'deepseek-v4-flash', status: 'ok' },
            { provider: 'volcengine', model: 'doubao' },
          ],
        },
      },
      'data: {"type":"route","content":{"provider":"dashscope","model":"deepseek-v4-flash","cluster":"cn","attempts":[' +
        '{"provider":"dashscope","model":"deepseek-v4-pro","status":"failed","code":"model_not_found"},' +
        '{"provider":"dashscope","model":"deepseek-v4-flash","status":"ok"},' +
        '{"provider":"volcengine","model":"doubao"}]}}\n\n',
    ],
    [
      { type: 'route', content: { provider: 'dashscope', model: 'm', cluster: 'global', attempts: [], fallbackReason: 'upstream_error: openai failed' } },
      'data: {"type":"route","content":{"provider":"dashscope","model":"m","cluster":"global","attempts":[],"fallbackReason":"upstream_error: openai failed"}}\n\n',
    ],
    [{ type: 'thinking', content: 'Let me count.' }, 'data: {"type":"thinking","content":"Let me count."}\n\n'],
    [{ type: 'reply', content: 'Hello' }, 'data: {"type":"reply","content":"Hello"}\n\n'],
    [
      { type: 'reply', content: 'line 1\nline 2\r\n"quoted" \u2028 中文 🎯' },
      'data: {"type":"reply","content":"line 1\\nline 2\\r\\n\\"quoted\\" \u2028 中文 🎯"}\n\n',
    ],
    [
      { type: 'costStatistics', content: { model: 'gpt-5', input_tokens: 12, output_tokens: 100, total_tokens: 112, total_cost: 0.001015 } },
      'data: {"type":"costStatistics","content":{"model":"gpt-5","input_tokens":12,"output_tokens":100,"total_tokens":112,"total_cost":0.001015}}\n\n',
    ],
    [
      {
        type: 'costStatistics',
        content: { model: 'gpt-5', input_tokens: 2000, output_tokens: 100, total_tokens: 2100, total_cost: 0.0035, thought_tokens: 64, cache_read_tokens: 1920 },
      },
      'data: {"type":"costStatistics","content":{"model":"gpt-5","input_tokens":2000,"output_tokens":100,"total_tokens":2100,"total_cost":0.0035,"thought_tokens":64,"cache_read_tokens":1920}}\n\n',
    ],
    [
      { type: 'costStatistics', content: { model: 'qwen3-max', input_tokens: 1, output_tokens: 2, total_tokens: 3, total_cost: null } },
      'data: {"type":"costStatistics","content":{"model":"qwen3-max","input_tokens":1,"output_tokens":2,"total_tokens":3,"total_cost":null}}\n\n',
    ],
    [{ type: 'heartbeat', content: '' }, 'data: {"type":"heartbeat","content":""}\n\n'],
    [
      { type: 'error', content: 'the stream ended before it finished', code: 'upstream_error', hint: 'retry later' },
      'data: {"type":"error","content":"the stream ended before it finished","code":"upstream_error","hint":"retry later"}\n\n',
    ],
    [{ type: 'end', content: '', finish_reason: 'stop' }, 'data: {"type":"end","content":"","finish_reason":"stop"}\n\n'],
    [{ type: 'end', content: '', finish_reason: 'unavailable' }, 'data: {"type":"end","content":"","finish_reason":"unavailable"}\n\n'],
  ];

  it.each(cases)('%j', (event, expected) => {
    const encoded = encodeChatEvent(event);
    expect(encoded).toBe(expected);
    // One event, one data line, and it reads back as the event; the WebSocket frame is the same JSON.
    const events = createSseParser().push(encoded);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]?.data ?? '')).toEqual(event);
    expect(chatEventJson(event)).toBe(events[0]?.data);
  });

  it.each(cases)('holds the platform shape: type and content on every event, code only on error, no error key (%j)', (event) => {
    const json = JSON.parse(chatEventJson(event)) as Record<string, unknown>;
    expect(typeof json.type).toBe('string');
    expect('content' in json).toBe(true);
    expect('error' in json).toBe(false);
    expect('code' in json).toBe(json.type === 'error');
    expect('hint' in json).toBe(json.type === 'error');
    expect('finish_reason' in json).toBe(json.type === 'end');
  });

  it('writes only the fields of the event, in a fixed order', () => {
    const event = { hint: 'h', code: 'rate_limited', content: 'slow down', type: 'error', stack: 'secret', cause: {} } as ChatEvent;
    expect(encodeChatEvent(event)).toBe('data: {"type":"error","content":"slow down","code":"rate_limited","hint":"h"}\n\n');
    const route = {
      type: 'route',
      content: {
        provider: 'openai',
        model: 'gpt-5',
        cluster: 'global',
        apiKey: 'sk-secret',
        attempts: [{ provider: 'openai', model: 'gpt-5', status: 'ok', key: 'sk-secret' }],
      },
    } as unknown as ChatEvent;
    expect(encodeChatEvent(route)).not.toContain('sk-secret');
    const end = { type: 'end', content: 'x', finish_reason: 'stop', error: 'boom' } as unknown as ChatEvent;
    expect(encodeChatEvent(end)).toBe('data: {"type":"end","content":"","finish_reason":"stop"}\n\n');
  });

  it('builds the error event from a SwitchyardError', () => {
    const error = new SwitchyardError('invalid_api_key', 'the key was refused', { hint: 'rotate it' });
    expect(chatErrorEvent(error)).toEqual({ type: 'error', content: 'the key was refused', code: 'invalid_api_key', hint: 'rotate it' });
  });

  it.each<[FinishReason | undefined, ChatFinishReason]>([
    ['stop', 'stop'],
    ['length', 'length'],
    ['tool_calls', 'stop'],
    ['content_filter', 'stop'],
    ['error', 'error'],
    ['unavailable', 'unavailable'],
    ['something_new', 'stop'],
    [undefined, 'stop'],
  ])('chatFinishReason(%s) is %s', (reason, expected) => {
    expect(chatFinishReason(reason)).toBe(expected);
  });
});

describe('OpenAI frames', () => {
  it('encodes data frames, [DONE] and the ping comment', () => {
    expect(encodeDataFrame({ id: 'c', choices: [{ index: 0, delta: { content: 'a\nb' } }] })).toBe(
      'data: {"id":"c","choices":[{"index":0,"delta":{"content":"a\\nb"}}]}\n\n',
    );
    expect(DONE_FRAME).toBe('data: [DONE]\n\n');
    expect(PING_COMMENT).toBe(': ping\n\n');
    expect(createSseParser().push(PING_COMMENT)).toEqual([]);
  });

  it.each<[string, SwitchyardError, string]>([
    [
      'a 4xx code is an invalid_request_error',
      new SwitchyardError('rate_limited', 'Rate limit reached for gpt-5'),
      '{"error":{"message":"Rate limit reached for gpt-5","type":"invalid_request_error","code":"rate_limited","param":null,"hint":"too many requests for this key; slow down and retry after a short wait"}}',
    ],
    [
      'a 5xx code is a server_error',
      new SwitchyardError('upstream_timeout', 'no answer in 30s', { hint: 'retry' }),
      '{"error":{"message":"no answer in 30s","type":"server_error","code":"upstream_timeout","param":null,"hint":"retry"}}',
    ],
    [
      "the error's own type and param win",
      new SwitchyardError('invalid_request', "Unsupported parameter: 'max_tokens'", {
        type: 'invalid_request_error',
        param: 'max_tokens',
        hint: 'use max_completion_tokens',
      }),
      '{"error":{"message":"Unsupported parameter: \'max_tokens\'","type":"invalid_request_error","code":"invalid_request","param":"max_tokens","hint":"use max_completion_tokens"}}',
    ],
    [
      'an upstream type such as insufficient_quota',
      new SwitchyardError('insufficient_quota', 'You exceeded your current quota', { type: 'insufficient_quota', hint: 'top up' }),
      '{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota","param":null,"hint":"top up"}}',
    ],
  ])('%s', (_, error, json) => {
    expect(JSON.stringify(openAIErrorBody(error))).toBe(json);
    expect(encodeOpenAIErrorFrame(error)).toBe(`data: ${json}\n\n`);
  });
});
