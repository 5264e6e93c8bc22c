import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chat, messages, responsesBody, send, sseEvents } from '../test/http.js';
import { behaviors } from './behavior.js';
import { fixtureStatus, fixturesDir, fixtureWire, listFixtures, readFixture } from './fixtures.js';
import { startTestUpstream, type TestUpstream } from './test-upstream.js';

/** The SDK's error instance type. */
type AnthropicError = InstanceType<typeof Anthropic.APIError>;

let upstream: TestUpstream;

beforeAll(async () => {
  upstream = await startTestUpstream();
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

const streams = listFixtures().filter((name) => name.endsWith('.sse.txt'));
const errors = listFixtures().filter((name) => name.endsWith('.error.json'));

const RECORDED_STATUS: Record<string, number> = {
  'openai-invalid_api_key.error.json': 401,
  'openai-model_not_found.error.json': 404,
  'openai-unsupported_parameter.error.json': 400,
  'openai-empty_array.error.json': 400,
  'openai-insufficient_quota.error.json': 429,
  'openai-unsupported_country_region_territory.error.json': 403,
  'dashscope-invalid_parameter_error.error.json': 400,
  'dashscope-InvalidApiKey.error.json': 401,
  'volcengine-ark-AuthenticationError.error.json': 401,
  'gemini-openai-compat-INVALID_ARGUMENT.error.json': 400,
  'gemini-API_KEY_INVALID.error.json': 400,
  'gemini-RESOURCE_EXHAUSTED.error.json': 429,
  'anthropic-authentication_error.error.json': 401,
  'anthropic-invalid_request_error.error.json': 400,
  'anthropic-not_found_error.error.json': 404,
  'anthropic-rate_limit_error.error.json': 429,
  'anthropic-overloaded_error.error.json': 529,
  'openai-responses-invalid_api_key.error.json': 401,
  'openai-responses-model_not_found.error.json': 400,
  'openai-responses-invalid_json_schema.error.json': 400,
};

describe('fixture files', () => {
  it('lives beside src, as an absolute path', () => {
    expect(isAbsolute(fixturesDir)).toBe(true);
    expect(fixturesDir.replaceAll('\\', '/')).toMatch(/\/packages\/testkit\/fixtures$/);
    expect(existsSync(join(fixturesDir, 'README.md'))).toBe(true);
  });

  it('lists the recorded streams and error bodies, not the README', () => {
    expect(streams).toHaveLength(21);
    expect(errors).toHaveLength(12);
    expect(listFixtures()).not.toContain('README.md');
    expect(listFixtures()).toEqual([...listFixtures()].sort());
  });

  it('lists the recordings of each wire, Chat Completions by default, and all of them', () => {
    expect(listFixtures('chat')).toEqual(listFixtures());
    const messages = listFixtures('messages');
    const responses = listFixtures('responses');
    expect(messages.filter((name) => name.endsWith('.sse.txt'))).toHaveLength(8);
    expect(messages.filter((name) => name.endsWith('.error.json'))).toHaveLength(5);
    expect(messages.filter((name) => !name.endsWith('.sse.txt') && !name.endsWith('.error.json'))).toEqual(['anthropic-text.json', 'anthropic-thinking-tool-use.json']);
    expect(responses.filter((name) => name.endsWith('.sse.txt'))).toHaveLength(7);
    expect(responses.filter((name) => name.endsWith('.error.json'))).toHaveLength(3);
    expect(responses.filter((name) => !name.endsWith('.sse.txt') && !name.endsWith('.error.json'))).toEqual([
      'openai-responses-incomplete-cache-write.json',
      'openai-responses-reasoning.json',
    ]);
    expect(messages.every((name) => name.startsWith('anthropic-') && fixtureWire(name) === 'messages')).toBe(true);
    expect(responses.every((name) => name.startsWith('openai-responses-') && fixtureWire(name) === 'responses')).toBe(true);
    expect(listFixtures('all')).toEqual([...listFixtures(), ...messages, ...responses].sort());
    // Every file in fixtures/ but the README.
    expect(listFixtures('all')).toHaveLength(readdirSync(fixturesDir).length - 1);
  });

  it('knows the status every error body was recorded with', () => {
    const allErrors = listFixtures('all').filter((name) => name.endsWith('.error.json'));
    expect(Object.fromEntries(allErrors.map((name) => [name, fixtureStatus(name)]))).toEqual(RECORDED_STATUS);
    expect(fixtureStatus('openai-invalid_api_key')).toBe(401);
    expect(fixtureStatus('openai-text')).toBe(200);
    expect(fixtureStatus('nope')).toBeUndefined();
  });

  it('reads a fixture with or without its extension', () => {
    expect(readFixture('openai-length')).toBe(readFixture('openai-length.sse.txt'));
    expect(readFixture('dashscope-InvalidApiKey')).toBe(
      '{"code":"InvalidApiKey","message":"Invalid API-key provided.","request_id":"01415ff3-53f4-989d-83c0-3eb61fa1418e"}',
    );
    expect(() => readFixture('nope')).toThrow(/no fixture named 'nope'/);
  });
});

describe('fixture replay', () => {
  it.each(streams)('replays %s byte for byte', async (name) => {
    upstream.enqueue(behaviors.fixture(name));
    const response = await send(`${upstream.url}/chat/completions`, { body: chat('q', { stream: true }) });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(response.complete).toBe(true);
    expect(response.text).toBe(readFixture(name));
  });

  it.each(errors)('replays %s with its recorded status and content type', async (name) => {
    upstream.enqueue(behaviors.fixture(name));
    const response = await send(`${upstream.url}/chat/completions`, { body: chat('q') });
    expect(response.status).toBe(RECORDED_STATUS[name]);
    const charset = name === 'openai-invalid_api_key.error.json' || name === 'openai-model_not_found.error.json';
    expect(response.headers['content-type']).toBe(charset ? 'application/json; charset=utf-8' : 'application/json');
    expect(response.text).toBe(readFixture(name));
  });

  it('appends [DONE] only where the recording lacks it', async () => {
    upstream.enqueue(behaviors.fixture('openai-text', { done: true }), behaviors.fixture('openai-length', { done: true }));
    const appended = await send(`${upstream.url}/chat/completions`, { body: chat('q', { stream: true }) });
    expect(appended.text).toBe(`${readFixture('openai-text')}data: [DONE]\n\n`);
    const kept = await send(`${upstream.url}/chat/completions`, { body: chat('q', { stream: true }) });
    expect(kept.text).toBe(readFixture('openai-length'));
  });

  it('replays with pauses between frames, and overrides the status', async () => {
    upstream.enqueue(behaviors.fixture('openai-length', { delayMs: 1 }), behaviors.fixture('openai-invalid_api_key', { status: 403 }));
    const paced = await send(`${upstream.url}/chat/completions`, { body: chat('q', { stream: true }) });
    expect(paced.text).toBe(readFixture('openai-length'));
    const overridden = await send(`${upstream.url}/chat/completions`, { body: chat('q') });
    expect(overridden.status).toBe(403);
    expect(overridden.text).toBe(readFixture('openai-invalid_api_key'));
  });

  it('feeds a recorded DeepSeek reasoning stream to the openai SDK', async () => {
    const client = new OpenAI({ apiKey: 'k', baseURL: upstream.url, maxRetries: 0 });
    upstream.enqueue(behaviors.fixture('deepseek-v4-pro-reasoning'));
    const stream = await client.chat.completions.create({ model: 'deepseek-v4-pro', messages: [{ role: 'user', content: 'q' }], stream: true });
    let reasoning = '';
    let content = '';
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string | null } | undefined;
      reasoning += delta?.reasoning_content ?? '';
      content += delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(reasoning.length).toBeGreaterThan(0);
    expect(content.length).toBeGreaterThan(0);
    expect(finish).toBe('stop');
  });
});

/** The JSON of each `data:` frame of a recorded stream, in order. */
function recordedEvents(name: string): { type: string; [key: string]: unknown }[] {
  return sseEvents(readFixture(name)).map((frame) => JSON.parse(frame.data) as { type: string });
}

const isStream = (name: string): boolean => name.endsWith('.sse.txt');
const isError = (name: string): boolean => name.endsWith('.error.json');
const isAnswer = (name: string): boolean => !isStream(name) && !isError(name);
const anthropicStreams = listFixtures('messages').filter(isStream);
const anthropicBodies = listFixtures('messages').filter(isAnswer);
const anthropicErrors = listFixtures('messages').filter(isError);
const responsesStreams = listFixtures('responses').filter(isStream);
const responsesBodies = listFixtures('responses').filter(isAnswer);
const responsesErrors = listFixtures('responses').filter(isError);

describe('Anthropic Messages fixture replay', () => {
  const anthropic = (): Anthropic => new Anthropic({ apiKey: 'sk-ant-test', baseURL: upstream.origin, maxRetries: 0 });

  it.each(anthropicStreams)('replays %s byte for byte on /v1/messages?beta=true', async (name) => {
    upstream.enqueue(behaviors.fixture(name));
    const response = await send(`${upstream.origin}/v1/messages?beta=true`, { body: messages('q', { stream: true }) });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(response.complete).toBe(true);
    expect(response.body.equals(Buffer.from(readFixture(name)))).toBe(true);
  });

  it.each(anthropicStreams)('feeds %s to messages.stream, which rebuilds its blocks and stop reason', async (name) => {
    const events = recordedEvents(name);
    const blockTypes = events.filter((event) => event.type === 'content_block_start').map((event) => (event.content_block as { type: string }).type);
    const stopReason = (events.find((event) => event.type === 'message_delta')?.delta as { stop_reason: string }).stop_reason;
    upstream.enqueue(behaviors.fixture(name, { delayMs: 1 }));
    const message = await anthropic().messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 100, messages: [{ role: 'user', content: 'q' }] }).finalMessage();
    expect(message.content.map((block) => block.type)).toEqual(blockTypes);
    expect(message.stop_reason).toBe(stopReason);
  });

  it.each(anthropicBodies)('replays %s byte for byte with status 200, and the SDK reads it', async (name) => {
    upstream.enqueue(behaviors.fixture(name));
    const response = await send(`${upstream.origin}/v1/messages`, { body: messages('q') });
    expect([response.status, response.headers['content-type']]).toEqual([200, 'application/json']);
    expect(response.text).toBe(readFixture(name));
    upstream.enqueue(behaviors.fixture(name));
    const message = await anthropic().messages.create({ model: 'm', max_tokens: 100, messages: [{ role: 'user', content: 'q' }] });
    expect(message.content).toEqual((JSON.parse(readFixture(name)) as { content: unknown }).content);
  });

  it.each(anthropicErrors)('replays %s with its recorded status, and the SDK raises the matching error', async (name) => {
    const classes: Record<number, unknown> = {
      400: Anthropic.BadRequestError,
      401: Anthropic.AuthenticationError,
      404: Anthropic.NotFoundError,
      429: Anthropic.RateLimitError,
      529: Anthropic.InternalServerError,
    };
    upstream.enqueue(behaviors.fixture(name));
    const response = await send(`${upstream.origin}/v1/messages`, { body: messages('q') });
    expect([response.status, response.headers['content-type'], response.text]).toEqual([RECORDED_STATUS[name], 'application/json', readFixture(name)]);
    upstream.enqueue(behaviors.fixture(name));
    const failure = (await anthropic()
      .messages.create({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'q' }] })
      .catch((error: unknown) => error)) as AnthropicError;
    expect(failure).toBeInstanceOf(classes[RECORDED_STATUS[name] ?? 0] as typeof Anthropic.APIError);
    expect(failure.type).toBe(name.replace('anthropic-', '').replace('.error.json', ''));
  });

  it('picks the body or the stream of a bare name by the request', async () => {
    upstream.enqueue(behaviors.fixture('anthropic-text'), behaviors.fixture('anthropic-text'));
    const whole = await send(`${upstream.origin}/v1/messages`, { body: messages('q') });
    expect(whole.text).toBe(readFixture('anthropic-text.json'));
    const streamed = await send(`${upstream.origin}/v1/messages`, { body: messages('q', { stream: true }) });
    expect(streamed.text).toBe(readFixture('anthropic-text.sse.txt'));
    expect(readFixture('anthropic-text')).toBe(readFixture('anthropic-text.sse.txt'));
  });
});

