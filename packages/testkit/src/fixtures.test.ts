import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chat, send } from '../test/http.js';
import { behaviors } from './behavior.js';
import { fixtureStatus, fixturesDir, listFixtures, readFixture } from './fixtures.js';
import { startTestUpstream, type TestUpstream } from './test-upstream.js';

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

  it('lists the recorded streams, answers and error bodies, not the README', () => {
    const family = (prefix: string) => (name: string) => name.startsWith(prefix);
    expect(streams).toHaveLength(36);
    expect(streams.filter(family('anthropic-'))).toHaveLength(8);
    expect(streams.filter(family('openai-responses-'))).toHaveLength(7);
    expect(errors).toHaveLength(20);
    expect(listFixtures().filter((name) => name.endsWith('.json') && !name.endsWith('.error.json'))).toEqual([
      'anthropic-text.json',
      'anthropic-thinking-tool-use.json',
      'openai-responses-incomplete-cache-write.json',
      'openai-responses-reasoning.json',
    ]);
    expect(listFixtures()).not.toContain('README.md');
    expect(listFixtures()).toEqual([...listFixtures()].sort());
  });

  it('knows the status every error body was recorded with', () => {
    expect(Object.fromEntries(errors.map((name) => [name, fixtureStatus(name)]))).toEqual(RECORDED_STATUS);
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
