import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readUntil, responsesBody, send, sseEvents, start } from '../test/http.js';
import { splitArguments } from './answer.js';
import { behaviors } from './behavior.js';
import { readFixture } from './fixtures.js';
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

const responsesUrl = (): string => `${upstream.url}/responses`;

type Event = {
  type: string;
  sequence_number: number;
  item?: { id: string; [key: string]: unknown };
  response?: Record<string, unknown>;
  [key: string]: unknown;
};

/** The events of a raw Responses stream, checking every frame's `event:` line and the numbering from 0. */
function eventsOf(text: string): Event[] {
  const events = sseEvents(text).map((frame) => {
    const data = JSON.parse(frame.data) as Event;
    expect(frame.event).toBe(data.type);
    expect(Object.keys(data).slice(0, 2)).toEqual(['type', 'sequence_number']);
    return data;
  });
  expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
  return events;
}

async function streamEvents(body: Record<string, unknown>): Promise<{ events: Event[]; text: string; complete: boolean }> {
  const response = await send(responsesUrl(), { body: { ...body, stream: true } });
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
  return { events: eventsOf(response.text), text: response.text, complete: response.complete };
}

const TEXT_EVENTS = [
  'response.created',
  'response.in_progress',
  'response.output_item.added',
  'response.content_part.added',
  'response.output_text.delta',
  'response.output_text.delta',
  'response.output_text.delta',
  'response.output_text.done',
  'response.content_part.done',
  'response.output_item.done',
  'response.completed',
];

describe('responses routes', () => {
  it('serves /v1/responses under any prefix and records the endpoint', async () => {
    for (const prefix of ['/v1', '/compatible-mode/v1', '/api/v3', '/openai/v1']) {
      const response = await send(`${upstream.origin}${prefix}/responses`, { body: responsesBody('ping') });
      expect(response.status, prefix).toBe(200);
      expect(JSON.parse(response.text).output[0].content[0].text).toBe('echo: ping');
    }
    expect(upstream.requests.map((request) => request.endpoint)).toEqual(['responses', 'responses', 'responses', 'responses']);
  });

  it('takes the model from an Azure deployment URL', async () => {
    const response = await send(`${upstream.origin}/openai/deployments/my-gpt/responses?api-version=2025-04-01-preview`, { body: { input: 'hi' } });
    expect(JSON.parse(response.text).model).toBe('my-gpt');
  });
});

