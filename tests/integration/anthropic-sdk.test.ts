/**
 * The official `@anthropic-ai/sdk` as a client of `/v1/messages` and `/v1/messages/count_tokens`, served by a
 * chat-only upstream through translation: streaming, non-streaming, tool use over two turns, token counts, and
 * errors raised as the SDK's own classes, in Anthropic's envelope with a hint.
 */
import { randomUUID } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Behavior, behaviors, readFixture } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, post, startHarness } from './harness.js';

type ApiError = InstanceType<typeof Anthropic.APIError>;

/** The `event:`/`data:` frames of an Anthropic stream, as the client received them. */
async function anthropicEvents(response: Response): Promise<Array<{ event: string; data: Record<string, any> }>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('event: '))
    .map((frame) => {
      const [eventLine, dataLine] = frame.split('\n');
      return { event: (eventLine as string).slice(7), data: JSON.parse((dataLine as string).slice(6)) as Record<string, any> };
    });
}

/** The text and thinking of a recorded Anthropic stream, read plainly. */
function anthropicRecording(name: string): { text: string; thinking: string } {
  let text = '';
  let thinking = '';
  for (const line of readFixture(name).split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const event = JSON.parse(line.slice(6)) as { type: string; delta?: { type: string; text?: string; thinking?: string } };
    if (event.delta?.type === 'text_delta') text += event.delta.text;
    if (event.delta?.type === 'thinking_delta') thinking += event.delta.thinking;
  }
  return { text, thinking };
}

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] },
};

