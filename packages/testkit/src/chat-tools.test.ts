import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chat, send, sseData } from '../test/http.js';
import { splitArguments } from './answer.js';
import { behaviors } from './behavior.js';
import { startTestUpstream, type TestUpstream } from './test-upstream.js';

let upstream: TestUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startTestUpstream();
  client = new OpenAI({ apiKey: 'sk-test', baseURL: upstream.url, maxRetries: 0 });
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

type Chunk = { choices: { delta: Record<string, unknown>; finish_reason: string | null }[]; usage?: unknown };

const completionsUrl = (): string => `${upstream.url}/chat/completions`;

function chunksOf(text: string): Chunk[] {
  return sseData(text)
    .filter((frame) => frame !== '[DONE]')
    .map((frame) => JSON.parse(frame) as Chunk);
}

const weather = { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' };

describe('tool calls on chat', () => {
  it('streams a first delta with id, name and empty arguments, then the fragments, and finish_reason tool_calls', async () => {
    upstream.enqueue(behaviors.stream([], { toolCalls: [{ ...weather, id: 'call_abc' }] }));
    const response = await send(completionsUrl(), { body: chat('weather?', { stream: true }) });
    const chunks = chunksOf(response.text);
    expect(response.text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: null });
    expect(chunks[1]?.choices[0]?.delta).toEqual({ tool_calls: [{ index: 0, id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '' } }] });
    const fragments = splitArguments(weather.arguments);
    expect(fragments.length).toBeGreaterThan(1);
    expect(chunks.slice(2, 2 + fragments.length).map((chunk) => chunk.choices[0]?.delta)).toEqual(
      fragments.map((fragment) => ({ tool_calls: [{ index: 0, function: { arguments: fragment } }] })),
    );
    expect(chunks[2 + fragments.length]?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('streams parallel calls told apart by index, after the text, for the openai SDK', async () => {
    const calls = [weather, { name: 'get_time', arguments: ['{"zone":', '"Europe/Paris"}'] }];
    upstream.enqueue(behaviors.stream(['Checking', ' both.'], { toolCalls: calls }));
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }], stream: true });
    let content = '';
    let finish: string | null | undefined;
    const joined: Record<number, { id?: string; name?: string; arguments: string }> = {};
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      content += choice?.delta.content ?? '';
      finish = choice?.finish_reason ?? finish;
      for (const call of choice?.delta.tool_calls ?? []) {
        const entry = (joined[call.index] ??= { arguments: '' });
        entry.id ??= call.id;
        entry.name ??= call.function?.name;
        entry.arguments += call.function?.arguments ?? '';
      }
    }
    expect(content).toBe('Checking both.');
    expect(finish).toBe('tool_calls');
    expect(joined).toEqual({
      0: { id: expect.stringMatching(/^call_testkit_\d+_0$/), name: 'get_weather', arguments: weather.arguments },
      1: { id: expect.stringMatching(/^call_testkit_\d+_1$/), name: 'get_time', arguments: '{"zone":"Europe/Paris"}' },
    });
  });

  it('answers a whole completion with tool_calls and null content', async () => {
    upstream.enqueue(behaviors.completion('', { toolCalls: [{ ...weather, id: 'call_1' }] }));
    const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }] });
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.choices[0]?.message).toEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: weather.arguments } }],
    });
    expect(completion.usage?.completion_tokens).toBe(2);
  });

  it('keeps a text-only answer exactly as before: role chunk with empty content, no tool_calls key', async () => {
    upstream.enqueue(behaviors.stream(['a']), behaviors.completion('a'));
    const chunks = chunksOf((await send(completionsUrl(), { body: chat('q', { stream: true }) })).text);
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    const whole = JSON.parse((await send(completionsUrl(), { body: chat('q') })).text);
    expect(whole.choices[0].message).toEqual({ role: 'assistant', content: 'a', refusal: null });
  });

  it('maps finish reasons named the Anthropic way to chat names', async () => {
    const cases: [string, string][] = [
      ['end_turn', 'stop'],
      ['max_tokens', 'length'],
      ['tool_use', 'tool_calls'],
      ['refusal', 'content_filter'],
      ['stop_sequence', 'stop'],
    ];
    for (const [finishReason, expected] of cases) {
      upstream.enqueue(behaviors.completion('x', { finishReason }));
      const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }] });
      expect(completion.choices[0]?.finish_reason, finishReason).toBe(expected);
    }
    upstream.enqueue(behaviors.stream(['x'], { stopSequence: 'END' }));
    const chunks = chunksOf((await send(completionsUrl(), { body: chat('q', { stream: true }) })).text);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('refuses malformed tool calls when they are enqueued', () => {
    expect(() => upstream.enqueue(behaviors.stream([], { toolCalls: [{ name: '', arguments: '{}' }] }))).toThrow(/toolCalls\[0\]\.name/);
    expect(() => upstream.enqueue(behaviors.completion('', { toolCalls: [{ name: 'f', arguments: 3 as never }] }))).toThrow(/toolCalls\[0\]\.arguments/);
    expect(() => upstream.enqueue(behaviors.stream([], { toolCalls: {} as never }))).toThrow(/toolCalls must be an array/);
  });
});

describe('streamError on chat', () => {
  it('sends N content chunks, then a data: {"error":…} frame, and ends the body without [DONE]', async () => {
    upstream.enqueue(behaviors.streamError(2));
    const response = await send(completionsUrl(), { body: chat('alpha beta', { stream: true }) });
    expect(response.complete).toBe(true);
    const frames = sseData(response.text);
    expect(frames).toHaveLength(4);
    expect(frames.slice(1, 3).map((frame) => (JSON.parse(frame) as Chunk).choices[0]?.delta.content)).toEqual(['echo:', ' alpha']);
    expect(JSON.parse(frames[3] ?? '')).toEqual({
      error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null },
    });
    expect(response.text).not.toContain('[DONE]');
  });

  it('breaks an openai SDK stream with an APIError after the text that came', async () => {
    upstream.enqueue(behaviors.streamError(1, { chunks: ['partial'], errorType: 'data_inspection_failed', message: 'Output data may contain inappropriate content.' }));
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'q' }], stream: true });
    let content = '';
    const failure = await (async () => {
      for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).type).toBe('data_inspection_failed');
    expect(content).toBe('partial');
  });

  it('is a 500 server_error when the request did not stream', async () => {
    upstream.enqueue(behaviors.streamError(1));
    const response = await send(completionsUrl(), { body: chat('q') });
    expect(response.status).toBe(500);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(response.text).error).toMatchObject({ type: 'server_error', code: null });
  });

  it('refuses a bad script when it is enqueued', () => {
    expect(() => upstream.enqueue(behaviors.streamError(-1))).toThrow(/afterChunks/);
    expect(() => upstream.enqueue(behaviors.streamError(1, { errorType: '' }))).toThrow(/errorType/);
  });
});
