/**
 * Limits per caller key and per app token (SPEC §9) on every endpoint that reaches a provider, over Express and Koa,
 * with the clients a user has: the `openai` and Anthropic SDKs, fetch for `/api/chat`, a `ws` client for its
 * WebSocket turns. A refusal is a 429 in the endpoint's own envelope, with `Retry-After`, and nothing upstream.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '@switchyard/core';
import { behaviors } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, startHarness } from './harness.js';
import { ChatSocket } from './ws-client.js';

const sockets: ChatSocket[] = [];
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((socket) => socket.close()));
});

describe.each(ADAPTERS)('quotas over %s', (adapter) => {
  let h: Harness;
  let key: string;
  const log: RequestLogEntry[] = [];

  beforeAll(async () => {
    h = await startHarness(adapter, {
      switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url } }, quotas: { caller: { requestsPerMinute: 1 } }, onRequest: (entry) => log.push(entry) }),
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    log.length = 0;
    // A new caller key per test: a minute of its own.
    key = callerKey();
  });

  it('/v1/chat/completions with the openai SDK: the second call in the minute is a RateLimitError, and never reaches the upstream', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${h.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-llm-api-key': key } });
    const first = await client.chat.completions.create({ model: 'general', messages: [{ role: 'user', content: 'hi' }] });
    expect(first.choices[0]?.message.content).toBe('echo: hi');
    const refused = await client.chat.completions.create({ model: 'general', messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    const error = refused as InstanceType<typeof OpenAI.RateLimitError>;
    expect(error.status).toBe(429);
    expect(error.error).toMatchObject({ code: 'rate_limited', hint: expect.stringContaining('per caller key') });
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(h.upstream.requests).toHaveLength(1);
    await expect.poll(() => log.length).toBe(2);
    expect(log[1]).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(log[1]?.quotaMs).toBeGreaterThanOrEqual(0);
  });

  it('/v1/messages with the Anthropic SDK: a 429 rate_limit_error in Anthropic’s envelope', async () => {
    const client = new Anthropic({ baseURL: h.url, apiKey: null, maxRetries: 0, defaultHeaders: { 'x-api-key': key } });
    const first = await client.messages.create({ model: 'general', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    expect(first.content[0]).toMatchObject({ type: 'text', text: 'echo: hi' });
    const refused = await client.messages.create({ model: 'general', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Anthropic.RateLimitError);
    const error = refused as InstanceType<typeof Anthropic.RateLimitError>;
    expect(error.error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    expect(Number(error.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(h.upstream.requests).toHaveLength(1);
  });

  it('/api/chat over HTTP then over a WebSocket: the same caller’s minute, refused in each one’s own shape', async () => {
    const first = await fetch(`${h.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-llm-api-key': key }, body: JSON.stringify({ question: 'hi' }) });
    expect(first.status).toBe(200);
    await first.text();
    const socket = await ChatSocket.open(h.wsUrl, { headers: { 'x-llm-api-key': key } });
    sockets.push(socket);
    const events = await socket.ask({ question: 'hi again' });
    expect(events.map((event) => event.type)).toEqual(['error', 'end']);
    expect(events[0]).toMatchObject({ code: 'rate_limited', hint: expect.stringContaining('per caller key') });
    expect(h.upstream.requests).toHaveLength(1);
    const http = await fetch(`${h.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-llm-api-key': key }, body: JSON.stringify({ question: 'hi' }) });
    expect(http.status).toBe(429);
    expect(Number(http.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await http.json()).toMatchObject({ success: false, code: -12, error: { code: 'rate_limited' } });
    expect(h.upstream.requests).toHaveLength(1);
  });

  it('a WebSocket turn that is served counts like a request, and the socket’s next turn is refused', async () => {
    h.upstream.setDefault(behaviors.echo());
    const socket = await ChatSocket.open(h.wsUrl, { headers: { 'x-llm-api-key': key } });
    sockets.push(socket);
    const served = await socket.ask({ question: 'one' });
    expect(served.at(-1)).toMatchObject({ type: 'end', finish_reason: 'stop' });
    const refused = await socket.ask({ question: 'two' });
    expect(refused[0]).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect(h.upstream.requests).toHaveLength(1);
  });

  it('/v1/embeddings is limited; /v1/models is not', async () => {
    const client = new OpenAI({ apiKey: 'unused', baseURL: `${h.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-llm-api-key': key } });
    await client.embeddings.create({ model: 'embedding', input: 'x' });
    await expect(client.embeddings.create({ model: 'embedding', input: 'x' })).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await client.models.list();
    await client.models.list();
  });
});