describe.each(ADAPTERS)('the Anthropic SDK over %s, translated to a chat-only upstream', (adapter) => {
  let h: Harness;
  let appToken: string;
  let key: string;
  let client: Anthropic;

  beforeAll(async () => {
    appToken = `app-${randomUUID()}`;
    h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url } }, appTokens: [appToken] }) });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    key = callerKey();
    // The app token travels as the SDK's auth token (Authorization: Bearer), the caller's key in X-LLM-Api-Key.
    client = new Anthropic({ baseURL: h.url, authToken: appToken, apiKey: null, maxRetries: 0, defaultHeaders: { 'X-LLM-Api-Key': key, 'X-LLM-Provider': 'openai' } });
  });

  it('answers messages.create: the text, the stop reason, usage; the upstream got a chat request with the caller key', async () => {
    const { data, response } = await client.messages.create({ model: 'general', max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    expect(data.type).toBe('message');
    expect(data.role).toBe('assistant');
    expect(data.content).toEqual([{ type: 'text', text: 'echo: hello there' }]);
    expect(data.stop_reason).toBe('end_turn');
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    expect(data.usage.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5');
    const received = h.upstream.lastRequest();
    expect(received?.path).toBe('/v1/chat/completions');
    expect(received?.headers.authorization).toBe(`Bearer ${key}`);
    expect(received?.headers['x-api-key']).toBeUndefined();
    expect(JSON.stringify(received?.headers)).not.toContain(appToken);
    expect(received?.json).toMatchObject({
      model: 'gpt-5',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hello there' },
      ],
      max_completion_tokens: 200,
    });
  });

  it('takes x-api-key (Claude Code, the AI SDK, older SDKs) as the caller key when X-LLM-Api-Key is absent', async () => {
    const open = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url } } }) });
    try {
      // SDK 1.x sends its own apiKey as Authorization, which Switchyard leaves to the host app; x-api-key is explicit here.
      const sdk = new Anthropic({ baseURL: open.url, apiKey: null, maxRetries: 0, defaultHeaders: { 'x-api-key': key, 'X-LLM-Provider': 'openai' } });
      const message = await sdk.messages.create({ model: 'general', max_tokens: 20, messages: [{ role: 'user', content: 'by x-api-key' }] });
      expect(message.content).toEqual([{ type: 'text', text: 'echo: by x-api-key' }]);
      const received = open.upstream.lastRequest();
      expect(received?.headers.authorization).toBe(`Bearer ${key}`);
      expect(received?.headers['x-api-key']).toBeUndefined();
    } finally {
      await open.close();
    }
  });

  it('streams with messages.stream: text deltas arrive, the final message is whole', async () => {
    const stream = client.messages.stream({ model: 'general', max_tokens: 100, messages: [{ role: 'user', content: 'stream me please' }] });
    const deltas: string[] = [];
    stream.on('text', (text) => deltas.push(text));
    const final = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('echo: stream me please');
    expect(final.content).toEqual([{ type: 'text', text: 'echo: stream me please', citations: null }].map(({ citations: _, ...block }) => block));
    expect(final.stop_reason).toBe('end_turn');
    expect(final.usage.output_tokens).toBe(4);
    expect(h.upstream.lastRequest()?.json).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('streams the wire events in Anthropic order, ending with message_delta and message_stop', async () => {
    const response = await post(`${h.url}/v1/messages`, { model: 'general', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'order' }] }, {
      authorization: `Bearer ${appToken}`,
      'x-llm-api-key': key,
      'x-llm-provider': 'openai',
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = await anthropicEvents(response);
    const names = events.map((e) => e.event);
    expect(names[0]).toBe('message_start');
    expect(names[1]).toBe('content_block_start');
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    for (const e of events) expect(e.data.type).toBe(e.event);
    const last = events.at(-2)?.data;
    expect(last?.delta).toEqual({ stop_reason: 'end_turn', stop_sequence: null });
    expect(last?.usage.output_tokens).toBe(2);
  });

  it('tool use over two turns: tool_use blocks from fragmented tool calls, then the tool result goes back as a tool message', async () => {
    h.upstream.enqueue({ type: 'fixture', name: 'openai-tool-calls-parallel' });
    const first = await client.messages.stream({ model: 'general', max_tokens: 300, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'weather and a stock' }] }).finalMessage();
    expect(first.stop_reason).toBe('tool_use');
    const uses = first.content.filter((block) => block.type === 'tool_use');
    expect(uses.map((use) => [use.name, use.input])).toEqual([
      ['GetWeatherArgs', { city: 'Edinburgh', country: 'GB', units: 'c' }],
      ['get_stock_price', { ticker: 'AAPL', exchange: 'NASDAQ' }],
    ]);
    expect(h.upstream.lastRequest()?.json).toMatchObject({ tools: [{ type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: WEATHER_TOOL.input_schema } }] });

    const second = await client.messages.create({
      model: 'general',
      max_tokens: 300,
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'weather and a stock' },
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: uses[0]?.id as string, content: '12°C and rain' },
            { type: 'tool_result', tool_use_id: uses[1]?.id as string, content: [{ type: 'text', text: '$201' }] },
            { type: 'text', text: 'summarise' },
          ],
        },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'echo: summarise' }]);
    const sent = h.upstream.lastRequest()?.json as { messages: unknown[] };
    expect(sent.messages).toEqual([
      { role: 'user', content: 'weather and a stock' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: uses[0]?.id, type: 'function', function: { name: 'GetWeatherArgs', arguments: '{"city":"Edinburgh","country":"GB","units":"c"}' } },
          { id: uses[1]?.id, type: 'function', function: { name: 'get_stock_price', arguments: '{"ticker":"AAPL","exchange":"NASDAQ"}' } },
        ],
      },
      { role: 'tool', tool_call_id: uses[0]?.id, content: '12°C and rain' },
      { role: 'tool', tool_call_id: uses[1]?.id, content: '$201' },
      { role: 'user', content: 'summarise' },
    ]);
  });

  it('thinking: reasoning_content comes back as a thinking block, and thinking asked for becomes the provider parameter', async () => {
    h.upstream.enqueue({ type: 'fixture', name: 'deepseek-v4-pro-reasoning' });
    const message = await client.messages
      .stream({ model: 'reasoning', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'What is 17 * 23?' }] })
      .finalMessage();
    expect(message.content[0]?.type).toBe('thinking');
    expect((message.content[0] as { thinking: string }).thinking).toContain('17 * 23');
    expect(message.content[1]).toMatchObject({ type: 'text', text: 'The product of 17 and 23 is 391.' });
    expect(h.upstream.lastRequest()?.json).toMatchObject({ model: 'o3', reasoning_effort: 'low', max_completion_tokens: 4000 });
  });

  it('images: base64 and URL sources become image_url parts', async () => {
    await client.messages.create({
      model: 'vision',
      max_tokens: 50,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
            { type: 'text', text: 'what is this' },
          ],
        },
      ],
    });
    expect(h.upstream.lastRequest()?.json).toMatchObject({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
            { type: 'text', text: 'what is this' },
          ],
        },
      ],
    });
  });

  it('stop_sequences, temperature and a stop at the length limit translate both ways', async () => {
    h.upstream.enqueue(behaviors.stream(['a', 'b'], { finishReason: 'length' }));
    // This SDK's types no longer list `temperature`, but the API and older clients still send it.
    const params = { model: 'vision', max_tokens: 2, temperature: 0.2, stop_sequences: ['END'], messages: [{ role: 'user' as const, content: 'x' }] };
    const message = await client.messages.create(params as Anthropic.MessageCreateParamsNonStreaming);
    expect(message.stop_reason).toBe('max_tokens');
    expect(h.upstream.lastRequest()?.json).toMatchObject({ model: 'gpt-4o', stop: ['END'], temperature: 0.2, max_tokens: 2 });
  });

  it('countTokens: an honest estimate from a provider that cannot count, marked as one', async () => {
    const { data, response } = await client.messages.countTokens({ model: 'general', system: 'Be brief.', messages: [{ role: 'user', content: 'count these few words please' }] }).withResponse();
    expect(data.input_tokens).toBeGreaterThan(5);
    expect(data.input_tokens).toBeLessThan(30);
    expect((data as { estimated?: boolean }).estimated).toBe(true);
    expect(response.headers.get('x-llm-token-count')).toBe('estimate');
    expect(h.upstream.requests).toHaveLength(0);
  });

  it('a body its protocol cannot mean is a 400 invalid_request_error before any upstream call', async () => {
    for (const body of [{ model: 'general', messages: [{ role: 'user', content: 'no max_tokens' }] }, { model: 'general', max_tokens: 5, messages: [{ role: 'robot', content: 'x' }] }, { model: 'general', max_tokens: 5 }]) {
      const response = await post(`${h.url}/v1/messages`, body, { authorization: `Bearer ${appToken}`, 'x-llm-api-key': key });
      expect(response.status).toBe(400);
      const json = (await response.json()) as { type: string; error: { type: string; message: string }; hint: string };
      expect(json.type).toBe('error');
      expect(json.error.type).toBe('invalid_request_error');
      expect(json.hint.length).toBeGreaterThan(0);
    }
    expect(h.upstream.requests).toHaveLength(0);
  });

  it('what the target cannot express is a 400 with a hint, never dropped: a server tool, a document block', async () => {
    const calls = [
      client.messages.create({ model: 'general', max_tokens: 5, tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'x' }] }),
      client.messages.create({
        model: 'general',
        max_tokens: 5,
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }] }],
      }),
    ];
    for (const call of calls) {
      const error = await call.then(
        () => undefined,
        (thrown: unknown) => thrown as ApiError,
      );
      expect(error).toBeInstanceOf(Anthropic.BadRequestError);
      expect(error?.message).toMatch(/cannot be translated to Chat Completions/);
      expect((error?.error as { hint?: string }).hint).toBeTruthy();
    }
    expect(h.upstream.requests).toHaveLength(0);
  });

  it('cache_control is dropped silently for a target that does not honour it', async () => {
    await client.messages.create({
      model: 'general',
      max_tokens: 5,
      system: [{ type: 'text', text: 'cached system', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi', cache_control: { type: 'ephemeral' } }] }],
    });
    const sent = JSON.stringify(h.upstream.lastRequest()?.json);
    expect(sent).not.toContain('cache_control');
    expect(h.upstream.lastRequest()?.json).toMatchObject({ messages: [{ role: 'system', content: 'cached system' }, { role: 'user', content: 'hi' }] });
  });

  describe('errors in Anthropic envelope, as the SDK own classes', () => {
    const cases: Array<{ name: string; upstream: Behavior; model?: string; type: abstract new (...args: never[]) => ApiError; status: number; errorType: string; code: string }> = [
      { name: 'a bad key', upstream: behaviors.error('openai', 'invalid_api_key'), type: Anthropic.AuthenticationError, status: 401, errorType: 'authentication_error', code: 'invalid_api_key' },
      { name: 'a rate limit', upstream: behaviors.rateLimit({ retryAfterSeconds: 2 }), type: Anthropic.RateLimitError, status: 429, errorType: 'rate_limit_error', code: 'rate_limited' },
      { name: 'a missing model', upstream: behaviors.error('openai', 'model_not_found'), model: 'gpt-nope', type: Anthropic.NotFoundError, status: 404, errorType: 'not_found_error', code: 'model_not_found' },
      { name: 'an overloaded upstream (503)', upstream: { type: 'status', status: 503, body: { error: { message: 'overloaded', type: 'server_error' } } }, type: Anthropic.InternalServerError, status: 502, errorType: 'api_error', code: 'upstream_error' },
    ];

    it.each(cases)('$name → $status $errorType', async (c) => {
      h.upstream.enqueue(c.upstream);
      const error = await client.messages.create({ model: c.model ?? 'general', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(c.type);
      const apiError = error as ApiError;
      expect(apiError.status).toBe(c.status);
      const body = apiError.error as { type: string; error: { type: string; message: string }; hint: string; code: string };
      expect(body.type).toBe('error');
      expect(body.error.type).toBe(c.errorType);
      expect(body.code).toBe(c.code);
      expect(body.hint.length).toBeGreaterThan(0);
      expect(apiError.message).not.toContain(key);
      if (c.code === 'rate_limited') expect(apiError.headers?.get('retry-after')).toBe('2');
    });

    it('a stream cut after the commit ends with an error event, never message_stop', async () => {
      h.upstream.enqueue({ type: 'cutMidStream', afterChunks: 2 });
      const response = await post(`${h.url}/v1/messages`, { model: 'general', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'cut me off now' }] }, {
        authorization: `Bearer ${appToken}`,
        'x-api-key': key,
        'x-llm-provider': 'openai',
      });
      expect(response.status).toBe(200);
      const events = await anthropicEvents(response);
      expect(events.map((e) => e.event)).not.toContain('message_stop');
      const last = events.at(-1);
      expect(last?.event).toBe('error');
      expect(last?.data).toMatchObject({ type: 'error', error: { type: 'api_error' }, code: 'upstream_error' });
      expect(last?.data.hint).toBeTruthy();
      const texts = events.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta.text as string);
      expect(texts.join('')).toBe('echo: cut');

      // The SDK raises it rather than returning a message that looks finished.
      h.upstream.enqueue({ type: 'cutMidStream', afterChunks: 2 });
      const failed = await client.messages
        .stream({ model: 'general', max_tokens: 50, messages: [{ role: 'user', content: 'cut me off now' }] })
        .finalMessage()
        .then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
      expect(failed).toBeInstanceOf(Error);
    });
  });
});

