/**
 * `GET /metrics` on both demo apps, scraped by a real Prometheus (the Debian package, started here on loopback with
 * a scrape config pointing at the demo), queried over its HTTP API; the exposition linted by `promtool check metrics`.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { behaviors } from '@switchyard/testkit';
import { createDemo, type Demo } from '../src/demo.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const havePrometheus = existsSync(PROMETHEUS) && existsSync(PROMTOOL);
const STREAMS = 6;
const FIRST_BYTE_DELAY_MS = 300;

if (!havePrometheus) {
  const message = `${PROMETHEUS} or ${PROMTOOL} is missing: install the Debian package with \`apt-get install -y prometheus\` (.ci/run does this)`;
  if (process.env.CI) {
    it('scrapes the demo with a real Prometheus', () => {
      throw new Error(message);
    });
  } else {
    process.stderr.write(`prometheus.test.ts skipped: ${message}\n`);
    it.skip(`skipped: ${message}`, () => {});
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** `promtool check metrics` on a text: its exit code and what it printed. */
function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(PROMTOOL, ['check', 'metrics'], { timeout: 10_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
    child.stdin?.end(text);
  });
}

describe.skipIf(!havePrometheus)('a real Prometheus scrapes the demo', () => {
  let demo: Demo;
  let servers: Server[];
  let targets: { express: string; koa: string };
  let prometheus: ChildProcess | undefined;
  let prometheusUrl = '';
  let prometheusLog = '';
  let dir = '';

  beforeAll(async () => {
    demo = await createDemo({ env: { LOG_LEVEL: 'info' }, logDestination: new Writable({ write: (_chunk, _encoding, done) => done() }) });
    servers = [createServer(demo.expressApp), createServer(demo.koaApp.callback())];
    targets = { express: await listen(servers[0] as Server), koa: await listen(servers[1] as Server) };
    dir = mkdtempSync(join(tmpdir(), 'switchyard-prometheus-'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        'scrape_configs:',
        '  - job_name: switchyard-demo',
        '    scrape_interval: 1s',
        '    static_configs:',
        `      - targets: ['${targets.express}', '${targets.koa}']`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
    prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusLog += chunk.toString()));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const ready = await fetch(`${prometheusUrl}/-/ready`).then((response) => response.ok, () => false);
      if (ready) break;
      if (prometheus.exitCode !== null || Date.now() > deadline) throw new Error(`prometheus did not start:\n${prometheusLog}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 30_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus?.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (prometheus.exitCode === null) prometheus.kill('SIGKILL');
    }
    for (const server of servers ?? []) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await demo?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One PromQL instant query over the HTTP API: the vector's samples as [labels, value]. */
  async function query(promql: string): Promise<Array<[Record<string, string>, number]>> {
    const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await response.json()) as { status: string; error?: string; data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    if (body.status !== 'success') throw new Error(`${promql}: ${body.error}`);
    return body.data.result.map((sample) => [sample.metric, Number(sample.value[1])]);
  }

  it('serves Prometheus text at /metrics on both apps, and promtool check metrics passes on it', async () => {
    // Something of every kind first: an answer, a first byte, tokens, an error.
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`http://${targets.koa}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then((r) => r.text());
    await post('/api/chat', { question: 'hi' });
    await post('/v1/chat/completions', { model: 'general', messages: [{ role: 'user', content: 'x' }] }, { 'x-llm-provider': 'nope' });
    for (const app of ['express', 'koa'] as const) {
      const response = await fetch(`http://${targets[app]}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const text = await response.text();
      expect(text).toContain('# TYPE switchyard_requests_total counter');
      expect(text).toContain('# TYPE gen_ai_client_operation_duration histogram');
      expect(text).toContain('# TYPE switchyard_request_time_to_first_byte histogram');
      expect(text).toContain('# TYPE gen_ai_client_token_usage histogram');
      expect(text).toMatch(/switchyard_breaker_state\{gen_ai_provider_name="sandbox",switchyard_breaker_state="closed"[^}]*\} 1/);
      expect(text).toMatch(/switchyard_requests_total\{[^}]*switchyard_outcome="error"[^}]*error_type="unknown_provider"[^}]*\} 1/);
      const lint = await promtool(text);
      expect(lint, lint.output).toEqual({ code: 0, output: '' });
    }
    // promtool is a real check: a name in milliseconds fails it.
    expect((await promtool('# HELP x_milliseconds x\n# TYPE x_milliseconds gauge\nx_milliseconds 1\n')).code).not.toBe(0);
  });

  it('PromQL over the HTTP API returns the request count and a time-to-first-byte quantile this test caused', async () => {
    const sandbox = demo.sandbox!;
    for (let i = 0; i < STREAMS; i++) sandbox.enqueue(behaviors.stream(['slow ', 'first ', 'byte'], { firstByteDelayMs: FIRST_BYTE_DELAY_MS }));
    const answers = await Promise.all(
      Array.from({ length: STREAMS }, (_, i) =>
        fetch(`http://${i % 2 ? targets.koa : targets.express}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'general', stream: true, messages: [{ role: 'user', content: `q${i}` }] }),
        }).then((response) => response.text()),
      ),
    );
    for (const answer of answers) expect(answer).toContain('data: [DONE]');

    const streamed = `switchyard_endpoint="chatCompletions",switchyard_outcome="ok",instance="${targets.express}"`;
    /** Re-queries until the value is there (scrapes come every second, per target): the last value seen. */
    const valueOnceScraped = async (promql: string, expected: number) => {
      const deadline = Date.now() + 20_000;
      let value: number | undefined;
      while (Date.now() < deadline) {
        value = (await query(promql))[0]?.[1];
        if (value === expected) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return value;
    };
    expect(await valueOnceScraped(`sum(switchyard_requests_total{${streamed}})`, STREAMS), prometheusLog).toBe(STREAMS);
    // Both apps expose the one meter provider: the Koa target reports the same count.
    expect(await valueOnceScraped(`sum(switchyard_requests_total{switchyard_endpoint="chatCompletions",switchyard_outcome="ok",instance="${targets.koa}"})`, STREAMS)).toBe(STREAMS);

    const [median] = await query(`histogram_quantile(0.5, sum by (le) (switchyard_request_time_to_first_byte_bucket{${streamed}}))`);
    // Every first byte came after the upstream's 300 ms pause: the median lies in the 0.25–0.5 s bucket.
    expect(median?.[1]).toBeGreaterThan(0.25);
    expect(median?.[1]).toBeLessThanOrEqual(0.5);
    const [mean] = await query(
      `sum(switchyard_request_time_to_first_byte_sum{${streamed}}) / sum(switchyard_request_time_to_first_byte_count{${streamed}})`,
    );
    expect(mean?.[1]).toBeGreaterThanOrEqual(FIRST_BYTE_DELAY_MS / 1000);
    expect(mean?.[1]).toBeLessThan(2);
    const targetsUp = await query('up{job="switchyard-demo"}');
    expect(targetsUp.map(([labels, value]) => [labels.instance, value]).sort()).toEqual([[targets.express, 1], [targets.koa, 1]].sort());
  });
});
