/**
 * Many instances (SPEC §9), as an operator runs them: real demo processes (`node apps/demo/dist/main.js`) sharing
 * one real `redis-server` (started here on a free loopback port, persistence off), in front of one testkit upstream.
 * Requests go to the Express app of one instance and the Koa app of the other. `npm test` builds the demo first;
 * without a build (or without redis-server) this file skips, except under CI, where it must run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeCost, DEFAULT_PRICES, estimateUsage, toMicros } from '@switchyard/core';
import { behaviors, findRedisServer, startTestRedis, startTestUpstream, type TestRedis, type TestUpstream } from '@switchyard/testkit';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const missing = [!existsSync(MAIN) && 'no demo build (npm test builds it)', !findRedisServer() && 'no redis-server'].filter(Boolean);
const skip = missing.length > 0 && !process.env.CI;
if (skip) console.warn(`many-instances: skipped, ${missing.join(', ')}`);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One request on a fresh connection (so `node:cluster` spreads them over its workers). */
function send(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = httpRequest(url, { method, agent: false, headers: { ...(payload ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

interface Instance {
  express: string;
  koa: string;
  child: ChildProcess;
  /** Every stdout line (the JSON log) so far. */
  logs: string[];
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();

/** Starts `node apps/demo/dist/main.js` with this environment and waits for its banner. */
function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, [MAIN], {
    // Probes off (as under any test runner): the half-open trial is then the next request, which the test counts.
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', PORT: '0', KOA_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const logs: string[] = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    logs.push(...lines.filter(Boolean));
  });
  return new Promise((resolve, reject) => {
    let banner = '';
    const timer = setTimeout(() => fail(new Error('the demo did not start within 20 s')), 20_000);
    function fail(error: Error) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n${banner}`));
    }
    child.stderr?.on('data', (chunk: Buffer) => {
      banner += chunk.toString();
      const express = /Express: http:\/\/localhost:(\d+)\//.exec(banner)?.[1];
      const koa = /Koa: {5}http:\/\/localhost:(\d+)\//.exec(banner)?.[1];
      if (!express || !koa) return;
      clearTimeout(timer);
      resolve({
        express: `http://127.0.0.1:${express}`,
        koa: `http://127.0.0.1:${koa}`,
        child,
        logs,
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((done) => child.once('exit', done));
          child.kill('SIGTERM');
          const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(force);
        },
      });
    });
    child.once('exit', (code) => fail(new Error(`the demo exited with code ${code}`)));
  });
}

let redis: TestRedis;
let upstream: TestUpstream;
const secret = `quota-secret-${randomUUID()}`;
/** What callers sent that must never reach Redis. */
const sent: string[] = [];

function callerKey(): string {
  const key = `sk-test-${randomUUID()}`;
  sent.push(key);
  return key;
}

function question(): string {
  const text = `question-${randomUUID()}`;
  sent.push(text);
  return text;
}

/** The environment every instance of a group shares: the upstream as `openai` (operator key), Redis, its own key prefix. */
function groupEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    OPENAI_API_KEY: `sk-operator-${randomUUID()}`,
    OPENAI_BASE_URL: upstream.url,
    REDIS_URL: redis.url,
    SWITCHYARD_REDIS_PREFIX: `g-${randomUUID().slice(0, 8)}:`,
    // A deadline that a busy shared test machine does not miss by accident; the outage test stops Redis outright.
    SWITCHYARD_REDIS_TIMEOUT_MS: '250',
    SWITCHYARD_QUOTA_SECRET: secret,
    ...extra,
  };
}

const chatCalls = () => upstream.requests.filter((recorded) => recorded.path.endsWith('/chat/completions')).length;

function chat(base: string, headers: Record<string, string> = {}, body?: unknown): Promise<Answer> {
  return send(`${base}/v1/chat/completions`, 'POST', body ?? { model: 'general', messages: [{ role: 'user', content: question() }] }, headers);
}

async function stateOf(base: string): Promise<{ mode: string; reason: string | null; instance: string; peers: number }> {
  return (await send(`${base}/api/providers`, 'GET')).json.state;
}

