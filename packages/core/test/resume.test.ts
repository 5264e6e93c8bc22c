/**
 * Resume and hedge at the core (SPEC §5): what a continuation is not given (tool calls in flight, reasoning it would
 * repeat), what the breaker hears, how many times an answer goes on, and what telemetry records of both.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { behaviors, splitIntoChunks, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { METRIC_NAMES, type SwitchyardOptions } from '../src/index.js';
import { chatEvents, dataFrames, post, providers, serve, type Served, testKey } from './harness.js';
import { createTelemetryRecorder, pointsOf, type TelemetryRecorder, useAsyncContext } from './telemetry-recorder.js';

/** A raw upstream whose requests each get the next script: frames written in order, then the socket cut or the body ended. */
interface Scripted {
  url: string;
  bodies: unknown[];
  enqueue(frames: string[], then: 'cut' | 'end'): void;
  close(): Promise<void>;
}

async function scriptedUpstream(): Promise<Scripted> {
  const scripts: Array<{ frames: string[]; then: 'cut' | 'end' }> = [];
  const bodies: unknown[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(JSON.parse(body));
      const script = scripts.shift();
      if (!script) return void res.writeHead(500).end('{"error":{"message":"no script"}}');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const frame of script.frames) res.write(frame);
      if (script.then === 'cut') setTimeout(() => req.socket.destroy(), 20);
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    bodies,
    enqueue: (frames, then) => void scripts.push({ frames, then }),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-raw', object: 'chat.completion.chunk', created: 1, model: 'gpt-5', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

const LONG = splitIntoChunks('Tides rise and fall twice a day because the moon pulls the oceans toward it as the earth turns beneath.').join('');
const CHAT = { model: 'general', stream: true, messages: [{ role: 'user', content: 'why tides' }] };

let raw: Scripted;
let upstream: TestUpstream;
let undoContext: () => void;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  undoContext = useAsyncContext();
  [raw, upstream] = await Promise.all([scriptedUpstream(), startTestUpstream()]);
});
afterAll(async () => {
  undoContext();
  await Promise.all([raw.close(), upstream.close()]);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((item) => item.close()));
  upstream.reset();
  raw.bodies.length = 0;
});

async function start(options: SwitchyardOptions, recorder?: TelemetryRecorder): Promise<Served> {
  const served = await serve({
    retries: { max: 0 },
    resume: { tiers: ['*'], maxResumes: 2 },
    ...(recorder ? { telemetry: { tracerProvider: recorder.tracerProvider, meterProvider: recorder.meterProvider } } : {}),
    ...options,
  });
  open.push(served);
  if (recorder) open.push({ close: () => recorder.shutdown() });
  return served;
}

