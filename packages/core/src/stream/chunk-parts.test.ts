import { describe, expect, it, vi } from 'vitest';
import { SwitchyardError } from '../errors.js';
import { normalizeUpstreamError } from '../upstream-errors.js';
import { completionToParts, createChunkReader, toUsage } from './chunk-parts.js';
import type { StreamPart, Usage } from './parts.js';
import { createSseParser } from './sse-parser.js';
import { fixtureBytes, streamFixtureNames } from './test-support.js';

vi.mock('../upstream-errors.js', { spy: true });

interface Expected {
  text: string;
  reasoning: string;
  usage: Usage | undefined;
  finish: string;
  model: string;
  done: boolean;
  toolCalls?: Array<{ id: string; name: string; arguments: unknown }>;
}

/** What the recordings say, read independently of this code (and checked by hand against the files). */
const expected: Record<string, Expected> = {
  'azure-foundry-deepseek-v4-pro-reasoning': {
    text: "Exciting news, Knicks fans—from the logo! 🎯🧡💙",
    reasoning: "We need to invent a new holiday around the latest Knicks game. The user didn't specify a date, so I need to know etc. That seems fun. I'll craft a response.",
    usage: { input_tokens: 19, output_tokens: 1720, total_tokens: 1739, reasoning_tokens: 0 },
    finish: 'stop',
    model: 'deepseek-v4-pro',
    done: false,
  },
  'azure-openai-gpt-4o-mini-text': {
    text: "I'm unable to provide real-time weather updates. To find the current weather in New York City, I recommend checking a reliable weather website or app for the most accurate and up-to.",
    reasoning: "",
    usage: undefined,
    finish: 'stop',
    model: 'gpt-4o-mini-2024-07-18',
    done: true,
  },
  'azure-openai-gpt-5.2-text': {
    text: "Not much—here and ready to help. What do you want to talk about or work on?",
    reasoning: "",
    usage: { input_tokens: 12, output_tokens: 24, total_tokens: 36, reasoning_tokens: 0, cached_tokens: 0 },
    finish: 'stop',
    model: 'gpt-5.2-2025-12-11',
    done: true,
  },
  'azure-openai-model-router': {
    text: "Capital of Denmark.",
    reasoning: "",
    usage: { input_tokens: 15, output_tokens: 78, total_tokens: 93, reasoning_tokens: 64, cached_tokens: 0 },
    finish: 'stop',
    model: 'gpt-5-nano-2025-08-07',
    done: false,
  },
  'dashscope-qwen3-max-reasoning': {
    text: "The word **\"strawberry\"** contains **3** instances of the letter **\"r\"**.  \n\nHere is the breakdown for clarity:  \n- **s \"strawberry\" if c == \"r\"])` returns `3`).  \n\n**Answer: 3**",
    reasoning: "We are asked: \"How many 'r's are in the word 'strawberry'?\" We need to count the occurrences of the letter 'r' (case-sensitive? The word is given in lowercase, and the question uses lowercase \"r\", so we assume case-insensitive but the word is all in word:\n    if char == 'r':\n        count += 1\nprint(count) -> 3.\n\nYes.\n\nSo final answer: 3.",
    usage: { input_tokens: 24, output_tokens: 1355, total_tokens: 1379, reasoning_tokens: 1084, cached_tokens: 0 },
    finish: 'stop',
    model: 'qwen3-max',
    done: false,
  },
  'dashscope-qwen3-max-tool-call': {
    text: "",
    reasoning: "",
    usage: { input_tokens: 295, output_tokens: 22, total_tokens: 317, cached_tokens: 0 },
    finish: 'tool_calls',
    model: 'qwen3-max',
    done: false,
    toolCalls: [{ id: 'call_eee11723464a4b9eb8cee71d', name: 'weather', arguments: {"location": "San Francisco"} }],
  },
  'deepseek-reasoner-tool-call': {
    text: "",
    reasoning: "The user is asking for the weather in San \"San Francisco\".",
    usage: { input_tokens: 339, output_tokens: 83, total_tokens: 422, reasoning_tokens: 39, cached_tokens: 320 },
    finish: 'tool_calls',
    model: 'deepseek-reasoner',
    done: false,
    toolCalls: [{ id: 'call_00_ioIn7yN9p1ZOMNpDLwd4MgAF', name: 'weather', arguments: {"location": "San Francisco"} }],
  },
  'deepseek-v4-pro-reasoning': {
    text: "The product of 17 and 23 is 391.",
    reasoning: "We are asked: \"What is 17 * 23?\" This is provide the answer.",
    usage: { input_tokens: 17, output_tokens: 47, total_tokens: 64, reasoning_tokens: 34, cached_tokens: 0 },
    finish: 'stop',
    model: 'deepseek-v4-pro',
    done: true,
  },
  'groq-llama-3.3-70b-tool-call': {
    text: "",
    reasoning: "",
    usage: { input_tokens: 210, output_tokens: 15, total_tokens: 225 },
    finish: 'tool_calls',
    model: 'llama-3.3-70b-versatile',
    done: false,
    toolCalls: [{ id: 'tk85n1k4m', name: 'weather', arguments: {} }],
  },
  'openai-gpt5-length-reasoning-only': {
    text: "",
    reasoning: "",
    usage: { input_tokens: 12, output_tokens: 100, total_tokens: 112, reasoning_tokens: 100, cached_tokens: 0 },
    finish: 'length',
    model: 'gpt-5-nano-2025-08-07',
    done: true,
  },
  'openai-gpt5-text-no-usage': {
    text: "Hi there! How can I help today? I can answer questions, explain concepts, help with writing or brainstorming, code, plan something, and more. Tell me what you’d",
    reasoning: "",
    usage: undefined,
    finish: 'stop',
    model: 'gpt-5-nano-2025-08-07',
    done: true,
  },
  'openai-length': {
    text: "{\"",
    reasoning: "",
    usage: { input_tokens: 79, output_tokens: 1, total_tokens: 80, reasoning_tokens: 0 },
    finish: 'length',
    model: 'gpt-4o-2024-08-06',
    done: true,
  },
  'openai-logprobs': {
    text: "Foo!",
    reasoning: "",
    usage: { input_tokens: 9, output_tokens: 2, total_tokens: 11, reasoning_tokens: 0 },
    finish: 'stop',
    model: 'gpt-4o-2024-08-06',
    done: true,
  },
  'openai-n3-choices': {
    text: "{\"city\":\"San Francisco\",\"temperature\":65,\"units",
    reasoning: "",
    usage: { input_tokens: 79, output_tokens: 42, total_tokens: 121, reasoning_tokens: 0 },
    finish: 'stop',
    model: 'gpt-4o-2024-08-06',
    done: true,
  },
  'openai-refusal': {
    text: "I'm sorry, I can't assist with that request.",
    reasoning: "",
    usage: { input_tokens: 79, output_tokens: 11, total_tokens: 90, reasoning_tokens: 0 },
    finish: 'stop',
    model: 'gpt-4o-2024-08-06',
    done: true,
  },
  'openai-text-complete': {
    text: "I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app.",
    reasoning: "",
    usage: { input_tokens: 14, output_tokens: 30, total_tokens: 44, reasoning_tokens: 0 },
    finish: 'stop',
    model: 'gpt-4o-2024-08-06',
    done: true,
  },
  'openai-text': {
    text: "**Holiday Name:** Harmony Day\n\n**Date:** Celebrated annually on the first Saturday of May\n\n**Purpose:** Harmony Day is dedicated to fostering understanding, kindness, and unity among",
    reasoning: "",
    usage: { input_tokens: 16, output_tokens: 300, total_tokens: 316, reasoning_tokens: 0, cached_tokens: 0 },
    finish: 'stop',
    model: 'gpt-4.1-nano-2025-04-14',
    done: false,
  },
  'openai-tool-call': {
    text: "",
    reasoning: "",
    usage: { input_tokens: 48, output_tokens: 19, total_tokens: 67, reasoning_tokens: 0 },
    finish: 'tool_calls',
    model: 'gpt-4o-2024-08-06',
    done: true,
    toolCalls: [{ id: 'call_CTf1nWJLqSeRgDqaCG27xZ74', name: 'get_weather', arguments: {"city": "San Francisco", "state": "CA"} }],
  },
  'openai-tool-calls-parallel': {
    text: "",
    reasoning: "",
    usage: { input_tokens: 149, output_tokens: 60, total_tokens: 209, reasoning_tokens: 0 },
    finish: 'tool_calls',
    model: 'gpt-4o-2024-08-06',
    done: true,
    toolCalls: [{ id: 'call_JMW1whyEaYG438VE1OIflxA2', name: 'GetWeatherArgs', arguments: {"city": "Edinburgh", "country": "GB", "units": "c"} }, { id: 'call_DNYTawLBoN8fj3KN6qU9N1Ou', name: 'get_stock_price', arguments: {"ticker": "AAPL", "exchange": "NASDAQ"} }],
  },
  'xai-grok-3-mini-reasoning': {
    text: "Hello",
    reasoning: "First, the user said",
    usage: { input_tokens: 12, output_tokens: 1, total_tokens: 303, reasoning_tokens: 290, cached_tokens: 11 },
    finish: 'stop',
    model: 'grok-3-mini',
    done: false,
  },
  'xai-grok-3-mini-tool-call': {
    text: "",
    reasoning: "First, the user is",
    usage: { input_tokens: 291, output_tokens: 26, total_tokens: 513, reasoning_tokens: 196, cached_tokens: 290 },
    finish: 'tool_calls',
    model: 'grok-3-mini',
    done: false,
    toolCalls: [{ id: 'call_55117580', name: 'weather', arguments: {"location": "San Francisco"} }],
  },
};

