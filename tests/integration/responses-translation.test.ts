/**
 * Translation through the Responses wire, both ways, on both adapters:
 * - golden: every recorded Responses stream, replayed by an upstream configured as responses-only, reaches Chat
 *   Completions and Anthropic Messages clients (streamed and not) with the same text, reasoning, tool calls (joined
 *   arguments), stop and usage; every recorded Chat Completions stream reaches a `/v1/responses` client likewise;
 * - clients: the `openai` SDK's chat completions and the Anthropic SDK's messages against a responses-only upstream,
 *   tool calls over two turns and reasoning that goes back with its encrypted content.
 */
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Answer, chatCodec, createAnswerCollector, messagesCodec, responsesCodec, type StreamPart, type WireCodec } from '@switchyard/core';
import { behaviors, listFixtures, readFixture } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, post, startHarness } from './harness.js';

const streams = (wire: 'chat' | 'responses') =>
  listFixtures(wire)
    .filter((file) => file.endsWith('.sse.txt'))
    .map((file) => file.slice(0, -'.sse.txt'.length));

function collect(parts: StreamPart[]): Answer {
  const collector = createAnswerCollector();
  for (const part of parts) collector.push(part);
  return collector.answer;
}

/** A stream's answer as its wire's decoder reads it. */
function decodeStream(codec: WireCodec, text: string): Answer {
  const decoder = codec.createDecoder({ provider: 'test' });
  return collect([...decoder.push(Buffer.from(text)), ...decoder.end()]);
}

/** What must survive a translation: text, reasoning, tool calls by name with their joined arguments, the stop, the token counts. */
function essence(answer: Answer) {
  const calls = answer.blocks.filter((block) => block.type === 'tool-call');
  return {
    text: answer.blocks.filter((block) => block.type === 'text').map((block) => block.text).join(''),
    reasoning: answer.blocks.filter((block) => block.type === 'reasoning').map((block) => block.text).join(''),
    calls: calls.map((call) => ({ name: call.name, arguments: call.arguments })),
    finish: answer.error ? undefined : answer.finishReason === 'stop' && calls.length > 0 ? 'tool_calls' : answer.finishReason,
    tokens: answer.usage && answer.usage.total_tokens > 0 ? { input: answer.usage.input_tokens, output: answer.usage.output_tokens } : undefined,
    error: answer.error?.code,
  };
}

const KEY_HEADERS = () => ({ 'x-llm-api-key': callerKey(), 'x-llm-provider': 'openai', 'anthropic-version': '2023-06-01' });

describe.each(ADAPTERS)('golden translations over %s', (adapter) => {
  describe('recorded Responses streams → a responses-only upstream → Chat Completions and Messages clients', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url, wires: ['responses'] } } }) });
    });
    afterAll(() => h.close());
    beforeEach(() => h.upstream.reset());

    it.each(streams('responses'))('%s', async (name) => {
      await expectSameEverywhere(name, essence(decodeStream(responsesCodec, readFixture(name))));
    });

    const wholeResponses = listFixtures('responses').filter((file) => file.endsWith('.json') && !file.endsWith('.error.json'));
    it('has whole recorded responses too', () => expect(wholeResponses.length).toBeGreaterThanOrEqual(2));

    it.each(wholeResponses)('%s (a whole response, streamed to the clients that ask for a stream)', async (file) => {
      await expectSameEverywhere(file, essence(collect(responsesCodec.decodeAnswer(JSON.parse(readFixture(file)), {}))));
    });

    async function expectSameEverywhere(name: string, want: ReturnType<typeof essence>): Promise<void> {
      const cases = [
        { path: '/v1/chat/completions', codec: chatCodec, stream: true, body: { model: 'general', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'replay' }] } },
        { path: '/v1/chat/completions', codec: chatCodec, stream: false, body: { model: 'general', messages: [{ role: 'user', content: 'replay' }] } },
        { path: '/v1/messages', codec: messagesCodec, stream: true, body: { model: 'general', max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'replay' }] } },
        { path: '/v1/messages', codec: messagesCodec, stream: false, body: { model: 'general', max_tokens: 100, messages: [{ role: 'user', content: 'replay' }] } },
      ];
      for (const c of cases) {
        h.upstream.enqueue(behaviors.fixture(name));
        const response = await post(`${h.url}${c.path}`, c.body, KEY_HEADERS());
        const label = `${name} → ${c.path} ${c.stream ? 'stream' : 'whole'}`;
        expect(h.upstream.lastRequest()?.endpoint, label).toBe('responses');
        if (want.error && !c.stream) {
          expect(response.status, label).toBe(429);
          expect(JSON.stringify(await response.json())).toContain(want.error);
          continue;
        }
        expect(response.status, label).toBe(200);
        const got = c.stream ? essence(decodeStream(c.codec, await response.text())) : essence(collect(c.codec.decodeAnswer(await response.json(), {})));
        expect(got, label).toEqual(want);
      }
    }
  });

  describe('recorded Chat Completions streams → a chat-only upstream → a Responses client', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url, wires: ['chat'] } } }) });
    });
    afterAll(() => h.close());
    beforeEach(() => h.upstream.reset());

    it.each(streams('chat'))('%s', async (name) => {
      const want = essence(decodeStream(chatCodec, readFixture(name)));
      for (const stream of [true, false]) {
        h.upstream.enqueue(behaviors.fixture(name));
        const response = await post(`${h.url}/v1/responses`, { model: 'general', stream, input: 'replay' }, KEY_HEADERS());
        const label = `${name} → /v1/responses ${stream ? 'stream' : 'whole'}`;
        expect(h.upstream.lastRequest()?.endpoint, label).toBe('chat');
        expect(response.status, label).toBe(200);
        const got = stream ? essence(decodeStream(responsesCodec, await response.text())) : essence(collect(responsesCodec.decodeAnswer(await response.json(), {})));
        expect(got, label).toEqual(want);
      }
    });
  });
});

