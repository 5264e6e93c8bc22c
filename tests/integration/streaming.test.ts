/**
 * SSE as a host app really runs it: under compression middleware, after a body parser, with clients that leave,
 * and through long upstream silences (heartbeats and pings).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { behaviors } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, post, readEvents, readFrames, type SseFrame, sseFrames, startHarness } from './harness.js';

const GAP_MS = 120;
const chatBody = { question: 'slow' };
const v1Body = { model: 'general', stream: true, messages: [{ role: 'user', content: 'slow' }] };

describe.each(ADAPTERS)('SSE over %s', (adapter) => {
  describe('under compression middleware (threshold 0), installed before switchyard', () => {
    let h: Harness;
    let headers: Record<string, string>;

    beforeAll(async () => {
      h = await startHarness(adapter, { compression: true, routes: { '/plain': async () => ({ filler: 'x'.repeat(2048) }) } });
    });
    afterAll(() => h.close());
    beforeEach(() => {
      h.upstream.reset();
      headers = { 'x-llm-api-key': callerKey(), 'accept-encoding': 'gzip' };
    });

    it('compresses the app own JSON routes (the middleware is active)', async () => {
      const response = await post(`${h.url}/plain`, {}, headers);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-encoding')).toBe('gzip');
    });

    for (const [path, body] of [
      ['/api/chat', chatBody],
      ['/v1/chat/completions', v1Body],
    ] as const) {
      it(`${path}: the first event arrives before the upstream sends its last chunk, not gzip-encoded`, async () => {
        // Five frames a gap apart: the upstream's last frame leaves at least 4 gaps after its first.
        h.upstream.enqueue(behaviors.stream(['one', ' two', ' three'], { delayMs: GAP_MS }));
        const response = await post(`${h.url}${path}`, body, headers);
        expect(response.status).toBe(200);
        expect(response.headers.get('content-encoding')).toBeNull();
        const frames: SseFrame[] = [];
        for await (const frame of sseFrames(response)) frames.push(frame);
        const isText = (frame: SseFrame) =>
          frame.data?.type === 'reply' || typeof (frame.data as { choices?: Array<{ delta?: { content?: string } }> } | undefined)?.choices?.[0]?.delta?.content === 'string';
        const first = frames.find(isText);
        const last = frames.filter(isText).at(-1);
        expect(first && last).toBeTruthy();
        // Buffered, every frame would land at once; streamed, the text frames are at least two gaps apart.
        expect((last as SseFrame).at - (first as SseFrame).at).toBeGreaterThanOrEqual(GAP_MS * 1.5);
      });
    }
  });

  describe('with the body already parsed (express.json() / @koa/bodyparser before switchyard)', () => {
    let h: Harness;
    let headers: Record<string, string>;

    beforeAll(async () => {
      h = await startHarness(adapter, { bodyParser: true });
    });
    afterAll(() => h.close());
    beforeEach(() => {
      h.upstream.reset();
      headers = { 'x-llm-api-key': callerKey() };
    });

    it('serves /api/chat, /v1/chat/completions and /v1/embeddings from the parsed body', async () => {
      const events = await readEvents(await post(`${h.url}/api/chat`, { question: 'parsed' }, headers));
      expect(events.filter((e) => e.type === 'reply').map((e) => e.content).join('')).toBe('echo: parsed');
      const frames = await readFrames(await post(`${h.url}/v1/chat/completions`, { ...v1Body, messages: [{ role: 'user', content: 'parsed too' }] }, headers));
      expect(frames.at(-1)?.raw).toBe('data: [DONE]');
      expect((h.upstream.lastRequest()?.json as { model: string }).model).toBe('gpt-5');
      const embeddings = await post(`${h.url}/v1/embeddings`, { input: 'parsed' }, headers);
      expect(embeddings.status).toBe(200);
      const models = await fetch(`${h.url}/v1/models`, { headers });
      expect(models.status).toBe(200);
    });

    // Express 4's express.json() and @koa/bodyparser set `{}` for a content type they skip, without reading the body.
    it('serves a body the parser in front skipped (no JSON content type), reading it itself', async () => {
      for (const contentType of ['text/plain', 'application/octet-stream']) {
        const events = await readEvents(await post(`${h.url}/api/chat`, '{"question":"skipped"}', { ...headers, 'content-type': contentType }));
        expect(events.filter((e) => e.type === 'reply').map((e) => e.content).join(''), contentType).toBe('echo: skipped');
        expect(h.upstream.lastRequest()?.json, contentType).toMatchObject({ messages: [{ role: 'system' }, { role: 'user', content: 'skipped' }] });
      }
    });

    // The parser in front owns a body it cannot parse: its own 400 (Express: the SyntaxError; Koa: "Bad Request"), never a 5xx or a hang.
    it('answers a bad JSON body with a 400 from the body parser and sends nothing upstream', async () => {
      for (const path of ['/api/chat', '/v1/chat/completions']) {
        const response = await post(`${h.url}${path}`, '{"question":', headers);
        expect(response.status, path).toBe(400);
        expect(await response.text(), path).toMatch(adapter === 'express' ? /SyntaxError|JSON/ : /Bad Request/);
      }
      expect(h.upstream.requests).toHaveLength(0);
    });
  });

  describe('when the client goes away', () => {
    for (const [path, body] of [
      ['/api/chat', chatBody],
      ['/v1/chat/completions', v1Body],
    ] as const) {
      it(`${path}: the upstream connection is closed within a second`, async () => {
        const h = await startHarness(adapter);
        try {
          h.upstream.enqueue(behaviors.stallMidStream(1, ['first']));
          const controller = new AbortController();
          const response = await post(`${h.url}${path}`, body, { 'x-llm-api-key': callerKey() }, controller.signal);
          expect(response.status).toBe(200);
          // Wait for the first text to arrive, so the upstream stream is surely open, then leave.
          for await (const frame of sseFrames(response)) {
            if (frame.data?.type === 'reply' || frame.raw.includes('"content":"first"')) break;
          }
          expect(h.upstream.openConnections).toBe(1);
          controller.abort();
          await h.upstream.waitForOpenConnections(0, 1000);
          expect(h.upstream.lastRequest()?.aborted).toBe(true);
        } finally {
          await h.close();
        }
      });
    }
  });

  describe('through a long upstream silence', () => {
    let h: Harness;

    beforeAll(async () => {
      h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url } }, heartbeatMs: 30 }) });
    });
    afterAll(() => h.close());

    it('/api/chat sends heartbeat events, and the answer still completes', async () => {
      h.upstream.enqueue(behaviors.stream(['a', 'b'], { delayMs: 100 }));
      const events = await readEvents(await post(`${h.url}/api/chat`, chatBody, { 'x-llm-api-key': callerKey() }));
      const heartbeats = events.filter((e) => e.type === 'heartbeat');
      expect(heartbeats.length).toBeGreaterThan(0);
      expect(heartbeats[0]).toEqual({ type: 'heartbeat', content: '' });
      expect(events.filter((e) => e.type === 'reply').map((e) => e.content).join('')).toBe('ab');
      expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
    });

    it('/v1 streams send ": ping" comments, and the frames still end in [DONE]', async () => {
      h.upstream.enqueue(behaviors.stream(['a', 'b'], { delayMs: 100 }));
      const frames = await readFrames(await post(`${h.url}/v1/chat/completions`, v1Body, { 'x-llm-api-key': callerKey() }));
      expect(frames.filter((frame) => frame.raw === ': ping').length).toBeGreaterThan(0);
      expect(frames.at(-1)?.raw).toBe('data: [DONE]');
    });
  });
});
