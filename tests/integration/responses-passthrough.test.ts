/**
 * `/v1/responses` passed through to an upstream that speaks Responses (OpenAI, Azure v1, DashScope, Volcengine):
 * the request goes on with only `model` rewritten (stateful fields included), the answer comes back as the bytes
 * the upstream sent, recorded real streams included, while an observer learns usage and breaks. The official
 * `openai` SDK drives it, on both adapters.
 */
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '@switchyard/core';
import { behaviors, listFixtures, readFixture } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, post, responsesEvents, startHarness } from './harness.js';

type ApiError = InstanceType<typeof OpenAI.APIError>;

const RECORDED_STREAMS = listFixtures('responses')
  .filter((file) => file.endsWith('.sse.txt'))
  .map((file) => file.slice(0, -'.sse.txt'.length));

const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  strict: false,
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe.each(ADAPTERS)('/v1/responses over %s, passed through to a Responses upstream', (adapter) => {
  let h: Harness;
  let appToken: string;
  let key: string;
  let client: OpenAI;
  const log: RequestLogEntry[] = [];

  beforeAll(async () => {
    appToken = `app-${randomUUID()}`;
    h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url } }, appTokens: [appToken], onRequest: (entry) => log.push(entry) }) });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    log.length = 0;
    key = callerKey();
    client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: appToken, maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': key } });
  });

  const headers = () => ({ authorization: `Bearer ${appToken}`, 'x-llm-api-key': key, 'x-llm-provider': 'openai' });

  it('responses.create: the request goes on as it came, only model rewritten, stateful fields included', async () => {
    const request = {
      model: 'general',
      input: [{ role: 'user' as const, content: 'hello there' }],
      instructions: 'Be brief.',
      previous_response_id: 'resp_earlier',
      store: true,
      include: ['reasoning.encrypted_content' as const],
      tools: [WEATHER_TOOL, { type: 'web_search' as const }],
      metadata: { trace: 't1' },
    };
    const { data, response } = await client.responses.create(request).withResponse();
    expect(data.output_text).toBe('echo: hello there');
    expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5');
    const received = h.upstream.lastRequest();
    expect(received?.endpoint).toBe('responses');
    expect(received?.path).toBe('/v1/responses');
    expect(received?.headers.authorization).toBe(`Bearer ${key}`);
    expect(JSON.stringify(received?.headers)).not.toContain(appToken);
    expect(received?.json).toEqual({ ...request, model: 'gpt-5' });
    expect(log[0]).toMatchObject({ endpoint: 'responses', provider: 'openai', model: 'gpt-5', status: 200, outputTokens: 3 });
  });

  it('responses.create with stream: true: the upstream stream as the SDK reads it, numbered from 0', async () => {
    const stream = await client.responses.create({ model: 'general', input: 'stream it through', stream: true });
    const list: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) list.push(event);
    expect(list.map((event) => event.sequence_number)).toEqual(list.map((_, index) => index));
    expect(list.at(-1)?.type).toBe('response.completed');
    expect(list.flatMap((event) => (event.type === 'response.output_text.delta' ? [event.delta] : [])).join('')).toBe('echo: stream it through');
    expect(h.upstream.lastRequest()?.json).toEqual({ model: 'gpt-5', input: 'stream it through', stream: true });
  });

  it.each(RECORDED_STREAMS)('streams the recorded %s to the client byte for byte', async (name) => {
    h.upstream.enqueue(behaviors.fixture(name));
    const response = await post(`${h.url}/v1/responses`, { model: 'general', stream: true, input: 'replay' }, headers());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(await response.text()).toBe(readFixture(name));
  });

  it('the observer learns usage from the terminal event: cached and reasoning tokens reach the request log', async () => {
    h.upstream.enqueue(behaviors.fixture('openai-responses-text-cached'));
    const response = await post(`${h.url}/v1/responses`, { model: 'general', stream: true, input: 'replay' }, headers());
    await response.text();
    await expect.poll(() => log.length).toBe(1);
    expect(log[0]).toMatchObject({ endpoint: 'responses', inputTokens: 1515, outputTokens: 8, cachedTokens: 1390, reasoningTokens: 0 });
    expect(log[0]?.streamError).toBeUndefined();
  });

  it('responses.stream with a function tool, then a second turn carrying function_call_output, as they came', async () => {
    h.upstream.enqueue(behaviors.stream(['Checking.'], { toolCalls: [{ name: 'get_weather', arguments: '{"city":"Paris"}' }] }));
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'weather in Paris?' }];
    const first = await client.responses.stream({ model: 'general', input, tools: [WEATHER_TOOL] }).finalResponse();
    const call = first.output.find((item) => item.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall | undefined;
    expect(call).toMatchObject({ name: 'get_weather', arguments: '{"city":"Paris"}' });
    expect(first.output_text).toBe('Checking.');

    const next: OpenAI.Responses.ResponseInput = [...input, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: call?.call_id as string, output: '21°C' }];
    const second = await client.responses.stream({ model: 'general', input: next, tools: [WEATHER_TOOL] }).finalResponse();
    expect(second.output_text).toBe('echo: 21°C');
    expect(h.upstream.lastRequest()?.json).toEqual({ model: 'gpt-5', input: JSON.parse(JSON.stringify(next)), tools: [WEATHER_TOOL], stream: true });
  });

  it('an upstream error event then response.failed reach the SDK, which raises the error', async () => {
    h.upstream.enqueue(behaviors.fixture('openai-responses-error-event'));
    const error = await client.responses
      .stream({ model: 'general', input: 'no credit' })
      .finalResponse()
      .then(
        () => undefined,
        (thrown: unknown) => thrown as ApiError,
      );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error?.code).toBe('insufficient_quota');
    await expect.poll(() => log.length).toBe(1);
    expect(log[0]?.streamError).toBe('insufficient_quota');
  });

  it('a stream cut after the commit: the bytes that came, then an error event and response.failed numbered after them', async () => {
    h.upstream.enqueue(behaviors.cutMidStream(2));
    const response = await post(`${h.url}/v1/responses`, { model: 'general', stream: true, input: 'cut me off now' }, headers());
    expect(response.status).toBe(200);
    const list = await responsesEvents(response);
    expect(list.map((event) => event.sequence_number)).toEqual(list.map((_, index) => index));
    expect(list.slice(-2).map((event) => event.type)).toEqual(['error', 'response.failed']);
    expect(list.at(-2)).toMatchObject({ error: { code: 'upstream_error', hint: expect.any(String) } });
    expect(list.at(-1)?.response).toMatchObject({ status: 'failed', error: { code: 'upstream_error' }, id: list[0]?.response.id });
    expect(list.map((event) => event.type)).not.toContain('response.completed');
  });

  it('an unknown model (a 400 on /responses) moves on to the next candidate of the tier', async () => {
    h.upstream.enqueue(behaviors.error('openai', 'model_not_found'));
    const { data, response } = await client.responses.create({ model: 'general', input: 'second candidate' }).withResponse();
    expect(data.output_text).toBe('echo: second candidate');
    expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5-mini');
    expect(response.headers.get('x-llm-attempts')).toBe('2');
    expect(h.upstream.requests.map((request) => (request.json as { model: string }).model)).toEqual(['gpt-5', 'gpt-5-mini']);
  });

  it('upstream errors before the commit keep the SDK own classes, in OpenAI envelope with a hint', async () => {
    h.upstream.enqueue(behaviors.error('openai', 'invalid_api_key'));
    const error = await client.responses.create({ model: 'general', input: 'hi' }).then(
      () => undefined,
      (thrown: unknown) => thrown as ApiError,
    );
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error?.code).toBe('invalid_api_key');
    expect((error?.error as { hint?: string }).hint).toBeTruthy();
    expect(error?.message).not.toContain(key);
  });
});
