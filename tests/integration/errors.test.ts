/**
 * Every error code of SPEC §7 reached over HTTP, on `/v1` (OpenAI's envelope plus `hint`) and on `/api/chat`
 * (the numeric 400 envelope before streaming; `error` then `end` events for upstream failures).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Behavior, behaviors, type TestUpstream } from '@switchyard/testkit';
import { ADAPTERS, callerKey, closedPort, type Harness, post, readEvents, readFrames, startHarness } from './harness.js';

const BODY_LIMIT = 4096;

interface Row {
  code: string;
  status: number;
  /** What the upstream does, when the error comes from it. */
  upstream?: Behavior;
  /** Changes to the default request: headers (null removes one) and body. */
  headers?: (upstream: TestUpstream) => Record<string, string | null>;
  body?: string;
  /** Whether retrying cannot help (`x-should-retry: false`). */
  final: boolean;
  /** The error came from the upstream, whose `x-request-id` is passed on. */
  fromUpstream?: boolean;
  retryAfter?: string;
  hint?: RegExp;
}

// Raw model ids have one candidate, so a missing or region-blocked model is not retried on the next one.
const chatBody = (model = 'gpt-5') => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });

const ROWS: Row[] = [
  { code: 'invalid_request', status: 400, body: '{"model":', final: true },
  { code: 'unknown_provider', status: 400, headers: () => ({ 'x-llm-provider': 'nope' }), final: true, hint: /openai, anthropic, gemini, deepseek, dashscope, volcengine/ },
  { code: 'missing_api_key', status: 400, headers: () => ({ 'x-llm-api-key': null }), final: true, hint: /X-LLM-Api-Key/ },
  { code: 'base_url_forbidden', status: 400, headers: (upstream) => ({ 'x-llm-base-url': upstream.url }), final: true },
  { code: 'invalid_api_key', status: 401, upstream: behaviors.error('openai', 'invalid_api_key'), final: true, fromUpstream: true, hint: /revoked or rotated/ },
  { code: 'unauthorized', status: 401, headers: () => ({ authorization: null }), final: true },
  { code: 'region_restricted', status: 403, upstream: behaviors.regionBlock(), final: true, fromUpstream: true },
  { code: 'model_not_found', status: 404, upstream: behaviors.error('openai', 'model_not_found'), final: true, fromUpstream: true },
  { code: 'payload_too_large', status: 413, body: JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: 'x'.repeat(BODY_LIMIT) }] }), final: true },
  { code: 'insufficient_quota', status: 429, upstream: behaviors.error('openai', 'insufficient_quota'), final: true, fromUpstream: true, hint: /balance/ },
  { code: 'rate_limited', status: 429, upstream: behaviors.rateLimit({ retryAfterSeconds: 1 }), final: false, fromUpstream: true, retryAfter: '1' },
  { code: 'upstream_error', status: 502, upstream: behaviors.garbage(), final: false },
  { code: 'provider_unreachable', status: 503, headers: () => ({ 'x-llm-provider': 'closed' }), final: false },
  { code: 'upstream_timeout', status: 504, upstream: behaviors.stallBeforeFirstByte(), final: false },
];

function requestHeaders(base: Record<string, string>, changes: Record<string, string | null>): Record<string, string> {
  const out = { ...base };
  for (const [name, value] of Object.entries(changes)) {
    if (value === null) delete out[name];
    else out[name] = value;
  }
  return out;
}

