import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { behaviors, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { optionsFromEnv, resolveConfig, type SwitchyardOptions } from '../src/index.js';
import { chatEvents, dataFrames, eventually, everythingReceived, post, providers, serve, type Served, testKey } from './harness.js';

let openaiUp: TestUpstream;
let dashUp: TestUpstream;
let served: Served | undefined;

beforeAll(async () => {
  [openaiUp, dashUp] = await Promise.all([startTestUpstream(), startTestUpstream()]);
});

afterAll(async () => {
  await Promise.all([openaiUp.close(), dashUp.close()]);
});

beforeEach(() => {
  openaiUp.reset();
  dashUp.reset();
});

afterEach(async () => {
  await served?.close();
  served = undefined;
});

const QUESTION = { messages: [{ role: 'user', content: 'hello there' }] };

/** Starts a Switchyard whose openai and dashscope point at the two testkit upstreams. */
async function start(options: SwitchyardOptions & { openaiKey?: string; dashscopeKey?: string }): Promise<Served> {
  const { openaiKey, dashscopeKey, ...rest } = options;
  served = await serve({
    ...rest,
    providers: {
      openai: { baseUrl: openaiUp.url, ...(openaiKey ? { apiKey: openaiKey } : {}) },
      dashscope: { baseUrl: dashUp.url, ...(dashscopeKey ? { apiKey: dashscopeKey } : {}) },
      ...rest.providers,
    },
  });
  return served;
}

describe('reachability by policy (SPEC §3)', () => {
  it('cn + openai: provider_unreachable naming the reachable providers, with no upstream request', async () => {
    const { base } = await start({ cluster: 'cn', dashscopeKey: testKey('operator') });
    const caller = testKey('caller');
    const answer = await post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai', 'x-llm-api-key': caller });
    expect(answer.status).toBe(503);
    expect(answer.json.error.code).toBe('provider_unreachable');
    expect(answer.json.error.hint).toContain('dashscope');
    expect(answer.json.error.hint).toContain('volcengine');
    expect(answer.json.error.hint).not.toContain('openai');
    expect(answer.headers.get('x-should-retry')).toBe('false');
    expect(answer.text).not.toContain(caller);

    const chat = await post(`${base}/api/chat`, { question: 'hi' }, { 'x-llm-provider': 'openai', 'x-llm-api-key': caller });
    const events = chatEvents(chat.text);
    expect(events.find((event) => event.type === 'error')).toMatchObject({ code: 'provider_unreachable' });
    expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'unavailable' });
    expect(openaiUp.requests).toEqual([]);
    expect(dashUp.requests).toEqual([]);
  });

  it('cn + failover: served by dashscope with the operator key; the caller key reaches no upstream', async () => {
    const operator = testKey('operator');
    const caller = testKey('caller');
    const { base } = await start({ cluster: 'cn', failover: ['dashscope'], dashscopeKey: operator });
    const answer = await post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai', 'x-llm-api-key': caller });
    expect(answer.status).toBe(200);
    expect(answer.json.choices[0].message.content).toBe('echo: hello there');
    expect(answer.headers.get('x-llm-served-by')).toBe('dashscope/deepseek-v4-flash');
    expect(answer.headers.get('x-llm-attempts')).toBe('1');
    expect(answer.headers.get('x-llm-fallback-reason')).toBe('provider_unreachable: openai not reachable from cn');

    const chat = await post(`${base}/api/chat`, { question: 'hi again' }, { 'x-llm-provider': 'openai', 'x-llm-api-key': caller });
    expect(chat.headers.get('x-llm-fallback-reason')).toBe('provider_unreachable: openai not reachable from cn');
    const events = chatEvents(chat.text);
    expect(events[1]).toEqual({
      type: 'route',
      content: {
        provider: 'dashscope',
        model: 'deepseek-v4-flash',
        cluster: 'cn',
        attempts: [{ provider: 'dashscope', model: 'deepseek-v4-flash', status: 'ok' }],
        fallbackReason: 'provider_unreachable: openai not reachable from cn',
      },
    });
    expect(events.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe('echo: hi again');

    expect(openaiUp.requests).toEqual([]);
    expect(dashUp.requests).toHaveLength(2);
    for (const request of dashUp.requests) expect(request.headers.authorization).toBe(`Bearer ${operator}`);
    expect(everythingReceived([...openaiUp.requests, ...dashUp.requests])).not.toContain(caller);
  });

  it('the demo environment LLM_CLUSTER=cn: openai, anthropic and gemini unreachable by policy in /api/providers', async () => {
    served = await serve(optionsFromEnv({ LLM_CLUSTER: 'cn' }));
    const byId = await providers(served.base);
    expect(Object.fromEntries(Object.values(byId).map((provider) => [provider.id, provider.reachable.policy]))).toEqual({
      openai: false,
      anthropic: false,
      gemini: false,
      deepseek: true,
      dashscope: true,
      volcengine: true,
    });
  });

  it('/api/providers on cn: openai and gemini unreachable by policy', async () => {
    const { base } = await start({ cluster: 'cn' });
    const byId = await providers(base);
    expect(byId.openai?.reachable).toEqual({ policy: false, probe: null });
    expect(byId.gemini?.reachable.policy).toBe(false);
    expect(byId.dashscope?.reachable.policy).toBe(true);
    expect(byId.volcengine?.reachable.policy).toBe(true);
    expect(byId.openai?.breaker).toEqual({ state: 'closed', consecutiveFailures: 0, openedAt: null, retryAt: null });
    expect(byId.openai).toMatchObject({ id: 'openai', label: expect.any(String), default: false, probe: null, clusters: ['global'], serverKey: false });
    expect(byId.dashscope?.default).toBe(true);
  });
});