describe.each(ADAPTERS)('the Anthropic SDK over %s, passed through to a messages upstream', (adapter) => {
  let h: Harness;
  let key: string;
  let client: Anthropic;

  beforeAll(async () => {
    h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { anthropic: { baseUrl: upstream.url } } }) });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    key = callerKey();
    client = new Anthropic({ baseURL: h.url, apiKey: null, maxRetries: 0, defaultHeaders: { 'x-api-key': key, 'X-LLM-Provider': 'anthropic', 'anthropic-beta': 'interleaved-thinking-2025-05-14' } });
  });

  it('forwards the request as it came but for the model, with the caller key as x-api-key and the Anthropic headers passed on', async () => {
    const body = { model: 'fast', max_tokens: 64, system: [{ type: 'text' as const, text: 'sys', cache_control: { type: 'ephemeral' as const } }], messages: [{ role: 'user' as const, content: 'pass me through' }] };
    const { data, response } = await client.messages.create(body).withResponse();
    expect(data.content).toEqual([{ type: 'text', text: 'echo: pass me through' }]);
    expect(response.headers.get('x-llm-served-by')).toBe('anthropic/claude-haiku-4-5');
    const received = h.upstream.lastRequest();
    expect(received?.path).toBe('/v1/messages');
    expect(received?.headers['x-api-key']).toBe(key);
    expect(received?.headers.authorization).toBeUndefined();
    expect(received?.headers['anthropic-version']).toBe(response.headers.get('x-sent-version') ?? received?.headers['anthropic-version']);
    expect(received?.headers['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(received?.headers['anthropic-beta']).toBe('interleaved-thinking-2025-05-14');
    // Only `model` changed: cache_control and the rest arrive as the caller sent them.
    expect(received?.json).toEqual({ ...body, model: 'claude-haiku-4-5' });
  });

  it('streams the upstream bytes through, Anthropic padding and pings included', async () => {
    h.upstream.enqueue({ type: 'fixture', name: 'anthropic-text' });
    const response = await post(`${h.url}/v1/messages`, { model: 'general', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': key, 'x-llm-provider': 'anthropic' });
    const text = await response.text();
    const recorded = readFixture('anthropic-text.sse.txt');
    expect(text).toBe(recorded);
    const stream = client.messages.stream({ model: 'general', max_tokens: 64, messages: [{ role: 'user', content: 'again' }] });
    h.upstream.enqueue({ type: 'fixture', name: 'anthropic-thinking' });
    const final = await stream.finalMessage();
    expect(final.content.map((block) => block.type)).toEqual(['thinking', 'text']);
    expect((final.content[0] as { signature: string }).signature.length).toBeGreaterThan(1000);
  });

  it('serves /v1/messages?beta=true, as the SDK beta client and Claude Code call it', async () => {
    const response = await post(`${h.url}/v1/messages?beta=true`, { model: 'general', max_tokens: 16, messages: [{ role: 'user', content: 'beta' }] }, { 'x-api-key': key, 'x-llm-provider': 'anthropic' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { content: Array<{ text: string }> }).content[0]?.text).toBe('echo: beta');
  });

  it('countTokens is exact from an upstream that counts', async () => {
    const { data, response } = await client.messages.countTokens({ model: 'general', messages: [{ role: 'user', content: 'count these words' }] }).withResponse();
    expect(data.input_tokens).toBeGreaterThan(0);
    expect((data as { estimated?: boolean }).estimated).toBeUndefined();
    expect(response.headers.get('x-llm-token-count')).toBe('exact');
    expect(h.upstream.lastRequest()?.path).toBe('/v1/messages/count_tokens');
    expect(h.upstream.lastRequest()?.headers['x-api-key']).toBe(key);
  });

  it('tool use over two turns passes through untouched', async () => {
    h.upstream.enqueue({ type: 'fixture', name: 'anthropic-tool-use-parallel' });
    const first = await client.messages.stream({ model: 'general', max_tokens: 300, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'weather' }] }).finalMessage();
    const uses = first.content.filter((block) => block.type === 'tool_use');
    expect(uses.map((use) => use.name)).toEqual(['get_weather', 'get_time']);
    const second = await client.messages.create({
      model: 'general',
      max_tokens: 300,
      tools: [WEATHER_TOOL],
      messages: [
        { role: 'user', content: 'weather' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: uses.map((use) => ({ type: 'tool_result' as const, tool_use_id: use.id, content: 'fine' })) },
      ],
    });
    expect((second.content[0] as { text: string }).text).toMatch(/^echo: fine/);
    expect((h.upstream.lastRequest()?.json as { messages: unknown[] }).messages).toHaveLength(3);
  });

  describe('errors from a messages upstream, in its own envelope with a hint', () => {
    it.each([
      { name: 'a bad key', behavior: { type: 'error', provider: 'anthropic', code: 'authentication_error' } as Behavior, type: Anthropic.AuthenticationError, status: 401, errorType: 'authentication_error', code: 'invalid_api_key' },
      { name: 'a missing model', behavior: { type: 'error', provider: 'anthropic', code: 'not_found_error' } as Behavior, type: Anthropic.NotFoundError, status: 404, errorType: 'not_found_error', code: 'model_not_found' },
      { name: 'a 429', behavior: behaviors.rateLimit({ retryAfterSeconds: 3 }), type: Anthropic.RateLimitError, status: 429, errorType: 'rate_limit_error', code: 'rate_limited' },
      { name: 'a 529', behavior: { type: 'error', provider: 'anthropic', code: 'overloaded_error' } as Behavior, type: Anthropic.InternalServerError, status: 529, errorType: 'overloaded_error', code: 'upstream_error' },
    ])('$name → $status $errorType', async (c) => {
      h.upstream.enqueue(c.behavior);
      // A raw model id: one candidate, so a missing model is the answer rather than a reason to try the next.
      const error = (await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      )) as ApiError;
      expect(error).toBeInstanceOf(c.type);
      expect(error.status).toBe(c.status);
      const body = error.error as { type: string; error: { type: string }; hint: string; code: string };
      expect(body).toMatchObject({ type: 'error', error: { type: c.errorType }, code: c.code });
      expect(body.hint.length).toBeGreaterThan(0);
      if (c.status === 429) expect(error.headers?.get('retry-after')).toBe('3');
      if (c.status === 529) expect(error.headers?.get('x-should-retry')).toBe('true');
    });

    it('an upstream error event mid-stream reaches the client once, and the stream ends there', async () => {
      h.upstream.enqueue({ type: 'streamError', afterChunks: 2 });
      const response = await post(`${h.url}/v1/messages`, { model: 'general', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'one two three four' }] }, { 'x-api-key': key, 'x-llm-provider': 'anthropic' });
      const events = await anthropicEvents(response);
      expect(events.filter((e) => e.event === 'error')).toHaveLength(1);
      expect(events.at(-1)?.event).toBe('error');
      expect(events.map((e) => e.event)).not.toContain('message_stop');
    });

    it('a stream cut mid-answer ends with our error event', async () => {
      h.upstream.enqueue({ type: 'cutMidStream', afterChunks: 2 });
      const response = await post(`${h.url}/v1/messages`, { model: 'general', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'one two three four' }] }, { 'x-api-key': key, 'x-llm-provider': 'anthropic' });
      const events = await anthropicEvents(response);
      expect(events.at(-1)).toMatchObject({ event: 'error', data: { type: 'error', code: 'upstream_error' } });
      expect(events.map((e) => e.event)).not.toContain('message_stop');
    });
  });
});