describe.each(ADAPTERS)('errors over %s', (adapter) => {
  let h: Harness;
  let appToken: string;
  let key: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    appToken = `app-${randomUUID()}`;
    const port = await closedPort();
    h = await startHarness(adapter, {
      switchyard: (upstream) => ({
        providers: {
          openai: { baseUrl: upstream.url },
          closed: { baseUrl: `http://127.0.0.1:${port}/v1`, clusters: ['global'], tiers: { general: ['closed-model'] } },
        },
        appTokens: [appToken],
        timeouts: { firstByteMs: 200 },
        limits: { bodyBytes: BODY_LIMIT },
      }),
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    key = callerKey();
    headers = { authorization: `Bearer ${appToken}`, 'x-llm-provider': 'openai', 'x-llm-api-key': key };
  });

  describe('on /v1/chat/completions: OpenAI envelope plus hint', () => {
    it.each(ROWS)('$code → $status', async (row) => {
      if (row.upstream) h.upstream.enqueue(row.upstream);
      const response = await post(`${h.url}/v1/chat/completions`, row.body ?? chatBody(), requestHeaders(headers, row.headers?.(h.upstream) ?? {}));
      expect(response.status).toBe(row.status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const text = await response.text();
      expect(text).not.toContain(key);
      expect(text).not.toContain(appToken);
      const body = JSON.parse(text) as { error: { message: string; type: string; code: string; param: unknown; hint: string } };
      expect(body.error.code).toBe(row.code);
      expect(Object.keys(body.error).sort()).toEqual(['code', 'hint', 'message', 'param', 'type']);
      expect(body.error.message.length).toBeGreaterThan(0);
      expect(body.error.hint.length).toBeGreaterThan(0);
      if (row.hint) expect(body.error.hint).toMatch(row.hint);
      expect(response.headers.get('x-should-retry')).toBe(row.final ? 'false' : null);
      if (row.retryAfter) expect(response.headers.get('retry-after')).toBe(row.retryAfter);
      if (row.fromUpstream) expect(response.headers.get('x-request-id')).toBe(h.upstream.lastRequest()?.id);
      if (!row.upstream) expect(h.upstream.requests).toHaveLength(0);
    });

    it('answers a stream cut after the commit with an error frame and no [DONE]', async () => {
      h.upstream.enqueue(behaviors.cutMidStream(2));
      const response = await post(`${h.url}/v1/chat/completions`, { model: 'gpt-5', stream: true, messages: [{ role: 'user', content: 'one two three' }] }, headers);
      expect(response.status).toBe(200);
      const frames = await readFrames(response);
      expect(frames.some((frame) => frame.raw === 'data: [DONE]')).toBe(false);
      expect(frames.at(-1)?.data).toMatchObject({ error: { code: 'upstream_error' } });
      expect(frames.filter((frame) => (frame.data as { choices?: unknown[] } | undefined)?.choices).length).toBeGreaterThanOrEqual(3);
    });

    it('answers /v1/embeddings and /v1/models errors the same way', async () => {
      h.upstream.enqueue(behaviors.error('openai', 'invalid_api_key'));
      const embeddings = await post(`${h.url}/v1/embeddings`, { input: 'x' }, headers);
      expect(embeddings.status).toBe(401);
      expect(((await embeddings.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
      const models = await fetch(`${h.url}/v1/models`, { headers: { ...headers, 'x-llm-provider': 'nope' } });
      expect(models.status).toBe(400);
      expect(((await models.json()) as { error: { code: string } }).error.code).toBe('unknown_provider');
    });
  });

  describe('on /api/chat before streaming: the numeric 400 envelope', () => {
    const cases: Array<{ name: string; body: string; headers?: Record<string, string | null>; status: number; number: number; code: string; msg?: RegExp }> = [
      { name: 'bad JSON', body: '{"question":', status: 400, number: -1, code: 'invalid_request' },
      { name: 'a question that is not a string', body: '{"question":42}', status: 400, number: -2, code: 'invalid_request' },
      { name: 'an empty question', body: '{"question":"   "}', status: 400, number: -3, code: 'invalid_request' },
      { name: 'no key', body: '{"question":"hi"}', headers: { 'x-llm-api-key': null }, status: 400, number: -10, code: 'missing_api_key' },
      { name: 'an unknown agent', body: '{"question":"hi","agent":"Nobody"}', status: 400, number: -4, code: 'invalid_request', msg: /Known agents: App/ },
      { name: 'an unknown provider', body: '{"question":"hi"}', headers: { 'x-llm-provider': 'nope' }, status: 400, number: -6, code: 'unknown_provider' },
      { name: 'a forbidden base URL', body: '{"question":"hi"}', headers: { 'x-llm-base-url': 'http://127.0.0.1:9/v1' }, status: 400, number: -7, code: 'base_url_forbidden' },
      { name: 'a body over the limit', body: JSON.stringify({ question: 'x'.repeat(BODY_LIMIT) }), status: 413, number: -5, code: 'payload_too_large' },
    ];

    it.each(cases)('$name → $status, code $number', async (c) => {
      const response = await post(`${h.url}/api/chat`, c.body, requestHeaders(headers, c.headers ?? {}));
      expect(response.status).toBe(c.status);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      const body = (await response.json()) as { success: boolean; code: number; msg: string; message: string; error: { code: string; hint: string } };
      expect(body).toMatchObject({ success: false, code: c.number, error: { code: c.code } });
      expect(Object.keys(body).sort()).toEqual(['code', 'error', 'message', 'msg', 'success']);
      expect(body.msg.length).toBeGreaterThan(0);
      expect(body.message).toBe(body.msg);
      expect(body.error.hint.length).toBeGreaterThan(0);
      if (c.msg) expect(body.msg).toMatch(c.msg);
      expect(h.upstream.requests).toHaveLength(0);
    });

    it('refuses a missing app token with 401 unauthorized before reading anything', async () => {
      const response = await post(`${h.url}/api/chat`, '{"question":"hi"}', requestHeaders(headers, { authorization: null }));
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      expect(h.upstream.requests).toHaveLength(0);
    });
  });

  describe('on /api/chat after the commit: error then end', () => {
    const upstreamRows = ROWS.filter((row) => row.upstream !== undefined).concat([{ code: 'provider_unreachable', status: 503, headers: () => ({ 'x-llm-provider': 'closed' }), final: false }]);

    it.each(upstreamRows)('$code', async (row) => {
      if (row.upstream) h.upstream.enqueue(row.upstream);
      const response = await post(`${h.url}/api/chat`, JSON.stringify({ question: 'hi', provider: row.headers ? undefined : 'gpt-5' }), requestHeaders(headers, row.headers?.(h.upstream) ?? {}));
      expect(response.status).toBe(200);
      expect(response.headers.get('x-llm-attempts')).toBe('1');
      const events = await readEvents(response);
      expect(events.map((event) => event.type)).toEqual(['id', 'route', 'error', 'end']);
      expect(events[1]).toMatchObject({ type: 'route', content: { attempts: [{ status: 'failed', code: row.code }] } });
      expect(events[2]).toMatchObject({ code: row.code });
      expect(String(events[2]?.hint).length).toBeGreaterThan(0);
      expect(JSON.stringify(events)).not.toContain(key);
      expect(events[3]).toEqual({ type: 'end', content: '', finish_reason: row.code === 'provider_unreachable' ? 'unavailable' : 'error' });
    });

    it('ends a stream cut mid-way with the text so far, then error, then end', async () => {
      h.upstream.enqueue(behaviors.cutMidStream(2, ['one', ' two', ' three']));
      const response = await post(`${h.url}/api/chat`, { question: 'hi' }, headers);
      expect(response.status).toBe(200);
      const events = await readEvents(response);
      expect(events.filter((e) => e.type === 'reply').map((e) => e.content).join('')).toBe('one two');
      expect(events.slice(-2)).toMatchObject([{ type: 'error', code: 'upstream_error' }, { type: 'end', content: '', finish_reason: 'error' }]);
    });
  });
});