async function breakerOf(base: string): Promise<string> {
  const answer = await send(`${base}/api/providers`, 'GET');
  return (answer.json.providers as Array<{ id: string; breaker: { state: string } }>).find((provider) => provider.id === 'openai')?.breaker.state ?? 'none';
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

beforeAll(async () => {
  if (skip) return;
  redis = await startTestRedis();
  upstream = await startTestUpstream();
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (skip) return;
  await upstream.close();
  await redis.close();
});

describe.skipIf(skip)('two instances, one Redis: breakers', () => {
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    const env = groupEnv({ SWITCHYARD_BREAKER_FAILURES: '2', SWITCHYARD_BREAKER_COOLDOWN_MS: '1500', SWITCHYARD_CALLER_RPM: '100000' });
    [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    expect((await stateOf(a.express)).mode).toBe('shared');
    expect((await stateOf(b.koa)).mode).toBe('shared');
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    upstream?.reset();
  });

  it('A opens its breaker; within 1 s B answers fast without calling the upstream; after the cooldown exactly one trial call across both', async () => {
    upstream.setDefault(behaviors.status(500, { error: { message: 'upstream down' } }));
    // A's retries fail twice: its circuit opens under this request.
    expect((await chat(a.express)).status).toBe(502);
    const opened = performance.now();
    const callsWhenOpen = chatCalls();
    expect(callsWhenOpen).toBe(2);
    expect((await chat(a.express)).json.error.hint).toMatch(/^circuit open/);
    await eventually(async () => (await breakerOf(b.koa)) === 'open', 1_000, 'B to see the open circuit');
    expect(performance.now() - opened).toBeLessThan(1_000);
    const started = performance.now();
    const fromB = await chat(b.koa);
    expect(performance.now() - started).toBeLessThan(200);
    expect(fromB.status).toBe(503);
    expect(fromB.json.error).toMatchObject({ code: 'provider_unreachable', hint: expect.stringMatching(/^circuit open/) });
    expect(chatCalls()).toBe(callsWhenOpen);

    // The cooldown ends at the same moment for both: 12 concurrent calls over both, still failing upstream.
    await eventually(async () => (await breakerOf(a.express)) === 'half_open', 3_000, 'half-open');
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => chat(i % 2 ? a.express : b.koa)));
    expect(chatCalls()).toBe(callsWhenOpen + 1);
    expect(answers.filter((answer) => answer.status === 503)).toHaveLength(11);
    expect(answers.filter((answer) => answer.status === 502)).toHaveLength(1);

    // The provider is back: after the next cooldown one trial closes the circuit for both.
    upstream.setDefault(behaviors.echo());
    await eventually(async () => (await breakerOf(b.koa)) === 'half_open', 3_000, 'half-open again');
    expect((await chat(b.koa)).status).toBe(200);
    await eventually(async () => (await breakerOf(a.express)) === 'closed', 1_000, 'A to see it closed');
    expect((await chat(a.express)).status).toBe(200);
  });
});

