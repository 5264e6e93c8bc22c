import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { switchyard } from '../src/index.js';

let upstream: TestUpstream;
let server: Server;
let base: string;
const operatorKey = `sk-test-${randomUUID()}`;

beforeAll(async () => {
  upstream = await startTestUpstream();
  const app = new Koa();
  app.use(switchyard({ providers: { openai: { baseUrl: upstream.url, apiKey: operatorKey } } }));
  server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await upstream.close();
});

describe('@switchyard/koa', () => {
  it('streams /api/chat events with the operator key, as in the seed curl', async () => {
    const response = await fetch(`${base}/api/chat`, {
      method: 'POST',
      headers: { authorization: 'Bearer app-token', 'x-llm-provider': 'openai', 'content-type': 'application/json' },
      body: JSON.stringify({ question: 'hi', agent: 'App', provider: 'general' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5');
    const events = (await response.text()).split('\n\n').filter(Boolean).map((frame) => JSON.parse(frame.slice(6)) as { type: string; content?: string; finish_reason?: string });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['id', 'route', 'reply', 'costStatistics', 'end']));
    expect(events.filter((e) => e.type === 'reply').map((e) => e.content).join('')).toBe('echo: hi');
    expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
    const received = upstream.lastRequest();
    expect(received?.headers.authorization).toBe(`Bearer ${operatorKey}`);
  });

  it('answers a bad /api/chat body with the numeric envelope', async () => {
    const response = await fetch(`${base}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"question":' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ success: false, code: -1, error: { code: 'invalid_request' } });
  });

  it('never sends the operator key to a caller-chosen base URL', async () => {
    const before = upstream.requests.length;
    const response = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-base-url': upstream.url },
      body: '{"model":"general","messages":[{"role":"user","content":"hi"}]}',
    });
    expect(response.status).toBe(400);
    expect(upstream.requests.length).toBe(before);
  });
});
