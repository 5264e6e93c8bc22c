/**
 * The seed's curl, exactly as the protocol page writes it, run with the real `curl` binary; and the app-token check
 * (`appTokens` / SWITCHYARD_APP_TOKENS) around it.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { optionsFromEnv } from '@switchyard/core';
import { ADAPTERS, callerKey, type Harness, post, readEvents, startHarness } from './harness.js';
import { hasCurl, SEED_CURL } from './seed.js';

const curlPresent = hasCurl();
if (!curlPresent) console.warn('seed-curl: `curl` is not on PATH; the seed curl test is skipped');

const run = promisify(execFile);

describe.each(ADAPTERS)('app tokens and the seed curl over %s', (adapter) => {
  let h: Harness;
  let token: string;

  beforeAll(async () => {
    token = `app-${randomUUID()}`;
    // The app tokens come the demo's way, from SWITCHYARD_APP_TOKENS.
    const fromEnv = optionsFromEnv({ SWITCHYARD_APP_TOKENS: ` other-${randomUUID()} , ${token}` });
    h = await startHarness(adapter, { switchyard: (upstream) => ({ ...fromEnv, providers: { openai: { baseUrl: upstream.url } } }) });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
  });

  it.skipIf(!curlPresent)('answers the seed curl with the events, sending the caller key upstream and never the app token', async () => {
    const key = callerKey();
    const { stdout } = await run('/bin/sh', ['-c', SEED_CURL], { env: { ...process.env, BASE_URL: h.url, TOKEN: token, LLM_KEY: key }, timeout: 10_000 });
    const frames = stdout.split('\n\n').filter((frame) => frame.trim() !== '');
    expect(frames.every((frame) => frame.startsWith('data: '))).toBe(true);
    const events = frames.map((frame) => JSON.parse(frame.slice(6)) as { type: string; content?: string });
    expect(events.map((event) => event.type)).toEqual(['id', 'route', ...events.slice(2, -2).map(() => 'reply'), 'costStatistics', 'end']);
    expect(events.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe('echo: hi');
    expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });

    const received = h.upstream.lastRequest();
    expect(received?.headers.authorization).toBe(`Bearer ${key}`);
    expect(received?.json).toMatchObject({ model: 'gpt-5', messages: [{ role: 'system' }, { role: 'user', content: 'hi' }] });
    expect(JSON.stringify(received?.headers)).not.toContain(token);
    expect(received?.body).not.toContain(token);
    expect(received?.headers['x-llm-api-key']).toBeUndefined();
    expect(received?.headers['x-llm-provider']).toBeUndefined();
  });

  describe('the app-token check', () => {
    const chat = { question: 'hi' };

    it('refuses a missing token with 401 unauthorized, on /api/* and /v1/*', async () => {
      const key = callerKey();
      for (const [path, body] of [
        ['/api/chat', chat],
        ['/v1/chat/completions', { model: 'general', messages: [{ role: 'user', content: 'hi' }] }],
        ['/v1/embeddings', { input: 'hi' }],
      ] as const) {
        const response = await post(`${h.url}${path}`, body, { 'x-llm-api-key': key });
        expect(response.status, path).toBe(401);
        const json = (await response.json()) as { success?: boolean; code?: number; error: { code: string; hint: string } };
        expect(json.error).toMatchObject({ code: 'unauthorized', hint: expect.stringContaining('Bearer') });
        // /api/chat answers in its own envelope, /v1 in OpenAI's.
        if (path === '/api/chat') expect(json).toMatchObject({ success: false, code: -11 });
        else expect(json).not.toHaveProperty('success');
      }
      for (const path of ['/v1/models', '/api/providers']) {
        const response = await fetch(`${h.url}${path}`);
        expect(response.status, path).toBe(401);
      }
      expect(h.upstream.requests).toHaveLength(0);
    });

    it('refuses a wrong token, and a right token without the Bearer scheme', async () => {
      const key = callerKey();
      for (const authorization of [`Bearer ${token}x`, `Bearer other`, token, `Basic ${token}`]) {
        const response = await post(`${h.url}/api/chat`, chat, { authorization, 'x-llm-api-key': key });
        expect(response.status, authorization.slice(0, 6)).toBe(401);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      }
      expect(h.upstream.requests).toHaveLength(0);
    });

    it('lets the right token through, and does not forward it', async () => {
      const key = callerKey();
      const response = await post(`${h.url}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: 'ok' }] }, { authorization: `Bearer ${token}`, 'x-llm-api-key': key });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toBe('echo: ok');
      const events = await readEvents(await post(`${h.url}/api/chat`, chat, { authorization: `Bearer ${token}`, 'x-llm-api-key': key }));
      expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
      const providers = await fetch(`${h.url}/api/providers`, { headers: { authorization: `Bearer ${token}` } });
      expect(providers.status).toBe(200);
      expect(h.upstream.requests).toHaveLength(2);
      for (const request of h.upstream.requests) {
        expect(request.headers.authorization).toBe(`Bearer ${key}`);
        expect(JSON.stringify(request.headers) + request.body).not.toContain(token);
      }
    });
  });
});
