/**
 * Golden translation tests: every recorded Anthropic stream served by a messages upstream comes out of
 * `/v1/chat/completions` equivalent, and every recorded chat stream with tools or reasoning served by a chat upstream
 * comes out of `/v1/messages` equivalent: same text, same reasoning, same tool calls with the same joined arguments,
 * same stop reason, same usage; streamed and not, read by the official SDKs, on both adapters. The expected values
 * are read from the recordings by the small readers below, independently of Switchyard's own decoders.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listFixtures, readFixture } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, startHarness } from './harness.js';

interface Expected {
  text: string;
  reasoning: string;
  tools: Array<{ name: string; arguments: unknown }>;
  finish: string;
  usage: { input: number; output: number; cached?: number } | undefined;
}

function dataOf(text: string): Array<Record<string, any>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data:') && !line.includes('[DONE]'))
    .map((line) => JSON.parse(line.slice(5)) as Record<string, any>);
}

const STOP_TO_FINISH: Record<string, string> = { end_turn: 'stop', max_tokens: 'length', tool_use: 'tool_calls', stop_sequence: 'stop' };
const FINISH_TO_STOP: Record<string, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use' };

/** What a recorded Anthropic stream says, read plainly. */
function fromAnthropicRecording(name: string): Expected {
  const out: Expected = { text: '', reasoning: '', tools: [], finish: '', usage: undefined };
  const blocks = new Map<number, { type: string; json: string; name?: string }>();
  let start: Record<string, number> = {};
  let late: Record<string, number> = {};
  for (const event of dataOf(readFixture(name))) {
    if (event.type === 'message_start') start = event.message.usage;
    if (event.type === 'content_block_start') blocks.set(event.index, { type: event.content_block.type, json: '', name: event.content_block.name });
    if (event.type === 'content_block_delta') {
      if (event.delta.type === 'text_delta') out.text += event.delta.text;
      if (event.delta.type === 'thinking_delta') out.reasoning += event.delta.thinking;
      if (event.delta.type === 'input_json_delta') (blocks.get(event.index) as { json: string }).json += event.delta.partial_json;
    }
    if (event.type === 'message_delta') {
      out.finish = STOP_TO_FINISH[event.delta.stop_reason] ?? 'stop';
      late = event.usage;
    }
  }
  for (const block of blocks.values()) if (block.type === 'tool_use') out.tools.push({ name: block.name as string, arguments: JSON.parse(block.json || '{}') });
  const pick = (key: string) => late[key] ?? start[key];
  const cached = pick('cache_read_input_tokens');
  out.usage = { input: (pick('input_tokens') ?? 0) + (cached ?? 0) + (pick('cache_creation_input_tokens') ?? 0), output: pick('output_tokens') ?? 0 };
  // A 2024 recording reports no cache figures at all: then none are expected.
  if (cached !== undefined) out.usage.cached = cached;
  return out;
}

/** What a recorded chat stream says about choice 0, read plainly. */
function fromChatRecording(name: string): Expected {
  const out: Expected = { text: '', reasoning: '', tools: [], finish: '', usage: undefined };
  const calls = new Map<number, { name: string; args: string }>();
  for (const chunk of dataOf(readFixture(name))) {
    if (chunk.usage) out.usage = { input: chunk.usage.prompt_tokens, output: chunk.usage.completion_tokens };
    for (const choice of chunk.choices ?? []) {
      if ((choice.index ?? 0) !== 0) continue;
      const delta = choice.delta ?? {};
      out.text += delta.content ?? '';
      out.reasoning += delta.reasoning_content ?? (typeof delta.reasoning === 'string' ? delta.reasoning : '');
      for (const call of delta.tool_calls ?? []) {
        const entry = calls.get(call.index) ?? { name: '', args: '' };
        entry.name ||= call.function?.name ?? '';
        entry.args += call.function?.arguments ?? '';
        calls.set(call.index, entry);
      }
      if (choice.finish_reason) out.finish ||= choice.finish_reason;
    }
  }
  out.tools = [...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => ({ name: call.name, arguments: JSON.parse(call.args || '{}') }));
  return out;
}

const ANTHROPIC_STREAMS = listFixtures('messages').filter((name) => readFixture(name).includes('event: message_start'));
const CHAT_STREAMS = listFixtures('chat').filter((name) => {
  const text = readFixture(name);
  return text.includes('"tool_calls"') || text.includes('"reasoning_content"') || text.includes('"reasoning"');
});

