/**
 * The WebSocket chat (`GET /api/chat` upgrade) with a real `ws` client, on servers the adapters' `attach` set up:
 * turns, one turn at a time, cancel, the close codes, clients that vanish, many sockets at once, keys in the query.
 */
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import type { ClientOptions } from 'ws';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '@switchyard/core';
import { behaviors } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, startHarness } from './harness.js';
import { type ChatEvent, ChatSocket, replyText } from './ws-client.js';

/** Sockets a test opened, closed after it whatever happened. */
const opened: ChatSocket[] = [];
async function connect(url: string, options: ClientOptions = {}): Promise<ChatSocket> {
  const socket = await ChatSocket.open(url, options);
  opened.push(socket);
  return socket;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((socket) => socket.close()));
});

function types(events: readonly ChatEvent[]): string[] {
  return events.map((event) => event.type);
}

describe.each(ADAPTERS)('the WebSocket chat over %s', (adapter) => {
  describe('turns', () => {
    let h: Harness;
    let key: string;
    const log: RequestLogEntry[] = [];

    beforeAll(async () => {
      h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url } }, onRequest: (entry) => log.push(entry) }) });
    });
    afterAll(() => h.close());
    beforeEach(() => {
      h.upstream.reset();
      log.length = 0;
      key = callerKey();
    });

    it('answers a turn with one text frame per event, the SSE events exactly, ending with end', async () => {
      const socket = await connect(h.wsUrl, { headers: { 'x-llm-provider': 'openai', 'x-llm-api-key': key } });
      const events = await socket.ask({ question: 'hello there', agent: 'App', provider: 'general' });
      expect(types(events)[0]).toBe('id');
      expect(types(events)[1]).toBe('route');
      expect(types(events).slice(2, -2).every((type) => type === 'reply')).toBe(true);
      expect(types(events).slice(-2)).toEqual(['costStatistics', 'end']);
      expect(events[0]).toEqual({ type: 'id', content: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(events[1]).toEqual({ type: 'route', content: { provider: 'openai', model: 'gpt-5', cluster: 'global', attempts: [{ provider: 'openai', model: 'gpt-5', status: 'ok' }] } });
      expect(replyText(events)).toBe('echo: hello there');
      expect(events.at(-2)).toMatchObject({ type: 'costStatistics', content: { model: 'gpt-5', output_tokens: 3 } });
      expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
      expect(socket.oddFrames).toEqual([]);

      const received = h.upstream.lastRequest();
      expect(received?.headers.authorization).toBe(`Bearer ${key}`);
      expect(received?.json).toMatchObject({ model: 'gpt-5', stream: true, messages: [{ role: 'system' }, { role: 'user', content: 'hello there' }] });
      // One log entry per turn, marked as a socket turn, the id the client saw.
      await expect.poll(() => log.length).toBe(1);
      expect(log[0]).toMatchObject({ requestId: events[0]?.content, method: 'GET', path: '/api/chat', endpoint: 'chat', transport: 'websocket', status: 200, provider: 'openai', model: 'gpt-5', attempts: 1, keySource: 'caller' });
      expect(log[0]?.firstByteMs).toBeGreaterThan(0);
    });

    it('answers two turns in a row on one socket, each a request of its own', async () => {
      const socket = await connect(h.wsUrl, { headers: { 'x-llm-api-key': key } });
      const first = await socket.ask({ question: 'one' });
      const second = await socket.ask({ question: 'two', messages: [{ role: 'user', content: 'one' }, { role: 'assistant', content: replyText(first) }] });
      expect(replyText(first)).toBe('echo: one');
      expect(replyText(second)).toBe('echo: two');
      expect(second.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
      expect(first[0]?.content).not.toBe(second[0]?.content);
      expect(h.upstream.requests).toHaveLength(2);
      expect((h.upstream.requests[1]?.json as { messages: unknown[] }).messages.slice(-3)).toEqual([
        { role: 'user', content: 'one' },
        { role: 'assistant', content: 'echo: one' },
        { role: 'user', content: 'two' },
      ]);
      await expect.poll(() => log.length).toBe(2);
    });

    it('refuses a second turn while one runs with an error event; the first goes on to its end', async () => {
      h.upstream.enqueue(behaviors.stream(['slow ', 'and ', 'steady'], { delayMs: 80 }));
      const socket = await connect(h.wsUrl, { headers: { 'x-llm-api-key': key } });
      socket.send({ question: 'first' });
      await socket.until((event) => event.type === 'reply');
      socket.send({ question: 'second' });
      const rest = await socket.turn();
      const refusals = rest.filter((event) => event.type === 'error');
      expect(refusals).toEqual([{ type: 'error', content: expect.stringContaining('already running'), code: 'invalid_request', hint: expect.stringContaining('cancel') }]);
      expect(replyText(socket.events)).toBe('slow and steady');
      expect(socket.events.filter((event) => event.type === 'end')).toEqual([{ type: 'end', content: '', finish_reason: 'stop' }]);
      expect(h.upstream.requests).toHaveLength(1);
      // The socket takes the next turn once the first is over.
      expect(replyText(await socket.ask({ question: 'third' }))).toBe('echo: third');
    });

    it('cancels a turn: the upstream connection closes within 100 ms, the turn ends, the socket takes the next', async () => {
      h.upstream.enqueue(behaviors.stallMidStream(1, ['first']));
      const socket = await connect(h.wsUrl, { headers: { 'x-llm-api-key': key } });
      socket.send({ question: 'stall' });
      await socket.until((event) => event.type === 'reply');
      expect(h.upstream.openConnections).toBe(1);
      const cancelledAt = performance.now();
      socket.send({ type: 'cancel' });
      await h.upstream.waitForOpenConnections(0, 100);
      const closedAfterMs = performance.now() - cancelledAt;
      expect(h.upstream.lastRequest()?.aborted).toBe(true);
      const end = await socket.until((event) => event.type === 'end');
      expect(end.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
      expect(types(end)).not.toContain('error');
      await expect.poll(() => log.length).toBe(1);
      expect(log[0]).toMatchObject({ clientAborted: true, transport: 'websocket' });
      expect(replyText(await socket.ask({ question: 'after' }))).toBe('echo: after');
      expect(closedAfterMs).toBeLessThan(100);
    });

    it('ignores a cancel with no turn running', async () => {
      const socket = await connect(h.wsUrl, { headers: { 'x-llm-api-key': key } });
      socket.send({ type: 'cancel' });
      expect(replyText(await socket.ask({ question: 'still here' }))).toBe('echo: still here');
      expect(types(socket.events)[0]).toBe('id');
    });

    it('aborts the upstream call when the client vanishes mid-stream (no close frame): no socket left open upstream', async () => {
      h.upstream.enqueue(behaviors.stallMidStream(1, ['first']));
      const socket = await connect(h.wsUrl, { headers: { 'x-llm-api-key': key } });
      socket.send({ question: 'stall' });
      await socket.until((event) => event.type === 'reply');
      expect(h.upstream.openConnections).toBe(1);
      socket.ws.terminate();
      await h.upstream.waitForOpenConnections(0, 1000);
      expect(h.upstream.lastRequest()?.aborted).toBe(true);
      await expect.poll(() => log.length).toBe(1);
      expect(log[0]).toMatchObject({ clientAborted: true });
    });

    it('answers a turn it cannot take with error then end, and keeps the socket', async () => {
      const socket = await connect(h.wsUrl, { headers: { 'x-llm-api-key': key } });
      const cases: Array<[unknown, string]> = [
        ['{"question":', 'invalid_request'],
        [{ question: 42 }, 'invalid_request'],
        [{ question: '  ' }, 'invalid_request'],
        [{ question: 'hi', agent: 'Nobody' }, 'invalid_request'],
        [{ question: 'hi', messages: 'nope' }, 'invalid_request'],
      ];
      for (const [body, code] of cases) {
        const events = await socket.ask(body);
        expect(events, JSON.stringify(body)).toEqual([
          { type: 'error', content: expect.any(String), code, hint: expect.any(String) },
          { type: 'end', content: '', finish_reason: 'error' },
        ]);
      }
      expect(h.upstream.requests).toHaveLength(0);
      expect(replyText(await socket.ask({ question: 'fine' }))).toBe('echo: fine');
    });

    it('sends an upstream failure as error then end, like the SSE stream', async () => {
      h.upstream.enqueue(behaviors.error('openai', 'invalid_api_key'));
      const socket = await connect(h.wsUrl, { headers: { 'x-llm-api-key': key } });
      const events = await socket.ask({ question: 'hi' });
      expect(types(events)).toEqual(['id', 'route', 'error', 'end']);
      expect(events[2]).toMatchObject({ code: 'invalid_api_key', hint: expect.stringContaining('revoked or rotated') });
      expect(events[3]).toEqual({ type: 'end', content: '', finish_reason: 'error' });
      expect(JSON.stringify(events)).not.toContain(key);
    });

    it('ends a stream cut mid-way with the text so far, then error, then end', async () => {
      h.upstream.enqueue(behaviors.cutMidStream(2, ['one', ' two', ' three']));
      const socket = await connect(h.wsUrl, { headers: { 'x-llm-api-key': key } });
      const events = await socket.ask({ question: 'hi' });
      expect(replyText(events)).toBe('one two');
      expect(events.slice(-2)).toMatchObject([{ type: 'error', code: 'upstream_error' }, { type: 'end', finish_reason: 'error' }]);
    });

    it('leaves other paths and plain GETs alone', async () => {
      const other = await connect(h.wsUrl.replace('/api/chat', '/api/other'), { headers: { 'x-llm-api-key': key } });
      expect((await other.closed).code).toBe(1006);
      expect(other.errors.join()).toContain('Unexpected server response: 404');
      const plain = await fetch(`${h.url}/api/chat`);
      expect(plain.status).toBe(404);
      expect(h.upstream.requests).toHaveLength(0);
    });

    it('streams 200 sockets at once, every one to its end', async () => {
      h.upstream.setDefault(behaviors.stream(['many ', 'at ', 'once'], { delayMs: 40 }));
      const count = 200;
      const started = performance.now();
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, h.upstream.openConnections);
      }, 5);
      try {
        const sockets = await Promise.all(Array.from({ length: count }, () => connect(h.wsUrl, { headers: { 'x-llm-api-key': key } })));
        const turns = await Promise.all(sockets.map((socket, i) => socket.ask({ question: `n${i}` }, 15_000)));
        const elapsedMs = Math.round(performance.now() - started);
        for (const events of turns) {
          expect(replyText(events)).toBe('many at once');
          expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
        }
        expect(h.upstream.requests).toHaveLength(count);
        // They streamed side by side, not one after another.
        expect(peak).toBeGreaterThan(count / 2);
        console.info(`${adapter}: ${count} WebSocket turns at once in ${elapsedMs} ms, peak ${peak} upstream connections`);
      } finally {
        clearInterval(sampler);
      }
      await Promise.all(opened.splice(0).map((socket) => socket.close()));
      await expect.poll(() => log.length, { timeout: 5000 }).toBe(count);
    }, 30_000);
  });

  describe('keep-alive', () => {
    let h: Harness;

    beforeAll(async () => {
      h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url } }, heartbeatMs: 40 }) });
    });
    afterAll(() => h.close());

    it('pings idle sockets: one that answers stays open, one that never pongs is cut', async () => {
      const alive = await connect(h.wsUrl, { headers: { 'x-llm-api-key': callerKey() } });
      const silent = await connect(h.wsUrl, { headers: { 'x-llm-api-key': callerKey() }, autoPong: false });
      const { code } = await silent.closed;
      expect(code).toBe(1006);
      expect(silent.pings).toBeGreaterThan(0);
      expect(alive.ws.readyState).toBe(alive.ws.OPEN);
      expect(alive.pings).toBeGreaterThanOrEqual(2);
      expect(replyText(await alive.ask({ question: 'still open' }))).toBe('echo: still open');
    });

    it('sends heartbeat events in a long silence, as the SSE stream does', async () => {
      h.upstream.enqueue(behaviors.stream(['a', 'b'], { delayMs: 150 }));
      const socket = await connect(h.wsUrl, { headers: { 'x-llm-api-key': callerKey() } });
      const events = await socket.ask({ question: 'slow' });
      expect(events.filter((event) => event.type === 'heartbeat')[0]).toEqual({ type: 'heartbeat', content: '' });
      expect(replyText(events)).toBe('ab');
    });
  });

  describe('with app tokens, a small body limit and query credentials', () => {
    let h: Harness;
    let token: string;
    const log: RequestLogEntry[] = [];
    const BODY_LIMIT = 4096;

    beforeAll(async () => {
      token = `app-${randomUUID()}`;
      h = await startHarness(adapter, {
        switchyard: (upstream) => ({
          providers: { openai: { baseUrl: upstream.url } },
          appTokens: [token],
          queryCredentials: true,
          limits: { bodyBytes: BODY_LIMIT },
          onRequest: (entry) => log.push(entry),
        }),
      });
    });
    afterAll(() => h.close());
    beforeEach(() => {
      h.upstream.reset();
      log.length = 0;
    });

    it('closes with 1008 on a missing or wrong token; takes the token from Authorization or ?token=', async () => {
      const key = callerKey();
      for (const [url, headers] of [
        [h.wsUrl, { 'x-llm-api-key': key }],
        [`${h.wsUrl}?token=${token}x`, { 'x-llm-api-key': key }],
        [h.wsUrl, { 'x-llm-api-key': key, authorization: `Bearer ${token}-wrong` }],
        [h.wsUrl, { 'x-llm-api-key': key, authorization: token }],
      ] as const) {
        const socket = await connect(url, { headers });
        const closed = await socket.closed;
        expect(closed.code, url).toBe(1008);
        expect(closed.reason).toMatch(/app token/);
        expect(closed.reason).not.toContain(token);
        expect(socket.events).toEqual([]);
      }
      expect(h.upstream.requests).toHaveLength(0);
      await expect.poll(() => log.length).toBe(4);
      expect(log.every((entry) => entry.status === 401 && entry.code === 'unauthorized' && entry.transport === 'websocket')).toBe(true);
      expect(JSON.stringify(log)).not.toContain(token);

      const byQuery = await connect(`${h.wsUrl}?token=${encodeURIComponent(token)}`, { headers: { 'x-llm-api-key': key } });
      expect(replyText(await byQuery.ask({ question: 'by query' }))).toBe('echo: by query');
      const byHeader = await connect(h.wsUrl, { headers: { 'x-llm-api-key': key, authorization: `Bearer ${token}` } });
      expect(replyText(await byHeader.ask({ question: 'by header' }))).toBe('echo: by header');
      for (const received of h.upstream.requests) {
        expect(received.headers.authorization).toBe(`Bearer ${key}`);
        expect(JSON.stringify(received.headers) + received.body).not.toContain(token);
      }
    });

    it('closes with 1009 on a frame over the body limit, before anything goes upstream', async () => {
      const socket = await connect(`${h.wsUrl}?token=${token}`, { headers: { 'x-llm-api-key': callerKey() } });
      socket.send({ question: 'x'.repeat(BODY_LIMIT + 1) });
      expect((await socket.closed).code).toBe(1009);
      expect(h.upstream.requests).toHaveLength(0);
      // A frame just under the limit is a turn.
      const fits = await connect(`${h.wsUrl}?token=${token}`, { headers: { 'x-llm-api-key': callerKey() } });
      const question = 'y'.repeat(BODY_LIMIT - 32);
      expect(replyText(await fits.ask({ question }))).toBe(`echo: ${question}`);
    });

    it('reads the llm_* query when the operator turned it on; the key appears in no log line and no event', async () => {
      const key = `plain${randomUUID().replaceAll('-', '')}`;
      const socket = await connect(`${h.wsUrl}?token=${token}&llm_provider=openai&llm_api_key=${key}`);
      expect(replyText(await socket.ask({ question: 'from the query' }))).toBe('echo: from the query');
      expect(h.upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
      // The key typed where a model name goes, and an upstream that echoes the key it refused.
      const typed = await socket.ask({ question: 'typed', provider: key });
      h.upstream.enqueue(behaviors.status(401, { error: { message: `Incorrect API key provided: ${key}.`, type: 'invalid_request_error', code: 'invalid_api_key', param: null } }));
      const refused = await socket.ask({ question: 'refused' });
      expect(refused.find((event) => event.type === 'error')).toMatchObject({ code: 'invalid_api_key' });
      await expect.poll(() => log.length).toBe(3);
      expect(log.map((entry) => entry.path)).toEqual(['/api/chat', '/api/chat', '/api/chat']);
      expect(log[0]).toMatchObject({ keySource: 'caller', transport: 'websocket' });
      const lines = log.map((entry) => JSON.stringify(entry));
      for (const line of lines) expect(line).not.toContain(key);
      expect(lines.join('\n')).toContain('***');
      // The typed turn echoes the caller's own input back to the caller (its route); the upstream's echo is masked.
      expect(typed.at(-1)).toMatchObject({ type: 'end', finish_reason: 'stop' });
      expect(JSON.stringify(refused)).not.toContain(key);
    });
  });

  describe('origins', () => {
    let h: Harness;

    beforeAll(async () => {
      h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url } }, allowedOrigins: ['https://app.example.com'] }) });
    });
    afterAll(() => h.close());

    it('refuses a page of another site (1008), takes its own origin, an allowed one, and clients that send none', async () => {
      const headers = { 'x-llm-api-key': callerKey() };
      const foreign = await connect(h.wsUrl, { headers, origin: 'https://evil.example' });
      expect((await foreign.closed).code).toBe(1008);
      for (const origin of [h.url, 'https://app.example.com', undefined]) {
        const socket = await connect(h.wsUrl, { headers, ...(origin ? { origin } : {}) });
        expect(replyText(await socket.ask({ question: 'ok' })), String(origin)).toBe('echo: ok');
      }
      expect(h.upstream.requests).toHaveLength(3);
    });
  });
});

describe('an upgrade the chat does not take', () => {
  it('is answered 404 when nothing else listens for upgrades', async () => {
    const h = await startHarness('express');
    try {
      const port = new URL(h.url).port;
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/elsewhere', headers: { connection: 'Upgrade', upgrade: 'websocket' } });
        req.on('response', (response) => resolve(response.statusCode));
        req.on('upgrade', () => resolve(101));
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(404);
    } finally {
      await h.close();
    }
  });
});