describe.each(ADAPTERS)('the openai SDK over %s, translated to an Anthropic upstream', (adapter) => {
  let h: Harness;
  let key: string;
  let client: OpenAI;

  beforeAll(async () => {
    h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { anthropic: { baseUrl: upstream.url } }, retries: { max: 1, baseDelayMs: 1, maxDelayMs: 5 } }) });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    key = callerKey();
    client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'unused', maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'anthropic', 'X-LLM-Api-Key': key } });
  });

  it('a chat completion becomes a messages request with x-api-key, and the answer comes back in chat shape', async () => {
    const completion = await client.chat.completions.create({ model: 'general', max_tokens: 100, messages: [{ role: 'system', content: 'terse' }, { role: 'user', content: 'hello claude' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toBe('echo: hello claude');
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const received = h.upstream.lastRequest();
    expect(received?.path).toBe('/v1/messages');
    expect(received?.headers['x-api-key']).toBe(key);
    expect(received?.headers.authorization).toBeUndefined();
    expect(received?.headers['anthropic-version']).toBe('2023-06-01');
    expect(received?.json).toEqual({ model: 'claude-sonnet-4-6', max_tokens: 100, system: 'terse', messages: [{ role: 'user', content: [{ type: 'text', text: 'hello claude' }] }] });
  });

  it('streams with tool calls, then sends the tool results back as tool_result blocks', async () => {
    h.upstream.enqueue({ type: 'fixture', name: 'anthropic-tool-use-parallel' });
    const stream = await client.chat.completions.create({
      model: 'general',
      stream: true,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      messages: [{ role: 'user', content: 'weather' }],
    });
    const calls = new Map<number, { id: string; name: string; args: string }>();
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        const entry = calls.get(call.index) ?? { id: '', name: '', args: '' };
        entry.id ||= call.id ?? '';
        entry.name ||= call.function?.name ?? '';
        entry.args += call.function?.arguments ?? '';
        calls.set(call.index, entry);
      }
    }
    const list = [...calls.values()];
    expect(list.map((call) => call.name)).toEqual(['get_weather', 'get_time']);
    await client.chat.completions.create({
      model: 'general',
      messages: [
        { role: 'user', content: 'weather' },
        { role: 'assistant', content: null, tool_calls: list.map((call) => ({ id: call.id, type: 'function' as const, function: { name: call.name, arguments: call.args } })) },
        ...list.map((call) => ({ role: 'tool' as const, tool_call_id: call.id, content: `${call.name} done` })),
      ],
    });
    const sent = h.upstream.lastRequest()?.json as { messages: Array<{ role: string; content: Array<Record<string, unknown>> }> };
    expect(sent.messages[1]?.content.map((block) => block.type)).toEqual(['tool_use', 'tool_use']);
    expect(sent.messages[2]).toEqual({
      role: 'user',
      content: list.map((call) => ({ type: 'tool_result', tool_use_id: call.id, content: [{ type: 'text', text: `${call.name} done` }] })),
    });
  });

  it('/api/chat reaches an Anthropic upstream too: thinking and reply events from a messages stream', async () => {
    h.upstream.enqueue({ type: 'fixture', name: 'anthropic-thinking' });
    const response = await post(`${h.url}/api/chat`, { question: 'which book sold most?' }, { 'x-llm-provider': 'anthropic', 'x-llm-api-key': key });
    const events = (await response.text())
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: '))
      .map((frame) => JSON.parse(frame.slice(6)) as { type: string; content: unknown });
    const want = anthropicRecording('anthropic-thinking');
    expect(events.filter((e) => e.type === 'thinking').map((e) => e.content).join('')).toBe(want.thinking);
    expect(events.filter((e) => e.type === 'reply').map((e) => e.content).join('')).toBe(want.text);
    expect(events.at(-1)).toMatchObject({ type: 'end', finish_reason: 'stop' });
    expect(h.upstream.lastRequest()?.path).toBe('/v1/messages');
    expect(h.upstream.lastRequest()?.headers['x-api-key']).toBe(key);
  });

  it('a 529 from Anthropic is retried; once the retry succeeds the caller sees only the answer', async () => {
    h.upstream.enqueue({ type: 'error', provider: 'anthropic', code: 'overloaded_error' });
    const { data, response } = await client.chat.completions.create({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'again' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: again');
    expect(response.headers.get('x-llm-attempts')).toBe('2');
    expect(h.upstream.requests).toHaveLength(2);
  });

  it('a 529 that outlasts the retries is answered as an OpenAI 502 with the overload hint', async () => {
    h.upstream.enqueue({ type: 'error', provider: 'anthropic', code: 'overloaded_error' }, { type: 'error', provider: 'anthropic', code: 'overloaded_error' });
    const error = (await client.chat.completions.create({ model: 'general', messages: [{ role: 'user', content: 'x' }] }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    )) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect(error.status).toBe(502);
    expect(error.code).toBe('upstream_error');
    expect((error.error as { hint: string }).hint).toMatch(/overloaded/);
  });
});

describe.each(ADAPTERS)('failover across wires over %s', (adapter) => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness(adapter, {
      switchyard: (upstream) => ({
        providers: { openai: { baseUrl: upstream.url, apiKey: 'operator-openai' }, anthropic: { baseUrl: upstream.url, apiKey: 'operator-anthropic' } },
        failover: ['anthropic'],
      }),
    });
  });
  afterAll(() => h.close());

  it('a chat request whose chat provider fails is answered by Anthropic, translated, with the operator key of Anthropic', async () => {
    h.upstream.reset();
    h.upstream.enqueue({ type: 'status', status: 500, body: { error: { message: 'down', type: 'server_error' } } });
    const response = await post(`${h.url}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: 'fail over' }] }, { 'x-llm-provider': 'openai' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-llm-served-by')).toBe('anthropic/claude-sonnet-4-6');
    expect(response.headers.get('x-llm-fallback-reason')).toMatch(/openai failed/);
    expect(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toBe('echo: fail over');
    const [first, second] = h.upstream.requests;
    expect(first?.path).toBe('/v1/chat/completions');
    expect(first?.headers.authorization).toBe('Bearer operator-openai');
    expect(second?.path).toBe('/v1/messages');
    expect(second?.headers['x-api-key']).toBe('operator-anthropic');
    expect(JSON.stringify(second?.headers)).not.toContain('operator-openai');
  });
});
