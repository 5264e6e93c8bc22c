import Anthropic from '@anthropic-ai/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { messages, readUntil, send, sseEvents, start } from '../test/http.js';
import { splitArguments } from './answer.js';
import { behaviors } from './behavior.js';
import { startTestUpstream, type TestUpstream } from './test-upstream.js';

/** The SDK's error instance type. */
type AnthropicError = InstanceType<typeof Anthropic.APIError>;

let upstream: TestUpstream;
let client: Anthropic;

beforeAll(async () => {
  upstream = await startTestUpstream();
  client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: upstream.origin, maxRetries: 0 });
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

const messagesUrl = (): string => `${upstream.origin}/v1/messages`;

type Event = { type: string; index?: number; delta?: Record<string, unknown>; content_block?: Record<string, unknown>; [key: string]: unknown };

/** The events of a raw messages stream, checking on the way that every frame names its event and the name is the type. */
function eventsOf(text: string): Event[] {
  return sseEvents(text).map((frame) => {
    const data = JSON.parse(frame.data) as Event;
    expect(frame.event).toBe(data.type);
    return data;
  });
}

async function streamText(body: Record<string, unknown>): Promise<{ events: Event[]; text: string; complete: boolean; headers: Record<string, unknown> }> {
  const response = await send(messagesUrl(), { body: { ...body, stream: true } });
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  return { events: eventsOf(response.text), text: response.text, complete: response.complete, headers: response.headers };
}

const ask = (content: string): Anthropic.MessageCreateParamsNonStreaming => ({
  model: 'claude-sonnet-4-6',
  max_tokens: 1024,
  messages: [{ role: 'user', content }],
});

describe('messages routes', () => {
  it('serves /v1/messages and ?beta=true, records the endpoint and the Anthropic headers', async () => {
    const plain = await send(messagesUrl(), {
      body: messages('hi'),
      headers: { 'x-api-key': 'sk-ant-caller', 'anthropic-version': '2023-06-01' },
    });
    const beta = await send(`${messagesUrl()}?beta=true`, {
      body: messages('hi'),
      headers: { 'x-api-key': 'sk-ant-caller', 'anthropic-version': '2023-06-01', 'anthropic-beta': 'interleaved-thinking-2025-05-14' },
    });
    for (const response of [plain, beta]) {
      expect(response.status).toBe(200);
      expect(JSON.parse(response.text)).toMatchObject({ type: 'message', role: 'assistant', content: [{ type: 'text', text: 'echo: hi' }] });
    }
    const [first, second] = upstream.requests;
    expect(first).toMatchObject({ endpoint: 'messages', path: '/v1/messages', query: {} });
    expect(second).toMatchObject({ endpoint: 'messages', path: '/v1/messages', url: '/v1/messages?beta=true', query: { beta: 'true' } });
    expect(second?.headers).toMatchObject({ 'x-api-key': 'sk-ant-caller', 'anthropic-version': '2023-06-01', 'anthropic-beta': 'interleaved-thinking-2025-05-14' });
    expect(beta.headers['request-id']).toBe(second?.id);
    expect(beta.headers['x-request-id']).toBe(second?.id);
  });

  it('serves Anthropic-compatible prefixes such as /anthropic/v1/messages', async () => {
    const response = await send(`${upstream.origin}/anthropic/v1/messages`, { body: messages('deepseek') });
    expect(JSON.parse(response.text).content[0].text).toBe('echo: deepseek');
    expect(upstream.lastRequest()?.endpoint).toBe('messages');
  });

  it('counts tokens for the official SDK, without taking a queued behavior', async () => {
    upstream.enqueue(behaviors.status(418));
    const counted = await client.messages.countTokens({
      model: 'claude-sonnet-4-6',
      system: 'be brief',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'three little words' }] }],
    });
    expect(counted).toEqual({ input_tokens: 5 });
    expect(upstream.lastRequest()).toMatchObject({ endpoint: 'countTokens', path: '/v1/messages/count_tokens' });
    expect((await send(messagesUrl(), { body: messages('x') })).status).toBe(418);
  });

  it('count_tokens validates like the API and can be scripted with onCountTokens', async () => {
    const missing = await send(`${messagesUrl()}/count_tokens`, { body: { model: 'claude-sonnet-4-6' } });
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.text)).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'messages: Field required' },
      request_id: upstream.lastRequest()?.id,
    });
    upstream.onCountTokens(behaviors.error('anthropic', 'overloaded_error'));
    const failure = await client.messages.countTokens({ model: 'm', messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.InternalServerError);
    expect((failure as AnthropicError).status).toBe(529);
    upstream.onCountTokens(undefined);
    expect(await client.messages.countTokens({ model: 'm', messages: [{ role: 'user', content: 'one two' }] })).toEqual({ input_tokens: 2 });
  });
});