describe('cross-provider failover (SPEC §5)', () => {
  it('fails over after the provider fails, same tier, operator key only', async () => {
    const operator = testKey('operator');
    const caller = testKey('caller');
    const { base } = await start({ failover: ['dashscope'], dashscopeKey: operator, retries: { max: 0 } });
    openaiUp.setDefault(behaviors.status(503, { error: { message: 'overloaded', type: 'server_error' } }));
    const answer = await post(`${base}/v1/chat/completions`, { model: 'expert', stream: true, ...QUESTION }, { 'x-llm-provider': 'openai', 'x-llm-api-key': caller });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-llm-served-by')).toBe('dashscope/deepseek-v4-pro');
    expect(answer.headers.get('x-llm-fallback-reason')).toBe('upstream_error: openai failed');
    expect(answer.headers.get('x-llm-attempts')).toBe('2');
    expect(dataFrames(answer.text).at(-1)).toBe('[DONE]');
    expect(openaiUp.requests).toHaveLength(1);
    expect(openaiUp.requests[0]?.headers.authorization).toBe(`Bearer ${caller}`);
    expect(dashUp.requests).toHaveLength(1);
    expect(dashUp.requests[0]?.headers.authorization).toBe(`Bearer ${operator}`);
    expect((dashUp.requests[0]?.json as { model: string }).model).toBe('deepseek-v4-pro');
    expect(everythingReceived(dashUp.requests)).not.toContain(caller);
  });

  it('skips failover providers without an operator key', async () => {
    const { base } = await start({ cluster: 'cn', failover: ['dashscope'] });
    const answer = await post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai', 'x-llm-api-key': testKey('caller') });
    expect(answer.status).toBe(503);
    expect(answer.json.error.code).toBe('provider_unreachable');
    expect(openaiUp.requests).toEqual([]);
    expect(dashUp.requests).toEqual([]);
  });

  it("never fails over on the caller's own bad key", async () => {
    const { base } = await start({ failover: ['dashscope'], dashscopeKey: testKey('operator') });
    openaiUp.enqueue(behaviors.error('openai', 'invalid_api_key'));
    const answer = await post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai', 'x-llm-api-key': testKey('caller') });
    expect(answer.status).toBe(401);
    expect(answer.json.error.code).toBe('invalid_api_key');
    expect(answer.headers.get('x-llm-fallback-reason')).toBeNull();
    expect(dashUp.requests).toEqual([]);
  });

  it('reads SWITCHYARD_FAILOVER case-insensitively', () => {
    const options = optionsFromEnv({ SWITCHYARD_FAILOVER: 'DashScope, VOLCENGINE' });
    expect(options.failover).toEqual(['dashscope', 'volcengine']);
    expect(resolveConfig(options).failover).toEqual(['dashscope', 'volcengine']);
  });
});