describe('what a continuation is not given', () => {
  it('a tool call in flight is not resumed: an explicit error, no continuation asked', async () => {
    const served = await start({ providers: { openai: { baseUrl: raw.url } } });
    raw.enqueue(
      [
        chunk({ role: 'assistant', content: '' }),
        chunk({ content: 'Let me look.' }),
        chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":' } }] }),
      ],
      'cut',
    );
    const answer = await post(`${served.base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': testKey('caller') });
    const last = JSON.parse(dataFrames(answer.text).at(-1) as string) as { error: { code: string; message: string; hint: string } };
    expect(last.error.code).toBe('upstream_error');
    expect(last.error.message).toContain('tool calls are not resumed');
    expect(answer.text).not.toContain('[DONE]');
    expect(raw.bodies).toHaveLength(1);
    const entry = served.log.at(-1);
    expect(entry?.streamError).toBe('upstream_error');
    expect(entry?.resumes).toBeUndefined();
  });

  it("a continuation's reasoning stays unsent once text went out, and it is asked without thinking settings", async () => {
    const served = await start({ providers: { openai: { baseUrl: raw.url }, next: { baseUrl: upstream.url, apiKey: testKey('operator'), clusters: ['global'], tiers: { general: ['next-model'] } } }, failover: ['next'] });
    const start_ = LONG.slice(0, 30);
    raw.enqueue([chunk({ role: 'assistant', content: '' }), chunk({ reasoning_content: 'thinking first' }), chunk({ content: start_ })], 'cut');
    // The same model again fails, so the continuation goes to the failover provider, which thinks before it answers.
    raw.enqueue([], 'cut');
    upstream.enqueue(behaviors.stream([LONG.slice(30)], { reasoning: ['second thoughts'] }));
    const answer = await post(`${served.base}/api/chat`, { question: 'why tides', language: 'en' }, { 'x-llm-api-key': testKey('caller'), 'x-llm-provider': 'openai' });
    const events = chatEvents(answer.text);
    expect(events.filter((event) => event.type === 'thinking').map((event) => event.content)).toEqual(['thinking first']);
    expect(events.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe(LONG);
    const asked = upstream.lastRequest()?.json as Record<string, unknown>;
    expect(asked.reasoning_effort).toBeUndefined();
    expect((asked.messages as Array<{ role: string }>).at(-2)).toEqual({ role: 'assistant', content: start_ });
  });
});

describe('the breaker, the budget of continuations, the log', () => {
  it('the breaker hears about the break: at its threshold the continuation goes to the failover provider', async () => {
    const fallback = await startTestUpstream();
    open.push(fallback);
    const served = await start({
      providers: { openai: { baseUrl: upstream.url }, next: { baseUrl: fallback.url, apiKey: testKey('operator'), clusters: ['global'], tiers: { general: ['next-model'] } } },
      failover: ['next'],
      breaker: { failureThreshold: 1, cooldownMs: 60_000 },
    });
    fallback.setDefault(behaviors.continuation(LONG));
    upstream.enqueue(behaviors.cutMidStream(3, splitIntoChunks(LONG)));
    const answer = await post(`${served.base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': testKey('caller') });
    const frames = dataFrames(answer.text);
    expect(frames.at(-1)).toBe('[DONE]');
    expect(JSON.parse(frames.at(-2) as string).x_switchyard.resumed[0].to).toEqual({ provider: 'next', model: 'next-model' });
    expect(upstream.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(1);
    const status = await providers(served.base);
    expect(status.openai?.breaker.state).toBe('open');
  });

  it('an answer goes on at most maxResumes times; the last break is the explicit error', async () => {
    const chunks = splitIntoChunks(LONG);
    const served = await start({ providers: { openai: { baseUrl: upstream.url } }, resume: { tiers: ['*'], maxResumes: 1 } });
    // Broken, continued, broken again: the second break stands.
    upstream.enqueue(behaviors.cutMidStream(3, chunks), behaviors.cutMidStream(2, splitIntoChunks(LONG.slice(chunks.slice(0, 3).join('').length))));
    const answer = await post(`${served.base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': testKey('caller') });
    const frames = dataFrames(answer.text);
    expect(JSON.parse(frames.at(-1) as string).error.code).toBe('upstream_error');
    const text = frames.slice(0, -1).map((frame) => (JSON.parse(frame) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '').join('');
    expect(LONG.startsWith(text)).toBe(true);
    expect(upstream.requests).toHaveLength(2);
    expect(served.log.at(-1)).toMatchObject({ resumes: 1, streamError: 'upstream_error' });

    // With two, the same script comes out whole.
    const twice = await start({ providers: { openai: { baseUrl: upstream.url } }, resume: { tiers: ['*'], maxResumes: 2 } });
    upstream.reset();
    upstream.setDefault(behaviors.continuation(LONG));
    upstream.enqueue(behaviors.cutMidStream(3, chunks), behaviors.cutMidStream(2, splitIntoChunks(LONG.slice(chunks.slice(0, 3).join('').length))));
    const whole = await post(`${twice.base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': testKey('caller') });
    const wholeFrames = dataFrames(whole.text);
    expect(wholeFrames.at(-1)).toBe('[DONE]');
    const wholeText = wholeFrames.slice(0, -1).map((frame) => (JSON.parse(frame) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '').join('');
    expect(wholeText).toBe(LONG);
    expect(JSON.parse(wholeFrames.at(-2) as string).x_switchyard.resumed).toHaveLength(2);
    expect(twice.log.at(-1)).toMatchObject({ resumes: 2 });
    expect(twice.log.at(-1)?.streamError).toBeUndefined();
  });

  it('usage and cost on the log entry are summed over both calls, each at its own price', async () => {
    const served = await start({
      providers: { openai: { baseUrl: upstream.url, tiers: { general: ['priced-a', 'priced-b'] } }, anthropic: { baseUrl: upstream.url } },
      prices: { 'priced-a': { input: 1, output: 2 }, 'priced-b': { input: 10, output: 20 } },
    });
    // On the messages wire the broken call already reported its input tokens at message_start.
    upstream.enqueue(behaviors.cutMidStream(3, splitIntoChunks(LONG)), behaviors.continuation(LONG));
    await post(`${served.base}/v1/messages`, { model: 'general', max_tokens: 512, stream: true, messages: [{ role: 'user', content: 'why tides' }] }, { 'x-llm-api-key': testKey('caller'), 'x-llm-provider': 'openai' });
    const entry = served.log.at(-1);
    const second = upstream.requests[1]?.json as { messages: unknown[] };
    expect(second.messages.length).toBeGreaterThan(1);
    expect(entry?.resumes).toBe(1);
    expect(entry?.outputTokens).toBeGreaterThan(0);
    expect(entry?.cost).toBeGreaterThan(0);
  });
});

describe('telemetry of resume and hedge', () => {
  it('the broken attempt span fails, the continuation is an attempt of kind resume, and the resume counter counts', async () => {
    const recorder = createTelemetryRecorder();
    const served = await start({ providers: { openai: { baseUrl: upstream.url } } }, recorder);
    upstream.enqueue(behaviors.cutMidStream(3, splitIntoChunks(LONG)), behaviors.continuation(LONG));
    const answer = await post(`${served.base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': testKey('caller') });
    expect(dataFrames(answer.text).at(-1)).toBe('[DONE]');
    await expect.poll(() => recorder.spans().filter((span) => span.kind === SpanKind.INTERNAL).length).toBe(1);
    const attempts = recorder.spans().filter((span) => span.kind === SpanKind.CLIENT);
    expect(attempts.map((span) => [span.attributes['switchyard.attempt.kind'], span.attributes['gen_ai.request.model'], span.attributes['error.type']])).toEqual([
      ['first', 'gpt-5', 'upstream_error'],
      ['resume', 'gpt-5-mini', undefined],
    ]);
    expect(attempts[0]?.status.code).toBe(SpanStatusCode.ERROR);
    const request = recorder.spans().find((span) => span.kind === SpanKind.INTERNAL);
    expect(request?.status.code).not.toBe(SpanStatusCode.ERROR);
    const resumes = pointsOf(await recorder.metric(METRIC_NAMES.resumes));
    expect(resumes.map((point) => [point.attributes['gen_ai.provider.name'], point.value])).toEqual([['openai', 1]]);
  });

  it('a hedge: the loser span is superseded (no error), the winner of kind hedge, and the hedge counter counts', async () => {
    const recorder = createTelemetryRecorder();
    const served = await start({ providers: { openai: { baseUrl: upstream.url } }, hedge: { tiers: { '*': 100 } } }, recorder);
    upstream.enqueue(behaviors.continuation(LONG, { firstByteDelayMs: 5000 }), behaviors.continuation(LONG));
    const answer = await post(`${served.base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': testKey('caller') });
    expect(dataFrames(answer.text).at(-1)).toBe('[DONE]');
    await expect.poll(() => recorder.spans().filter((span) => span.kind === SpanKind.INTERNAL).length).toBe(1);
    const attempts = recorder.spans().filter((span) => span.kind === SpanKind.CLIENT);
    const byKind = Object.fromEntries(attempts.map((span) => [span.attributes['switchyard.attempt.kind'], span]));
    expect(byKind.first?.attributes['switchyard.attempt.outcome']).toBe('superseded');
    expect(byKind.first?.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(byKind.hedge?.attributes['gen_ai.request.model']).toBe('gpt-5-mini');
    const hedges = pointsOf(await recorder.metric(METRIC_NAMES.hedges));
    expect(hedges.map((point) => [point.attributes['gen_ai.provider.name'], point.value])).toEqual([['openai', 1]]);
    expect(served.log.at(-1)).toMatchObject({ hedged: 'hedge', attempts: 2 });
  });
});
