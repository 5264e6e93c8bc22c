/**
 * SPEC §10 at the core: spans and metrics through `@opentelemetry/api` recorded by the SDK's in-memory exporters, the
 * core's own `node:http` and `fetch` handlers in front; a no-op with no SDK registered or telemetry off.
 */
import { metrics, ProxyTracerProvider, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { behaviors, findRedisServer, startTestRedis, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { createSwitchyard, METRIC_NAMES, type SwitchyardOptions } from '../src/index.js';
import { chatEvents, post, serve, type Served, testKey } from './harness.js';
import { createTelemetryRecorder, pointsOf, registerGlobally, type TelemetryRecorder, useAsyncContext } from './telemetry-recorder.js';

let upstream: TestUpstream;
let fallback: TestUpstream;
let undoContext: () => void;
const open: Array<{ close(): Promise<void> }> = [];

beforeAll(async () => {
  undoContext = useAsyncContext();
  [upstream, fallback] = await Promise.all([startTestUpstream(), startTestUpstream()]);
});

afterAll(async () => {
  undoContext();
  await Promise.all([upstream.close(), fallback.close()]);
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((item) => item.close()));
  upstream.reset();
  fallback.reset();
});

/** A served Switchyard whose telemetry goes to `recorder` (null: to whatever is registered globally). */
async function start(options: SwitchyardOptions = {}, recorder: TelemetryRecorder | null = createTelemetryRecorder()): Promise<Served & { recorder: TelemetryRecorder | null; call: typeof post }> {
  const served = await serve({
    retries: { max: 0 },
    providers: { openai: { baseUrl: upstream.url }, dashscope: { baseUrl: fallback.url, apiKey: testKey('operator') } },
    ...(recorder ? { telemetry: { tracerProvider: recorder.tracerProvider, meterProvider: recorder.meterProvider } } : {}),
    ...options,
  });
  open.push(served);
  if (recorder) open.push({ close: () => recorder.shutdown() });
  // The client can have the last byte before the request's end is recorded: wait for its log entry, written just before.
  const call: typeof post = async (...args) => {
    const before = served.log.length;
    const answer = await post(...args);
    await expect.poll(() => served.log.length).toBeGreaterThan(before);
    return answer;
  };
  return { ...served, recorder, call };
}

const CHAT = { model: 'general', stream: true, messages: [{ role: 'user', content: 'tell me about routing' }] };

describe('spans through the fetch handler and node:http', () => {
  it('a request span and one attempt span, GenAI names and attributes, error-free', async () => {
    const { base, recorder, call } = await start();
    const caller = testKey('caller');
    upstream.enqueue(behaviors.stream(['Routes ', 'are ', 'chosen ', 'per ', 'request.'], { delayMs: 60 }));
    const answer = await call(`${base}/v1/chat/completions`, CHAT, { 'x-llm-provider': 'openai', 'x-llm-api-key': caller });
    expect(answer.status).toBe(200);
    const spans = recorder!.spans();
    expect(spans.map((span) => span.name)).toEqual(['chat gpt-5', 'chat gpt-5']);
    const request = spans.find((span) => span.kind === SpanKind.INTERNAL)!;
    const attempt = spans.find((span) => span.kind === SpanKind.CLIENT)!;
    expect(attempt.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(request.parentSpanContext).toBeUndefined();
    expect(request.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-5',
      'gen_ai.response.model': 'gpt-5',
      'switchyard.endpoint': 'chatCompletions',
      'switchyard.cluster': 'global',
      'switchyard.attempts': 1,
      'http.response.status_code': 200,
    });
    expect(request.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(request.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    expect(attempt.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'openai',
      'gen_ai.request.model': 'gpt-5',
      'gen_ai.response.model': 'gpt-5',
      'server.address': '127.0.0.1',
      'server.port': upstream.port,
      'switchyard.attempt.number': 1,
      'switchyard.attempt.kind': 'first',
      'gen_ai.usage.input_tokens': request.attributes['gen_ai.usage.input_tokens'],
    });
    expect(request.status.code).toBe(SpanStatusCode.UNSET);
    // The answer streamed through the attempt (frames 60 ms apart): it ended with the request, not at the upstream's headers.
    const ms = (time: [number, number]) => time[0] * 1e3 + time[1] / 1e6;
    expect(ms(attempt.duration)).toBeGreaterThan(250);
    expect(ms(request.duration)).toBeGreaterThanOrEqual(ms(attempt.duration));
    const everything = await recorder!.everything();
    expect(everything).not.toContain(caller);
    expect(everything).not.toContain('tell me about routing');
    expect(everything).not.toContain('echo:');
  });

  it('the web-standard fetch handler records the same way, embeddings as `embeddings`', async () => {
    const recorder = createTelemetryRecorder();
    open.push({ close: () => recorder.shutdown() });
    const switchyard = createSwitchyard({ providers: { openai: { baseUrl: upstream.url } }, telemetry: { tracerProvider: recorder.tracerProvider, meterProvider: recorder.meterProvider } });
    open.push(switchyard);
    const response = await switchyard.fetch(
      new Request('http://app.test/v1/embeddings', { method: 'POST', headers: { 'content-type': 'application/json', 'x-llm-api-key': testKey('caller') }, body: JSON.stringify({ input: 'hi' }) }),
    );
    expect(response.status).toBe(200);
    await response.text();
    await expect.poll(() => recorder.spans().length).toBe(2);
    expect(recorder.spans().map((span) => span.name)).toEqual(['embeddings text-embedding-3-large', 'embeddings text-embedding-3-large']);
    const duration = pointsOf(await recorder.metric(METRIC_NAMES.duration), { 'switchyard.endpoint': 'embeddings' });
    expect(duration).toHaveLength(1);
    expect(duration[0]?.attributes['gen_ai.operation.name']).toBe('embeddings');
  });

  it('a retry and a next candidate are attempts of their own kind; the retry counter counts', async () => {
    const { base, recorder, call } = await start({ retries: { max: 1, baseDelayMs: 1, maxDelayMs: 1 } });
    upstream.enqueue(behaviors.error('openai', 'model_not_found'), behaviors.status(503, { error: { message: 'busy' } }));
    const answer = await call(`${base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': testKey('caller') });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-llm-attempts')).toBe('3');
    const attempts = recorder!.spans().filter((span) => span.kind === SpanKind.CLIENT);
    expect(attempts.map((span) => [span.attributes['switchyard.attempt.kind'], span.attributes['gen_ai.request.model'], span.attributes['error.type']])).toEqual([
      ['first', 'gpt-5', 'model_not_found'],
      ['candidate', 'gpt-5-mini', 'upstream_error'],
      ['retry', 'gpt-5-mini', undefined],
    ]);
    expect(attempts.slice(0, 2).map((span) => span.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR]);
    const retries = pointsOf(await recorder!.metric(METRIC_NAMES.retries));
    expect(retries.map((point) => [point.attributes['gen_ai.provider.name'], point.attributes['error.type'], point.value])).toEqual([['openai', 'upstream_error', 1]]);
  });

  it('a stream that breaks after the commit: the request and the attempt that fed it carry error.type', async () => {
    const { base, recorder, call } = await start();
    upstream.enqueue(behaviors.cutMidStream(1));
    const answer = await call(`${base}/api/chat`, { question: 'cut me off' }, { 'x-llm-api-key': testKey('caller') });
    expect(chatEvents(answer.text).at(-1)).toMatchObject({ type: 'end', finish_reason: 'error' });
    const request = recorder!.spans().find((span) => span.kind === SpanKind.INTERNAL)!;
    const attempt = recorder!.spans().find((span) => span.kind === SpanKind.CLIENT)!;
    expect(request.attributes).toMatchObject({ 'switchyard.endpoint': 'chat', 'error.type': 'upstream_error' });
    expect(request.status).toEqual({ code: SpanStatusCode.ERROR, message: 'upstream_error' });
    expect(attempt.attributes['error.type']).toBe('upstream_error');
    const requests = pointsOf(await recorder!.metric(METRIC_NAMES.requests), { 'switchyard.endpoint': 'chat' });
    expect(requests.map((point) => [point.attributes['switchyard.outcome'], point.attributes['error.type'], point.value])).toEqual([['error', 'upstream_error', 1]]);
  });

  it('a sampled-out request records no span, and still counts on metrics', async () => {
    const recorder = createTelemetryRecorder();
    const sampledOut = new BasicTracerProvider({ sampler: new AlwaysOffSampler() });
    const { base, call } = await start({ telemetry: { tracerProvider: sampledOut, meterProvider: recorder.meterProvider } }, recorder);
    expect((await call(`${base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': testKey('caller') })).status).toBe(200);
    expect(recorder.spans()).toEqual([]);
    expect(pointsOf(await recorder.metric(METRIC_NAMES.requests))[0]?.value).toBe(1);
  });
});

describe('content capture (opt-in)', () => {
  it('off by default; on, the prompt and the answer are on the request span, the caller key masked even there', async () => {
    const { base, recorder, call } = await start({}, createTelemetryRecorder());
    const caller = testKey('caller');
    await call(`${base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': caller });
    expect(JSON.stringify(recorder!.spans().map((span) => span.attributes))).not.toContain('routing');

    const capturing = createTelemetryRecorder();
    const { base: capturingBase, call: capturingCall } = await start({ telemetry: { captureContent: true, tracerProvider: capturing.tracerProvider, meterProvider: capturing.meterProvider } }, capturing);
    const question = `my key is ${caller}, keep it`;
    await capturingCall(`${capturingBase}/v1/chat/completions`, { ...CHAT, messages: [{ role: 'user', content: question }] }, { 'x-llm-api-key': caller });
    const chat = await capturingCall(`${capturingBase}/api/chat`, { question: 'what is a tier?' }, { 'x-llm-api-key': caller });
    expect(chat.status).toBe(200);
    const [v1, apiChat] = capturing.spans().filter((span) => span.kind === SpanKind.INTERNAL);
    const input = JSON.parse(String(v1!.attributes['gen_ai.input.messages']));
    expect(input).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'my key is ***, keep it' }] }]);
    const output = JSON.parse(String(v1!.attributes['gen_ai.output.messages']));
    expect(output).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'echo: my key is ***, keep it' }], finish_reason: 'stop' }]);
    expect(JSON.parse(String(apiChat!.attributes['gen_ai.input.messages']))).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'what is a tier?' }] }]);
    expect(JSON.parse(String(apiChat!.attributes['gen_ai.output.messages']))[0].parts).toEqual([{ type: 'text', content: 'echo: what is a tier?' }]);
    expect(await capturing.everything()).not.toContain(caller);
  });
});

describe('metrics', () => {
  it('requests, duration, first byte, tokens and cost from the log entry; unknown models are _OTHER', async () => {
    const { base, recorder, log, call } = await start({ prices: { 'gpt-5': { input: 1, output: 2 } } });
    const caller = testKey('caller');
    await call(`${base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': caller });
    await call(`${base}/v1/chat/completions`, { ...CHAT, model: `raw-${caller}` }, { 'x-llm-api-key': caller });
    const [first] = log;
    const requests = pointsOf(await recorder!.metric(METRIC_NAMES.requests));
    expect(requests.map((point) => [point.attributes['gen_ai.response.model'], point.attributes['switchyard.outcome'], point.value]).sort()).toEqual([
      ['_OTHER', 'ok', 1],
      ['gpt-5', 'ok', 1],
    ]);
    const tokens = pointsOf(await recorder!.metric(METRIC_NAMES.tokens), { 'gen_ai.response.model': 'gpt-5' });
    expect(Object.fromEntries(tokens.map((point) => [point.attributes['gen_ai.token.type'], point.value.sum]))).toEqual({ input: first!.inputTokens, output: first!.outputTokens });
    const duration = pointsOf(await recorder!.metric(METRIC_NAMES.duration), { 'gen_ai.response.model': 'gpt-5' })[0];
    expect(duration?.value.count).toBe(1);
    expect(duration?.value.sum).toBeCloseTo(first!.durationMs / 1000, 6);
    const firstByte = pointsOf(await recorder!.metric(METRIC_NAMES.timeToFirstByte), { 'gen_ai.response.model': 'gpt-5' })[0];
    expect(firstByte?.value.sum).toBeCloseTo(first!.firstByteMs! / 1000, 6);
    expect(pointsOf(await recorder!.metric(METRIC_NAMES.cost))[0]?.value).toBeCloseTo(first!.cost!, 12);
    expect(await recorder!.everything()).not.toContain(caller);
  });

  it('a failover counts, and the breaker gauge follows the breaker', async () => {
    upstream.setDefault(behaviors.status(503, { error: { message: 'down' } }));
    // Failover takes operator keys only: openai has one here.
    const keyed = await start({ failover: ['dashscope'], breaker: { failureThreshold: 1, cooldownMs: 60_000 }, providers: { openai: { baseUrl: upstream.url, apiKey: testKey('operator') }, dashscope: { baseUrl: fallback.url, apiKey: testKey('operator') } } });
    const served = await keyed.call(`${keyed.base}/v1/chat/completions`, CHAT);
    expect(served.headers.get('x-llm-served-by')).toBe('dashscope/deepseek-v4-flash');
    const failovers = pointsOf(await keyed.recorder!.metric(METRIC_NAMES.failovers));
    expect(failovers.map((point) => [point.attributes['switchyard.failover.from'], point.attributes['gen_ai.provider.name'], point.attributes['error.type'], point.value])).toEqual([['openai', 'dashscope', 'upstream_error', 1]]);
    const breaker = pointsOf(await keyed.recorder!.metric(METRIC_NAMES.breakerState), { 'gen_ai.provider.name': 'openai' });
    expect(Object.fromEntries(breaker.map((point) => [point.attributes['switchyard.breaker.state'], point.value]))).toEqual({ closed: 0, half_open: 0, open: 1 });
  });
});

describe('absent or off', () => {
  it('with no SDK registered no span is even started, and no instrument created', async () => {
    const getTracer = vi.spyOn(ProxyTracerProvider.prototype, 'getTracer');
    const getMeter = vi.spyOn(metrics.getMeterProvider(), 'getMeter');
    try {
      const { base, call } = await start({}, null);
      expect((await call(`${base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': testKey('caller') })).status).toBe(200);
      expect((await call(`${base}/api/chat`, { question: 'hi' }, { 'x-llm-api-key': testKey('caller') })).status).toBe(200);
      expect(getTracer).not.toHaveBeenCalled();
      // Asked once at start-up (the no-op meter came back), never per request.
      expect(getMeter).toHaveBeenCalledTimes(1);
    } finally {
      getTracer.mockRestore();
      getMeter.mockRestore();
    }
  });

  it('telemetry: false never touches the API', async () => {
    const untouchable = new Proxy({ trace: {}, metrics: {} }, { get: () => { throw new Error('the API was used'); } });
    const { base, call } = await start({ telemetry: { enabled: false, api: untouchable } }, null);
    expect((await call(`${base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': testKey('caller') })).status).toBe(200);
    const off = createSwitchyard({ telemetry: false });
    open.push(off);
    expect(off.config.telemetry.enabled).toBe(false);
  });

  it('an SDK registered after createSwitchyard is picked up (the API resolves providers per request)', async () => {
    const { base, call } = await start({}, null);
    const recorder = createTelemetryRecorder();
    const undo = registerGlobally(recorder);
    try {
      const parent = trace.getTracer('app').startSpan('app work');
      const caller = testKey('caller');
      expect((await call(`${base}/v1/chat/completions`, CHAT, { 'x-llm-api-key': caller })).status).toBe(200);
      parent.end();
      expect(recorder.spans().map((span) => span.name)).toEqual(['chat gpt-5', 'chat gpt-5', 'app work']);
      expect(pointsOf(await recorder.metric(METRIC_NAMES.requests))[0]?.value).toBe(1);
    } finally {
      undo();
      await recorder.shutdown();
    }
  });
});

describe('the shared-state gauge (SPEC §9, §10)', () => {
  // CI installs redis-server; a machine without it skips this part.
  const skip = !findRedisServer() && !process.env.CI;

  it.skipIf(skip)('1 while Redis answers, 0 while the instance runs alone, 1 again once it rejoins; absent without redis', async () => {
    const redis = await startTestRedis();
    const recorder = createTelemetryRecorder();
    try {
      const { switchyard } = await start({ redis: { url: redis.url, keyPrefix: `t-${Date.now()}:`, reconcileMs: 200, connectTimeoutMs: 200 } }, recorder);
      await switchyard.ready();
      const up = async () => pointsOf(await recorder.metric(METRIC_NAMES.sharedStateUp)).map((point) => [point.attributes['switchyard.shared_state.backend'], point.value]);
      expect(await up()).toEqual([['redis', 1]]);
      await redis.stop();
      await expect.poll(up, { timeout: 10_000 }).toEqual([['redis', 0]]);
      await redis.start();
      await expect.poll(up, { timeout: 10_000 }).toEqual([['redis', 1]]);
    } finally {
      await redis.close();
    }
    const local = createTelemetryRecorder();
    await start({}, local);
    expect(await local.metric(METRIC_NAMES.sharedStateUp)).toBeUndefined();
    expect(await local.metric(METRIC_NAMES.breakerState)).toBeDefined();
  });
});
