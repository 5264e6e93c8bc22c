/**
 * Shared state over a real Redis (SPEC §9): two Switchyard instances, each with its own connections, share breakers,
 * passive health, probe results and quotas; Redis slow or gone never fails a request; they rejoin by themselves.
 * The suite starts its own `redis-server` on a free loopback port (persistence off) and stops it.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { behaviors, findRedisServer, startTestRedis, startTestUpstream, type TestRedis, type TestUpstream } from '@switchyard/testkit';
import { computeCost, DEFAULT_PRICES, estimateUsage, SwitchyardError, type SwitchyardOptions, toMicros } from '../src/index.js';
import { eventually, post, providers, serve, type Served, testKey } from './harness.js';

// CI installs redis-server and must run this suite; a machine without it skips it.
const skip = !findRedisServer() && !process.env.CI;
if (skip) console.warn('shared-state: skipped, no redis-server on this machine (CI installs it)');

let redis: TestRedis;
let upstream: TestUpstream;
let inspector: Redis;
const running: Served[] = [];
/** Everything a caller sent in this suite that must never reach Redis. */
const secrets: string[] = [];
const SECRET = `quota-secret-${randomUUID()}`;

beforeAll(async () => {
  if (skip) return;
  redis = await startTestRedis();
  upstream = await startTestUpstream();
  inspector = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  inspector.on('error', () => {});
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((served) => served.close()));
  upstream?.reset();
});

afterAll(async () => {
  if (skip) return;
  inspector.disconnect();
  await upstream.close();
  await redis.close();
});

const prompt = () => {
  const text = `prompt-${randomUUID()}`;
  secrets.push(text);
  return text;
};
const callerKey = () => {
  const key = testKey('caller');
  secrets.push(key);
  return key;
};

/** Two instances on one Redis, keys under their own prefix. */
async function pair(extra: SwitchyardOptions = {}, redisExtra: Record<string, unknown> = {}): Promise<[Served, Served, string]> {
  const keyPrefix = `t-${randomUUID().slice(0, 8)}:`;
  const options: SwitchyardOptions = {
    providers: { openai: { baseUrl: upstream.url } },
    retries: { max: 0 },
    // A deadline no busy test machine misses: these tests are about sharing; the slow-Redis test sets its own.
    redis: { url: redis.url, keyPrefix, reconcileMs: 300, commandTimeoutMs: 200, ...redisExtra },
    ...extra,
  };
  const a = await serve(options);
  const b = await serve(options);
  running.push(a, b);
  await Promise.all([a.switchyard.ready(), b.switchyard.ready()]);
  expect(a.switchyard.state.status().mode).toBe('shared');
  expect(b.switchyard.state.status().mode).toBe('shared');
  return [a, b, keyPrefix];
}