function readFixtureParts(name: string): { parts: StreamPart[]; reader: ReturnType<typeof createChunkReader> } {
  const parser = createSseParser();
  const reader = createChunkReader({ provider: 'test' });
  const parts: StreamPart[] = [];
  for (const event of [...parser.push(fixtureBytes(name)), ...parser.end()]) {
    if (event.data !== '[DONE]') parts.push(...reader.read(JSON.parse(event.data)));
  }
  return { parts, reader };
}

function summarize(parts: StreamPart[]) {
  let text = '';
  let reasoning = '';
  const usages: Usage[] = [];
  const finishes: Array<{ reason: string; model?: string | undefined }> = [];
  const calls = new Map<number, { id?: string | undefined; name?: string | undefined; arguments: string }>();
  for (const part of parts) {
    if (part.type === 'text') text += part.text;
    else if (part.type === 'reasoning') reasoning += part.text;
    else if (part.type === 'usage') usages.push(part.usage);
    else if (part.type === 'finish') finishes.push({ reason: part.reason, model: part.model });
    else if (part.type === 'tool-call-delta') {
      const call = calls.get(part.index) ?? { arguments: '' };
      // A delta names the id and name once, when they first come.
      if (part.id !== undefined) {
        expect(call.id).toBeUndefined();
        call.id = part.id;
      }
      if (part.name !== undefined) {
        expect(call.name).toBeUndefined();
        call.name = part.name;
      }
      call.arguments += part.arguments;
      calls.set(part.index, call);
    }
  }
  return { text, reasoning, usages, finishes, calls };
}