describe('echo on responses', () => {
  it('answers a whole response object to the SDK', async () => {
    const response = await client.responses.create({ model: 'gpt-5-mini', input: 'hello there', instructions: 'be terse' });
    expect(response).toMatchObject({
      object: 'response',
      status: 'completed',
      model: 'gpt-5-mini',
      instructions: 'be terse',
      error: null,
      incomplete_details: null,
      output: [
        {
          id: expect.stringMatching(/^msg_testkit_\d+$/),
          type: 'message',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'echo: hello there' }],
        },
      ],
      usage: { input_tokens: 4, input_tokens_details: { cached_tokens: 0 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 7 },
    });
    expect(response.id).toMatch(/^resp_testkit_\d+$/);
    expect(response.output_text).toBe('echo: hello there');
  });

  it('streams the recorded event sequence, numbered from 0, with event: lines and no [DONE]', async () => {
    const { events, text, complete } = await streamEvents(responsesBody('two words'));
    expect(complete).toBe(true);
    expect(events.map((event) => event.type)).toEqual(TEXT_EVENTS);
    expect(text).not.toContain('[DONE]');
    const itemId = events[2]?.item?.id ?? '';
    expect(events[2]).toEqual({
      type: 'response.output_item.added',
      sequence_number: 2,
      output_index: 0,
      item: { id: itemId, type: 'message', status: 'in_progress', content: [], role: 'assistant' },
    });
    expect(events[3]).toEqual({
      type: 'response.content_part.added',
      sequence_number: 3,
      item_id: itemId,
      output_index: 0,
      content_index: 0,
      part: { type: 'output_text', annotations: [], logprobs: [], text: '' },
    });
    expect(events.slice(4, 7).map((event) => event.delta)).toEqual(['echo:', ' two', ' words']);
    expect(events[4]).toMatchObject({ item_id: itemId, output_index: 0, content_index: 0, logprobs: [] });
    expect(events[7]).toMatchObject({ type: 'response.output_text.done', text: 'echo: two words' });
    expect(events[9]).toMatchObject({ type: 'response.output_item.done', item: { status: 'completed', content: [{ text: 'echo: two words' }] } });
    const created = events[0]?.response ?? {};
    expect(created).toMatchObject({ status: 'in_progress', output: [], usage: null, service_tier: 'auto' });
    const completed = events[10]?.response ?? {};
    expect(completed).toMatchObject({ id: created.id, status: 'completed', service_tier: 'default', output: [{ id: itemId }] });
    expect(completed.usage).toEqual({ input_tokens: 2, input_tokens_details: { cached_tokens: 0 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 5 });
  });

  it('feeds responses.create with stream: true and responses.stream().finalResponse()', async () => {
    const stream = await client.responses.create({ model: 'm', input: 'stream me', stream: true });
    const deltas: string[] = [];
    let last: string | undefined;
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') deltas.push(event.delta);
      last = event.type;
    }
    expect(deltas.join('')).toBe('echo: stream me');
    expect(last).toBe('response.completed');
    const final = await client.responses.stream({ model: 'm', input: 'again' }).finalResponse();
    expect(final.output_text).toBe('echo: again');
    expect(final.status).toBe('completed');
  });

  it('echoes the last user item: input_text parts, or a function_call_output', async () => {
    const parts = await client.responses.create({
      model: 'm',
      input: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'second' }, { type: 'input_image', image_url: 'https://example.com/a.png', detail: 'auto' }] },
      ],
    });
    expect(parts.output_text).toBe('echo: second');
    const toolOutput = await client.responses.create({
      model: 'm',
      input: [
        { role: 'user', content: 'weather?' },
        { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_1', output: '18°C and sunny' },
      ],
    });
    expect(toolOutput.output_text).toBe('echo: 18°C and sunny');
    expect(toolOutput.usage?.input_tokens).toBe(4);
  });

  it("validates like the API: OpenAI's 400 envelope in the Responses layout, streamed or not", async () => {
    const cases: [unknown, string, string | null, string | null][] = [
      [{ input: 'x' }, "Missing required parameter: 'model'.", 'model', 'missing_required_parameter'],
      [{ model: 'm' }, "Missing required parameter: 'input'.", 'input', 'missing_required_parameter'],
      [{ model: 'm', input: { text: 'x' } }, "Invalid type for 'input': expected one of a string or array of input items, but got an object instead.", 'input', 'invalid_type'],
    ];
    for (const [body, message, param, code] of cases) {
      for (const stream of [false, true]) {
        const response = await send(responsesUrl(), { body: { ...(body as object), ...(stream ? { stream } : {}) } });
        expect(response.status, message).toBe(400);
        expect(response.headers['content-type']).toBe('application/json');
        expect(response.text).toBe(JSON.stringify({ error: { message, type: 'invalid_request_error', param, code } }, null, 2));
      }
    }
    const notJson = await send(responsesUrl(), { body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.text).error.message).toMatch(/^We could not parse the JSON body of your request/);
    const failure = await client.responses.create({ input: 'x' } as never).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.BadRequestError);
    expect((failure as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('missing_required_parameter');
  });
});

