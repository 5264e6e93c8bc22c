import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard, ERROR_STATUS, SwitchyardError, type Switchyard } from '@switchyard/core';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { type ChatEvent, ChatSocket } from '../integration/ws-client.js';
import { type Adapters, newKey, startAdapters } from './support.js';

/**
 * SPEC §6 on the WebSocket chat: arbitrary frames and arbitrary upgrade queries and headers, thrown at both adapters.
 * Every turn ends with `end`, every error event carries a known code, the socket stays usable, nothing crashes; the
 * only closes are the documented ones (1008 for a bad token, 1009 for an oversize frame).
 */

const KNOWN_CODES = new Set(Object.keys(ERROR_STATUS));
const BODY_LIMIT = 16 * 1024;
const RUNS = 60;
const TOKEN = `app-${newKey('token')}`;

let upstream: TestUpstream;
let instance: Switchyard;
let adapters: Adapters;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  upstream = await startTestUpstream();
  // Every name resolves to a private address: an arbitrary llm_base_url never leads to a DNS query off this machine.
  const anyName = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
    options.all ? callback(null, [{ address: '10.9.9.9', family: 4 }]) : callback(null, '10.9.9.9', 4)) as unknown as NonNullable<Parameters<typeof createSwitchyard>[0]>['lookup'];
  instance = createSwitchyard({
    providers: { openai: { baseUrl: upstream.url }, gemini: { baseUrl: upstream.url }, dashscope: { baseUrl: upstream.url }, volcengine: { baseUrl: upstream.url } },
    limits: { bodyBytes: BODY_LIMIT, jsonDepth: 32 },
    appTokens: [TOKEN],
    queryCredentials: true,
    retries: { max: 0 },
    lookup: anyName,
  });
  // A public IP literal passes the policy; this egress guard stops it before any packet.
  instance.dispatcher.onConnect(() => {
    throw new SwitchyardError('base_url_forbidden', 'test egress guard: this suite stays on loopback');
  });
  adapters = await startAdapters(instance);
});

afterAll(async () => {
  await adapters.close();
  await instance.close();
  await upstream.close();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  expect(unhandled).toEqual([]);
});

/** A turn's events are well formed: `{type, content}` each, known codes on errors, `end` last and only last. */
function expectWellFormedTurn(events: readonly ChatEvent[], what: string): void {
  expect(events.at(-1)?.type, what).toBe('end');
  expect(events.slice(0, -1).some((event) => event.type === 'end'), what).toBe(false);
  for (const event of events) {
    expect('content' in event, `${what}: ${JSON.stringify(event)}`).toBe(true);
    expect('error' in event, what).toBe(false);
    if (event.type === 'error') expect(KNOWN_CODES.has(String(event.code)), `${what}: ${JSON.stringify(event)}`).toBe(true);
  }
}

const frame = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null'),
  fc.record({ question: fc.anything(), agent: fc.anything(), provider: fc.anything(), messages: fc.anything(), type: fc.anything() }, { requiredKeys: [] }).map((value) => {
    try {
      return JSON.stringify(value) ?? '{}';
    } catch {
      return '{}';
    }
  }),
  fc.record({ question: fc.string({ minLength: 1 }), provider: fc.constantFrom('general', 'gpt-5', 'nope/x', '', 'expert'), messages: fc.constantFrom(undefined, [], [{ role: 'user', content: 'x' }], [{ role: 'tool' }], 'x') }).map((value) =>
    JSON.stringify(value),
  ),
  fc.string({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)),
  fc.integer({ min: 1, max: 100 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  fc.constantFrom('', ' ', 'null', '[]', '"str"', '1e309', '{"question":"\ud800"}', '{"__proto__":{"question":"x"}}', '{"type":"cancel","question":"x"}'),
);

describe.each(['express', 'koa'] as const)('hostile WebSocket input through %s (fast-check)', (adapter) => {
  it('arbitrary frames on one socket: every turn ends well formed, the socket stays open', async () => {
    const socket = await ChatSocket.open(`${adapters.ws[adapter]}?token=${TOKEN}`, { headers: { 'x-llm-api-key': newKey() } });
    let turns = 0;
    try {
      await fc.assert(
        fc.asyncProperty(frame, async (payload) => {
          const text = Buffer.isBuffer(payload) ? undefined : payload;
          let parsed: unknown;
          try {
            parsed = text === undefined ? undefined : JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          // A cancel frame with no turn running is ignored: nothing to read.
          if (parsed && typeof parsed === 'object' && (parsed as { type?: unknown }).type === 'cancel') return;
          socket.ws.send(payload, { binary: Buffer.isBuffer(payload) });
          const events = await socket.turn(10_000);
          expectWellFormedTurn(events, String(payload).slice(0, 200));
          turns += 1;
        }),
        { numRuns: RUNS },
      );
      expect(socket.ws.readyState).toBe(socket.ws.OPEN);
      expect(socket.oddFrames).toEqual([]);
      expect(turns).toBeGreaterThan(RUNS / 2);
    } finally {
      await socket.close();
    }
  });

  it('arbitrary upgrade queries and headers: a well-formed turn, or a documented close, never a crash', async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 80 }),
      fc.constantFrom('openai', 'OpenAI', 'nope', '', '__proto__', 'https://10.0.0.1/v1', 'https://0x7f.1/', 'file:///etc/passwd', `https://a@${'b'.repeat(300)}/`),
      fc.webUrl(),
      fc.constant(newKey()),
      fc.string({ minLength: 1100, maxLength: 1500 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({ llm_provider: value, llm_api_key: value, llm_base_url: value, token: fc.oneof(fc.constant(TOKEN), value) }, { requiredKeys: [] }),
        fc.option(fc.constantFrom('https://evil.example', 'null', '', 'not a url'), { nil: undefined }),
        async (query, origin) => {
          const search = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
          const socket = await ChatSocket.open(`${adapters.ws[adapter]}?${search}`, origin === undefined ? {} : { origin });
          try {
            if (socket.ws.readyState !== socket.ws.OPEN) {
              expect((await socket.closed).code).toBe(1008);
              return;
            }
            socket.send({ question: 'hi' });
            const events = await Promise.race([socket.turn(10_000), socket.closed.then((closed) => closed)]);
            if (!Array.isArray(events)) {
              // Refused at the door: a wrong token or a foreign origin, and nothing else.
              expect(events.code).toBe(1008);
              expect(query.token !== TOKEN || origin !== undefined).toBe(true);
              return;
            }
            expectWellFormedTurn(events, JSON.stringify(query).slice(0, 300));
          } finally {
            await socket.close();
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('an oversize frame closes with 1009; a deep one is an error turn', async () => {
    const before = upstream.requests.length;
    const big = await ChatSocket.open(`${adapters.ws[adapter]}?token=${TOKEN}`, { headers: { 'x-llm-api-key': newKey() } });
    big.send({ question: 'x'.repeat(BODY_LIMIT) });
    expect((await big.closed).code).toBe(1009);
    const deep = await ChatSocket.open(`${adapters.ws[adapter]}?token=${TOKEN}`, { headers: { 'x-llm-api-key': newKey() } });
    const events = await deep.ask(`{"question":"hi","a":${'['.repeat(40)}${']'.repeat(40)}}`);
    expect(events).toEqual([
      { type: 'error', content: expect.stringContaining('nests deeper'), code: 'invalid_request', hint: expect.any(String) },
      { type: 'end', content: '', finish_reason: 'error' },
    ]);
    await deep.close();
    expect(upstream.requests.length).toBe(before);
  });
});