describe.skipIf(skip)('two instances, one Redis: Redis stopped under load', () => {
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    // The default command deadline (10 ms), and a caller limit so that every request reserves in Redis.
    const env = groupEnv({ SWITCHYARD_REDIS_TIMEOUT_MS: '', SWITCHYARD_CALLER_RPM: '100000', SWITCHYARD_BREAKER_FAILURES: '2' });
    [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    await eventually(async () => (await stateOf(a.express)).mode === 'shared' && (await stateOf(b.koa)).mode === 'shared', 5_000, 'both to join');
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    upstream?.reset();
  });

  it('Redis stopped under load: no request fails, p99 added under 20 ms; Redis back: sharing resumes without a restart', async () => {
    upstream.setDefault(behaviors.echo());
    const samples: Array<{ at: number; ms: number; ok: boolean; detail?: string }> = [];
    let stoppedAt = Number.POSITIVE_INFINITY;
    const loadStart = Date.now();
    const runUntil = loadStart + 4_000;
    const worker = async (bases: string[]) => {
      const headers = { 'x-llm-api-key': callerKey() };
      // Bounded in time and in count.
      for (let i = 0; i < 2_000 && Date.now() < runUntil; i++) {
        const started = performance.now();
        let ok = false;
        let detail: string | undefined;
        try {
          const answer = await chat(bases[i % bases.length] as string, headers);
          ok = answer.status === 200 && String(answer.json?.choices?.[0]?.message?.content).startsWith('echo: question-');
          if (!ok) detail = `${answer.status} ${answer.text.slice(0, 200)}`;
        } catch (error) {
          detail = String(error);
        }
        samples.push({ at: Date.now(), ms: performance.now() - started, ok, ...(detail ? { detail } : {}) });
      }
    };
    // One loop per instance, each alternating its Express and Koa apps: load without a queue on two shared cores.
    const load = Promise.all([a, b].map((instance) => worker([instance.express, instance.koa])));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    stoppedAt = Date.now();
    await redis.stop();
    await load;

    const failed = samples.filter((sample) => !sample.ok);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toHaveLength(0);
    // The first half second warms the four loops up; after it, requests served on shared state and alone.
    const warm = samples.filter((sample) => sample.at >= loadStart + 500);
    const before = warm.filter((sample) => sample.at < stoppedAt).map((sample) => sample.ms);
    const after = warm.filter((sample) => sample.at >= stoppedAt).map((sample) => sample.ms);
    // Each instance's own log line says how long a request waited for its quota (the one Redis command on the
    // request path) and whether it was served alone: what a stopped Redis adds, measured where it is added.
    const served = [a, b]
      .flatMap((instance) => instance.logs)
      .map((line) => JSON.parse(line) as { time: number; path?: string; durationMs?: number; quotaMs?: number; sharedState?: string })
      .filter((entry) => entry.path === '/v1/chat/completions' && entry.time >= loadStart + 500 && entry.quotaMs !== undefined);
    const shared = served.filter((entry) => entry.sharedState === undefined);
    const alone = served.filter((entry) => entry.sharedState === 'alone');
    expect(shared.length).toBeGreaterThan(20);
    expect(alone.length).toBeGreaterThan(20);
    const p = (entries: typeof served, field: 'quotaMs' | 'durationMs', at: number) => percentile(entries.map((entry) => entry[field] as number), at).toFixed(2);
    console.info(
      `Redis stopped under load: ${samples.length} requests over 2 instances, 0 failed. Quota wait p50/p99: shared ${p(shared, 'quotaMs', 50)}/${p(shared, 'quotaMs', 99)} ms, ` +
        `alone ${p(alone, 'quotaMs', 50)}/${p(alone, 'quotaMs', 99)} ms. Whole request, server side p50/p99: shared ${p(shared, 'durationMs', 50)}/${p(shared, 'durationMs', 99)} ms, ` +
        `alone ${p(alone, 'durationMs', 50)}/${p(alone, 'durationMs', 99)} ms; client side: ${percentile(before, 50).toFixed(2)}/${percentile(before, 99).toFixed(2)} → ` +
        `${percentile(after, 50).toFixed(2)}/${percentile(after, 99).toFixed(2)} ms (noise of a shared 2-core machine included)`,
    );
    expect(percentile(alone.map((entry) => entry.quotaMs as number), 99)).toBeLessThan(20);

    // Both say so: /api/providers and the logs.
    for (const base of [a.express, b.koa]) expect(await stateOf(base)).toMatchObject({ mode: 'alone', reason: 'connection lost' });
    for (const instance of [a, b]) {
      expect(instance.logs.some((line) => line.includes('"msg":"shared state: running alone"') && line.includes('"reason":"connection lost"'))).toBe(true);
      expect(instance.logs.some((line) => line.includes('"sharedState":"alone"'))).toBe(true);
    }

    // Redis back (empty, as after a restart): both rejoin by themselves, and sharing works again.
    await redis.start();
    await eventually(async () => (await stateOf(a.koa)).mode === 'shared' && (await stateOf(b.express)).mode === 'shared', 5_000, 'both to rejoin');
    expect(a.logs.some((line) => line.includes('"msg":"shared state: joined"') && line.includes('"previous":"alone"'))).toBe(true);
    upstream.setDefault(behaviors.status(500, { error: { message: 'upstream down' } }));
    expect((await chat(a.koa)).status).toBe(502);
    const opened = performance.now();
    await eventually(async () => (await breakerOf(b.express)) === 'open', 1_000, 'B to see the open circuit after the restart');
    expect(performance.now() - opened).toBeLessThan(1_000);
    upstream.setDefault(behaviors.echo());
  });
});

