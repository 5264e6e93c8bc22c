/**
 * Every endpoint of SPEC §4, streaming and not, over real Express and Koa servers and the testkit upstream.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { behaviors, echoEmbedding, readFixture } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, post, readEvents, readFrames, startHarness } from './harness.js';

/** The `data:` payloads of an SSE text, in order. */
function dataPayloads(text: string): string[] {
  return text
    .split(/\n\n+/)
    .map((frame) => frame.trim())
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice(6));
}


/** The SSE headers of SPEC §4 and the routing headers of an answer served by openai/gpt-5 at the first try. */
function expectRoutedStream(response: Response): void {
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
  expect(response.headers.get('x-accel-buffering')).toBe('no');
  expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5');
  expect(response.headers.get('x-llm-attempts')).toBe('1');
}

describe.each(ADAPTERS)('endpoints over %s', (adapter) => {
  let h: Harness;
  let key: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    h = await startHarness(adapter, { handlers: true });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    key = callerKey();
    headers = { 'x-llm-provider': 'openai', 'x-llm-api-key': key };
  });

  describe('POST /api/chat', () => {
    it('streams id → route → reply… → costStatistics → end, with the SSE and routing headers', async () => {
      const response = await post(`${h.url}/api/chat`, { question: 'hello there', agent: 'App', provider: 'general' }, headers);
      expectRoutedStream(response);
      const events = await readEvents(response);
      const types = events.map((event) => event.type);
      expect(types[0]).toBe('id');
      expect(types[1]).toBe('route');
      expect(types.slice(2, -2).every((type) => type === 'reply')).toBe(true);
      expect(types.slice(-2)).toEqual(['costStatistics', 'end']);
      expect(types.filter((type) => type === 'reply').length).toBeGreaterThan(1);
      expect(events[0]).toEqual({ type: 'id', content: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(events[1]).toEqual({ type: 'route', content: { provider: 'openai', model: 'gpt-5', cluster: 'global', attempts: [{ provider: 'openai', model: 'gpt-5', status: 'ok' }] } });
      expect(events.filter((e) => e.type === 'reply').map((e) => e.content).join('')).toBe('echo: hello there');
      // gpt-5 has a list price: usage from the upstream (sandbox counts words) priced by the table.
      expect(Object.keys(events.at(-2) ?? {})).toEqual(['type', 'content']);
      const cost = events.at(-2)?.content as { model: string; input_tokens: number; output_tokens: number; total_tokens: number; total_cost: number };
      expect(cost).toMatchObject({ model: 'gpt-5', output_tokens: 3 });
      expect(cost.total_tokens).toBe(cost.input_tokens + cost.output_tokens);
      expect(cost.total_cost).toBeCloseTo((cost.input_tokens * 1.25 + cost.output_tokens * 10) / 1e6, 12);
      expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });

      const received = h.upstream.lastRequest();
      expect(received?.headers.authorization).toBe(`Bearer ${key}`);
      expect(received?.json).toMatchObject({
        model: 'gpt-5',
        stream: true,
        messages: [
          { role: 'system', content: 'You are a helpful assistant.' },
          { role: 'user', content: 'hello there' },
        ],
      });
    });

    it("accepts the fields the platform's own clients send, and passes none of them upstream", async () => {
      const platformFields = {
        session_id: 'session-1',
        question_id: 'question-1',
        trace_id: 'trace-1',
        query_user_id: 'user-1',
        file_list: [],
        prompt_name: 'prompt-1',
        language: 'en',
        timezone: 'Asia/Shanghai',
        scene: 'scene-1',
        enable_mcp: false,
        group_id: 'group-1',
        reference_task_id: 'task-1',
      };
      const response = await post(`${h.url}/api/chat`, { question: 'with fields', agent: 'App', provider: 'general', ...platformFields }, headers);
      expect(response.status).toBe(200);
      const events = await readEvents(response);
      expect(events.filter((e) => e.type === 'reply').map((e) => e.content).join('')).toBe('echo: with fields');
      expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
      const received = h.upstream.lastRequest();
      for (const [name, value] of Object.entries(platformFields)) {
        expect(received?.body, name).not.toContain(`"${name}"`);
        if (typeof value === 'string' && value !== 'en') expect(received?.body, name).not.toContain(value);
      }
    });

    it('streams reasoning as thinking events from a recorded reasoning stream, unknown price → total_cost null', async () => {
      h.upstream.enqueue(behaviors.fixture('deepseek-v4-pro-reasoning'));
      const response = await post(`${h.url}/api/chat`, { question: 'why?', provider: 'deepseek-v4-pro' }, headers);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-llm-served-by')).toBe('openai/deepseek-v4-pro');
      const events = await readEvents(response);
      const types = events.map((event) => event.type);
      const firstThinking = types.indexOf('thinking');
      const firstReply = types.indexOf('reply');
      expect(firstThinking).toBeGreaterThan(1);
      expect(firstReply).toBeGreaterThan(firstThinking);
      expect(events.filter((e) => e.type === 'thinking').map((e) => e.content).join('')).toMatch(/^We are asked/);
      expect(events.find((e) => e.type === 'costStatistics')).toMatchObject({ content: { model: 'deepseek-v4-pro', total_cost: null } });
      expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
    });

    it('is served by the handler on a route of the app choosing', async () => {
      const response = await post(`${h.url}/custom/chat`, { question: 'routed' }, headers);
      expect(response.status).toBe(200);
      const events = await readEvents(response);
      expect(events.filter((e) => e.type === 'reply').map((e) => e.content).join('')).toBe('echo: routed');
    });
  });

  describe('POST /v1/chat/completions', () => {
    it('passes stream frames through unchanged, resolving only the alias in model, ending in [DONE]', async () => {
      h.upstream.enqueue(behaviors.fixture('openai-text'));
      const response = await post(`${h.url}/v1/chat/completions`, { model: 'general', stream: true, temperature: 0.2, messages: [{ role: 'user', content: 'hi' }] }, headers);
      expectRoutedStream(response);
      const text = await response.text();
      const upstreamFrames = dataPayloads(readFixture('openai-text'));
      expect(upstreamFrames.length).toBeGreaterThan(3);
      expect(dataPayloads(text)).toEqual([...upstreamFrames, '[DONE]']);
      // Everything the caller sent goes on; only the alias became a model id.
      expect(h.upstream.lastRequest()?.json).toEqual({ model: 'gpt-5', stream: true, temperature: 0.2, messages: [{ role: 'user', content: 'hi' }] });
      expect(h.upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
    });

    it('answers a non-streamed request with the upstream JSON and the routing headers', async () => {
      const response = await post(`${h.url}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: 'whole' }] }, headers);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5');
      expect(response.headers.get('x-llm-attempts')).toBe('1');
      expect(response.headers.get('x-request-id')).toBe(h.upstream.lastRequest()?.id);
      const body = (await response.json()) as { object: string; model: string; choices: Array<{ message: { content: string } }> };
      expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt-5' });
      expect(body.choices[0]?.message.content).toBe('echo: whole');
    });

    it('takes provider/model from the body when no X-LLM-Provider is sent', async () => {
      const response = await post(`${h.url}/v1/chat/completions`, { model: 'openai/expert', messages: [{ role: 'user', content: 'x' }] }, { 'x-llm-api-key': key });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5-pro');
      expect((h.upstream.lastRequest()?.json as { model: string }).model).toBe('gpt-5-pro');
    });

    it('is served by the handler on a route of the app choosing', async () => {
      const response = await post(`${h.url}/custom/completions`, { model: 'general', messages: [{ role: 'user', content: 'c' }] }, headers);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toBe('echo: c');
    });
  });

  it('POST /v1/embeddings answers with the embedding tier by default', async () => {
    const response = await post(`${h.url}/v1/embeddings`, { input: ['alpha', 'beta'] }, headers);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-llm-served-by')).toBe('openai/text-embedding-3-large');
    expect(response.headers.get('x-llm-attempts')).toBe('1');
    const body = (await response.json()) as { data: Array<{ embedding: number[]; index: number }> };
    expect(body.data.map((item) => item.embedding)).toEqual([echoEmbedding('alpha'), echoEmbedding('beta')]);
    expect(h.upstream.lastRequest()).toMatchObject({ path: '/v1/embeddings', json: { model: 'text-embedding-3-large', input: ['alpha', 'beta'] } });
  });

  describe('GET /v1/models', () => {
    it('lists tiers and aliases as models, then the upstream list', async () => {
      const response = await fetch(`${h.url}/v1/models`, { headers });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { object: string; data: Array<{ id: string; object: string }> };
      expect(body.object).toBe('list');
      const ids = body.data.map((model) => model.id);
      expect(ids).toEqual(expect.arrayContaining(['general', 'expert', 'vision', 'reasoning', 'embedding', 'sandbox-echo', 'gpt-5-mini']));
      expect(body.data.every((model) => model.object === 'model')).toBe(true);
      expect(h.upstream.lastRequest()).toMatchObject({ method: 'GET', path: '/v1/models' });
      expect(h.upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
    });

    it('lists the aliases of a provider that has them, without a key (no upstream call)', async () => {
      const response = await fetch(`${h.url}/v1/models`, { headers: { 'x-llm-provider': 'dashscope' } });
      expect(response.status).toBe(200);
      const ids = ((await response.json()) as { data: Array<{ id: string }> }).data.map((model) => model.id);
      expect(ids).toEqual(expect.arrayContaining(['general', 'expert', 'DeepSeekFlash', 'DeepSeekPro', 'kimi']));
      expect(h.upstream.requests).toHaveLength(0);
    });

    it('is served by the handler on a route of the app choosing (Koa: without a router)', async () => {
      const response = await fetch(`${h.url}/bare/models`, { headers: { 'x-llm-provider': 'dashscope' } });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { data: Array<{ id: string }> }).data.map((model) => model.id)).toContain('DeepSeekFlash');
    });
  });

  describe('GET /api/providers', () => {
    it('lists every provider with reachability and tiers, and serverKey as a boolean, never a key', async () => {
      const operatorKey = callerKey();
      const withKey = await startHarness(adapter, {
        upstream: h.upstream,
        switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url }, dashscope: { apiKey: operatorKey } } }),
      });
      try {
        const response = await fetch(`${withKey.url}/api/providers`);
        expect(response.status).toBe(200);
        const text = await response.text();
        expect(text).not.toContain(operatorKey);
        const body = JSON.parse(text) as { cluster: string; providers: Array<{ id: string; serverKey: unknown; reachable: { policy: boolean }; tiers: Record<string, string[]> }> };
        expect(body.cluster).toBe('global');
        expect(body.providers.map((p) => p.id).sort()).toEqual(['anthropic', 'dashscope', 'deepseek', 'gemini', 'openai', 'volcengine']);
        const byId = Object.fromEntries(body.providers.map((p) => [p.id, p]));
        expect(byId.dashscope?.serverKey).toBe(true);
        expect(byId.openai?.serverKey).toBe(false);
        expect(body.providers.every((p) => typeof p.serverKey === 'boolean')).toBe(true);
        expect(byId.openai?.reachable.policy).toBe(true);
        expect(byId.volcengine?.reachable.policy).toBe(false);
        expect(byId.openai?.tiers.general).toEqual(['gpt-5', 'gpt-5-mini']);
      } finally {
        await withKey.close();
      }
    });

    it('is served by the handler on a route of the app choosing', async () => {
      const response = await fetch(`${h.url}/custom/providers`);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { providers: unknown[] }).providers).toHaveLength(6);
    });
  });

  it('leaves other paths to the app (404 from the framework, nothing sent upstream)', async () => {
    const response = await post(`${h.url}/api/other`, { question: 'x' }, headers);
    expect(response.status).toBe(404);
    expect(h.upstream.requests).toHaveLength(0);
    const frames = await readFrames(await post(`${h.url}/api/chat`, { question: 'ok' }, headers));
    expect(frames.at(-1)?.data).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
  });
});
