import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard, type SwitchyardOptions } from '@switchyard/core';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { type Adapters, newKey, send, startAdapters } from './support.js';

/**
 * Faults (SPEC §5, §6): the upstream cuts, stalls or answers garbage; the client reads slowly or goes away at every
 * phase; a thousand streams at once with random aborts. Afterwards nothing is left running or open, and memory is
 * back near where it started.
 */

const TIMEOUTS = { connectMs: 1000, firstByteMs: 400, idleMs: 400, totalMs: 5000 };
const STREAM_BODY = JSON.stringify({ model: 'general', stream: true, messages: [{ role: 'user', content: 'one two three four five six' }] });
const MESSAGES_STREAM_BODY = JSON.stringify({ model: 'general', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'one two three four five six' }] });
const CHAT_BODY = JSON.stringify({ question: 'one two three four five six' });

interface Rig {
  instance: Switchyard;
  adapters: Adapters;
  close(): Promise<void>;
}

/** A fresh Switchyard per test (a breaker opened by one fault must not answer for the next), retries off. */
async function rig(baseUrl: string, extra: SwitchyardOptions = {}): Promise<Rig> {
  const instance = createSwitchyard({
    providers: { openai: { baseUrl } },
    timeouts: TIMEOUTS,
    retries: { max: 0 },
    heartbeatMs: 60_000,
    ...extra,
  });
  const adapters = await startAdapters(instance);
  return {
    instance,
    adapters,
    close: async () => {
      await adapters.close();
      await instance.close();
    },
  };
}

/** Resolves once `condition` holds, checking on every turn of the event loop; rejects after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** No upstream request in flight or queued on any pool of the dispatcher. */
function idle(instance: Switchyard): boolean {
  const pools = [instance.dispatcher.agent, instance.dispatcher.callerAgent].flatMap((agent) => Object.values(agent.stats));
  return pools.every((pool) => pool.running === 0 && pool.pending === 0);
}

const headers = (key: string) => ({ 'content-type': 'application/json', 'x-llm-api-key': key });

let upstream: TestUpstream;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  upstream = await startTestUpstream();
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
  process.off('unhandledRejection', onUnhandled);
  expect(unhandled).toEqual([]);
});

