/**
 * Limits per app token and per caller (SPEC §9) on one instance (in-process state): every endpoint that reaches a
 * provider reserves before its upstream call and answers a refusal in its own envelope with `Retry-After`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { behaviors, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { estimateUsage, optionsFromEnv, resolveConfig, SwitchyardConfigError, type SwitchyardOptions } from '../src/index.js';
import { chatEvents, post, serve, type Served, testKey } from './harness.js';

let upstream: TestUpstream;
let served: Served | undefined;

beforeAll(async () => {
  upstream = await startTestUpstream();
});
afterAll(async () => {
  await upstream.close();
});
afterEach(async () => {
  await served?.close();
  served = undefined;
  upstream.reset();
});

function options(extra: SwitchyardOptions): SwitchyardOptions {
  return { providers: { openai: { baseUrl: upstream.url } }, retries: { max: 0 }, ...extra };
}

const chatBody = (text = 'hi', extra: Record<string, unknown> = {}) => ({ model: 'general', messages: [{ role: 'user', content: text }], ...extra });

describe('requests per minute', () => {
  it('/v1/chat/completions: the limit per caller key, then 429 rate_limited in the OpenAI envelope with Retry-After', async () => {
    served = await serve(options({ quotas: { caller: { requestsPerMinute: 2 } } }));
    const key = testKey('caller');
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await post(`${served.base}/v1/chat/completions`, chatBody(), { 'x-llm-api-key': key }));
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
    const refused = answers[2];
    expect(refused?.json.error).toMatchObject({ code: 'rate_limited', type: 'rate_limit_error', hint: expect.stringMatching(/^2 requests per minute per caller key; retry after \d+s$/) });
    expect(Number(refused?.headers.get('retry-after'))).toBeGreaterThan(50);
    expect(Number(refused?.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // Retryable (after the wait): no x-should-retry: false.
    expect(refused?.headers.get('x-should-retry')).toBeNull();
    expect(upstream.requests).toHaveLength(2);
    // Another caller has its own minute.
    expect((await post(`${served.base}/v1/chat/completions`, chatBody(), { 'x-llm-api-key': testKey('other') })).status).toBe(200);
    expect(refused?.text).not.toContain(key);
  });

  it('/api/chat: 429 in its own envelope (code -12) with Retry-After, before anything streams', async () => {
    served = await serve(options({ quotas: { caller: { requestsPerMinute: 1 } } }));
    const key = testKey('caller');
    const first = await post(`${served.base}/api/chat`, { question: 'hi' }, { 'x-llm-api-key': key });
    expect(chatEvents(first.text).at(-1)).toMatchObject({ type: 'end', finish_reason: 'stop' });
    const refused = await post(`${served.base}/api/chat`, { question: 'hi' }, { 'x-llm-api-key': key });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/json');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.json).toMatchObject({ success: false, code: -12, error: { code: 'rate_limited', hint: expect.stringContaining('1 requests per minute per caller key') } });
    expect(upstream.requests).toHaveLength(1);
  });

  it('/v1/embeddings is limited too; /v1/models and /api/providers are not', async () => {
    served = await serve(options({ quotas: { caller: { requestsPerMinute: 1 } } }));
    const key = { 'x-llm-api-key': testKey('caller') };
    expect((await post(`${served.base}/v1/embeddings`, { input: 'x' }, key)).status).toBe(200);
    expect((await post(`${served.base}/v1/embeddings`, { input: 'x' }, key)).json.error.code).toBe('rate_limited');
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${served.base}/v1/models`, { headers: key })).status).toBe(200);
      expect((await fetch(`${served.base}/api/providers`)).status).toBe(200);
    }
  });

  it('per app token: requests on the operator key count against the token, not against a caller', async () => {
    const tokens = [testKey('app'), testKey('app')];
    served = await serve(options({ appTokens: tokens, quotas: { appToken: { requestsPerMinute: 2 }, caller: { requestsPerMinute: 100 } }, providers: { openai: { baseUrl: upstream.url, apiKey: testKey('operator') } } }));
    const as = (token: string | undefined) => post(`${served?.base}/v1/chat/completions`, chatBody(), { authorization: `Bearer ${token}` });
    expect([(await as(tokens[0])).status, (await as(tokens[0])).status, (await as(tokens[0])).status]).toEqual([200, 200, 429]);
    expect((await as(tokens[0])).json.error.hint).toContain('per app token');
    expect((await as(tokens[1])).status).toBe(200);
    // A bad token is refused by the app-token check before any quota is counted.
    expect((await as('nope')).status).toBe(401);
  });

  it('a request refused for bad input counts nothing', async () => {
    served = await serve(options({ quotas: { caller: { requestsPerMinute: 1 } } }));
    const key = { 'x-llm-api-key': testKey('caller') };
    expect((await post(`${served.base}/api/chat`, { question: '' }, key)).status).toBe(400);
    expect((await post(`${served.base}/v1/chat/completions`, chatBody(), { ...key, 'x-llm-provider': 'nope' })).status).toBe(400);
    expect((await post(`${served.base}/v1/chat/completions`, chatBody(), key)).status).toBe(200);
  });
});

describe('daily budgets', () => {
  it('tokens per day: reserves the estimate, settles the real usage, then 429 budget_exceeded until the UTC day ends', async () => {
    served = await serve(options({ quotas: { caller: { tokensPerDay: 100 } } }));
    const key = { 'x-llm-api-key': testKey('caller') };
    // Each answer uses 40 tokens; each request reserves well under 100 (max_tokens 5 + a short body).
    upstream.setDefault(behaviors.completion('ok', { usage: { prompt_tokens: 30, completion_tokens: 10, total_tokens: 40 } }));
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(`${served.base}/v1/chat/completions`, chatBody('hi', { max_tokens: 5 }), key)).status);
    // 40 + 40 settled; the third would be held at 80 + its estimate > 100.
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect(upstream.requests).toHaveLength(2);
    const refused = await post(`${served.base}/v1/chat/completions`, chatBody('hi', { max_tokens: 5 }), key);
    expect(refused.json.error).toMatchObject({ code: 'budget_exceeded', type: 'rate_limit_error' });
    expect(refused.json.error.message).toBe('This caller key reached its budget of 100 tokens for today (UTC).');
    expect(refused.headers.get('x-should-retry')).toBe('false');
    const midnight = new Date();
    midnight.setUTCHours(24, 0, 0, 0);
    const untilMidnight = (midnight.getTime() - Date.now()) / 1000;
    expect(Math.abs(Number(refused.headers.get('retry-after')) - untilMidnight)).toBeLessThan(5);
  });

  it('spend per day from the price table, on /api/chat (code -13)', async () => {
    // gpt-5: $1.25 in, $10 out per million. Every answer: 1000 in + 100 out = $0.00225; two fit in $0.0045, exactly.
    served = await serve(options({ quotas: { caller: { spendPerDay: 0.0045 }, defaultOutputTokens: 10 } }));
    upstream.setDefault(behaviors.stream(['ok'], { usage: { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 } }));
    const key = { 'x-llm-api-key': testKey('caller') };
    const first = await post(`${served.base}/api/chat`, { question: 'hi' }, key);
    expect(chatEvents(first.text).find((event) => event.type === 'costStatistics')).toMatchObject({ content: { total_cost: 0.00225 } });
    expect((await post(`${served.base}/api/chat`, { question: 'hi' }, key)).status).toBe(200);
    const refused = await post(`${served.base}/api/chat`, { question: 'hi' }, key);
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ success: false, code: -13, error: { code: 'budget_exceeded' } });
    expect(refused.json.msg).toBe('This caller key reached its budget of $0.0045 for today (UTC).');
    expect(upstream.requests).toHaveLength(2);
  });

  it('an upstream that fails spends nothing: the reservation is released', async () => {
    served = await serve(options({ quotas: { caller: { tokensPerDay: 3_000 } } }));
    const key = { 'x-llm-api-key': testKey('caller') };
    upstream.enqueue(behaviors.status(500, { error: { message: 'boom' } }), behaviors.status(500, { error: { message: 'boom' } }));
    // Each request reserves about 1024 + a few tokens: two failures in a row must not leave 2 × 1030 held.
    expect((await post(`${served.base}/v1/chat/completions`, chatBody(), key)).status).toBe(502);
    expect((await post(`${served.base}/v1/chat/completions`, chatBody(), key)).status).toBe(502);
    expect((await post(`${served.base}/v1/chat/completions`, chatBody(), key)).status).toBe(200);
    expect((await post(`${served.base}/v1/chat/completions`, chatBody(), key)).status).toBe(200);
  });

  it('the estimate a test can compute is the one reserved: quarter of the body bytes plus max_tokens', () => {
    const body = chatBody('hello there', { max_tokens: 7 });
    expect(estimateUsage(body, Buffer.byteLength(JSON.stringify(body)), 1024)).toEqual({ inputTokens: Math.ceil(JSON.stringify(body).length / 4), outputTokens: 7 });
  });
});

describe('quota options', () => {
  it('are validated at start-up, every problem listed', () => {
    const problems = (options: SwitchyardOptions) => {
      try {
        resolveConfig(options);
        return [];
      } catch (error) {
        return (error as SwitchyardConfigError).issues;
      }
    };
    expect(problems({ quotas: { caller: { requestsPerMinute: 0, spendPerDay: -1 }, secret: 'short' } })).toEqual([
      'quotas.caller.requestsPerMinute: Too small: expected number to be >0',
      'quotas.caller.spendPerDay: Too small: expected number to be >0',
      'quotas.secret: use at least 16 characters',
    ]);
    expect(problems({ quotas: { appToken: { requestsPerMinute: 5 } } })).toEqual(['quotas.appToken: limits per app token need appTokens']);
    expect(problems({ redis: 'redis://127.0.0.1:1', quotas: { caller: { tokensPerDay: 5 } } })).toEqual([
      'quotas.secret: required with redis, so every instance names app tokens and caller keys by the same hash',
    ]);
    expect(problems({ redis: 'http://127.0.0.1:6379' })).toEqual(['redis: must be a redis:// or rediss:// URL']);
    expect(resolveConfig({ redis: 'redis://127.0.0.1:6379' }).redis).toMatchObject({ url: 'redis://127.0.0.1:6379', keyPrefix: 'switchyard:', commandTimeoutMs: 10 });
    expect(resolveConfig({}).quotas).toBeUndefined();
  });

  it('come from the environment, and a variable that is not a number is named', () => {
    const options = optionsFromEnv({
      REDIS_URL: 'redis://127.0.0.1:6379/2',
      SWITCHYARD_CALLER_RPM: '60',
      SWITCHYARD_CALLER_SPEND_PER_DAY: '2.5',
      SWITCHYARD_APP_TOKEN_TOKENS_PER_DAY: '100000',
      SWITCHYARD_APP_TOKENS: 'one-token',
      SWITCHYARD_QUOTA_SECRET: 'sixteen-chars-secret',
      SWITCHYARD_BREAKER_COOLDOWN_MS: '1500',
    });
    expect(options).toMatchObject({
      redis: 'redis://127.0.0.1:6379/2',
      quotas: { caller: { requestsPerMinute: 60, spendPerDay: 2.5 }, appToken: { tokensPerDay: 100_000 }, secret: 'sixteen-chars-secret' },
      breaker: { cooldownMs: 1500 },
    });
    expect(resolveConfig(options).quotas?.caller).toEqual({ requestsPerMinute: 60, spendPerDay: 2.5 });
    expect(() => optionsFromEnv({ SWITCHYARD_CALLER_RPM: 'ten', SWITCHYARD_APP_TOKEN_SPEND_PER_DAY: '-1' })).toThrow(
      /SWITCHYARD_APP_TOKEN_SPEND_PER_DAY: must be a positive number[\s\S]*|SWITCHYARD_CALLER_RPM: must be a positive whole number/,
    );
    try {
      optionsFromEnv({ SWITCHYARD_CALLER_RPM: 'ten', SWITCHYARD_APP_TOKEN_SPEND_PER_DAY: '-1' });
    } catch (error) {
      expect((error as SwitchyardConfigError).issues).toEqual(['SWITCHYARD_APP_TOKEN_SPEND_PER_DAY: must be a positive number', 'SWITCHYARD_CALLER_RPM: must be a positive whole number']);
    }
  });
});
