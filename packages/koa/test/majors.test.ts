/**
 * The adapter on Koa 2 and Koa 3: endpoints, `ctx.state.llm` in the app's own middleware, and a failing core
 * reaching the app's error handling (a 500 from Koa, an `error` event), never a hang.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa3 from 'koa';
import Koa2 from 'koa2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from '@switchyard/core';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { switchyard } from '../src/index.js';

let upstream: TestUpstream;

beforeAll(async () => {
  upstream = await startTestUpstream();
});
afterAll(async () => {
  await upstream.close();
});

const MAJORS = [
  ['Koa 3', Koa3],
  ['Koa 2', Koa2 as unknown as typeof Koa3],
] as const;

describe.each(MAJORS)('@switchyard/koa on %s', (_name, Koa) => {
  let instance: Switchyard;
  let server: Server;
  let base: string;
  const errors: Error[] = [];

  beforeAll(async () => {
    instance = createSwitchyard({ providers: { openai: { baseUrl: upstream.url } }, retries: { max: 0 } });
    const failing: Switchyard = { ...instance, handleNode: () => Promise.reject(new Error(`broken-${randomUUID()}`)) };
    const app = new Koa();
    app.silent = true;
    app.on('error', (error: Error) => errors.push(error));
    const broken = switchyard(failing);
    app.use(async (ctx, next) => {
      if (ctx.path.startsWith('/failing/')) {
        ctx.path = ctx.path.slice('/failing'.length);
        await broken(ctx, next);
      } else await next();
    });
    app.use(switchyard(instance));
    app.use(async (ctx) => {
      if (ctx.path === '/mine') ctx.body = { text: (await ctx.state.llm.complete({ messages: [{ role: 'user', content: 'mine' }] })).text };
    });
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await instance.close();
  });

  it('serves the endpoints with the caller key, and gives the app ctx.state.llm', async () => {
    const key = `sk-test-${randomUUID()}`;
    const response = await fetch(`${base}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-llm-api-key': key }, body: '{"question":"hi"}' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5');
    expect(await response.text()).toContain('"type":"end","content":"","finish_reason":"stop"');
    expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
    const mine = await fetch(`${base}/mine`, { headers: { 'x-llm-api-key': key } });
    expect(await mine.json()).toEqual({ text: 'echo: mine' });
  });

  it('lets a failing core reach Koa error handling: a 500 and an error event, no hang', async () => {
    const response = await fetch(`${base}/failing/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"question":"hi"}' });
    expect(response.status).toBe(500);
    expect(errors.at(-1)?.message).toMatch(/^broken-/);
  });
});
