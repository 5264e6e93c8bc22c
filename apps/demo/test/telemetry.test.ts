/**
 * The demo's OpenTelemetry SDK from the standard `OTEL_*` variables: OTLP/HTTP export of traces and metrics to a
 * collector (here a recording sink on loopback), in protobuf by default and JSON on request; off when disabled.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDemo, type Demo } from '../src/demo.js';
import { otlpEndpoint } from '../src/telemetry.js';

interface Received {
  path: string;
  contentType: string;
  body: Buffer;
}

const discard = () => new Writable({ write: (_chunk, _encoding, done) => done() });

let sink: Server;
let sinkUrl = '';
const received: Received[] = [];

beforeAll(async () => {
  // A collector's OTLP/HTTP receiver: records every export and answers 200 with an empty response.
  sink = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
      const json = String(req.headers['content-type']).includes('json');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : undefined);
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
});

afterAll(async () => {
  sink.closeAllConnections();
  await new Promise((resolve) => sink.close(resolve));
});

afterEach(() => {
  received.length = 0;
});

async function chatThrough(demo: Demo, question: string): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer(demo.expressApp);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const response = await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'general', stream: true, messages: [{ role: 'user', content: question }] }) });
  expect(response.status).toBe(200);
  await response.text();
  return {
    base,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('OTLP export from the standard variables', () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT alone: traces and metrics in protobuf to /v1/traces and /v1/metrics', async () => {
    const demo = await createDemo({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `${sinkUrl}/`, OTEL_SERVICE_NAME: 'demo-under-test' }, logDestination: discard() });
    expect(demo.telemetry.exports).toEqual([
      'metrics: Prometheus text at /metrics',
      `metrics: otlp http/protobuf → ${sinkUrl}/v1/metrics`,
      `traces: otlp http/protobuf → ${sinkUrl}/v1/traces`,
    ]);
    const running = await chatThrough(demo, 'exported');
    try {
      await demo.telemetry.tracerProvider?.forceFlush();
      await demo.telemetry.meterProvider?.forceFlush();
      const traces = received.filter((item) => item.path === '/v1/traces');
      const exported = received.filter((item) => item.path === '/v1/metrics');
      expect(traces.length).toBeGreaterThan(0);
      expect(exported.length).toBeGreaterThan(0);
      expect(traces[0]?.contentType).toBe('application/x-protobuf');
      // Protobuf keeps strings as UTF-8: the span names, attribute keys and service name are in the bytes.
      const traceBytes = Buffer.concat(traces.map((item) => item.body)).toString('latin1');
      expect(traceBytes).toContain('chat sandbox-echo');
      expect(traceBytes).toContain('gen_ai.operation.name');
      expect(traceBytes).toContain('demo-under-test');
      expect(Buffer.concat(exported.map((item) => item.body)).toString('latin1')).toContain('switchyard.requests');
    } finally {
      await running.close();
      await demo.close();
    }
  });

  it('http/json, per-signal endpoints, and register(): the attempt span is the request span’s child', async () => {
    const demo = await createDemo({
      env: {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${sinkUrl}/custom/traces`,
        OTEL_METRICS_EXPORTER: 'none',
      },
      logDestination: discard(),
    });
    demo.telemetry.register();
    let running: Awaited<ReturnType<typeof chatThrough>> | undefined;
    try {
      expect(demo.telemetry.exports).toEqual(['metrics: Prometheus text at /metrics', `traces: otlp http/json → ${sinkUrl}/custom/traces`]);
      running = await chatThrough(demo, 'as json');
      await demo.telemetry.tracerProvider?.forceFlush();
      await demo.telemetry.meterProvider?.forceFlush();
      expect(received.map((item) => item.path)).toEqual(['/custom/traces']);
      expect(received[0]?.contentType).toBe('application/json');
      const body = JSON.parse(received[0]!.body.toString('utf8')) as {
        resourceSpans: Array<{ scopeSpans: Array<{ scope: { name: string }; spans: Array<{ name: string; kind: number; spanId: string; parentSpanId?: string; attributes: Array<{ key: string }> }> }> }>;
      };
      const spans = body.resourceSpans.flatMap((resource) => resource.scopeSpans).flatMap((scope) => scope.spans.map((span) => ({ ...span, scope: scope.scope.name })));
      const request = spans.find((span) => span.kind === 1);
      const attempt = spans.find((span) => span.kind === 3);
      expect(request).toMatchObject({ name: 'chat sandbox-echo', scope: '@switchyard/core' });
      expect(attempt).toMatchObject({ name: 'chat sandbox-echo', parentSpanId: request?.spanId });
      expect(attempt?.attributes.map((attribute) => attribute.key)).toEqual(expect.arrayContaining(['gen_ai.provider.name', 'server.address', 'switchyard.attempt.kind']));
    } finally {
      await running?.close();
      await demo.close();
      trace.disable();
      metrics.disable();
      context.disable();
      propagation.disable();
    }
  });

  it('no OTLP variable: nothing leaves the process, /metrics still serves; OTEL_SDK_DISABLED turns the SDK off', async () => {
    const demo = await createDemo({ env: {}, logDestination: discard() });
    const running = await chatThrough(demo, 'local only');
    try {
      expect(demo.telemetry.tracerProvider).toBeUndefined();
      expect(demo.telemetry.exports).toEqual(['metrics: Prometheus text at /metrics']);
      expect(await (await fetch(`${running.base}/metrics`)).text()).toContain('switchyard_requests_total{');
      expect(received).toEqual([]);
    } finally {
      await running.close();
      await demo.close();
    }
    const disabled = await createDemo({ env: { OTEL_SDK_DISABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl }, logDestination: discard() });
    const off = await chatThrough(disabled, 'nothing recorded');
    try {
      expect(disabled.telemetry.meterProvider).toBeUndefined();
      expect((await fetch(`${off.base}/metrics`)).status).toBe(404);
      expect(received).toEqual([]);
    } finally {
      await off.close();
      await disabled.close();
    }
  });

  it('resolves endpoints as the OTLP exporter specification says', () => {
    expect(otlpEndpoint({}, 'traces')).toBeUndefined();
    expect(otlpEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, 'traces')).toBe('http://collector:4318/v1/traces');
    expect(otlpEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, 'metrics')).toBe('http://collector:4318/v1/metrics');
    expect(otlpEndpoint({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://b/m' }, 'metrics')).toBe('http://b/m');
  });
});