describe.skipIf(skip)('two instances, one Redis: limits', () => {
  it('a spend budget that fits 20 calls, 40 concurrent calls over both: exactly 20 reach the upstream, 20 get 429 budget_exceeded with Retry-After', async () => {
    const body = { model: 'general', max_tokens: 16, messages: [{ role: 'user', content: question() }] };
    const { inputTokens, outputTokens } = estimateUsage(body, Buffer.byteLength(JSON.stringify(body)), 1024);
    const usage = { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens };
    // Every answer uses what the request reserved, priced as gpt-5 (the tier's first model).
    upstream.setDefault(behaviors.completion('ok', { usage: { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: usage.total_tokens } }));
    const perCall = toMicros(computeCost('gpt-5', usage, DEFAULT_PRICES));
    const env = groupEnv({ SWITCHYARD_CALLER_SPEND_PER_DAY: String((perCall * 20.5) / 1e6) });
    const [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    try {
      const headers = { 'x-llm-api-key': callerKey() };
      const before = chatCalls();
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % 2 ? a.express : b.koa, headers, body)));
      expect(chatCalls() - before).toBe(20);
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(20);
      const refused = answers.filter((answer) => answer.status === 429);
      expect(refused).toHaveLength(20);
      for (const answer of refused) {
        expect(answer.json.error).toMatchObject({ code: 'budget_exceeded', hint: expect.stringContaining('per caller key') });
        expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      }
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      upstream.reset();
    }
  });

  it('requests per minute per app token: 40 concurrent calls over both, limit 20: exactly 20 reach the upstream, 20 get 429 rate_limited with Retry-After', async () => {
    const token = `app-${randomUUID()}`;
    sent.push(token);
    const env = groupEnv({ SWITCHYARD_APP_TOKENS: token, SWITCHYARD_APP_TOKEN_RPM: '20' });
    const [a, b] = await Promise.all([startInstance(env), startInstance(env)]);
    try {
      const headers = { authorization: `Bearer ${token}` };
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % 2 ? a.koa : b.express, headers)));
      expect(chatCalls()).toBe(20);
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(20);
      const refused = answers.filter((answer) => answer.status === 429);
      expect(refused).toHaveLength(20);
      for (const answer of refused) {
        expect(answer.json.error).toMatchObject({ code: 'rate_limited', hint: expect.stringContaining('per app token') });
        expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
        expect(Number(answer.headers['retry-after'])).toBeLessThanOrEqual(60);
      }
      // The same on /api/chat, in its own envelope.
      const chatAnswer = await send(`${a.express}/api/chat`, 'POST', { question: question() }, headers);
      expect(chatAnswer.status).toBe(429);
      expect(chatAnswer.json).toMatchObject({ success: false, code: -12, error: { code: 'rate_limited' } });
      expect(chatAnswer.headers['retry-after']).toBeDefined();
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      upstream.reset();
    }
  });
});

describe.skipIf(skip)('worker processes', () => {
  it('WEB_CONCURRENCY=2 with REDIS_URL: two workers serve the same ports and share one limit', async () => {
    const demo = await startInstance(groupEnv({ WEB_CONCURRENCY: '2', SWITCHYARD_CALLER_RPM: '20' }));
    try {
      const instances = new Set<string>();
      await eventually(
        async () => {
          instances.add((await stateOf(demo.express)).instance);
          return instances.size === 2;
        },
        5_000,
        'both workers to answer',
      );
      await eventually(async () => (await stateOf(demo.koa)).peers === 2, 8_000, 'each worker to count two instances');
      const headers = { 'x-llm-api-key': callerKey() };
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % 2 ? demo.express : demo.koa, headers)));
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(20);
      expect(answers.filter((answer) => answer.status === 429)).toHaveLength(20);
      expect(chatCalls()).toBe(20);
    } finally {
      await demo.stop();
      upstream.reset();
    }
  });
});

describe.skipIf(skip)('what reached Redis', () => {
  it('after the suites: the documented keys only, and nothing a caller sent', async () => {
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*');
      expect(keys.length).toBeGreaterThan(0);
      let everything = '';
      for (const key of keys) {
        expect(key).toMatch(/^g-[0-9a-f]{8}:(instances|(breaker|trial|probe):global:[a-z0-9_.-]+|rpm:[ac]\.[A-Za-z0-9_-]{22}|(day|held):[ac]\.[A-Za-z0-9_-]{22}:\d{8})$/);
        const type = await client.type(key);
        const value = type === 'hash' ? await client.hgetall(key) : type === 'zset' ? await client.zrange(key, '0', '-1', 'WITHSCORES') : type === 'string' ? await client.get(key) : type;
        everything += `${key} ${JSON.stringify(value)}\n`;
      }
      for (const value of [...sent, secret]) expect(everything).not.toContain(value);
      expect(everything).not.toMatch(/sk-|Bearer|question-/);
    } finally {
      client.disconnect();
    }
  });
});