describe('stream and completion on responses', () => {
  it('streams a reasoning item with summary events before the message', async () => {
    upstream.enqueue(behaviors.stream(['It is', ' 4.'], { reasoning: ['Two', ' plus two.'] }));
    const { events } = await streamEvents(responsesBody('2+2?'));
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events[2]).toMatchObject({ output_index: 0, item: { id: expect.stringMatching(/^rs_testkit_/), type: 'reasoning', summary: [] } });
    expect(events[2]?.item).not.toHaveProperty('encrypted_content');
    expect(events[3]).toMatchObject({ output_index: 0, summary_index: 0, part: { type: 'summary_text', text: '' } });
    expect(events[6]).toMatchObject({ text: 'Two plus two.' });
    expect(events[9]).toMatchObject({ output_index: 1, item: { type: 'message' } });
    expect(events[11]).toMatchObject({ output_index: 1, delta: 'It is' });
    const usage = events.at(-1)?.response?.usage;
    expect(usage).toMatchObject({ output_tokens: 6, output_tokens_details: { reasoning_tokens: 3 } });
  });

  it('gives the SDK the reasoning summary and the text, streamed and whole, with encrypted_content when included', async () => {
    const script = { reasoning: 'think hard', signature: 'gAAAAABtestkit' };
    upstream.enqueue(behaviors.completion('done.', script), behaviors.completion('done.', script));
    const request = { model: 'o4-mini', input: 'q', include: ['reasoning.encrypted_content' as const], store: false, reasoning: { effort: 'low' as const, summary: 'auto' as const } };
    const streamed = await client.responses.stream(request).finalResponse();
    const whole = await client.responses.create(request);
    for (const response of [streamed, whole]) {
      expect(response.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
      expect(response.output[0]).toMatchObject({ type: 'reasoning', encrypted_content: 'gAAAAABtestkit', summary: [{ type: 'summary_text', text: 'think hard' }] });
      expect(response.output_text).toBe('done.');
      expect(response).toMatchObject({ store: false, reasoning: { effort: 'low', summary: 'auto' } });
    }
  });

  it.each([
    ['length', 'max_output_tokens'],
    ['max_tokens', 'max_output_tokens'],
    ['content_filter', 'content_filter'],
  ])('a %s finish ends in response.incomplete with reason %s, and a whole response says incomplete', async (finishReason, reason) => {
    upstream.enqueue(behaviors.stream(['cut', ' short'], { finishReason }), behaviors.completion('cut short', { finishReason }));
    const { events } = await streamEvents(responsesBody('q', { max_output_tokens: 2 }));
    const terminal = events.at(-1);
    expect(terminal?.type).toBe('response.incomplete');
    expect(terminal?.response).toMatchObject({ status: 'incomplete', incomplete_details: { reason }, max_output_tokens: 2, output: [{ status: 'incomplete' }] });
    expect(events.filter((event) => event.type === 'response.completed')).toEqual([]);
    const whole = await client.responses.create({ model: 'm', input: 'q' });
    expect(whole).toMatchObject({ status: 'incomplete', incomplete_details: { reason }, output: [{ status: 'incomplete' }] });
  });

  it('reports scripted usage with cached and cache-write tokens', async () => {
    const usage = { prompt_tokens: 100, completion_tokens: 7, total_tokens: 107, prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 }, completion_tokens_details: { reasoning_tokens: 2 } };
    upstream.enqueue(behaviors.stream(['x'], { usage }), behaviors.completion('x', { usage }));
    const expected = { input_tokens: 100, input_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 2 }, total_tokens: 107 };
    expect((await client.responses.stream({ model: 'm', input: 'q' }).finalResponse()).usage).toEqual(expected);
    expect((await client.responses.create({ model: 'm', input: 'q' })).usage).toEqual(expected);
  });

  it("repeats the request's settings in the response object", async () => {
    const tools = [{ type: 'function' as const, name: 'f', parameters: { type: 'object', properties: {} }, strict: true }];
    const response = await client.responses.create({
      model: 'gpt-5',
      input: 'q',
      tools,
      tool_choice: 'required',
      previous_response_id: 'resp_previous',
      store: false,
      temperature: 0.2,
      metadata: { run: '7' },
      text: { format: { type: 'json_object' } },
    });
    expect(response).toMatchObject({ tools, tool_choice: 'required', previous_response_id: 'resp_previous', store: false, temperature: 0.2, metadata: { run: '7' }, text: { format: { type: 'json_object' } } });
    expect(upstream.lastRequest()?.json).toMatchObject({ previous_response_id: 'resp_previous', store: false });
  });
});