describe('echo on messages', () => {
  it('answers a whole message to the SDK: text block, end_turn, usage with the cache fields, msg_ id', async () => {
    const message = await client.messages.create({ ...ask('hello there'), system: 'you are terse' });
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-6',
      content: [{ type: 'text', text: 'echo: hello there' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 3 },
    });
    expect(message.id).toMatch(/^msg_testkit_\d+$/);
    expect(message._request_id).toBe(upstream.lastRequest()?.id);
  });

  it('streams the way Anthropic does: message_start, a ping early, text deltas, message_delta, message_stop', async () => {
    const { events, complete } = await streamText(messages('a b c d'));
    expect(complete).toBe(true);
    expect(events.map((event) => event.type)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[0]).toEqual({
      type: 'message_start',
      message: {
        model: 'claude-sonnet-4-6',
        id: expect.stringMatching(/^msg_testkit_/),
        type: 'message',
        role: 'assistant',
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 4, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
      },
    });
    expect(events[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
    expect(events.slice(3, 8).map((event) => event.delta)).toEqual(['echo:', ' a', ' b', ' c', ' d'].map((text) => ({ type: 'text_delta', text })));
    expect(events.at(-2)).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { input_tokens: 4, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 5 },
    });
  });

  it('writes ping with the space Anthropic puts in it, and no [DONE]', async () => {
    const { text } = await streamText(messages('x'));
    expect(text).toContain('event: ping\ndata: {"type": "ping"}\n\n');
    expect(text).not.toContain('[DONE]');
    expect(text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
  });

  it('feeds messages.stream: text events, then a finalMessage equal to the whole answer', async () => {
    const stream = client.messages.stream(ask('stream me please'));
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const message = await stream.finalMessage();
    expect(deltas.join('')).toBe('echo: stream me please');
    expect(message.content).toEqual([{ type: 'text', text: 'echo: stream me please' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({ input_tokens: 3, output_tokens: 4 });
  });

  it('echoes the last user turn: string or text blocks, and tool_result content', async () => {
    const blocks = await client.messages.create({
      model: 'm',
      max_tokens: 10,
      messages: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'second' }, { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }, { type: 'text', text: 'line' }] },
      ],
    });
    expect(blocks.content).toEqual([{ type: 'text', text: 'echo: second\nline' }]);
    const toolResult = await client.messages.create({
      model: 'm',
      max_tokens: 10,
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '18°C and sunny' }] }] },
      ],
    });
    expect(toolResult.content).toEqual([{ type: 'text', text: 'echo: 18°C and sunny' }]);
    const stringResult = await client.messages.create({
      model: 'm',
      max_tokens: 10,
      messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'plain result' }] }],
    });
    expect(stringResult.content).toEqual([{ type: 'text', text: 'echo: plain result' }]);
  });

  it("validates like the API: Anthropic's 400 invalid_request_error envelope, streamed or not", async () => {
    const cases: [unknown, string][] = [
      [{ model: 'm', messages: [{ role: 'user', content: 'x' }] }, 'max_tokens: Field required'],
      [{ model: 'm', max_tokens: 5 }, 'messages: Field required'],
      [{ model: 'm', max_tokens: 5, messages: 'x' }, 'messages: Input should be a valid list'],
      [{ max_tokens: 5, messages: [] }, 'model: Field required'],
      [{ model: 'm', max_tokens: 5, messages: [{ role: 'system', content: 'x' }] }, "messages.0.role: Input should be 'user' or 'assistant'"],
      ['{not json', 'The request body is not valid JSON: Expecting value: line 1 column 1 (char 0)'],
    ];
    for (const [body, message] of cases) {
      for (const stream of [false, true]) {
        const payload = typeof body === 'string' ? body : { ...(body as object), ...(stream ? { stream } : {}) };
        const response = await send(messagesUrl(), { body: payload });
        expect(response.status, message).toBe(400);
        expect(response.headers['content-type']).toBe('application/json');
        const id = upstream.lastRequest()?.id;
        expect(response.text).toBe(`{"type":"error","error":{"type":"invalid_request_error","message":${JSON.stringify(message)}},"request_id":"${id}"}`);
        expect(response.headers['request-id']).toBe(id);
      }
    }
    const failure = await client.messages.create({ model: 'm', messages: [] } as never).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.BadRequestError);
    expect((failure as AnthropicError).type).toBe('invalid_request_error');
  });
});