describe('createChunkReader on every recorded stream', () => {
  it('has an expectation for every recorded stream', () => {
    expect(Object.keys(expected).sort()).toEqual(streamFixtureNames().sort());
  });

  it.each(Object.entries(expected))('%s', (name, want) => {
    const { parts, reader } = readFixtureParts(name);
    expect(parts.filter((part) => part.type === 'error')).toEqual([]);
    const got = summarize(parts);
    expect(got.text).toBe(want.text);
    expect(got.reasoning).toBe(want.reasoning);
    expect(got.usages).toEqual(want.usage === undefined ? [] : [want.usage]);
    expect(got.finishes).toEqual([{ reason: want.finish, model: want.model }]);
    expect(reader.state.finishReason).toBe(want.finish);
    expect(reader.state.usage).toEqual(want.usage);
    expect(reader.state.model).toBe(want.model);
    const calls = [...got.calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
    expect(calls.map((call) => ({ id: call.id, name: call.name, arguments: JSON.parse(call.arguments) as unknown }))).toEqual(
      want.toolCalls ?? [],
    );
    // The state merges the same calls.
    expect([...reader.state.toolCalls.values()].map((call) => call.arguments)).toEqual(calls.map((call) => call.arguments));
    // Usage comes after the finish, as it does on the wire.
    const types = parts.map((part) => part.type);
    if (want.usage !== undefined) expect(types.lastIndexOf('usage')).toBeGreaterThan(types.indexOf('finish'));
  });

  it('reads reasoning for DeepSeek, DashScope, Azure-hosted DeepSeek and xAI', () => {
    for (const name of [
      'deepseek-v4-pro-reasoning',
      'deepseek-reasoner-tool-call',
      'dashscope-qwen3-max-reasoning',
      'azure-foundry-deepseek-v4-pro-reasoning',
      'xai-grok-3-mini-reasoning',
      'xai-grok-3-mini-tool-call',
    ]) {
      expect(summarize(readFixtureParts(name).parts).reasoning.length, name).toBeGreaterThan(10);
    }
  });

  it('gpt-5 that spent its whole budget on reasoning: finish length, no text, 100 reasoning tokens', () => {
    const { parts } = readFixtureParts('openai-gpt5-length-reasoning-only');
    expect(parts).toEqual([
      { type: 'finish', reason: 'length', model: 'gpt-5-nano-2025-08-07' },
      { type: 'usage', usage: { input_tokens: 12, output_tokens: 100, total_tokens: 112, reasoning_tokens: 100, cached_tokens: 0 } },
    ]);
  });

  it('n=3: only choice 0 gives text, and choice 0 finishes once', () => {
    const { parts } = readFixtureParts('openai-n3-choices');
    const got = summarize(parts);
    expect(got.text).toBe('{"city":"San Francisco","temperature":65,"units');
    expect(got.text).not.toContain('61');
    expect(got.finishes).toHaveLength(1);
  });

  it('xAI reasoning: the role chunk carries reasoning, and the total is reported as is', () => {
    const { parts } = readFixtureParts('xai-grok-3-mini-reasoning');
    expect(parts[0]).toEqual({ type: 'reasoning', text: 'First' });
  });

  it('parallel tool calls stay apart by tool_calls[].index', () => {
    const { parts } = readFixtureParts('openai-tool-calls-parallel');
    const deltas = parts.filter((part) => part.type === 'tool-call-delta');
    expect(deltas[0]).toEqual({
      type: 'tool-call-delta',
      index: 0,
      id: 'call_JMW1whyEaYG438VE1OIflxA2',
      name: 'GetWeatherArgs',
      arguments: '',
    });
    expect(new Set(deltas.map((part) => part.index))).toEqual(new Set([0, 1]));
  });
});

describe('createChunkReader rules', () => {
  const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    id: 'c1',
    object: 'chat.completion.chunk',
    model: 'm',
    choices: [{ index: 0, ...choice }],
    ...extra,
  });

  it.each([
    ['explicit nulls everywhere', chunk({ delta: { role: null, content: null, reasoning_content: null, tool_calls: null, refusal: null }, finish_reason: null, logprobs: null }, { usage: null })],
    ['no delta key', chunk({ finish_reason: null, content_filter_results: {} })],
    ['a null delta', chunk({ delta: null, finish_reason: null })],
    ['empty strings', chunk({ delta: { role: 'assistant', content: '', refusal: '' } })],
    ['Azure prompt_filter_results frame', { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0 }] }],
    ['no choices at all', { id: 'x', model: 'm' }],
    ['a non-object', 'data'],
    ['null', null],
    ['choices that are not objects', { choices: [null, 3, 'x'] }],
    ['error: null', { choices: [], error: null }],
  ])('%s gives no parts', (_, input) => {
    expect(createChunkReader().read(input)).toEqual([]);
  });

  it('reads reasoning_content, reasoning, content and refusal in that order', () => {
    const reader = createChunkReader();
    expect(reader.read(chunk({ delta: { reasoning_content: 'r1', content: 't1' } }))).toEqual([
      { type: 'reasoning', text: 'r1' },
      { type: 'text', text: 't1' },
    ]);
    expect(reader.read(chunk({ delta: { reasoning: 'r2' } }))).toEqual([{ type: 'reasoning', text: 'r2' }]);
    // A server sending both names sends the same text twice: one part.
    expect(reader.read(chunk({ delta: { reasoning_content: 'r3', reasoning: 'r3' } }))).toEqual([{ type: 'reasoning', text: 'r3' }]);
    expect(reader.read(chunk({ delta: { content: null, refusal: 'no.' } }))).toEqual([{ type: 'text', text: 'no.' }]);
    expect(reader.read(chunk({ delta: { content: [{ type: 'text', text: 'a' }, { type: 'image_url' }, { type: 'text', text: 'b' }] } }))).toEqual([
      { type: 'text', text: 'ab' },
    ]);
  });

  it('ignores choices other than 0, in the same chunk too', () => {
    const reader = createChunkReader();
    const parts = reader.read({
      model: 'm',
      choices: [
        { index: 1, delta: { content: 'one', tool_calls: [{ index: 0, id: 'x', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'stop' },
        { index: 0, delta: { content: 'zero' }, finish_reason: null },
      ],
    });
    expect(parts).toEqual([{ type: 'text', text: 'zero' }]);
    expect(reader.state.toolCalls.size).toBe(0);
    expect(reader.state.finishReason).toBeUndefined();
  });

  it('merges tool calls by index and never overwrites a known id or name (DashScope sends id "")', () => {
    const reader = createChunkReader();
    const delta = (call: Record<string, unknown>) => chunk({ delta: { tool_calls: [call] } });
    expect(reader.read(delta({ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } }))).toEqual([
      { type: 'tool-call-delta', index: 0, id: 'call_1', name: 'weather', arguments: '' },
    ]);
    expect(reader.read(delta({ index: 0, id: '', type: 'function', function: { arguments: '{"a":' } }))).toEqual([
      { type: 'tool-call-delta', index: 0, arguments: '{"a":' },
    ]);
    expect(reader.read(delta({ index: 0, id: 'call_other', function: { name: 'other', arguments: '1}' } }))).toEqual([
      { type: 'tool-call-delta', index: 0, arguments: '1}' },
    ]);
    // DashScope's trailing empty delta says nothing new.
    expect(reader.read(delta({ function: { arguments: '' }, index: 0, id: '', type: 'function' }))).toEqual([]);
    expect([...reader.state.toolCalls.values()]).toEqual([{ index: 0, id: 'call_1', name: 'weather', arguments: '{"a":1}' }]);
  });

  it('takes usage wherever it comes, once per report, and ignores usage: null', () => {
    const reader = createChunkReader();
    expect(reader.read(chunk({ delta: { content: 'a' } }, { usage: null }))).toEqual([{ type: 'text', text: 'a' }]);
    // DeepSeek: on the finish chunk, after the finish.
    expect(
      reader.read(chunk({ delta: { content: '' }, finish_reason: 'stop' }, { usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } })),
    ).toEqual([
      { type: 'finish', reason: 'stop', model: 'm' },
      { type: 'usage', usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } },
    ]);
    // Groq: x_groq.usage alone is enough, and beside a top-level usage it does not count twice.
    expect(createChunkReader().read({ choices: [], x_groq: { usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } } })).toEqual([
      { type: 'usage', usage: { input_tokens: 5, output_tokens: 1, total_tokens: 6 } },
    ]);
  });

  it('maps usage fields, with reasoning tokens when reported', () => {
    expect(toUsage({ prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, completion_tokens_details: { reasoning_tokens: 2 } })).toEqual({
      input_tokens: 3,
      output_tokens: 4,
      total_tokens: 7,
      reasoning_tokens: 2,
    });
    expect(toUsage({ prompt_tokens: 3, completion_tokens: 4 })).toEqual({ input_tokens: 3, output_tokens: 4, total_tokens: 7 });
    expect(toUsage({ input_tokens: 1, output_tokens: 2, total_tokens: 3, output_tokens_details: { reasoning_tokens: 1 } })).toEqual({
      input_tokens: 1,
      output_tokens: 2,
      total_tokens: 3,
      reasoning_tokens: 1,
    });
    expect(toUsage({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, prompt_tokens_details: null, reasoning_tokens: 0 })).toEqual({
      input_tokens: 1,
      output_tokens: 1,
      total_tokens: 2,
      reasoning_tokens: 0,
    });
    expect(toUsage({})).toBeUndefined();
    expect(toUsage(null)).toBeUndefined();
  });

  it('gives one finish part, with the model of the chunk or else the first model seen', () => {
    const reader = createChunkReader();
    reader.read({ model: 'first', choices: [] });
    expect(reader.read({ model: '', choices: [{ index: 0, delta: {}, finish_reason: 'length' }] })).toEqual([
      { type: 'finish', reason: 'length', model: 'first' },
    ]);
    expect(reader.read({ model: 'x', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })).toEqual([]);
    expect(createChunkReader().read({ choices: [{ delta: {}, finish_reason: 'stop' }] })).toEqual([{ type: 'finish', reason: 'stop' }]);
  });

  it('turns a frame with a top-level error into an error part through normalizeUpstreamError', () => {
    const frame = {
      error: { message: 'The server had an error processing your request.', type: 'server_error', param: null, code: null },
    };
    const reader = createChunkReader({ provider: 'openai' });
    const parts = reader.read(frame);
    expect(parts).toHaveLength(1);
    const part = parts[0];
    expect(part?.type).toBe('error');
    if (part?.type !== 'error') return;
    expect(SwitchyardError.isInstance(part.error)).toBe(true);
    expect(reader.state.error).toBe(part.error);
    expect(vi.mocked(normalizeUpstreamError)).toHaveBeenLastCalledWith({ status: 500, body: JSON.stringify(frame), provider: 'openai' });
  });

  it('reads an in-stream error with a numeric HTTP code as that status (Gemini), others as 500', () => {
    createChunkReader({ provider: 'gemini' }).read({ error: { code: 429, message: 'Resource exhausted', status: 'RESOURCE_EXHAUSTED' } });
    expect(vi.mocked(normalizeUpstreamError).mock.lastCall?.[0]).toMatchObject({ status: 429, provider: 'gemini' });
    createChunkReader().read({ error: { code: 'data_inspection_failed', message: 'Output data may contain inappropriate content.' } });
    expect(vi.mocked(normalizeUpstreamError).mock.lastCall?.[0]).toMatchObject({ status: 500 });
    createChunkReader().read({ error: { code: 20001, message: 'odd code' } });
    expect(vi.mocked(normalizeUpstreamError).mock.lastCall?.[0]).toMatchObject({ status: 500 });
    // OpenRouter: the error object beside a choice finishing with "error": one error part, nothing else.
    const parts = createChunkReader().read({ error: { code: 502, message: 'Provider disconnected' }, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }] });
    expect(parts.map((part) => part.type)).toEqual(['error']);
    expect(vi.mocked(normalizeUpstreamError).mock.lastCall?.[0]).toMatchObject({ status: 502 });
  });
});

