/**
 * The official `openai` SDK as a client of `/v1/responses`, served by a chat-only upstream through translation:
 * `responses.create` streaming and not, `responses.stream` with a function tool over two turns, reasoning, a length
 * stop, what needs server state refused with a hint, errors as the SDK's own classes, and a stream cut after the commit.
 */
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Behavior, behaviors } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, post, responsesEvents, startHarness } from './harness.js';

type ApiError = InstanceType<typeof OpenAI.APIError>;

const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  strict: false,
  parameters: { type: 'object', properties: { city: { type: 'string' }, state: { type: 'string' } }, required: ['city'] },
};

describe.each(ADAPTERS)('the openai SDK on /v1/responses over %s, translated to a chat-only upstream', (adapter) => {
  let h: Harness;
  let appToken: string;
  let key: string;
  let client: OpenAI;

  beforeAll(async () => {
    appToken = `app-${randomUUID()}`;
    h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url, wires: ['chat'] } }, appTokens: [appToken] }) });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    key = callerKey();
    client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: appToken, maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': key } });
  });

  it('responses.create: output_text, usage, the routing headers; the upstream got a chat request with the caller key', async () => {
    const { data, response } = await client.responses.create({ model: 'general', instructions: 'Be brief.', input: 'hello there', max_output_tokens: 200 }).withResponse();
    expect(data.object).toBe('response');
    expect(data.status).toBe('completed');
    expect(data.output_text).toBe('echo: hello there');
    expect(data.output).toHaveLength(1);
    expect(data.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed' });
    expect(data.model).toBe('gpt-5');
    expect(data.id).toMatch(/^resp_/);
    expect(data.usage).toMatchObject({ output_tokens: 3, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } });
    expect(data.instructions).toBe('Be brief.');
    expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5');
    expect(response.headers.get('x-llm-attempts')).toBe('1');
    const received = h.upstream.lastRequest();
    expect(received?.path).toBe('/v1/chat/completions');
    expect(received?.headers.authorization).toBe(`Bearer ${key}`);
    expect(JSON.stringify(received?.headers)).not.toContain(appToken);
    expect(received?.json).toEqual({
      model: 'gpt-5',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello there' },
      ],
      max_completion_tokens: 200,
    });
  });

  it('responses.create with stream: true: the whole event sequence, numbered from 0, text deltas as they came', async () => {
    const stream = await client.responses.create({ model: 'general', input: [{ role: 'user', content: 'stream me please' }], stream: true });
    const list: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) list.push(event);
    expect(list.map((event) => event.sequence_number)).toEqual(list.map((_, index) => index));
    expect(list.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...list.filter((event) => event.type === 'response.output_text.delta').map(() => 'response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const deltas = list.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : []));
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('echo: stream me please');
    const completed = list.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(completed.response.usage?.output_tokens).toBe(4);
    expect(h.upstream.lastRequest()?.json).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('responses.stream with a function tool, then a second turn carrying function_call_output', async () => {
    h.upstream.enqueue({ type: 'fixture', name: 'openai-tool-call' });
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'weather in San Francisco?' }];
    const stream = client.responses.stream({ model: 'general', input, tools: [WEATHER_TOOL] });
    const argumentDeltas: string[] = [];
    stream.on('response.function_call_arguments.delta', (event) => argumentDeltas.push(event.delta));
    const first = await stream.finalResponse();
    expect(first.status).toBe('completed');
    const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall | undefined;
    expect(call).toMatchObject({ type: 'function_call', name: 'get_weather', status: 'completed' });
    expect(JSON.parse(call?.arguments ?? '')).toEqual({ city: 'San Francisco', state: 'CA' });
    expect(argumentDeltas.length).toBeGreaterThan(2);
    expect(argumentDeltas.join('')).toBe(call?.arguments);
    expect(h.upstream.lastRequest()?.json).toMatchObject({ tools: [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: WEATHER_TOOL.parameters, strict: false } }] });

    const second = await client.responses
      .stream({ model: 'general', tools: [WEATHER_TOOL], input: [...input, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: call?.call_id as string, output: '14°C and fog' }] })
      .finalResponse();
    // The chat sandbox echoes the last user message; what counts is the tool turn it received.
    expect(second.output_text).toBe('echo: weather in San Francisco?');
    expect((h.upstream.lastRequest()?.json as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'weather in San Francisco?' },
      { role: 'assistant', content: null, tool_calls: [{ id: call?.call_id, type: 'function', function: { name: 'get_weather', arguments: call?.arguments } }] },
      { role: 'tool', tool_call_id: call?.call_id, content: '14°C and fog' },
    ]);
  });

  it('two parallel calls become two function_call items, each with its own joined arguments', async () => {
    h.upstream.enqueue({ type: 'fixture', name: 'openai-tool-calls-parallel' });
    const response = await client.responses.create({ model: 'general', input: 'weather and a stock', tools: [WEATHER_TOOL], parallel_tool_calls: true });
    const calls = response.output.filter((item): item is OpenAI.Responses.ResponseFunctionToolCall => item.type === 'function_call');
    expect(calls.map((item) => [item.name, JSON.parse(item.arguments)])).toEqual([
      ['GetWeatherArgs', { city: 'Edinburgh', country: 'GB', units: 'c' }],
      ['get_stock_price', { ticker: 'AAPL', exchange: 'NASDAQ' }],
    ]);
    expect(new Set(calls.map((item) => item.call_id)).size).toBe(2);
    expect(h.upstream.lastRequest()?.json).toMatchObject({ parallel_tool_calls: true });
  });

  it('reasoning: reasoning_content streams as a reasoning item with summary deltas, and the effort asked for goes upstream', async () => {
    h.upstream.enqueue({ type: 'fixture', name: 'deepseek-v4-pro-reasoning' });
    const stream = client.responses.stream({ model: 'reasoning', input: 'What is 17 * 23?', reasoning: { effort: 'high', summary: 'auto' } });
    const summary: string[] = [];
    stream.on('response.reasoning_summary_text.delta', (event) => summary.push(event.delta));
    const final = await stream.finalResponse();
    expect(final.output.map((item) => item.type)).toEqual(['reasoning', 'message']);
    expect(summary.join('')).toContain('17 * 23');
    expect((final.output[0] as OpenAI.Responses.ResponseReasoningItem).summary[0]?.text).toBe(summary.join(''));
    expect(final.output_text).toBe('The product of 17 and 23 is 391.');
    expect(h.upstream.lastRequest()?.json).toMatchObject({ model: 'o3', reasoning_effort: 'high' });
  });

  it('a stop at the length limit is response.incomplete with reason max_output_tokens', async () => {
    h.upstream.enqueue(behaviors.stream(['a', 'b'], { finishReason: 'length' }));
    const stream = await client.responses.create({ model: 'vision', input: 'x', max_output_tokens: 2, temperature: 0.3, stream: true });
    const types: string[] = [];
    let last: OpenAI.Responses.ResponseStreamEvent | undefined;
    for await (const event of stream) {
      types.push(event.type);
      last = event;
    }
    expect(types).not.toContain('response.completed');
    expect(last?.type).toBe('response.incomplete');
    expect((last as OpenAI.Responses.ResponseIncompleteEvent).response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(h.upstream.lastRequest()?.json).toMatchObject({ model: 'gpt-4o', max_tokens: 2, temperature: 0.3 });
  });

  it('a JSON schema format and images translate to response_format and image_url parts', async () => {
    const response = await client.responses.create({
      model: 'vision',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'describe' }, { type: 'input_image', image_url: 'https://example.com/cat.jpg', detail: 'low' }] }],
      text: { format: { type: 'json_schema', name: 'cat', schema: { type: 'object', properties: { colour: { type: 'string' } } }, strict: true } },
    });
    expect(response.output_text).toBe('echo: describe');
    expect(h.upstream.lastRequest()?.json).toMatchObject({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'describe' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'low' } }] }],
      response_format: { type: 'json_schema', json_schema: { name: 'cat', strict: true } },
    });
  });

  it('what needs server state is a 400 invalid_request with a hint, before any upstream call', async () => {
    for (const params of [{ previous_response_id: 'resp_abc' }, { store: true }, { conversation: 'conv_1' }]) {
      const error = await client.responses.create({ model: 'general', input: 'again', ...params }).then(
        () => undefined,
        (thrown: unknown) => thrown as ApiError,
      );
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error?.code).toBe('invalid_request');
      expect(error?.param).toBe(Object.keys(params)[0]);
      expect((error?.error as { hint: string }).hint).toMatch(/store: false/);
    }
    expect(h.upstream.requests).toHaveLength(0);
  });

  it('a built-in tool is a 400 with a hint that says how to turn it off, never dropped', async () => {
    const error = await client.responses.create({ model: 'general', input: 'search', tools: [{ type: 'web_search' }] }).then(
      () => undefined,
      (thrown: unknown) => thrown as ApiError,
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error?.message).toMatch(/built-in "web_search" tool .* cannot be translated to Chat Completions/);
    expect((error?.error as { hint: string }).hint).toMatch(/web_search = "disabled"/);
    expect(h.upstream.requests).toHaveLength(0);
  });

  it('a body its protocol cannot mean is a 400 invalid_request before any upstream call', async () => {
    for (const body of [{ model: 'general' }, { model: 'general', input: 42 }, { model: 'general', input: [7] }, { model: 5, input: 'x' }]) {
      const response = await post(`${h.url}/v1/responses`, body, { authorization: `Bearer ${appToken}`, 'x-llm-api-key': key });
      expect(response.status).toBe(400);
      const json = (await response.json()) as { error: { type: string; code: string; message: string; hint: string } };
      expect(json.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request' });
      expect(json.error.hint.length).toBeGreaterThan(0);
    }
    expect(h.upstream.requests).toHaveLength(0);
  });

  describe('errors as the SDK own classes', () => {
    const cases: Array<{ name: string; upstream: Behavior; model?: string; type: abstract new (...args: never[]) => ApiError; status: number; code: string }> = [
      { name: 'a bad key', upstream: behaviors.error('openai', 'invalid_api_key'), type: OpenAI.AuthenticationError, status: 401, code: 'invalid_api_key' },
      { name: 'a rate limit', upstream: behaviors.rateLimit({ retryAfterSeconds: 1 }), type: OpenAI.RateLimitError, status: 429, code: 'rate_limited' },
      { name: 'a missing model', upstream: behaviors.error('openai', 'model_not_found'), model: 'gpt-nope', type: OpenAI.NotFoundError, status: 404, code: 'model_not_found' },
      { name: 'a broken proxy', upstream: behaviors.garbage(), type: OpenAI.InternalServerError, status: 502, code: 'upstream_error' },
    ];

    it.each(cases)('$name → $type.name $status $code', async (c) => {
      h.upstream.enqueue(c.upstream);
      const error = await client.responses.create({ model: c.model ?? 'general', input: 'hi' }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(c.type);
      const apiError = error as ApiError;
      expect(apiError.status).toBe(c.status);
      expect(apiError.code).toBe(c.code);
      expect((apiError.error as { hint?: string }).hint?.length).toBeGreaterThan(0);
      expect(apiError.message).not.toContain(key);
    });

    it('a stream cut after the commit ends with an error event then response.failed, never response.completed', async () => {
      h.upstream.enqueue({ type: 'cutMidStream', afterChunks: 2 });
      const response = await post(`${h.url}/v1/responses`, { model: 'general', stream: true, input: 'cut me off now' }, { authorization: `Bearer ${appToken}`, 'x-llm-api-key': key });
      expect(response.status).toBe(200);
      const list = await responsesEvents(response);
      expect(list.map((event) => event.sequence_number)).toEqual(list.map((_, index) => index));
      expect(list.map((event) => event.type)).not.toContain('response.completed');
      expect(list.slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
      expect(list.at(-2)).toMatchObject({ error: { code: 'upstream_error', hint: expect.any(String) } });
      expect(list.at(-1)?.response).toMatchObject({ status: 'failed', error: { code: 'upstream_error' } });
      const text = list.filter((event) => event.type === 'response.output_text.delta').map((event) => event.delta as string);
      expect(text.join('')).toBe('echo: cut');

      // The SDK raises it rather than returning a response that looks finished.
      h.upstream.enqueue({ type: 'cutMidStream', afterChunks: 2 });
      const failed = await client.responses
        .stream({ model: 'general', input: 'cut me off now' })
        .finalResponse()
        .then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
      expect(failed).toBeInstanceOf(OpenAI.APIError);
      expect((failed as ApiError).code).toBe('upstream_error');
    });
  });
});