describe('stream and completion on messages', () => {
  it('streams thinking with a final signature_delta, then text, and the SDK rebuilds both blocks', async () => {
    upstream.enqueue(behaviors.stream(['The answer', ' is 4.'], { reasoning: ['Two plus', ' two.'], signature: 'EqQBCkYIBxgCKkA=' }));
    const stream = client.messages.stream(ask('2+2?'));
    const thinking: string[] = [];
    stream.on('thinking', (delta) => thinking.push(delta));
    const message = await stream.finalMessage();
    expect(thinking).toEqual(['Two plus', ' two.']);
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Two plus two.', signature: 'EqQBCkYIBxgCKkA=' },
      { type: 'text', text: 'The answer is 4.' },
    ]);
    expect(message.usage.output_tokens).toBe(7);
  });

  it('orders the thinking block as recorded: start with empty thinking and signature, ping, deltas, signature_delta, stop', async () => {
    upstream.enqueue(behaviors.stream(['ok'], { reasoning: ['hm', 'm'] }));
    const { events } = await streamText(messages('q'));
    expect(events.slice(1, 8)).toEqual([
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '', signature: '' } },
      { type: 'ping' },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hm' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'm' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) } },
      { type: 'content_block_stop', index: 0 },
      { type: 'content_block_start', index: 1, content_block: { type: 'text', text: '' } },
    ]);
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['end_turn', 'end_turn'],
    ['max_tokens', 'max_tokens'],
    ['content_filter', 'refusal'],
    ['pause_turn', 'pause_turn'],
  ])('maps the scripted finish %s to stop_reason %s, streamed and not', async (finishReason, stopReason) => {
    upstream.enqueue(behaviors.stream(['x'], { finishReason }), behaviors.completion('x', { finishReason }));
    const streamed = await client.messages.stream(ask('q')).finalMessage();
    expect(streamed.stop_reason).toBe(stopReason);
    const whole = await client.messages.create(ask('q'));
    expect(whole.stop_reason).toBe(stopReason);
  });

  it('ends on a stop sequence with the sequence named', async () => {
    upstream.enqueue(behaviors.stream(['1, 2, 3'], { stopSequence: '4' }), behaviors.completion('1, 2, 3', { stopSequence: '4' }));
    const streamed = await client.messages.stream(ask('count')).finalMessage();
    expect([streamed.stop_reason, streamed.stop_sequence]).toEqual(['stop_sequence', '4']);
    const whole = await client.messages.create(ask('count'));
    expect([whole.stop_reason, whole.stop_sequence]).toEqual(['stop_sequence', '4']);
  });

  it('splits scripted usage into input, cache read and cache creation tokens', async () => {
    const usage = { prompt_tokens: 100, completion_tokens: 7, total_tokens: 107, prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 } };
    upstream.enqueue(behaviors.stream(['x'], { usage }), behaviors.completion('x', { usage }));
    const expected = { input_tokens: 30, cache_read_input_tokens: 60, cache_creation_input_tokens: 10, output_tokens: 7 };
    expect((await client.messages.stream(ask('q')).finalMessage()).usage).toMatchObject(expected);
    expect((await client.messages.create(ask('q'))).usage).toEqual(expected);
  });

  it('answers a completion as a whole message with thinking and text, or streams it in word chunks', async () => {
    upstream.enqueue(behaviors.completion('Paris is the capital.', { reasoning: 'France, capital: Paris', usage: { prompt_tokens: 9 } }));
    const message = await client.messages.create({ ...ask('capital of France?'), model: 'claude-opus-4-6' });
    expect(message).toMatchObject({
      model: 'claude-opus-4-6',
      content: [
        { type: 'thinking', thinking: 'France, capital: Paris', signature: expect.any(String) },
        { type: 'text', text: 'Paris is the capital.' },
      ],
      stop_reason: 'end_turn',
      usage: { input_tokens: 9, output_tokens: 7 },
    });
    upstream.enqueue(behaviors.completion('one two three'));
    const { events } = await streamText(messages('q'));
    expect(events.filter((event) => event.delta?.type === 'text_delta').map((event) => event.delta?.text)).toEqual(['one', ' two', ' three']);
  });

  it('paces frames with delayMs and stops writing when the client leaves', async () => {
    upstream.enqueue(behaviors.stream(['a', 'b'], { delayMs: 60_000 }));
    // The SDK's pooled keep-alive sockets stay open; count only this request's connection.
    const idle = upstream.openConnections;
    const pending = start(messagesUrl(), { body: messages('q', { stream: true }) });
    const text = await readUntil(await pending.response, (sofar) => sofar.includes('message_start'));
    expect(sseEvents(text)).toHaveLength(1);
    pending.abort();
    await upstream.waitForOpenConnections(idle);
    expect(upstream.lastRequest()?.aborted).toBe(true);
  });
});