describe('completionToParts', () => {
  it('reads a chat.completion: reasoning, text, tool calls, finish, usage', () => {
    const parts = completionToParts({
      id: 'chatcmpl-1',
      object: 'chat.completion',
      model: 'deepseek-v4-pro',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Done.',
            reasoning_content: 'Think.',
            tool_calls: [
              { id: 'call_a', type: 'function', function: { name: 'f', arguments: '{"x":1}' } },
              { id: 'call_b', type: 'function', function: { name: 'g', arguments: '{}' } },
            ],
          },
          finish_reason: 'tool_calls',
        },
        { index: 1, message: { role: 'assistant', content: 'other' }, finish_reason: 'stop' },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30, completion_tokens_details: { reasoning_tokens: 5 } },
    });
    expect(parts).toEqual([
      { type: 'reasoning', text: 'Think.' },
      { type: 'text', text: 'Done.' },
      { type: 'tool-call-delta', index: 0, id: 'call_a', name: 'f', arguments: '{"x":1}' },
      { type: 'tool-call-delta', index: 1, id: 'call_b', name: 'g', arguments: '{}' },
      { type: 'finish', reason: 'tool_calls', model: 'deepseek-v4-pro' },
      { type: 'usage', usage: { input_tokens: 10, output_tokens: 20, total_tokens: 30, reasoning_tokens: 5 } },
    ]);
  });

  it('reads a refusal as text, and an error body as an error part', () => {
    expect(
      completionToParts({ model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: 'No.' }, finish_reason: 'stop' }] }),
    ).toEqual([
      { type: 'text', text: 'No.' },
      { type: 'finish', reason: 'stop', model: 'gpt-4o' },
    ]);
    const parts = completionToParts({ error: { message: 'bad', type: 'invalid_request_error', code: null, param: null } }, { provider: 'openai' });
    expect(parts.map((part) => part.type)).toEqual(['error']);
    expect(completionToParts('nonsense')).toEqual([]);
  });
});
