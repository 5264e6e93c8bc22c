import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describePackaging, installPacked, REPO_ROOT, runNode } from './packaging.js';

const CORE_DIR = join(REPO_ROOT, 'packages', 'core');
const TESTKIT_DIR = join(REPO_ROOT, 'packages', 'testkit');

/** Runs against the loaded `@switchyard/core` as `m`: configures, resolves a route, and fails one. */
const CORE_SMOKE = `
const config = m.resolveConfig({ cluster: 'cn', providers: { dashscope: { apiKey: 'sk-packaging' } } });
const route = m.resolveRoute(config, { headers: {}, requested: 'DeepSeekFlash' });
let error;
try {
  m.resolveRoute(config, { headers: { 'x-llm-provider': 'nope' } });
} catch (caught) {
  error = caught;
}
let configError;
try {
  m.resolveConfig({ cluster: 'mars' });
} catch (caught) {
  configError = caught;
}
return {
  route: { provider: route.provider.id, candidates: route.candidates, baseUrl: route.baseUrl, keySource: route.keySource },
  error: { code: error.code, status: error.status, instanceOf: error instanceof m.SwitchyardError, isInstance: m.SwitchyardError.isInstance(error) },
  configError: configError instanceof m.SwitchyardConfigError && configError.issues.length,
};`;