describe('candidates and retries (SPEC §5)', () => {
  it('tries the next candidate of the tier on 404 model_not_found', async () => {
    const { base } = await start({ openaiKey: testKey('operator') });
    openaiUp.enqueue(behaviors.error('openai', 'model_not_found'));
    const answer = await post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-llm-served-by')).toBe('openai/gpt-5-mini');
    expect(answer.headers.get('x-llm-attempts')).toBe('2');
    expect(openaiUp.requests.map((request) => (request.json as { model: string }).model)).toEqual(['gpt-5', 'gpt-5-mini']);
  });

  it('retries a 5xx up to retries.max, then answers with the error', async () => {
    const { base } = await start({ openaiKey: testKey('operator'), retries: { max: 2, baseDelayMs: 1, maxDelayMs: 5 } });
    openaiUp.setDefault(behaviors.error('openai', 'server_error'));
    const answer = await post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai' });
    expect(answer.status).toBe(502);
    expect(answer.json.error.code).toBe('upstream_error');
    expect(answer.headers.get('x-llm-attempts')).toBe('3');
    expect(openaiUp.requests).toHaveLength(3);
    expect(new Set(openaiUp.requests.map((request) => (request.json as { model: string }).model))).toEqual(new Set(['gpt-5']));
  });

  it('applies the timeouts of the tier (tierTimeouts)', async () => {
    const { base } = await start({ openaiKey: testKey('operator'), retries: { max: 0 }, tierTimeouts: { expert: { firstByteMs: 200 } } });
    openaiUp.enqueue(behaviors.stallBeforeFirstByte());
    const started = performance.now();
    const answer = await post(`${base}/v1/chat/completions`, { model: 'expert', ...QUESTION }, { 'x-llm-provider': 'openai' });
    expect(answer.status).toBe(504);
    expect(answer.json.error.code).toBe('upstream_timeout');
    // The default first-byte timeout is a minute; the tier's is 200 ms (undici's timers are coarse).
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('does not retry insufficient_quota', async () => {
    const { base } = await start({ openaiKey: testKey('operator'), retries: { max: 2, baseDelayMs: 1 } });
    openaiUp.setDefault(behaviors.error('openai', 'insufficient_quota'));
    const answer = await post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai' });
    expect(answer.status).toBe(429);
    expect(answer.json.error.code).toBe('insufficient_quota');
    expect(openaiUp.requests).toHaveLength(1);
  });

  it.for([
    { name: 'retry-after-ms', behavior: behaviors.rateLimit({ retryAfterMs: 400 }), waitMs: 400 },
    { name: 'Retry-After', behavior: behaviors.rateLimit({ retryAfterSeconds: 1 }), waitMs: 1000 },
  ])('honours $name on a 429 before retrying', async ({ behavior, waitMs }) => {
    const { base } = await start({ openaiKey: testKey('operator'), retries: { max: 2, baseDelayMs: 1, retryAfterCapMs: 5_000 } });
    openaiUp.enqueue(behavior);
    const answer = post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai' });
    await openaiUp.waitForRequests(1, 5_000);
    const first = performance.now();
    await openaiUp.waitForRequests(2, 5_000);
    const gap = performance.now() - first;
    const done = await answer;
    expect(done.status).toBe(200);
    expect(done.headers.get('x-llm-attempts')).toBe('2');
    // The waiter resolves a little after each arrival; the gap is the upstream's asked-for wait, give or take that.
    expect(gap).toBeGreaterThanOrEqual(waitMs - 30);
    expect(gap).toBeLessThan(waitMs + 1_500);
  });

  it('does not retry when Retry-After asks for longer than the cap', async () => {
    const { base } = await start({ openaiKey: testKey('operator'), retries: { max: 2, baseDelayMs: 1, retryAfterCapMs: 500 } });
    openaiUp.enqueue(behaviors.rateLimit({ retryAfterSeconds: 5 }));
    const answer = await post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai' });
    expect(answer.status).toBe(429);
    expect(answer.json.error.code).toBe('rate_limited');
    expect(answer.headers.get('retry-after')).toBe('5');
    expect(openaiUp.requests).toHaveLength(1);
  });

  it('stops waiting to retry as soon as the client goes away', async () => {
    const s = await start({ openaiKey: testKey('operator'), retries: { max: 2, retryAfterCapMs: 10_000 } });
    openaiUp.enqueue(behaviors.rateLimit({ retryAfterMs: 5_000 }));
    const controller = new AbortController();
    const answer = post(`${s.base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai' }, controller.signal).catch((error: unknown) => error);
    await openaiUp.waitForRequests(1, 5_000);
    const logged = s.nextLog();
    const aborted = performance.now();
    controller.abort();
    await answer;
    const entry = await logged;
    expect(performance.now() - aborted).toBeLessThan(2_000);
    expect(entry.path).toBe('/v1/chat/completions');
    expect(openaiUp.requests).toHaveLength(1);
  });
});

describe('circuit breaker (SPEC §5)', () => {
  const breakerOptions = { retries: { max: 0 }, breaker: { failureThreshold: 2, cooldownMs: 300 } };

  it('opens after the threshold, fails fast without an upstream request, half-opens after the cooldown', async () => {
    const { base } = await start({ ...breakerOptions, openaiKey: testKey('operator') });
    const ask = () => post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai' });
    openaiUp.setDefault(behaviors.status(502, 'bad gateway'));
    expect((await ask()).status).toBe(502);
    expect((await providers(base)).openai?.breaker).toMatchObject({ state: 'closed', consecutiveFailures: 1 });
    expect((await ask()).status).toBe(502);
    const opened = (await providers(base)).openai?.breaker;
    expect(opened).toMatchObject({ state: 'open', consecutiveFailures: 2 });
    expect(opened?.openedAt).toEqual(expect.any(String));

    const fast = await ask();
    expect(fast.status).toBe(503);
    expect(fast.json.error.code).toBe('provider_unreachable');
    expect(fast.json.error.hint).toMatch(/^circuit open: retry after \d+s/);
    expect(fast.headers.get('retry-after')).toBe('1');
    expect(openaiUp.requests).toHaveLength(2);

    await eventually(async () => (await providers(base)).openai?.breaker.state === 'half_open', 5_000, 'half_open');
    // The trial fails: the circuit opens again at once, without waiting for the threshold.
    expect((await ask()).status).toBe(502);
    expect((await providers(base)).openai?.breaker.state).toBe('open');
    expect((await ask()).status).toBe(503);
    expect(openaiUp.requests).toHaveLength(3);

    await eventually(async () => (await providers(base)).openai?.breaker.state === 'half_open', 5_000, 'half_open again');
    openaiUp.setDefault(behaviors.echo());
    const trial = await ask();
    expect(trial.status).toBe(200);
    expect((await providers(base)).openai?.breaker).toEqual({ state: 'closed', consecutiveFailures: 0, openedAt: null, retryAt: null });
    expect(openaiUp.requests).toHaveLength(4);
  });

  it("fails over while a provider's circuit is open, without calling it", async () => {
    const { base } = await start({
      ...breakerOptions,
      openaiKey: testKey('operator'),
      dashscopeKey: testKey('operator'),
      failover: ['dashscope'],
      timeouts: { firstByteMs: 200 },
    });
    openaiUp.setDefault(behaviors.stallBeforeFirstByte());
    const ask = () => post(`${base}/v1/chat/completions`, { model: 'general', ...QUESTION }, { 'x-llm-provider': 'openai' });
    // Two timeouts open the circuit; each request is failed over.
    for (let i = 0; i < 2; i++) {
      const answer = await ask();
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-llm-fallback-reason')).toBe('upstream_timeout: openai failed');
    }
    expect((await providers(base)).openai?.breaker.state).toBe('open');
    const third = await ask();
    expect(third.status).toBe(200);
    expect(third.headers.get('x-llm-served-by')).toBe('dashscope/deepseek-v4-flash');
    expect(third.headers.get('x-llm-fallback-reason')).toBe('provider_unreachable: openai circuit open');
    expect(third.headers.get('x-llm-attempts')).toBe('1');
    expect(openaiUp.requests).toHaveLength(2);
    expect(dashUp.requests).toHaveLength(3);
  });

  it('does not count a bad key, an exhausted quota or a missing model against the provider', async () => {
    const { base } = await start({ ...breakerOptions, openaiKey: testKey('operator') });
    openaiUp.enqueue(
      behaviors.error('openai', 'invalid_api_key'),
      behaviors.error('openai', 'insufficient_quota'),
      behaviors.error('openai', 'invalid_api_key'),
      behaviors.error('openai', 'insufficient_quota'),
    );
    for (let i = 0; i < 4; i++) {
      const answer = await post(`${base}/v1/chat/completions`, { model: 'gpt-4o', ...QUESTION }, { 'x-llm-provider': 'openai' });
      expect(answer.status).toBeGreaterThanOrEqual(400);
    }
    expect((await providers(base)).openai?.breaker).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
    expect(openaiUp.requests).toHaveLength(4);
  });
});