describe.each(['express', 'koa'] as const)('upstream faults through %s', (adapter) => {
  it('an upstream cut mid-stream ends with an error frame (no [DONE]) on /v1 and an error then end event on /api/chat', async () => {
    const { instance, adapters, close } = await rig(upstream.url);
    try {
      upstream.enqueue({ type: 'cutMidStream', afterChunks: 2 }, { type: 'cutMidStream', afterChunks: 2 });
      const v1 = await send(adapters[adapter], '/v1/chat/completions', { headers: headers(newKey()), body: STREAM_BODY });
      expect(v1.status).toBe(200);
      expect(v1.text).toContain('"code":"upstream_error"');
      expect(v1.text).not.toContain('[DONE]');
      const chat = await send(adapters[adapter], '/api/chat', { headers: headers(newKey()), body: CHAT_BODY });
      expect(chat.text).toMatch(/"type":"error"[^\n]*"code":"upstream_error"/);
      expect(chat.text).toMatch(/"type":"end","content":"","finish_reason":"error"/);
      // Anthropic Messages, translated: an `event: error` frame, never message_stop.
      upstream.enqueue({ type: 'cutMidStream', afterChunks: 2 });
      const messages = await send(adapters[adapter], '/v1/messages', { headers: headers(newKey()), body: MESSAGES_STREAM_BODY });
      expect(messages.status).toBe(200);
      expect(messages.text.trimEnd().split('\n\n').at(-1)).toMatch(/^event: error\ndata: \{"type":"error","error":\{"type":"api_error"/);
      expect(messages.text).not.toContain('message_stop');
      await until(() => idle(instance), 'the dispatcher to go idle');
    } finally {
      await close();
    }
    await upstream.waitForOpenConnections(0);
  });

  it('an upstream stall before the first byte answers 504 upstream_timeout, and one mid-stream ends in an error frame', async () => {
    const { instance, adapters, close } = await rig(upstream.url);
    try {
      upstream.enqueue({ type: 'stallBeforeFirstByte' });
      const before = await send(adapters[adapter], '/v1/chat/completions', { headers: headers(newKey()), body: STREAM_BODY });
      expect(before.status).toBe(504);
      expect(JSON.parse(before.text).error.code).toBe('upstream_timeout');
      upstream.enqueue({ type: 'stallMidStream', afterChunks: 1 });
      const mid = await send(adapters[adapter], '/v1/chat/completions', { headers: headers(newKey()), body: STREAM_BODY });
      expect(mid.status).toBe(200);
      expect(mid.text).toContain('"code":"upstream_timeout"');
      expect(mid.text).not.toContain('[DONE]');
      await until(() => idle(instance), 'the dispatcher to go idle');
      // The stalled upstream requests were given up on: their connections were closed by us.
      await until(() => upstream.requests.filter((record) => record.aborted).length === 2, 'both stalled requests to be aborted');
    } finally {
      await close();
    }
    await upstream.waitForOpenConnections(0);
  });

  it('upstream garbage (an HTML 502 page) answers 502 upstream_error as JSON', async () => {
    const { adapters, close } = await rig(upstream.url);
    try {
      upstream.enqueue({ type: 'garbage' });
      const response = await send(adapters[adapter], '/v1/chat/completions', { headers: headers(newKey()), body: STREAM_BODY });
      expect(response.status).toBe(502);
      expect(JSON.parse(response.text).error.code).toBe('upstream_error');
      expect(response.text).not.toContain('<html');
    } finally {
      await close();
    }
  });

  it('a client that goes away at every phase aborts the upstream call and leaves nothing running', async () => {
    // Long deadlines: only the client going away can end these upstream calls.
    const { instance, adapters, close } = await rig(upstream.url, { timeouts: { ...TIMEOUTS, firstByteMs: 20_000, idleMs: 20_000, totalMs: 30_000 } });
    const base = new URL(adapters[adapter]);
    const start = (path: string, body: string) => {
      const req = request({ host: base.hostname, port: base.port, path, method: 'POST', headers: { ...headers(newKey()), 'content-length': String(Buffer.byteLength(body)) }, agent: false });
      req.on('error', () => {});
      const response = new Promise<IncomingMessage>((resolve) => req.on('response', (res) => {
        res.on('error', () => {});
        resolve(res);
      }));
      return { req, response };
    };
    const lastAborted = () => until(() => upstream.lastRequest()?.aborted === true, 'the upstream call to be aborted', 5000);
    try {
      for (const [path, body] of [['/v1/chat/completions', STREAM_BODY], ['/api/chat', CHAT_BODY], ['/v1/messages', MESSAGES_STREAM_BODY]] as const) {
        upstream.reset();
        // 1. Before the request body is complete: nothing goes upstream.
        const partial = start(path, body);
        partial.req.write(body.slice(0, 10));
        partial.req.destroy();
        // 2. Before the response headers: the upstream has the request and has not answered.
        upstream.enqueue({ type: 'stallBeforeFirstByte' });
        const beforeHeaders = start(path, body);
        beforeHeaders.req.end(body);
        await upstream.waitForRequests(1);
        beforeHeaders.req.destroy();
        await lastAborted();
        // 3. Right after the response headers.
        upstream.enqueue({ type: 'stallMidStream', afterChunks: 0 });
        const afterHeaders = start(path, body);
        afterHeaders.req.end(body);
        await afterHeaders.response;
        afterHeaders.req.destroy();
        await lastAborted();
        expect(upstream.requests).toHaveLength(2);
        // 4. Mid-stream, after some content.
        upstream.enqueue({ type: 'stream', chunks: Array.from({ length: 200 }, (_, i) => `c${i} `), delayMs: 10 });
        const midStream = start(path, body);
        midStream.req.end(body);
        const res = await midStream.response;
        await new Promise((resolve) => res.once('data', resolve));
        midStream.req.destroy();
        await lastAborted();
        expect(upstream.requests).toHaveLength(3);
        expect(upstream.requests.every((record) => record.aborted)).toBe(true);
        await until(() => idle(instance), 'the dispatcher to go idle');
      }
    } finally {
      await close();
    }
    await upstream.waitForOpenConnections(0);
  });
});

describe('a slow client (backpressure)', () => {
  let slowUpstream: Server;
  let written = 0;
  let blockedSince: number | undefined;
  let finished = false;
  const FRAME = `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'y'.repeat(16_000) } }] })}\n\n`;
  const FRAMES = 4000; // ~64 MB

  beforeAll(async () => {
    slowUpstream = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let sent = 0;
        const pump = () => {
          while (sent < FRAMES) {
            sent += 1;
            written += FRAME.length;
            if (!res.write(FRAME)) {
              blockedSince = Date.now();
              res.once('drain', () => {
                blockedSince = undefined;
                pump();
              });
              return;
            }
          }
          res.end('data: [DONE]\n\n', () => {
            finished = true;
          });
        };
        pump();
      });
    });
    await new Promise<void>((resolve) => slowUpstream.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    slowUpstream.closeAllConnections();
    await new Promise((resolve) => slowUpstream.close(resolve));
  });

  it('holds the upstream back while the client does not read, then delivers everything', async () => {
    const { adapters, close } = await rig(`http://127.0.0.1:${(slowUpstream.address() as AddressInfo).port}/v1`, { timeouts: { ...TIMEOUTS, idleMs: 10_000, totalMs: 20_000 } });
    try {
      const base = new URL(adapters.express);
      const received = await new Promise<number>((resolve, reject) => {
        const req = request({ host: base.hostname, port: base.port, path: '/v1/chat/completions', method: 'POST', headers: headers(newKey()), agent: false }, (res) => {
          res.pause();
          // The client reads nothing: the upstream must end up blocked on a full pipe, far from the end of its answer.
          until(() => blockedSince !== undefined && Date.now() - blockedSince > 300, 'the upstream to block', 10_000)
            .then(() => {
              expect(finished).toBe(false);
              expect(written).toBeLessThan((FRAMES * FRAME.length) / 2);
              let bytes = 0;
              res.on('data', (chunk: Buffer) => {
                bytes += chunk.length;
              });
              res.on('end', () => resolve(bytes));
              res.resume();
            })
            .catch(reject);
        });
        req.on('error', reject);
        req.end(STREAM_BODY);
      });
      expect(received).toBe(FRAMES * FRAME.length + 'data: [DONE]\n\n'.length);
      expect(finished).toBe(true);
    } finally {
      await close();
    }
  });
});

