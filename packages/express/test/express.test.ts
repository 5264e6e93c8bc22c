import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { switchyard } from '../src/index.js';

let upstream: TestUpstream;
let server: Server;
let base: string;

beforeAll(async () => {
  upstream = await startTestUpstream();
  const app = express();
  app.use(switchyard({ providers: { openai: { baseUrl: upstream.url } } }));
  app.post('/custom', express.json(), async (req, res) => {
    const answer = await req.llm.complete({ messages: [{ role: 'user', content: String(req.body.text) }] });
    res.json({ text: answer.text, model: answer.model });
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await upstream.close();
});

describe('@switchyard/express', () => {
  it('streams /v1/chat/completions to the openai SDK, with the caller key sent upstream and the alias resolved', async () => {
    const callerKey = `sk-test-${randomUUID()}`;
    const client = new OpenAI({ apiKey: 'app-token', baseURL: `${base}/v1`, defaultHeaders: { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': callerKey } });
    const stream = await client.chat.completions.create({ model: 'general', stream: true, messages: [{ role: 'user', content: 'hello world' }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('echo: hello world');
    const received = upstream.lastRequest();
    expect(received?.headers.authorization).toBe(`Bearer ${callerKey}`);
    expect((received?.json as { model: string }).model).toBe('gpt-5');
    expect(received?.headers['x-llm-api-key']).toBeUndefined();
  });

  it('raises upstream errors as the SDK own classes with the code', async () => {
    upstream.enqueue({ type: 'error', provider: 'openai', code: 'invalid_api_key' });
    const client = new OpenAI({ apiKey: 'x', baseURL: `${base}/v1`, maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': `sk-test-${randomUUID()}` } });
    const error = await client.chat.completions.create({ model: 'general', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
  });

  it('answers missing_api_key with 400 and a hint when no key exists', async () => {
    const response = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"general","messages":[{"role":"user","content":"hi"}]}' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; hint: string } };
    expect(body.error.code).toBe('missing_api_key');
    expect(body.error.hint).toContain('X-LLM-Api-Key');
  });

  it('gives req.llm in every app and sub-app the middleware is used in', async () => {
    const middleware = switchyard({ providers: { openai: { baseUrl: upstream.url } } });
    const sub = express();
    sub.get('/who', (req, res) => {
      res.json({ provider: req.llm.route.provider.id });
    });
    const first = express().use(middleware).use('/sub', sub);
    const second = express().use(middleware);
    second.get('/who', (req, res) => {
      res.json({ provider: req.llm.route.provider.id });
    });
    const servers: Array<[Server, string]> = [
      [createServer(first), '/sub/who'],
      [createServer(second), '/who'],
    ];
    try {
      for (const [server, path] of servers) {
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, { headers: { 'x-llm-api-key': `sk-test-${randomUUID()}` } });
        expect(await response.json(), path).toEqual({ provider: 'openai' });
      }
    } finally {
      for (const [server] of servers) server.close();
      await middleware.switchyard.close();
    }
  });

  it('gives routes req.llm', async () => {
    const response = await fetch(`${base}/custom`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-llm-api-key': `sk-test-${randomUUID()}` }, body: '{"text":"ping"}' });
    expect(await response.json()).toEqual({ text: 'echo: ping', model: 'gpt-5' });
  });
});