describe('tool calls on messages', () => {
  const weather = { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' };

  it('streams a tool_use block: input {} at start, an empty first input_json_delta, then the fragments; stop_reason tool_use', async () => {
    upstream.enqueue(behaviors.stream([], { toolCalls: [{ ...weather, id: 'toolu_01A' }] }));
    const { events } = await streamText(messages('weather in Paris?'));
    expect(events[1]).toEqual({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: {} } });
    expect(events[2]).toEqual({ type: 'ping' });
    const fragments = events.filter((event) => event.delta?.type === 'input_json_delta').map((event) => event.delta?.partial_json);
    expect(fragments).toEqual(['', ...splitArguments(weather.arguments)]);
    expect(fragments.length).toBeGreaterThan(2);
    expect(events.at(-2)).toMatchObject({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null } });
  });

  it('gives the SDK parallel tool_use blocks after the text, with parsed inputs, streamed and not', async () => {
    const calls = [weather, { name: 'get_time', arguments: ['{"zone":', '"Europe/Paris"}'] }];
    upstream.enqueue(behaviors.stream(['Checking', ' both.'], { toolCalls: calls }), behaviors.completion('Checking both.', { toolCalls: calls }));
    const expected = [
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_testkit_\d+_0$/), name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_testkit_\d+_1$/), name: 'get_time', input: { zone: 'Europe/Paris' } },
    ];
    const streamed = await client.messages.stream(ask('q')).finalMessage();
    expect(streamed.content).toEqual(expected);
    expect(streamed.stop_reason).toBe('tool_use');
    const whole = await client.messages.create(ask('q'));
    expect(whole.content).toEqual(expected);
    expect(whole.stop_reason).toBe('tool_use');
  });

  it('answers a whole message whose tool arguments are not JSON with a testkit error, not a bad message', async () => {
    upstream.enqueue(behaviors.completion('', { toolCalls: [{ name: 'f', arguments: '{"broken' }] }));
    const response = await send(messagesUrl(), { body: messages('q') });
    expect(response.status).toBe(500);
    expect(JSON.parse(response.text)).toMatchObject({ type: 'error', error: { type: 'testkit_error', message: expect.stringMatching(/^testkit: tool call 'f' has arguments that are not JSON/) } });
  });
});