describe('1,000 concurrent streams with random aborts', () => {
  it('leaves no upstream connection open and memory back near its start', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const settle = async () => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const { instance, adapters, close } = await rig(upstream.url);
    upstream.setDefault({ type: 'stream', chunks: Array.from({ length: 10 }, (_, i) => `part${i} `), delayMs: 15 });
    const base = new URL(adapters.express);
    // One warm-up round, so lazily built code and pools are in the baseline.
    await send(adapters.express, '/v1/chat/completions', { headers: headers(newKey()), body: STREAM_BODY });
    await settle();
    const start = process.memoryUsage();
    const outcomes = { completed: 0, aborted: 0 };
    const one = (abortAfterMs: number | undefined) =>
      new Promise<void>((resolve) => {
        const req = request({ host: base.hostname, port: base.port, path: '/v1/chat/completions', method: 'POST', headers: headers(newKey()), agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            if (text.includes('[DONE]')) outcomes.completed += 1;
            resolve();
          });
          res.on('error', () => resolve());
          if (abortAfterMs !== undefined) {
            setTimeout(() => {
              outcomes.aborted += 1;
              req.destroy();
              resolve();
            }, abortAfterMs);
          }
        });
        req.on('error', () => resolve());
        req.end(STREAM_BODY);
      });
    const started = Date.now();
    await Promise.all(Array.from({ length: 1000 }, () => one(Math.random() < 0.5 ? Math.floor(Math.random() * 120) : undefined)));
    const elapsedMs = Date.now() - started;
    await until(() => idle(instance), 'every upstream call to end', 10_000);
    expect(outcomes.completed + outcomes.aborted).toBeGreaterThanOrEqual(990);
    expect(outcomes.completed).toBeGreaterThan(300);
    expect(upstream.requests.length).toBeGreaterThanOrEqual(900);
    await close();
    await upstream.waitForOpenConnections(0, 10_000);
    await settle();
    const end = process.memoryUsage();
    const heapGrowthMb = (end.heapUsed - start.heapUsed) / 1024 / 1024;
    const rssGrowthMb = (end.rss - start.rss) / 1024 / 1024;
    console.info(`1000 streams: ${elapsedMs} ms, ${outcomes.completed} completed, ${outcomes.aborted} aborted; heap +${heapGrowthMb.toFixed(1)} MB, rss +${rssGrowthMb.toFixed(1)} MB`);
    expect(heapGrowthMb).toBeLessThan(32);
    expect(rssGrowthMb).toBeLessThan(256);
  }, 30_000);
});