describe('tool calls on responses', () => {
  const weather = { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' };

  it('streams a function_call item: added with empty arguments and call_id, argument deltas, done', async () => {
    upstream.enqueue(behaviors.stream([], { toolCalls: [{ ...weather, id: 'call_abc' }] }));
    const { events } = await streamEvents(responsesBody('weather?'));
    const fcId = events[2]?.item?.id ?? '';
    expect(fcId).toMatch(/^fc_testkit_\d+_0$/);
    expect(events[2]).toEqual({
      type: 'response.output_item.added',
      sequence_number: 2,
      output_index: 0,
      item: { id: fcId, type: 'function_call', status: 'in_progress', arguments: '', call_id: 'call_abc', name: 'get_weather' },
    });
    const deltas = events.filter((event) => event.type === 'response.function_call_arguments.delta');
    expect(deltas.map((event) => event.delta)).toEqual(splitArguments(weather.arguments));
    expect(deltas[0]).toMatchObject({ item_id: fcId, output_index: 0 });
    expect(events.at(-3)).toMatchObject({ type: 'response.function_call_arguments.done', item_id: fcId, output_index: 0, arguments: weather.arguments });
    expect(events.at(-2)).toMatchObject({ type: 'response.output_item.done', item: { status: 'completed', arguments: weather.arguments } });
    expect(events.at(-1)).toMatchObject({ type: 'response.completed', response: { status: 'completed', output: [{ type: 'function_call', call_id: 'call_abc' }] } });
  });

  it('gives the SDK parallel function calls after the message, streamed and whole', async () => {
    const calls = [weather, { name: 'get_time', arguments: ['{"zone":', '"Europe/Paris"}'] }];
    upstream.enqueue(behaviors.stream(['Checking.'], { toolCalls: calls }), behaviors.completion('Checking.', { toolCalls: calls }));
    const expected = [
      { type: 'message', content: [{ text: 'Checking.' }] },
      { type: 'function_call', status: 'completed', name: 'get_weather', arguments: weather.arguments, call_id: expect.stringMatching(/^call_testkit_\d+_0$/) },
      { type: 'function_call', status: 'completed', name: 'get_time', arguments: '{"zone":"Europe/Paris"}', call_id: expect.stringMatching(/^call_testkit_\d+_1$/) },
    ];
    const streamed = await client.responses.stream({ model: 'm', input: 'q' }).finalResponse();
    expect(streamed.output).toMatchObject(expected);
    const whole = await client.responses.create({ model: 'm', input: 'q' });
    expect(whole.output).toMatchObject(expected);
    expect(whole.status).toBe('completed');
  });
});

describe('errors on responses', () => {
  it.each([
    ['invalid_api_key', 401, OpenAI.AuthenticationError, 'openai-responses-invalid_api_key'],
    ['model_not_found', 400, OpenAI.BadRequestError, 'openai-responses-model_not_found'],
    ['invalid_json_schema', 400, OpenAI.BadRequestError, 'openai-responses-invalid_json_schema'],
    ['insufficient_quota', 429, OpenAI.RateLimitError, 'openai-insufficient_quota'],
  ] as const)('error(openai, %s) is the body recorded on /v1/responses, status %i', async (code, status, type, fixture) => {
    upstream.enqueue(behaviors.error('openai', code));
    const response = await send(responsesUrl(), { body: responsesBody('q') });
    expect(response.status).toBe(status);
    expect(response.text).toBe(readFixture(fixture));
    upstream.enqueue(behaviors.error('openai', code));
    const failure = await client.responses.create({ model: 'm', input: 'q' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(type);
    expect((failure as InstanceType<typeof OpenAI.APIError>).code).toBe(code);
  });

  it('synthesized OpenAI errors use the Responses layout: 2-space, no trailing newline', async () => {
    upstream.enqueue(behaviors.error('openai', 'server_error'), behaviors.error('openai', 'rate_limit_exceeded'));
    const server = await send(responsesUrl(), { body: responsesBody('q') });
    expect(server.status).toBe(500);
    expect(server.text).toBe(JSON.stringify({ error: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', param: null, code: null } }, null, 2));
    const limited = await send(responsesUrl(), { body: responsesBody('q') });
    expect(limited.text).toMatch(/^\{\n {2}"error": \{\n {4}"message": "Rate limit reached for gpt-5-mini /);
    expect(limited.text.endsWith('}')).toBe(true);
  });

  it("rateLimit is OpenAI's 429 with Retry-After, in the Responses layout", async () => {
    upstream.enqueue(behaviors.rateLimit({ retryAfterSeconds: 2, retryAfterMs: 1500 }));
    const response = await send(responsesUrl(), { body: responsesBody('q') });
    expect(response.status).toBe(429);
    expect(response.headers).toMatchObject({ 'retry-after': '2', 'retry-after-ms': '1500', 'content-type': 'application/json' });
    expect(response.text.endsWith('\n}')).toBe(true);
    expect(JSON.parse(response.text).error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded' });
    upstream.enqueue(behaviors.rateLimit());
    expect(await client.responses.create({ model: 'm', input: 'q' }).catch((error: unknown) => error)).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('regionBlock is the recorded OpenAI 403', async () => {
    upstream.enqueue(behaviors.regionBlock());
    const response = await send(responsesUrl(), { body: responsesBody('q') });
    expect([response.status, response.text]).toEqual([403, readFixture('openai-unsupported_country_region_territory')]);
  });
});

describe('breaks on responses', () => {
  it('streamError sends N text deltas, an error event, then response.failed, and ends the body', async () => {
    upstream.enqueue(behaviors.streamError(2));
    const { events, complete } = await streamEvents(responsesBody('alpha beta gamma'));
    expect(complete).toBe(true);
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'error',
      'response.failed',
    ]);
    const message = 'The server had an error while processing your request. Sorry about that!';
    expect(events[6]).toEqual({ type: 'error', sequence_number: 6, error: { type: 'server_error', code: 'server_error', message, param: null } });
    expect(events[7]?.response ?? {}).toMatchObject({
      status: 'failed',
      error: { code: 'server_error', message },
      usage: null,
      output: [{ type: 'message', status: 'incomplete', content: [{ text: 'echo: alpha' }] }],
    });
  });

  it('streamError breaks the SDK stream with an APIError carrying the scripted code', async () => {
    upstream.enqueue(behaviors.streamError(1, { chunks: ['partial'], errorType: 'insufficient_quota', message: 'You exceeded your current quota.' }));
    const stream = await client.responses.create({ model: 'm', input: 'q', stream: true });
    const deltas: string[] = [];
    const failure = await (async () => {
      for await (const event of stream) if (event.type === 'response.output_text.delta') deltas.push(event.delta);
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as InstanceType<typeof OpenAI.APIError>).code).toBe('insufficient_quota');
    expect(deltas).toEqual(['partial']);
  });

  it('streamError on a request that did not stream is a 500 in the Responses layout', async () => {
    upstream.enqueue(behaviors.streamError(1));
    const failure = await client.responses.create({ model: 'm', input: 'q' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.InternalServerError);
  });

  it('stallMidStream stops after N output_text deltas, until the client leaves', async () => {
    upstream.enqueue(behaviors.stallMidStream(1));
    const idle = upstream.openConnections;
    const pending = start(responsesUrl(), { body: responsesBody('one two', { stream: true }) });
    const text = await readUntil(await pending.response, (sofar) => sofar.includes('response.output_text.delta\ndata'));
    expect(eventsOf(text).map((event) => event.type).at(-1)).toBe('response.output_text.delta');
    pending.abort();
    await upstream.waitForOpenConnections(idle);
    expect(upstream.lastRequest()?.aborted).toBe(true);
  });

  it('cutMidStream drops the connection after N deltas, and the SDK stream fails rather than ending', async () => {
    upstream.enqueue(behaviors.cutMidStream(3));
    const raw = await send(responsesUrl(), { body: responsesBody('a b c d', { stream: true }) });
    expect(raw.complete).toBe(false);
    expect(eventsOf(raw.text).filter((event) => event.type === 'response.output_text.delta').map((event) => event.delta)).toEqual(['echo:', ' a', ' b']);
    upstream.enqueue(behaviors.cutMidStream(1, ['only']));
    await expect(client.responses.stream({ model: 'm', input: 'q' }).finalResponse()).rejects.toThrow();
  });
});