describe('errors on messages', () => {
  it.each([
    ['authentication_error', 401, Anthropic.AuthenticationError, 'false'],
    ['invalid_request_error', 400, Anthropic.BadRequestError, undefined],
    ['not_found_error', 404, Anthropic.NotFoundError, undefined],
    ['permission_error', 403, Anthropic.PermissionDeniedError, undefined],
    ['request_too_large', 413, Anthropic.APIError, undefined],
    ['rate_limit_error', 429, Anthropic.RateLimitError, 'true'],
    ['api_error', 500, Anthropic.InternalServerError, 'true'],
    ['overloaded_error', 529, Anthropic.InternalServerError, 'true'],
  ] as const)('error(anthropic, %s) reaches the SDK as status %i', async (code, status, type, shouldRetry) => {
    upstream.enqueue(behaviors.error('anthropic', code));
    const failure = (await client.messages.create({ ...ask('q'), model: 'claude-nope' }).catch((error: unknown) => error)) as AnthropicError;
    expect(failure).toBeInstanceOf(type);
    expect(failure.status).toBe(status);
    expect(failure.type).toBe(code);
    expect(failure.requestID).toMatch(/^req_/);
    expect(failure.headers?.get('x-should-retry') ?? undefined).toBe(shouldRetry);
    if (code === 'not_found_error') expect(failure.message).toContain('model: claude-nope');
  });

  it('the 529 body is the recorded one, compact, with request-id repeating its request_id', async () => {
    upstream.enqueue(behaviors.error('anthropic', 'overloaded_error'));
    const response = await send(messagesUrl(), { body: messages('q') });
    expect(response.status).toBe(529);
    expect(response.text).toBe('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CZAYNHHZc2dXw6vchbkhw"}');
    expect(response.headers['request-id']).toBe('req_011CZAYNHHZc2dXw6vchbkhw');
  });

  it("rateLimit is Anthropic's 429 with retry-after and anthropic-ratelimit headers", async () => {
    upstream.enqueue(behaviors.rateLimit({ retryAfterSeconds: 3 }));
    const response = await send(messagesUrl(), { body: messages('q') });
    expect(response.status).toBe(429);
    expect(response.headers).toMatchObject({
      'content-type': 'application/json',
      'retry-after': '3',
      'x-should-retry': 'true',
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '0',
      'request-id': upstream.lastRequest()?.id,
    });
    expect(String(response.headers['anthropic-ratelimit-requests-reset'])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const body = JSON.parse(response.text);
    expect(Object.keys(body)).toEqual(['type', 'error', 'request_id']);
    expect(body.error.type).toBe('rate_limit_error');
    expect(body.error.message).toContain('model: claude-sonnet-4-6');
    upstream.enqueue(behaviors.rateLimit());
    const failure = await client.messages.create(ask('q')).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Anthropic.RateLimitError);
  });

  it("regionBlock is the edge's 403 forbidden, without Anthropic's envelope", async () => {
    upstream.enqueue(behaviors.regionBlock());
    const response = await send(messagesUrl(), { body: messages('q') });
    expect([response.status, response.text]).toEqual([403, '{"error":{"type":"forbidden","message":"Request not allowed"}}']);
    upstream.enqueue(behaviors.regionBlock());
    expect(await client.messages.create(ask('q')).catch((error: unknown) => error)).toBeInstanceOf(Anthropic.PermissionDeniedError);
  });

  it('status, garbage and stallBeforeFirstByte stay wire-neutral', async () => {
    upstream.enqueue(behaviors.status(503, 'busy'), behaviors.garbage());
    const status = await send(messagesUrl(), { body: messages('q') });
    expect([status.status, status.text]).toEqual([503, 'busy']);
    const garbage = await send(messagesUrl(), { body: messages('q') });
    expect([garbage.status, garbage.headers['content-type']]).toEqual([502, 'text/html']);
    upstream.enqueue(behaviors.stallBeforeFirstByte());
    const idle = upstream.openConnections;
    const pending = start(messagesUrl(), { body: messages('q') });
    await upstream.waitForRequests(3);
    pending.abort();
    await upstream.waitForOpenConnections(idle);
    expect(upstream.lastRequest()?.aborted).toBe(true);
  });
});