describePackaging({
  dir: CORE_DIR,
  exports: ['resolveConfig', 'resolveRoute', 'SwitchyardError', 'SwitchyardConfigError', 'optionsFromEnv', 'DEFAULT_PROVIDERS'],
  smoke: CORE_SMOKE,
  checkSmoke(value, build) {
    expect(value, build).toEqual({
      route: { provider: 'dashscope', candidates: ['deepseek-v4-flash'], baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1', keySource: 'operator' },
      error: { code: 'unknown_provider', status: 400, instanceOf: true, isInstance: true },
      configError: 1,
    });
  },
});

describe('@switchyard/core loaded twice (CJS and ESM copies in one process)', () => {
  it('recognizes errors across copies with SwitchyardError.isInstance, where instanceof cannot', async () => {
    const script = `
import { createRequire } from 'node:module';
import * as esm from '@switchyard/core';
const cjs = createRequire(process.cwd() + '/')('@switchyard/core');
const fromCjs = new cjs.SwitchyardError('rate_limited', 'slow down');
const fromEsm = new esm.SwitchyardError('invalid_api_key', 'bad key');
console.log(JSON.stringify({
  sameClass: cjs.SwitchyardError === esm.SwitchyardError,
  esmInstanceOfCjsError: fromCjs instanceof esm.SwitchyardError,
  esmRecognizesCjs: esm.SwitchyardError.isInstance(fromCjs),
  cjsRecognizesEsm: cjs.SwitchyardError.isInstance(fromEsm),
  plainError: esm.SwitchyardError.isInstance(new Error('x')) || cjs.SwitchyardError.isInstance({ code: 'rate_limited' }),
  fields: { code: fromCjs.code, status: fromCjs.status, retryable: fromCjs.retryable },
}));`;
    expect(await runNode(REPO_ROOT, script, 'esm')).toEqual({
      sameClass: false,
      esmInstanceOfCjsError: false,
      esmRecognizesCjs: true,
      cjsRecognizesEsm: true,
      plainError: false,
      fields: { code: 'rate_limited', status: 429, retryable: true },
    });
  });
});

describePackaging({ dir: TESTKIT_DIR, exports: [] });

/**
 * The optional peer `@opentelemetry/api`, from the packed tarball: found synchronously by both builds when the app has
 * it (spans and metrics recorded by the real SDK, registered the way an app registers it), and not needed when absent.
 */
describe('@switchyard/core and OpenTelemetry, from the packed tarball', () => {
  const OTEL = ['@opentelemetry/api', '@opentelemetry/sdk-trace-base', '@opentelemetry/sdk-metrics', '@opentelemetry/context-async-hooks'];
  let withApi = '';
  let withoutApi = '';

  beforeAll(async () => {
    withApi = realpathSync(mkdtempSync(join(tmpdir(), 'switchyard-otel-')));
    withoutApi = realpathSync(mkdtempSync(join(tmpdir(), 'switchyard-no-otel-')));
    await installPacked(CORE_DIR, withApi, OTEL);
    await installPacked(CORE_DIR, withoutApi, [], ['@opentelemetry/api']);
  }, 120_000);

  afterAll(() => {
    for (const dir of [withApi, withoutApi]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A script body (CJS or ESM, after the imports) that serves one chat completion through the core's fetch handler. */
  const callOnce = `
const upstream = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'gpt-5', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
  });
});
await new Promise((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const sy = core.createSwitchyard({ providers: { openai: { baseUrl: 'http://127.0.0.1:' + upstream.address().port + '/v1' } } });
const response = await sy.fetch(new Request('http://app.test/v1/chat/completions', { method: 'POST', headers: { 'content-type': 'application/json', 'x-llm-api-key': 'sk-packaging-key' }, body: JSON.stringify({ model: 'general', messages: [{ role: 'user', content: 'hello' }] }) }));
const text = await response.text();
await new Promise((resolve) => setTimeout(resolve, 50));
await sy.close();
upstream.close();`;

  const recorded = `
const spans = exporter.getFinishedSpans().map((span) => ({ name: span.name, parent: span.parentSpanContext?.spanId === undefined ? null : 'set', operation: span.attributes['gen_ai.operation.name'], provider: span.attributes['gen_ai.provider.name'] }));
const { resourceMetrics } = await reader.collect();
const requests = resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).find((metric) => metric.descriptor.name === 'switchyard.requests');
console.log(JSON.stringify({ status: response.status, spans, requests: requests?.dataPoints.map((point) => point.value) }));`;

  const sdkSetup = `
const exporter = new InMemorySpanExporter();
api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
class Reader extends MetricReader { onForceFlush() { return Promise.resolve(); } onShutdown() { return Promise.resolve(); } }
const reader = new Reader();
api.metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));`;

  const expected = {
    status: 200,
    // The attempt ends first, under the request span.
    spans: [
      { name: 'chat gpt-5', parent: 'set', operation: 'chat', provider: 'openai' },
      { name: 'chat gpt-5', parent: null, operation: 'chat', provider: 'openai' },
    ],
    requests: [1],
  };

  it('the ESM build finds the API the app registered its SDK with', async () => {
    const script = `
import http from 'node:http';
import * as api from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import * as core from '@switchyard/core';
${sdkSetup}
${callOnce}
${recorded}`;
    expect(await runNode(withApi, script, 'esm')).toEqual(expected);
  });

  it('the CommonJS build finds it with require', async () => {
    const script = `
const http = require('node:http');
const api = require('@opentelemetry/api');
const { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
const core = require('@switchyard/core');
(async () => {
${sdkSetup}
${callOnce}
${recorded}
})().catch((error) => { console.error(error); process.exit(1); });`;
    expect(await runNode(withApi, script, 'cjs')).toEqual(expected);
  });

  it.for(['esm', 'cjs'] as const)('without the API installed, the %s build serves requests with telemetry a no-op', async (module) => {
    const head =
      module === 'esm'
        ? `import http from 'node:http';\nimport { createRequire } from 'node:module';\nimport * as core from '@switchyard/core';\nconst require = createRequire(process.cwd() + '/');`
        : `const http = require('node:http');\nconst core = require('@switchyard/core');`;
    const body = `
let apiFound = true;
try { require.resolve('@opentelemetry/api'); } catch { apiFound = false; }
${callOnce}
console.log(JSON.stringify({ apiFound, status: response.status, text: JSON.parse(text).choices[0].message.content, telemetry: sy.config.telemetry.enabled }));`;
    const script = module === 'esm' ? `${head}\n${body}` : `${head}\n(async () => {\n${body}\n})().catch((error) => { console.error(error); process.exit(1); });`;
    expect(await runNode(withoutApi, script, module)).toEqual({ apiFound: false, status: 200, text: 'hi', telemetry: true });
  });
});
