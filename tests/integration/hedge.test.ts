/**
 * Hedge (SPEC §5): when the first byte is later than the hedge delay, one second attempt starts on the next candidate;
 * the first byte wins, the loser's upstream connection is closed at once (within 100 ms) and its usage never counted.
 * A fast first byte never starts a hedge. Both adapters, every endpoint.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SwitchyardOptions } from '@switchyard/core';
import { behaviors, type TestUpstream } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, post, readEvents, readFrames, responsesEvents, startHarness } from './harness.js';

const LONG = 'Hedged answers arrive from whichever attempt speaks first, and the slower one is let go at once.';
const HEDGE_MS = 150;
const SLOW_MS = 5000;

const options = (upstream: TestUpstream): SwitchyardOptions => ({
  providers: { openai: { baseUrl: upstream.url }, anthropic: { baseUrl: upstream.url, tiers: { general: ['claude-sonnet-4-5', 'claude-haiku-4-5'] } } },
  hedge: { tiers: { general: HEDGE_MS }, header: true },
  timeouts: { connectMs: 2000, firstByteMs: 10_000, idleMs: 10_000, totalMs: 20_000 },
  heartbeatMs: 60_000,
});

/** Resolves once `condition` holds, looking on every turn of the event loop; rejects after `ms`. */
async function within(ms: number, condition: () => boolean, what: string): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > ms) throw new Error(`${what} not within ${ms}ms`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return performance.now() - started;
}

const ENDPOINTS = [
  { path: '/v1/chat/completions', body: { model: 'general', stream: true, messages: [{ role: 'user', content: 'q' }] }, headers: {} },
  { path: '/v1/responses', body: { model: 'general', stream: true, input: 'q' }, headers: {} },
  { path: '/v1/messages', body: { model: 'general', max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'q' }] }, headers: { 'x-llm-provider': 'anthropic' } },
  { path: '/api/chat', body: { question: 'q' }, headers: {} },
] as const;

/** The answer's text, whatever the endpoint. */
async function textOf(path: string, response: Response): Promise<string> {
  if (path === '/api/chat') return (await readEvents(response)).filter((event) => event.type === 'reply').map((event) => event.content).join('');
  if (path === '/v1/responses') return (await responsesEvents(response)).filter((event) => event.type === 'response.output_text.delta').map((event) => event.delta).join('');
  if (path === '/v1/messages') {
    const raw = await response.text();
    return raw
      .split('\n\n')
      .filter((frame) => frame.includes('"text_delta"'))
      .map((frame) => (JSON.parse(frame.slice(frame.indexOf('data: ') + 6)) as { delta: { text: string } }).delta.text)
      .join('');
  }
  return (await readFrames(response)).map((frame) => (frame.data as { choices?: Array<{ delta?: { content?: string } }> } | undefined)?.choices?.[0]?.delta?.content ?? '').join('');
}