describe('breaks on messages', () => {
  it('streamError sends N text deltas, then event: error with overloaded_error, and ends the body', async () => {
    upstream.enqueue(behaviors.streamError(2));
    const { events, text, complete } = await streamText(messages('alpha beta gamma'));
    expect(complete).toBe(true);
    expect(events.map((event) => event.type)).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'error']);
    expect(events.slice(3, 5).map((event) => event.delta?.text)).toEqual(['echo:', ' alpha']);
    expect(text.endsWith('event: error\ndata: {"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"}}\n\n')).toBe(true);
  });

  it('streamError breaks messages.stream with an APIError of the scripted type', async () => {
    upstream.enqueue(behaviors.streamError(1, { chunks: ['partial'], errorType: 'api_error', message: 'Internal server error' }));
    const stream = client.messages.stream(ask('q'));
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    const failure = (await stream.finalMessage().catch((error: unknown) => error)) as AnthropicError;
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    expect(failure.type).toBe('api_error');
    expect(deltas).toEqual(['partial']);
  });

  it('streamError on a request that did not stream is the HTTP error: 529 overloaded', async () => {
    upstream.enqueue(behaviors.streamError(1));
    const failure = (await client.messages.create(ask('q')).catch((error: unknown) => error)) as AnthropicError;
    expect(failure).toBeInstanceOf(Anthropic.InternalServerError);
    expect([failure.status, failure.type]).toEqual([529, 'overloaded_error']);
  });

  it('stallMidStream stops inside the text block after N deltas, until the client leaves', async () => {
    upstream.enqueue(behaviors.stallMidStream(2));
    const idle = upstream.openConnections;
    const pending = start(messagesUrl(), { body: messages('one two three', { stream: true }) });
    const text = await readUntil(await pending.response, (sofar) => sseEvents(sofar).filter((frame) => frame.event === 'content_block_delta').length === 2);
    const events = eventsOf(text);
    expect(events.map((event) => event.type)).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta']);
    pending.abort();
    await upstream.waitForOpenConnections(idle);
    expect(upstream.lastRequest()?.aborted).toBe(true);
  });

  it('cutMidStream drops the connection after N deltas, and messages.stream fails rather than ending', async () => {
    upstream.enqueue(behaviors.cutMidStream(2));
    const raw = await send(messagesUrl(), { body: messages('a b c', { stream: true }) });
    expect(raw.complete).toBe(false);
    expect(eventsOf(raw.text).filter((event) => event.type === 'content_block_delta')).toHaveLength(2);
    upstream.enqueue(behaviors.cutMidStream(2, ['x', 'y', 'z']));
    const stream = client.messages.stream(ask('q'));
    const deltas: string[] = [];
    stream.on('text', (delta) => deltas.push(delta));
    await expect(stream.finalMessage()).rejects.toThrow();
    expect(deltas).toEqual(['x', 'y']);
  });

  it('cuts a whole message after half of the promised bytes', async () => {
    upstream.enqueue(behaviors.cutMidStream(0));
    const response = await send(messagesUrl(), { body: messages('q') });
    expect(response.complete).toBe(false);
    expect(response.body.length).toBe(Math.floor(Number(response.headers['content-length']) / 2));
    expect(response.text.startsWith('{"model":"claude-sonnet-4-6","id":"msg_testkit_')).toBe(true);
  });
});