describe.each(ADAPTERS)('golden translation over %s', (adapter) => {
  let h: Harness;
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    h = await startHarness(adapter, {
      switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url }, anthropic: { baseUrl: upstream.url } } }),
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    const key = callerKey();
    openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'unused', maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'anthropic', 'X-LLM-Api-Key': key } });
    anthropic = new Anthropic({ baseURL: h.url, apiKey: 'unused', maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': key } });
  });

  it('covers the recordings', () => {
    expect(ANTHROPIC_STREAMS.length).toBeGreaterThanOrEqual(8);
    expect(CHAT_STREAMS.length).toBeGreaterThanOrEqual(8);
  });

  describe.each(ANTHROPIC_STREAMS)('Anthropic recording %s → Chat Completions', (name) => {
    const want = fromAnthropicRecording(name);
    const request = { model: 'general', messages: [{ role: 'user' as const, content: 'replay' }] };

    it('streamed, read by the openai SDK', async () => {
      h.upstream.enqueue({ type: 'fixture', name });
      const stream = await openai.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
      let text = '';
      let reasoning = '';
      let finish = '';
      let usage: OpenAI.CompletionUsage | undefined;
      const calls = new Map<number, { name: string; args: string }>();
      for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        const choice = chunk.choices[0];
        if (!choice) continue;
        text += choice.delta.content ?? '';
        reasoning += (choice.delta as { reasoning_content?: string }).reasoning_content ?? '';
        for (const call of choice.delta.tool_calls ?? []) {
          const entry = calls.get(call.index) ?? { name: '', args: '' };
          entry.name ||= call.function?.name ?? '';
          entry.args += call.function?.arguments ?? '';
          calls.set(call.index, entry);
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      expect(text).toBe(want.text);
      expect(reasoning).toBe(want.reasoning);
      expect([...calls.values()].map((call) => ({ name: call.name, arguments: JSON.parse(call.args) }))).toEqual(want.tools);
      expect(finish).toBe(want.finish);
      expect(usage?.prompt_tokens).toBe(want.usage?.input);
      expect(usage?.completion_tokens).toBe(want.usage?.output);
      expect(usage?.prompt_tokens_details?.cached_tokens).toBe(want.usage?.cached);
      // The upstream was asked in its own wire.
      expect(h.upstream.lastRequest()?.path).toBe('/v1/messages');
    });

    it('not streamed, read by the openai SDK', async () => {
      h.upstream.enqueue({ type: 'fixture', name });
      const completion = await openai.chat.completions.create(request);
      const message = completion.choices[0]?.message;
      expect(message?.content ?? '').toBe(want.text);
      expect((message as { reasoning_content?: string } | undefined)?.reasoning_content ?? '').toBe(want.reasoning);
      expect((message?.tool_calls ?? []).map((call) => ({ name: (call as { function: { name: string } }).function.name, arguments: JSON.parse((call as { function: { arguments: string } }).function.arguments) }))).toEqual(want.tools);
      expect(completion.choices[0]?.finish_reason).toBe(want.finish);
      expect(completion.usage?.prompt_tokens).toBe(want.usage?.input);
      expect(completion.usage?.completion_tokens).toBe(want.usage?.output);
    });
  });

  describe.each(CHAT_STREAMS)('chat recording %s → Anthropic Messages', (name) => {
    const want = fromChatRecording(name);
    const request = { model: 'general', max_tokens: 1000, messages: [{ role: 'user' as const, content: 'replay' }] };

    function check(message: Anthropic.Message): void {
      const text = message.content.filter((block) => block.type === 'text').map((block) => block.text).join('');
      const reasoning = message.content.filter((block) => block.type === 'thinking').map((block) => block.thinking).join('');
      const tools = message.content.filter((block) => block.type === 'tool_use').map((block) => ({ name: block.name, arguments: block.input }));
      expect(text).toBe(want.text);
      expect(reasoning).toBe(want.reasoning);
      expect(tools).toEqual(want.tools);
      expect(message.stop_reason).toBe(FINISH_TO_STOP[want.finish] ?? 'end_turn');
      if (want.usage) {
        const cached = (message.usage.cache_read_input_tokens ?? 0) + (message.usage.cache_creation_input_tokens ?? 0);
        expect(message.usage.input_tokens + cached).toBe(want.usage.input);
        expect(message.usage.output_tokens).toBe(want.usage.output);
      }
      expect(h.upstream.lastRequest()?.path).toBe('/v1/chat/completions');
    }

    it('streamed, read by the Anthropic SDK', async () => {
      h.upstream.enqueue({ type: 'fixture', name, done: true });
      check(await anthropic.messages.stream(request).finalMessage());
    });

    it('not streamed, read by the Anthropic SDK', async () => {
      h.upstream.enqueue({ type: 'fixture', name, done: true });
      check(await anthropic.messages.create(request));
    });
  });
});