const chat = (served: Served, headers: Record<string, string>, extra: Record<string, unknown> = {}) =>
  post(`${served.base}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: prompt() }], ...extra }, headers);

async function stateOf(served: Served) {
  const response = await fetch(`${served.base}/api/providers`);
  return ((await response.json()) as { state: { mode: string; reason: string | null; store: string; peers: number } }).state;
}

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const value = await run();
  return [value, performance.now() - started];
}

describe.skipIf(skip)('shared breakers', () => {
  it('opened by A is open at B within a second; B fails fast without an upstream call; after the cooldown one trial across both', async () => {
    const [a, b] = await pair({ breaker: { failureThreshold: 2, cooldownMs: 1_000 } });
    const key = { 'x-llm-api-key': callerKey() };
    upstream.setDefault(behaviors.status(500, { error: { message: 'down' } }));
    expect((await chat(a, key)).status).toBe(502);
    expect((await chat(a, key)).status).toBe(502);
    const openedAt = performance.now();
    // A's circuit is open: it answers without calling the upstream.
    const fast = await chat(a, key);
    expect(fast.status).toBe(503);
    expect(fast.json.error.hint).toMatch(/^circuit open/);
    expect(upstream.requests).toHaveLength(2);
    await eventually(async () => (await providers(b.base)).openai?.breaker.state === 'open', 1_000, 'B to see the open circuit');
    expect(performance.now() - openedAt).toBeLessThan(1_000);
    const [fromB, ms] = await timed(() => chat(b, key));
    expect(fromB.status).toBe(503);
    expect(fromB.json.error.code).toBe('provider_unreachable');
    expect(ms).toBeLessThan(200);
    expect(upstream.requests).toHaveLength(2);

    // After the cooldown, eight concurrent requests over both instances: one trial reaches the upstream (and fails).
    await eventually(async () => (await providers(a.base)).openai?.breaker.state === 'half_open', 3_000, 'half-open');
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => chat(i % 2 ? a : b, key)));
    expect(upstream.requests).toHaveLength(3);
    expect(answers.map((answer) => answer.status).sort()).toEqual([502, 503, 503, 503, 503, 503, 503, 503]);
    // The failed trial opened the circuit again, for both.
    await eventually(async () => (await providers(b.base)).openai?.breaker.state === 'open' && (await providers(a.base)).openai?.breaker.state === 'open', 1_000, 're-opened');

    // The provider is back: the next trial (on B) closes the circuit, and A follows.
    upstream.setDefault(behaviors.echo());
    await eventually(async () => (await providers(b.base)).openai?.breaker.state === 'half_open', 3_000, 'half-open again');
    expect((await chat(b, key)).status).toBe(200);
    await eventually(async () => (await providers(a.base)).openai?.breaker.state === 'closed', 1_000, 'A to see it closed');
    expect((await chat(a, key)).status).toBe(200);
    expect(upstream.requests).toHaveLength(5);
  });

  it('a change whose message was lost is found by the periodic reconcile', async () => {
    const [a, , prefix] = await pair();
    await inspector.connect().catch(() => {});
    const now = Date.now();
    // Written as another instance would, but never published.
    await inspector.hset(`${prefix}breaker:global:openai`, { version: 9, state: 'open', openedAt: now, retryAt: now + 60_000, failures: 7, at: now, by: 'elsewhere' });
    await eventually(async () => (await providers(a.base)).openai?.breaker.state === 'open', 2_000, 'the reconcile');
    expect((await providers(a.base)).openai?.breaker.consecutiveFailures).toBe(7);
    expect((await chat(a, { 'x-llm-api-key': callerKey() })).status).toBe(503);
    expect(upstream.requests).toHaveLength(0);
  });

  it('probe results and passive health reach the other instance', async () => {
    const [a, b] = await pair();
    const key = { cluster: 'global', provider: 'openai' };
    const probe = { status: 'region_blocked', latencyMs: 12, checkedAt: Date.now(), steps: { dns: 1 }, detail: 'region_restricted' };
    a.switchyard.state.publishProbe(key, probe, 60_000);
    await eventually(async () => b.switchyard.health.probeBlock('openai') === 'region_blocked', 1_000, 'the probe at B');
    expect((await providers(b.base)).openai?.probe).toMatchObject({ status: 'region_blocked', latencyMs: 12 });
    // A call that succeeded at A since that probe is proof enough for B too.
    a.switchyard.state.publishProbe(key, probe, 60_000);
    await eventually(async () => a.switchyard.health.probeBlock('openai') === 'region_blocked', 1_000, 'the probe at A');
    a.switchyard.health.report('openai', await a.switchyard.health.acquire('openai'));
    await eventually(async () => b.switchyard.health.probeBlock('openai') === undefined, 1_000, 'the success at B');
  });
});

describe.skipIf(skip)('the request path', () => {
  it('makes no Redis round trip without quotas: breakers and probes are read from memory', async () => {
    // Reconciles far apart, so that nothing but requests could send a command during the test.
    const [a] = await pair({}, { reconcileMs: 60_000 });
    await inspector.connect().catch(() => {});
    const processed = async () => Number(/total_commands_processed:(\d+)/.exec(await inspector.info('stats'))?.[1]);
    const before = await processed();
    for (let i = 0; i < 50; i++) expect((await chat(a, { 'x-llm-api-key': callerKey() })).status).toBe(200);
    // The INFO before is the only command in between.
    expect((await processed()) - before).toBe(1);
  });

  it('with quotas, one script per request before the upstream call and one after the answer', async () => {
    const [a] = await pair({ quotas: { caller: { requestsPerMinute: 1_000, tokensPerDay: 1_000_000 }, secret: SECRET } }, { reconcileMs: 60_000 });
    await inspector.connect().catch(() => {});
    const scripts = async () => {
      const stats = await inspector.info('commandstats');
      return ['evalsha', 'eval'].reduce((sum, name) => sum + Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0), 0);
    };
    const before = await scripts();
    for (let i = 0; i < 10; i++) expect((await chat(a, { 'x-llm-api-key': callerKey() })).status).toBe(200);
    await eventually(async () => (await scripts()) - before === 20, 1_000, 'the last settle');
  });
});

describe.skipIf(skip)('shared quotas', () => {
  it('requests per minute: 40 concurrent calls over both instances, limit 20: exactly 20 reach the upstream', async () => {
    const [a, b] = await pair({ quotas: { caller: { requestsPerMinute: 20 }, secret: SECRET } });
    const key = { 'x-llm-api-key': callerKey() };
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => chat(i % 2 ? a : b, key)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(20);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused).toHaveLength(20);
    for (const answer of refused) {
      expect(answer.json.error.code).toBe('rate_limited');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(upstream.requests).toHaveLength(20);
  });

  it('spend per day: a budget that fits 20 calls, 40 concurrent calls: exactly 20 reach the upstream', async () => {
    const body = { model: 'general', max_tokens: 10, messages: [{ role: 'user', content: 'a question of some length' }] };
    const bytes = Buffer.byteLength(JSON.stringify(body));
    const { inputTokens, outputTokens } = estimateUsage(body, bytes, 1024);
    // Every answer uses what was estimated, so the estimate held equals the usage settled.
    const usage = { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens };
    const perCall = toMicros(computeCost('gpt-5', { input_tokens: inputTokens, output_tokens: outputTokens, total_tokens: inputTokens + outputTokens }, DEFAULT_PRICES));
    upstream.setDefault(behaviors.completion('ok', { usage }));
    const [a, b] = await pair({ quotas: { caller: { spendPerDay: (perCall * 20.5) / 1e6 }, secret: SECRET } });
    const key = { 'x-llm-api-key': callerKey() };
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post(`${(i % 2 ? a : b).base}/v1/chat/completions`, body, key)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(20);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused).toHaveLength(20);
    for (const answer of refused) {
      expect(answer.json.error.code).toBe('budget_exceeded');
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(upstream.requests).toHaveLength(20);
  });

  it('a reservation never settled (its instance died mid-call) is reclaimed when it expires', async () => {
    const [a, b] = await pair({ quotas: { caller: { tokensPerDay: 3_000 }, secret: SECRET, reservationTtlMs: 300 } });
    const subjects = [{ kind: 'caller' as const, id: 'c.reclaim-test-subject0', limits: { tokensPerDay: 3_000 } }];
    const first = await a.switchyard.state.reserve({ id: 'dead.1', subjects, tokens: 2_000, spendMicros: 0, now: Date.now(), ttlMs: 300 });
    expect(first.ok).toBe(true);
    // Held by a call that will never settle: B cannot have 2000 more now, but can once the hold expires.
    expect((await b.switchyard.state.reserve({ id: 'b.1', subjects, tokens: 2_000, spendMicros: 0, now: Date.now(), ttlMs: 300 })).ok).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 350));
    const third = await b.switchyard.state.reserve({ id: 'b.2', subjects, tokens: 2_000, spendMicros: 0, now: Date.now(), ttlMs: 300 });
    expect(third.ok).toBe(true);
  });
});

describe.skipIf(skip)('Redis slow or gone', () => {
  it('a Redis that hangs costs one command deadline, then the instance serves alone and rejoins by itself', async () => {
    const [a] = await pair({ quotas: { caller: { requestsPerMinute: 10_000 }, secret: SECRET } }, { commandTimeoutMs: 10 });
    const key = { 'x-llm-api-key': callerKey() };
    const [, baseline] = await timed(() => chat(a, key));
    redis.pause();
    try {
      const [first, ms] = await timed(() => chat(a, key));
      expect(first.status).toBe(200);
      // One 10 ms deadline, plus the noise of a shared machine.
      expect(ms - baseline).toBeLessThan(100);
      const state = await stateOf(a);
      expect(state).toMatchObject({ store: 'redis', mode: 'alone', reason: 'command timed out' });
      expect(a.log.at(-1)?.sharedState).toBe('alone');
      // Alone, no request waits on Redis at all.
      for (let i = 0; i < 5; i++) {
        const [answer, took] = await timed(() => chat(a, key));
        expect(answer.status).toBe(200);
        expect(took - baseline).toBeLessThan(100);
      }
    } finally {
      redis.resume();
    }
    await eventually(async () => (await stateOf(a)).mode === 'shared', 3_000, 'rejoined');
    expect((await chat(a, key)).status).toBe(200);
    expect(a.log.at(-1)?.sharedState).toBeUndefined();
  });

  it('a Redis that stops fails no request; the instances rejoin when it is back and push what they did alone', async () => {
    const events: string[] = [];
    const [a, b, prefix] = await pair({
      quotas: { caller: { tokensPerDay: 1_000_000 }, secret: SECRET },
      breaker: { failureThreshold: 1, cooldownMs: 60_000 },
      onStateChange: (event) => events.push(`${event.previous}→${event.mode}${event.reason ? ` (${event.reason})` : ''}`),
    });
    const key = { 'x-llm-api-key': callerKey() };
    upstream.setDefault(behaviors.completion('ok', { usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } }));
    await redis.stop();
    try {
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => chat(i % 2 ? a : b, key)));
      expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
      expect((await stateOf(a)).mode).toBe('alone');
      expect((await stateOf(b)).reason).toBe('connection lost');
      // A's circuit opens while alone: B cannot hear of it yet.
      a.switchyard.health.report('openai', await a.switchyard.health.acquire('openai'), new SwitchyardError('upstream_timeout', 'stalled'));
      expect((await providers(a.base)).openai?.breaker.state).toBe('open');
      expect((await providers(b.base)).openai?.breaker.state).toBe('closed');
    } finally {
      await redis.start();
    }
    await eventually(async () => (await stateOf(a)).mode === 'shared' && (await stateOf(b)).mode === 'shared', 5_000, 'both rejoined');
    expect(events).toContain('shared→alone (connection lost)');
    expect(events.at(-1)).toBe('alone→shared');
    // What A did alone reached B through Redis.
    await eventually(async () => (await providers(b.base)).openai?.breaker.state === 'open', 1_000, 'B to learn of the open circuit');
    // The ten calls' 100 tokens, counted alone, are in Redis now (the restarted Redis was empty).
    await inspector.connect().catch(() => {});
    const days = await inspector.keys(`${prefix}day:*`);
    expect(days).toHaveLength(1);
    expect(await inspector.hget(days[0] as string, 't')).toBe('100');
  });
});

describe.skipIf(skip)('Redis restarted empty', () => {
  it('changes made after the restart are taken, although Redis counts their versions from 1 again', async () => {
    const [a, b] = await pair({ breaker: { failureThreshold: 1, cooldownMs: 60_000 } });
    const fail = async (served: Served) => served.switchyard.health.report('openai', await served.switchyard.health.acquire('openai'), new SwitchyardError('upstream_timeout', 'slow'));
    const succeed = async (served: Served) => served.switchyard.health.report('openai', await served.switchyard.health.acquire('openai'));
    const stateAt = async (served: Served) => (await providers(served.base)).openai?.breaker.state;
    // Two versions before the restart: open, then closed by a late success.
    await fail(a);
    await eventually(async () => (await stateAt(b)) === 'open', 1_000, 'B: open');
    await succeed(a);
    await eventually(async () => (await stateAt(b)) === 'closed', 1_000, 'B: closed');
    await redis.stop();
    await redis.start();
    await eventually(async () => a.switchyard.state.status().mode === 'shared' && b.switchyard.state.status().mode === 'shared', 5_000, 'both rejoined');
    // Version 1 of the empty Redis: still news to B.
    await fail(a);
    await eventually(async () => (await stateAt(b)) === 'open', 1_000, 'B: open after the restart');
  });
});

describe.skipIf(skip)('what reaches Redis', () => {
  it('after the suites: documented keys only; no key, no token, no prompt', async () => {
    // One more pair, with app tokens and every quota, so every kind of key exists.
    const token = `app-${randomUUID()}`;
    secrets.push(token);
    const [a] = await pair({ appTokens: [token], quotas: { appToken: { requestsPerMinute: 100, spendPerDay: 1 }, caller: { tokensPerDay: 100_000 }, secret: SECRET } });
    expect((await chat(a, { 'x-llm-api-key': callerKey(), authorization: `Bearer ${token}` })).status).toBe(200);
    await inspector.connect().catch(() => {});
    const keys = await inspector.keys('*');
    // Since the last restart: this pair's quota keys, the restart test's breaker, every pair's instances (`held` is gone
    // once every reservation is settled: Redis drops an empty sorted set).
    const kinds = new Set(keys.map((key) => key.split(':')[1]));
    for (const kind of ['instances', 'rpm', 'day', 'breaker']) expect(kinds, kind).toContain(kind);
    const documented = [
      /^t-[0-9a-f]{8}:(breaker|trial|probe):(global|cn):[a-z0-9_.-]+$/,
      /^t-[0-9a-f]{8}:instances$/,
      /^t-[0-9a-f]{8}:rpm:[ac]\.[A-Za-z0-9_-]{22}$/,
      /^t-[0-9a-f]{8}:(day|held):[ac]\.[A-Za-z0-9_-]{22}:\d{8}$/,
      // The reclaim test names its subject itself.
      /^t-[0-9a-f]{8}:(day|held):c\.reclaim-test-subject0:\d{8}$/,
    ];
    let everything = '';
    for (const key of keys) {
      expect(documented.some((pattern) => pattern.test(key)), key).toBe(true);
      const type = await inspector.type(key);
      const value =
        type === 'hash' ? await inspector.hgetall(key) : type === 'zset' ? await inspector.zrange(key, '0', '-1', 'WITHSCORES') : type === 'string' ? await inspector.get(key) : type;
      everything += `${key} ${JSON.stringify(value)}\n`;
    }
    for (const secret of [...secrets, SECRET]) expect(everything).not.toContain(secret);
    expect(everything).not.toContain('sk-');
    expect(everything).not.toContain('Bearer');
  });
});
