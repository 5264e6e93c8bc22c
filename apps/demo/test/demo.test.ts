/**
 * The demo as `npm start` builds it: one router from the environment of SPEC §8, shared by an Express app and a Koa
 * app, the sandbox upstream when no operator key is set, the app-token check, one JSON log line per request.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemo, type Demo } from '../src/demo.js';

const APPS = ['express', 'koa'] as const;
type AppName = (typeof APPS)[number];

/** Collects the log lines written to it, and lets a test wait for a count. */
class LogCollector extends Writable {
  readonly lines: string[] = [];
  #waiters: Array<() => void> = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.lines.push(...chunk.toString().split('\n').filter(Boolean));
    for (const wake of this.#waiters) wake();
    callback();
  }
  /** Resolves once at least `count` lines were written (log lines may land just after the answer). */
  async waitFor(count: number, timeoutMs = 2000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.lines.length} log line(s), expected ${count}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.#waiters = [];
    }
    return this.lines;
  }
}

interface Running {
  demo: Demo;
  logs: LogCollector;
  urls: Record<AppName, string>;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Starts the demo's two apps on loopback, as main.ts does, with the given environment. */
async function startDemo(env: Record<string, string>): Promise<Running> {
  const logs = new LogCollector();
  const demo = await createDemo({ env, logDestination: logs });
  const servers = [createServer(demo.expressApp), createServer(demo.koaApp.callback())] as const;
  const urls = { express: await listen(servers[0]), koa: await listen(servers[1]) };
  return {
    demo,
    logs,
    urls,
    async close() {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await demo.close();
    },
  };
}

function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

function dataFrames(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: ') && frame !== 'data: [DONE]')
    .map((frame) => JSON.parse(frame.slice(6)) as unknown);
}

describe('the demo with no operator key: the sandbox answers', () => {
  let running: Running;

  beforeAll(async () => {
    running = await startDemo({});
  });
  afterAll(() => running.close());

  it('starts the embedded sandbox as provider sandbox, the default', () => {
    expect(running.demo.sandbox).toBeDefined();
    expect(running.demo.switchyard.config.defaultProviders).toEqual(['sandbox']);
  });

  describe.each(APPS)('%s app', (app) => {
    it('answers /api/chat with "echo: hi" in several replies, then costStatistics and end', async () => {
      const response = await postJson(`${running.urls[app]}/api/chat`, { question: 'hi', agent: 'App', provider: 'general' });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-llm-served-by')).toBe('sandbox/sandbox-echo');
      const events = dataFrames(await response.text()) as Array<{ type: string; content?: string }>;
      const replies = events.filter((event) => event.type === 'reply');
      expect(replies.length).toBeGreaterThan(1);
      expect(replies.map((event) => event.content).join('')).toBe('echo: hi');
      expect(events.map((event) => event.type).slice(-2)).toEqual(['costStatistics', 'end']);
    });

    it('streams /v1/chat/completions as "echo: hi" in chunks, then a usage chunk, then [DONE]', async () => {
      const response = await postJson(`${running.urls[app]}/v1/chat/completions`, { model: 'general', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      const chunks = dataFrames(text) as Array<{ choices: Array<{ delta?: { content?: string } }>; usage?: { total_tokens: number } | null }>;
      const contents = chunks.flatMap((chunk) => (chunk.choices[0]?.delta?.content ? [chunk.choices[0].delta.content] : []));
      expect(contents.length).toBeGreaterThan(1);
      expect(contents.join('')).toBe('echo: hi');
      const last = chunks.at(-1);
      expect(last?.choices).toEqual([]);
      expect(last?.usage?.total_tokens).toBeGreaterThan(0);
    });

    it('answers /healthz', async () => {
      const response = await fetch(`${running.urls[app]}/healthz`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ ok: true, app });
    });
  });

  it('logs one JSON line per request, without the key', async () => {
    const before = running.logs.lines.length;
    const key = `sk-test-${randomUUID()}`;
    const withKey = { 'x-llm-provider': 'sandbox', 'x-llm-api-key': key };
    await (await postJson(`${running.urls.express}/api/chat`, { question: 'logged' }, withKey)).text();
    await (await postJson(`${running.urls.koa}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: 'x' }] }, withKey)).text();
    await (await postJson(`${running.urls.koa}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: 'x' }] }, { ...withKey, 'x-llm-provider': 'nope' })).text();
    const lines = (await running.logs.waitFor(before + 3)).slice(before);
    expect(lines).toHaveLength(3);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.map((entry) => [entry.method, entry.path, entry.status])).toEqual([
      ['POST', '/api/chat', 200],
      ['POST', '/v1/chat/completions', 200],
      ['POST', '/v1/chat/completions', 400],
    ]);
    expect(entries[0]).toMatchObject({ provider: 'sandbox', keySource: 'caller' });
    expect(entries[2]).toMatchObject({ code: 'unknown_provider' });
    for (const entry of entries) expect(typeof entry.requestId).toBe('string');
    expect(lines.join('\n')).not.toContain(key);
  });
});

describe('the demo with SWITCHYARD_APP_TOKENS', () => {
  let running: Running;
  let token: string;

  beforeAll(async () => {
    token = `app-${randomUUID()}`;
    running = await startDemo({ SWITCHYARD_APP_TOKENS: `${token},other-${randomUUID()}` });
  });
  afterAll(() => running.close());

  it.each(APPS)('%s app: no token or a wrong one → 401 unauthorized; the right one → 200', async (app) => {
    const body = { question: 'hi' };
    const none = await postJson(`${running.urls[app]}/api/chat`, body);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const wrong = await postJson(`${running.urls[app]}/api/chat`, body, { authorization: `Bearer ${token}-wrong` });
    expect(wrong.status).toBe(401);
    const right = await postJson(`${running.urls[app]}/api/chat`, body, { authorization: `Bearer ${token}` });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('"finish_reason":"stop"');
    expect(JSON.stringify(running.demo.sandbox?.lastRequest()?.headers)).not.toContain(token);
    // /healthz is the app's own route: no token needed.
    expect((await fetch(`${running.urls[app]}/healthz`)).status).toBe(200);
  });
});