describe.each(ADAPTERS)('hedge through %s', (adapter) => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  for (const endpoint of ENDPOINTS) {
    it(`${endpoint.path}: a slow first candidate loses to a fast second; the loser's connection is closed within 100 ms`, async () => {
      h = await startHarness(adapter, { switchyard: options });
      const { upstream } = h;
      upstream.enqueue(behaviors.continuation(LONG, { firstByteDelayMs: SLOW_MS }), behaviors.continuation(LONG));
      const started = performance.now();
      const response = await post(`${h.url}${endpoint.path}`, endpoint.body, { 'x-llm-api-key': callerKey(), ...endpoint.headers });
      const firstByte = performance.now() - started;
      expect(response.status).toBe(200);
      // The first byte after the hedge delay, far before the slow candidate's.
      expect(firstByte).toBeGreaterThanOrEqual(HEDGE_MS - 5);
      expect(firstByte).toBeLessThan(SLOW_MS / 2);
      const [slow, fast] = upstream.requests;
      expect((slow?.json as { model: string }).model).toMatch(/gpt-5$|claude-sonnet-4-5/);
      expect((fast?.json as { model: string }).model).toMatch(/gpt-5-mini|claude-haiku-4-5/);
      expect(response.headers.get('x-llm-served-by')).toMatch(/gpt-5-mini|claude-haiku-4-5/);
      expect(response.headers.get('x-llm-attempts')).toBe('2');
      // The loser: its response closed on the upstream's side before it answered, that is its socket destroyed.
      const closedAfter = await within(100, () => slow?.aborted === true, "the loser's closed connection");
      expect(closedAfter).toBeLessThan(100);
      expect(await textOf(endpoint.path, response)).toBe(LONG);
    });
  }

  it('a fast first byte never starts a hedge', async () => {
    h = await startHarness(adapter, { switchyard: options });
    const { upstream } = h;
    upstream.setDefault(behaviors.continuation(LONG));
    for (const endpoint of ENDPOINTS) {
      const response = await post(`${h.url}${endpoint.path}`, endpoint.body, { 'x-llm-api-key': callerKey(), ...endpoint.headers });
      expect(await textOf(endpoint.path, response)).toBe(LONG);
      expect(response.headers.get('x-llm-attempts')).toBe('1');
    }
    // Longer than the hedge delay: a timer left running would have started a second attempt by now.
    await new Promise((resolve) => setTimeout(resolve, HEDGE_MS * 2));
    expect(upstream.requests).toHaveLength(ENDPOINTS.length);
    expect(upstream.requests.every((request) => !request.aborted)).toBe(true);
  });

  it('the route event and the log entry say the hedge won; the aborted attempt is recorded as such, its usage not counted', async () => {
    const entries: Array<Record<string, unknown>> = [];
    h = await startHarness(adapter, { switchyard: (upstream) => ({ ...options(upstream), onRequest: (entry) => entries.push(entry as never) }) });
    h.upstream.enqueue(behaviors.continuation(LONG, { firstByteDelayMs: SLOW_MS }), behaviors.continuation(LONG));
    const events = await readEvents(await post(`${h.url}/api/chat`, { question: 'one two three' }, { 'x-llm-api-key': callerKey() }));
    const route = events.find((event) => event.type === 'route') as unknown as { content: { attempts: unknown[]; model: string } };
    expect(route.content.model).toBe('gpt-5-mini');
    expect(route.content.attempts).toEqual([
      { provider: 'openai', model: 'gpt-5-mini', status: 'ok', kind: 'hedge' },
      { provider: 'openai', model: 'gpt-5', status: 'aborted' },
    ]);
    const cost = events.find((event) => event.type === 'costStatistics') as unknown as { content: { output_tokens: number } };
    expect(cost.content.output_tokens).toBe(LONG.split(/\s+/).length);
    await within(1000, () => entries.length === 1, 'the log entry');
    expect(entries[0]).toMatchObject({ hedged: 'hedge', attempts: 2, outputTokens: LONG.split(/\s+/).length });
  });

  it('X-LLM-Hedge-Ms hedges one request where the operator allows it; a bad value is a 400', async () => {
    h = await startHarness(adapter, { switchyard: (upstream) => ({ ...options(upstream), hedge: { header: true } }) });
    h.upstream.enqueue(behaviors.continuation(LONG, { firstByteDelayMs: SLOW_MS }), behaviors.continuation(LONG));
    const body = { model: 'general', stream: true, messages: [{ role: 'user', content: 'q' }] };
    const started = performance.now();
    const response = await post(`${h.url}/v1/chat/completions`, body, { 'x-llm-api-key': callerKey(), 'x-llm-hedge-ms': '100' });
    expect(performance.now() - started).toBeLessThan(SLOW_MS / 2);
    expect(await textOf('/v1/chat/completions', response)).toBe(LONG);
    const bad = await post(`${h.url}/v1/chat/completions`, body, { 'x-llm-api-key': callerKey(), 'x-llm-hedge-ms': 'soon' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
  });

  it('a single-model tier hedges on a failover provider with its operator key, never the caller key', async () => {
    const operatorKey = `sk-operator-${Date.now()}`;
    const key = callerKey();
    h = await startHarness(adapter, {
      switchyard: (upstream) => ({
        ...options(upstream),
        providers: {
          openai: { baseUrl: upstream.url, tiers: { general: ['gpt-5'] } },
          backup: { baseUrl: `${upstream.origin}/backup/v1`, apiKey: operatorKey, clusters: ['global'], tiers: { general: ['backup-model'] } },
        },
        failover: ['backup'],
      }),
    });
    h.upstream.enqueue(behaviors.continuation(LONG, { firstByteDelayMs: SLOW_MS }), behaviors.continuation(LONG));
    const response = await post(`${h.url}/v1/chat/completions`, { model: 'general', stream: true, messages: [{ role: 'user', content: 'q' }] }, { 'x-llm-api-key': key });
    expect(response.headers.get('x-llm-served-by')).toBe('backup/backup-model');
    expect(response.headers.get('x-llm-fallback-reason')).toContain('hedge');
    expect(await textOf('/v1/chat/completions', response)).toBe(LONG);
    const [slow, fast] = h.upstream.requests;
    expect(slow?.headers.authorization).toBe(`Bearer ${key}`);
    expect(fast?.path).toBe('/backup/v1/chat/completions');
    expect(fast?.headers.authorization).toBe(`Bearer ${operatorKey}`);
    expect(JSON.stringify(fast?.headers)).not.toContain(key);
  });
});
