/**
 * SPEC §10 over both adapters: the host app opens an active span in its own middleware before Switchyard, and
 * Switchyard's request and attempt spans land inside that trace; the SDK's in-memory exporters record everything.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_NAMES, type SwitchyardOptions } from '@switchyard/core';
import { behaviors, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { createTelemetryRecorder, pointsOf, type TelemetryRecorder, useAsyncContext } from '../../packages/core/test/telemetry-recorder.js';
import { ADAPTERS, callerKey, type Harness, post, readEvents, startHarness } from './harness.js';
import { ChatSocket, replyText } from './ws-client.js';

let undoContext: () => void;
beforeAll(() => {
  undoContext = useAsyncContext();
});
afterAll(() => undoContext());

const APP_SPAN = 'POST (host app)';

describe.each(ADAPTERS)('traces and metrics over %s', (adapter) => {
  let h: Harness | undefined;
  let recorder: TelemetryRecorder;
  let second: TestUpstream | undefined;

  afterEach(async () => {
    await h?.close();
    await second?.close();
    await recorder.shutdown();
    h = undefined;
    second = undefined;
  });

  /** A harness whose Switchyard records to a fresh recorder, behind an app middleware that opens an active span. */
  async function start(switchyard: (upstream: TestUpstream) => SwitchyardOptions, extra: Parameters<typeof startHarness>[1] = {}): Promise<Harness> {
    recorder = createTelemetryRecorder();
    const app = recorder.tracerProvider.getTracer('host-app');
    const telemetry = { tracerProvider: recorder.tracerProvider, meterProvider: recorder.meterProvider };
    h = await startHarness(adapter, {
      ...extra,
      switchyard: (upstream) => ({ ...switchyard(upstream), telemetry }),
      around: (run) =>
        app.startActiveSpan(APP_SPAN, async (span) => {
          try {
            await run();
          } finally {
            span.end();
          }
        }),
    });
    return h;
  }

  /** Every span once `count` have ended (the client can finish reading before the server ends its spans). */
  async function spans(count: number): Promise<ReadableSpan[]> {
    await expect.poll(() => recorder.spans().length).toBeGreaterThanOrEqual(count);
    return recorder.spans();
  }

  const byKind = (all: ReadableSpan[], kind: SpanKind) => all.filter((span) => span.kind === kind && span.name !== APP_SPAN);
  const parentOf = (span: ReadableSpan | undefined) => span?.parentSpanContext?.spanId;

  it('a request streamed with the openai SDK: a request span under the app span, an attempt span under it', async () => {
    const harness = await start((upstream) => ({ providers: { openai: { baseUrl: upstream.url } } }));
    const key = callerKey();
    const client = new OpenAI({ baseURL: `${harness.url}/v1`, apiKey: 'app', maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': key } });
    const stream = await client.chat.completions.create({ model: 'general', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'trace me' }] });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: trace me');
    expect(harness.upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);

    const all = await spans(3);
    const app = all.find((span) => span.name === APP_SPAN)!;
    const [request] = byKind(all, SpanKind.INTERNAL);
    const [attempt] = byKind(all, SpanKind.CLIENT);
    expect(app).toBeDefined();
    expect(parentOf(request)).toBe(app.spanContext().spanId);
    expect(parentOf(attempt)).toBe(request!.spanContext().spanId);
    expect(new Set(all.map((span) => span.spanContext().traceId)).size).toBe(1);
    expect(request!.name).toBe('chat gpt-5');
    expect(request!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-5',
      'gen_ai.response.model': 'gpt-5',
      'gen_ai.usage.input_tokens': usage?.prompt_tokens,
      'gen_ai.usage.output_tokens': usage?.completion_tokens,
      'switchyard.endpoint': 'chatCompletions',
      'switchyard.attempts': 1,
    });
    expect(attempt!.name).toBe('chat gpt-5');
    expect(attempt!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-5',
      'server.address': '127.0.0.1',
      'server.port': harness.upstream.port,
      'switchyard.attempt.kind': 'first',
    });
    expect(attempt!.attributes['error.type']).toBeUndefined();
    const everything = await recorder.everything();
    expect(everything).not.toContain(key);
    expect(everything).not.toContain('trace me');
  });

  it('a failover shows two attempts, the first with error.type, both under the request span', async () => {
    second = await startTestUpstream();
    const fallback = second;
    const harness = await start((upstream) => ({
      providers: { openai: { baseUrl: upstream.url, apiKey: callerKey() }, dashscope: { baseUrl: fallback.url, apiKey: callerKey() } },
      failover: ['dashscope'],
    }));
    harness.upstream.enqueue(behaviors.status(503, { error: { message: 'overloaded', type: 'server_error' } }));
    const response = await post(`${harness.url}/api/chat`, { question: 'fail me over' });
    expect(response.headers.get('x-llm-served-by')).toBe('dashscope/deepseek-v4-flash');
    const events = await readEvents(response);
    expect(events.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe('echo: fail me over');
    expect(harness.upstream.requests).toHaveLength(1);
    expect(fallback.requests).toHaveLength(1);

    const all = await spans(4);
    const [request] = byKind(all, SpanKind.INTERNAL);
    const attempts = byKind(all, SpanKind.CLIENT).sort((a, b) => Number(a.attributes['switchyard.attempt.number']) - Number(b.attributes['switchyard.attempt.number']));
    expect(attempts.map((span) => parentOf(span))).toEqual([request!.spanContext().spanId, request!.spanContext().spanId]);
    expect(attempts.map((span) => [span.name, span.attributes['gen_ai.provider.name'], span.attributes['switchyard.attempt.kind'], span.attributes['error.type'], span.attributes['server.port']])).toEqual([
      ['chat gpt-5', 'openai', 'first', 'upstream_error', harness.upstream.port],
      ['chat deepseek-v4-flash', 'dashscope', 'failover', undefined, fallback.port],
    ]);
    expect(attempts[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'upstream_error' });
    expect(request!.attributes).toMatchObject({
      'switchyard.endpoint': 'chat',
      'gen_ai.provider.name': 'dashscope',
      'gen_ai.request.model': 'gpt-5',
      'gen_ai.response.model': 'deepseek-v4-flash',
      'switchyard.attempts': 2,
      'switchyard.fallback_reason': 'upstream_error: openai failed',
    });
    expect(request!.status.code).toBe(SpanStatusCode.UNSET);
    const failovers = pointsOf(await recorder.metric(METRIC_NAMES.failovers));
    expect(failovers.map((point) => [point.attributes['switchyard.failover.from'], point.attributes['gen_ai.provider.name'], point.value])).toEqual([['openai', 'dashscope', 1]]);
  });

  it('token, duration and first-byte histograms record the call, with the usage the client received', async () => {
    const harness = await start((upstream) => ({ providers: { openai: { baseUrl: upstream.url } } }));
    const client = new OpenAI({ baseURL: `${harness.url}/v1`, apiKey: 'app', maxRetries: 0, defaultHeaders: { 'X-LLM-Api-Key': callerKey() } });
    const started = performance.now();
    const completion = await client.chat.completions.create({ model: 'general', messages: [{ role: 'user', content: 'count my tokens please' }] });
    const elapsed = (performance.now() - started) / 1000;
    await spans(3);
    const match = { 'switchyard.endpoint': 'chatCompletions', 'gen_ai.response.model': 'gpt-5' };
    const tokens = pointsOf(await recorder.metric(METRIC_NAMES.tokens), match);
    expect(Object.fromEntries(tokens.map((point) => [point.attributes['gen_ai.token.type'], [point.value.count, point.value.sum]]))).toEqual({
      input: [1, completion.usage?.prompt_tokens],
      output: [1, completion.usage?.completion_tokens],
    });
    const duration = await recorder.metric(METRIC_NAMES.duration);
    expect(duration?.descriptor.unit).toBe('s');
    const [point] = pointsOf(duration, match);
    expect(point?.value.count).toBe(1);
    expect(point?.value.sum).toBeGreaterThan(0);
    expect(point?.value.sum).toBeLessThanOrEqual(elapsed);
    expect(point?.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'switchyard.outcome': 'ok', 'switchyard.cluster': 'global' });
    expect(pointsOf(await recorder.metric(METRIC_NAMES.timeToFirstByte), match)[0]?.value.count).toBe(1);
    expect(pointsOf(await recorder.metric(METRIC_NAMES.requests), match)[0]?.value).toBe(1);
  });

  it('an error before any upstream call: the request span carries error.type, the request counts as an error', async () => {
    const harness = await start((upstream) => ({ providers: { openai: { baseUrl: upstream.url } } }));
    const response = await post(`${harness.url}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: 'x' }] }, { 'x-llm-provider': 'nope' });
    expect(response.status).toBe(400);
    const [request] = byKind(await spans(2), SpanKind.INTERNAL);
    expect(request!.attributes).toMatchObject({ 'error.type': 'unknown_provider', 'http.response.status_code': 400, 'switchyard.attempts': 0 });
    expect(request!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'unknown_provider' });
    expect(byKind(recorder.spans(), SpanKind.CLIENT)).toEqual([]);
    const requests = pointsOf(await recorder.metric(METRIC_NAMES.requests), { 'switchyard.endpoint': 'chatCompletions' });
    expect(requests.map((p) => [p.attributes['switchyard.outcome'], p.attributes['error.type'], p.value])).toEqual([['error', 'unknown_provider', 1]]);
  });

  it('/v1/messages (Anthropic Messages, translated to a chat upstream): a request span for the messages endpoint, its attempt under it', async () => {
    const harness = await start((upstream) => ({ providers: { openai: { baseUrl: upstream.url } } }));
    const key = callerKey();
    const response = await post(
      `${harness.url}/v1/messages`,
      { model: 'general', max_tokens: 64, messages: [{ role: 'user', content: 'as anthropic' }] },
      { 'x-api-key': key, 'anthropic-version': '2023-06-01', 'x-llm-provider': 'openai' },
    );
    expect(response.status).toBe(200);
    const answer = (await response.json()) as { content: Array<{ text: string }> };
    expect(answer.content[0]?.text).toBe('echo: as anthropic');
    const all = await spans(3);
    const [request] = byKind(all, SpanKind.INTERNAL);
    const [attempt] = byKind(all, SpanKind.CLIENT);
    expect(request!.attributes).toMatchObject({ 'switchyard.endpoint': 'messages', 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'gpt-5' });
    expect(parentOf(attempt)).toBe(request!.spanContext().spanId);
    expect(parentOf(request)).toBe(all.find((span) => span.name === APP_SPAN)?.spanContext().spanId);
    expect(await recorder.everything()).not.toContain(key);
  });

  it('a WebSocket chat turn is a request of its own: a request span per turn, the attempt under it, counted on metrics', async () => {
    const harness = await start((upstream) => ({ providers: { openai: { baseUrl: upstream.url } } }));
    const key = callerKey();
    const socket = await ChatSocket.open(harness.wsUrl, { headers: { 'x-llm-api-key': key } });
    try {
      expect(replyText(await socket.ask({ question: 'over the socket' }))).toBe('echo: over the socket');
      expect(replyText(await socket.ask({ question: 'and again' }))).toBe('echo: and again');
    } finally {
      await socket.close();
    }
    const all = await spans(4);
    const requests = byKind(all, SpanKind.INTERNAL);
    const attempts = byKind(all, SpanKind.CLIENT);
    expect(requests.map((span) => [span.name, span.attributes['switchyard.endpoint']])).toEqual([
      ['chat gpt-5', 'chat'],
      ['chat gpt-5', 'chat'],
    ]);
    expect(attempts.map((span) => parentOf(span)).sort()).toEqual(requests.map((span) => span.spanContext().spanId).sort());
    expect(pointsOf(await recorder.metric(METRIC_NAMES.requests), { 'switchyard.endpoint': 'chat' })[0]?.value).toBe(2);
    expect(await recorder.everything()).not.toContain(key);
  });

  it("req.llm calls in the app's own route: attempt spans straight under the app span", async () => {
    const harness = await start((upstream) => ({ providers: { openai: { baseUrl: upstream.url } } }), {
      routes: { '/summarize': async (llm, body) => ({ text: (await llm().complete({ messages: [{ role: 'user', content: String(body.text) }] })).text }) },
    });
    const response = await post(`${harness.url}/summarize`, { text: 'in the app' }, { 'x-llm-api-key': callerKey() });
    expect(await response.json()).toEqual({ text: 'echo: in the app' });
    const all = await spans(2);
    const app = all.find((span) => span.name === APP_SPAN)!;
    const [attempt] = byKind(all, SpanKind.CLIENT);
    expect(byKind(all, SpanKind.INTERNAL)).toEqual([]);
    expect(parentOf(attempt)).toBe(app.spanContext().spanId);
    expect(attempt!.attributes).toMatchObject({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': 'gpt-5', 'gen_ai.response.model': 'gpt-5' });
  });
});