describe.each(ADAPTERS)('clients of other wires against a responses-only upstream, over %s', (adapter) => {
  let h: Harness;
  let key: string;
  let openai: OpenAI;
  let anthropic: Anthropic;
  const appToken = `app-${randomUUID()}`;

  beforeAll(async () => {
    h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url, wires: ['responses'] } }, appTokens: [appToken] }) });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    key = callerKey();
    const defaultHeaders = { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': key };
    openai = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: appToken, maxRetries: 0, defaultHeaders });
    anthropic = new Anthropic({ baseURL: h.url, authToken: appToken, apiKey: null, maxRetries: 0, defaultHeaders });
  });

  it('chat.completions.create, streamed and not: the upstream got a stateless Responses request with the caller key', async () => {
    const whole = await openai.chat.completions.create({ model: 'general', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello responses' }], max_completion_tokens: 50 });
    expect(whole.choices[0]?.message.content).toBe('echo: hello responses');
    expect(whole.choices[0]?.finish_reason).toBe('stop');
    expect(whole.usage?.completion_tokens).toBe(3);
    const received = h.upstream.lastRequest();
    expect(received?.path).toBe('/v1/responses');
    expect(received?.headers.authorization).toBe(`Bearer ${key}`);
    expect(received?.json).toEqual({ model: 'gpt-5', input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hello responses' }] }], instructions: 'Be brief.', store: false, max_output_tokens: 50 });

    const stream = await openai.chat.completions.create({ model: 'general', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream it back' }] });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: stream it back');
    expect(usage?.completion_tokens).toBe(4);
    expect(h.upstream.lastRequest()?.json).toMatchObject({ stream: true, store: false });
  });

  it('chat tool calls over two turns: function_call items come back as tool_calls, tool messages go as function_call_output', async () => {
    h.upstream.enqueue(behaviors.stream([], { toolCalls: [{ name: 'get_weather', arguments: '{"city":"Oslo"}' }, { name: 'get_time', arguments: '{"zone":"CET"}' }] }));
    const tools: OpenAI.Chat.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { zone: { type: 'string' } } } } },
    ];
    const first = await openai.chat.completions.stream({ model: 'general', tools, messages: [{ role: 'user', content: 'weather and time' }] }).finalChatCompletion();
    const calls = first.choices[0]?.message.tool_calls ?? [];
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(calls.map((call) => (call.type === 'function' ? [call.function.name, call.function.arguments] : []))).toEqual([
      ['get_weather', '{"city":"Oslo"}'],
      ['get_time', '{"zone":"CET"}'],
    ]);
    expect(h.upstream.lastRequest()?.json).toMatchObject({ tools: [{ type: 'function', name: 'get_weather', strict: false }, { type: 'function', name: 'get_time', strict: false }] });

    const second = await openai.chat.completions.create({
      model: 'general',
      tools,
      messages: [
        { role: 'user', content: 'weather and time' },
        first.choices[0]?.message as OpenAI.Chat.ChatCompletionMessageParam,
        { role: 'tool', tool_call_id: calls[0]?.id as string, content: 'snow' },
        { role: 'tool', tool_call_id: calls[1]?.id as string, content: '09:00' },
      ],
    });
    expect(second.choices[0]?.message.content).toBe('echo: 09:00');
    expect((h.upstream.lastRequest()?.json as { input: unknown[] }).input).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'weather and time' }] },
      { type: 'function_call', call_id: calls[0]?.id, name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { type: 'function_call', call_id: calls[1]?.id, name: 'get_time', arguments: '{"zone":"CET"}' },
      { type: 'function_call_output', call_id: calls[0]?.id, output: 'snow' },
      { type: 'function_call_output', call_id: calls[1]?.id, output: '09:00' },
    ]);
  });

  it('Anthropic thinking through a Responses reasoning model: the summary streams as thinking signed by the encrypted content, which goes back next turn', async () => {
    h.upstream.enqueue(behaviors.stream(['Forty-two.'], { reasoning: ['Let me ', 'think.'], signature: 'gAAAA-encrypted-by-upstream' }));
    const first = await anthropic.messages.stream({ model: 'reasoning', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'the answer?' }] }).finalMessage();
    expect(h.upstream.lastRequest()?.json).toMatchObject({ model: 'o3', reasoning: { effort: 'low', summary: 'auto' }, include: ['reasoning.encrypted_content'], max_output_tokens: 4000 });
    expect(first.content).toEqual([
      { type: 'thinking', thinking: 'Let me think.', signature: 'gAAAA-encrypted-by-upstream' },
      { type: 'text', text: 'Forty-two.' },
    ]);

    await anthropic.messages.create({
      model: 'reasoning',
      max_tokens: 4000,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [
        { role: 'user', content: 'the answer?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: 'why?' },
      ],
    });
    expect((h.upstream.lastRequest()?.json as { input: unknown[] }).input).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'the answer?' }] },
      { type: 'reasoning', summary: [{ type: 'summary_text', text: 'Let me think.' }], encrypted_content: 'gAAAA-encrypted-by-upstream' },
      { type: 'message', role: 'assistant', content: 'Forty-two.' },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'why?' }] },
    ]);
  });

  it('Anthropic tool use over two turns against the responses-only upstream', async () => {
    h.upstream.enqueue(behaviors.stream([], { toolCalls: [{ id: 'call_r1', name: 'lookup', arguments: '{"q":"switchyard"}' }] }));
    const tools = [{ name: 'lookup', description: 'Look it up', input_schema: { type: 'object' as const, properties: { q: { type: 'string' } } } }];
    const first = await anthropic.messages.create({ model: 'general', max_tokens: 200, tools, messages: [{ role: 'user', content: 'look it up' }] });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([{ type: 'tool_use', id: 'call_r1', name: 'lookup', input: { q: 'switchyard' } }]);
    const second = await anthropic.messages.create({
      model: 'general',
      max_tokens: 200,
      tools,
      messages: [
        { role: 'user', content: 'look it up' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_r1', content: 'a router' }] },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'echo: a router' }]);
    expect((h.upstream.lastRequest()?.json as { input: unknown[] }).input.slice(1)).toEqual([
      { type: 'function_call', call_id: 'call_r1', name: 'lookup', arguments: '{"q":"switchyard"}' },
      { type: 'function_call_output', call_id: 'call_r1', output: 'a router' },
    ]);
  });

  it('/api/chat against the responses-only upstream: reply events from a Responses stream, reasoning as thinking', async () => {
    h.upstream.enqueue(behaviors.stream(['The ', 'answer.'], { reasoning: ['Thinking ', 'hard.'] }));
    const response = await post(`${h.url}/api/chat`, { question: 'through responses' }, { authorization: `Bearer ${appToken}`, 'x-llm-provider': 'openai', 'x-llm-api-key': key });
    const events = (await response.text())
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: '))
      .map((frame) => JSON.parse(frame.slice(6)) as { type: string; content: unknown; finish_reason?: string });
    expect(events.filter((event) => event.type === 'thinking').map((event) => event.content).join('')).toBe('Thinking hard.');
    expect(events.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe('The answer.');
    expect(events.at(-1)).toMatchObject({ type: 'end', finish_reason: 'stop' });
    const received = h.upstream.lastRequest();
    expect(received?.endpoint).toBe('responses');
    expect(received?.json).toMatchObject({ model: 'gpt-5', stream: true, store: false, input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'through responses' }] }] });
  });

  it('what Responses cannot carry is a 400 with a hint before any upstream call: stop sequences', async () => {
    const error = await openai.chat.completions.create({ model: 'general', stop: ['END'], messages: [{ role: 'user', content: 'x' }] }).then(
      () => undefined,
      (thrown: unknown) => thrown as InstanceType<typeof OpenAI.APIError>,
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error?.message).toMatch(/Stop sequences cannot be translated to Responses/);
    expect(h.upstream.requests).toHaveLength(0);
  });
});