describe('OpenAI Responses fixture replay', () => {
  const openai = (): OpenAI => new OpenAI({ apiKey: 'sk-test', baseURL: upstream.url, maxRetries: 0 });

  it.each(responsesStreams)('replays %s byte for byte on /v1/responses', async (name) => {
    upstream.enqueue(behaviors.fixture(name));
    const response = await send(`${upstream.url}/responses`, { body: responsesBody('q', { stream: true }) });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(response.complete).toBe(true);
    expect(response.body.equals(Buffer.from(readFixture(name)))).toBe(true);
  });

  it.each(responsesStreams)('feeds %s to the openai SDK, which ends where the recording ends', async (name) => {
    const events = recordedEvents(name);
    const terminal = events.at(-1) as { type: string; response: { status: string; output: { type: string }[] } };
    upstream.enqueue(behaviors.fixture(name, { delayMs: 1 }));
    const stream = openai().responses.stream({ model: 'm', input: 'q' });
    if (terminal.type === 'response.failed') {
      const failure = await stream.finalResponse().catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      expect((failure as InstanceType<typeof OpenAI.APIError>).code).toBe('insufficient_quota');
      return;
    }
    const final = await stream.finalResponse();
    expect(final.status).toBe(terminal.response.status);
    expect(final.output.map((item) => item.type)).toEqual(terminal.response.output.map((item) => item.type));
  });

  it.each(responsesBodies)('replays %s byte for byte with status 200, and the SDK reads it', async (name) => {
    upstream.enqueue(behaviors.fixture(name));
    const response = await send(`${upstream.url}/responses`, { body: responsesBody('q') });
    expect([response.status, response.headers['content-type'], response.text]).toEqual([200, 'application/json', readFixture(name)]);
    upstream.enqueue(behaviors.fixture(name));
    const parsed = await openai().responses.create({ model: 'm', input: 'q' });
    const recorded = JSON.parse(readFixture(name)) as { status: string; usage: unknown };
    expect([parsed.status, parsed.usage]).toEqual([recorded.status, recorded.usage]);
  });

  it.each(responsesErrors)('replays %s with its recorded status, and the SDK raises the matching error', async (name) => {
    upstream.enqueue(behaviors.fixture(name));
    const response = await send(`${upstream.url}/responses`, { body: responsesBody('q') });
    expect([response.status, response.text]).toEqual([RECORDED_STATUS[name], readFixture(name)]);
    expect(response.text.endsWith('}')).toBe(true);
    upstream.enqueue(behaviors.fixture(name));
    const failure = await openai().responses.create({ model: 'm', input: 'q' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RECORDED_STATUS[name] === 401 ? OpenAI.AuthenticationError : OpenAI.BadRequestError);
  });
});
