/**
 * What differs between Express 4 and 5 where the adapter meets it: Express 4 does not pass a rejected promise to
 * `next`, so the adapter's middleware and handlers catch their own; the request still gets the app's error handler.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express5 from 'express';
import express4 from 'express4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from '@switchyard/core';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { switchyard } from '../src/index.js';

let upstream: TestUpstream;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  upstream = await startTestUpstream();
});
afterAll(async () => {
  await upstream.close();
  process.off('unhandledRejection', onUnhandled);
});

// Typed as Express 5 here: this is about runtime behaviour; the declarations meet @types/express 4 in test/packaging.test.ts.
const MAJORS = [
  ['Express 5', express5],
  ['Express 4', express4 as unknown as typeof express5],
] as const;

describe.each(MAJORS)('@switchyard/express on %s', (_name, express) => {
  let instance: Switchyard;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    instance = createSwitchyard({ providers: { openai: { baseUrl: upstream.url } }, retries: { max: 0 } });
    // A Switchyard whose endpoint work fails outright: what reaches the app when the core rejects.
    const failing: Switchyard = { ...instance, handleNode: () => Promise.reject(new Error(`broken-${randomUUID()}`)) };
    const app = express();
    app.set('env', 'test');
    const middleware = switchyard(failing);
    app.use('/failing', middleware);
    app.post('/handler', middleware.handlers.chat);
    // Under a prefix, Switchyard matches on req.path (relative to the mount point) and never on the query.
    app.use('/llm', switchyard(instance));
    app.use(switchyard(instance));
    app.use((error: Error, _req: express5.Request, res: express5.Response, _next: express5.NextFunction) => {
      res.status(500).json({ caught: error.message.startsWith('broken-') });
    });
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await instance.close();
  });

  it('passes a rejection of the middleware to the error handler, not to unhandledRejection', async () => {
    const response = await fetch(`${base}/failing/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"question":"hi"}' });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ caught: true });
    expect(unhandled).toEqual([]);
  });

  it('passes a rejection of an endpoint handler to the error handler', async () => {
    const response = await fetch(`${base}/handler`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"question":"hi"}' });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ caught: true });
    expect(unhandled).toEqual([]);
  });

  it('serves the endpoints under a mount prefix, whatever the query string', async () => {
    const key = `sk-test-${randomUUID()}`;
    const response = await fetch(`${base}/llm/v1/chat/completions?a[b]=1&a=2&llm_api_key=x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-api-key': key },
      body: '{"model":"general","messages":[{"role":"user","content":"mounted"}]}',
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toBe('echo: mounted');
    // The query is never a credential outside an opted-in upgrade: the header's key went upstream.
    expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
    expect((await fetch(`${base}/llm/api/providers?x=1`)).status).toBe(200);
  });

  it('serves the endpoints and answers their errors itself', async () => {
    const key = `sk-test-${randomUUID()}`;
    const ok = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-api-key': key },
      body: '{"model":"general","messages":[{"role":"user","content":"four"}]}',
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toBe('echo: four');
    expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
    const bad = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-llm-provider': 'nope' }, body: '{"model":"general","messages":[{"role":"user","content":"hi"}]}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('unknown_provider');
  });
});
