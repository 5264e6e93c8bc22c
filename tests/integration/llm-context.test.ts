/**
 * `req.llm` (Express) and `ctx.state.llm` (Koa) in routes of the host app: a lazy route, `complete()`, `chat()`
 * streaming normalized parts, `embed()`, and `openai()` bound to the route.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StreamPart } from '@switchyard/core';
import { behaviors, echoEmbedding } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, post, startHarness } from './harness.js';

describe.each(ADAPTERS)('the llm context in app routes over %s', (adapter) => {
  let h: Harness;
  let key: string;
  let headers: Record<string, string>;

  beforeAll(async () => {
    h = await startHarness(adapter, {
      routes: {
        '/plain': async () => ({ ok: true }),
        '/route': async (llm) => {
          const { route } = llm();
          return { provider: route.provider.id, candidates: route.candidates, keySource: route.keySource };
        },
        '/complete': async (llm, body) => {
          const answer = await llm().complete({ messages: [{ role: 'user', content: String(body.text) }] });
          return { text: answer.text, model: answer.model, provider: answer.provider, usage: answer.usage, finishReason: answer.finishReason };
        },
        '/chat': async (llm, body) => {
          const parts: StreamPart[] = [];
          for await (const part of llm().chat({ model: 'expert', messages: [{ role: 'user', content: String(body.text) }] })) parts.push(part);
          return { parts };
        },
        '/embed': async (llm, body) => llm().embed(body.input as string[]),
        '/openai': async (llm, body) => {
          const completion = await llm().openai().chat.completions.create({ model: 'gpt-5-mini', messages: [{ role: 'user', content: String(body.text) }] });
          return { text: completion.choices[0]?.message.content };
        },
      },
    });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    key = callerKey();
    headers = { 'x-llm-provider': 'openai', 'x-llm-api-key': key };
  });

  it('resolves the route lazily: a route that never touches it works without any X-LLM header', async () => {
    const plain = await post(`${h.url}/plain`, {});
    expect(plain.status).toBe(200);
    expect(await plain.json()).toEqual({ ok: true });
    // The same request shape on a route that reads it fails: only touching it resolves (no key here).
    const touched = await post(`${h.url}/route`, {});
    expect(touched.status).toBe(400);
    expect(((await touched.json()) as { error: { code: string } }).error.code).toBe('missing_api_key');
  });

  it('exposes the route, with the request body naming the tier', async () => {
    const response = await post(`${h.url}/route`, { model: 'vision' }, headers);
    expect(await response.json()).toEqual({ provider: 'openai', candidates: ['gpt-4o', 'gpt-4o-mini'], keySource: 'caller' });
  });

  it('complete() answers whole, through the caller key', async () => {
    const response = await post(`${h.url}/complete`, { text: 'summarize this' }, headers);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ text: 'echo: summarize this', model: 'gpt-5', provider: 'openai', finishReason: 'stop', usage: { output_tokens: 3 } });
    const received = h.upstream.lastRequest();
    expect(received?.headers.authorization).toBe(`Bearer ${key}`);
    expect(received?.json).toMatchObject({ model: 'gpt-5', messages: [{ role: 'user', content: 'summarize this' }] });
  });

  it('chat() streams normalized parts: reasoning, text, usage, finish', async () => {
    h.upstream.enqueue(behaviors.stream(['Hel', 'lo'], { reasoning: ['think'] }));
    const response = await post(`${h.url}/chat`, { text: 'x' }, headers);
    const { parts } = (await response.json()) as { parts: StreamPart[] };
    expect(parts.filter((p) => p.type === 'reasoning').map((p) => (p as { text: string }).text).join('')).toBe('think');
    expect(parts.filter((p) => p.type === 'text').map((p) => (p as { text: string }).text)).toEqual(['Hel', 'lo']);
    expect(parts.some((p) => p.type === 'usage')).toBe(true);
    expect(parts.find((p) => p.type === 'finish')).toMatchObject({ reason: 'stop' });
    expect(h.upstream.lastRequest()?.json).toMatchObject({ model: 'gpt-5-pro', stream: true });
  });

  it('embed() embeds with the embedding tier', async () => {
    const response = await post(`${h.url}/embed`, { input: ['one', 'two'] }, headers);
    expect(await response.json()).toMatchObject({ embeddings: [echoEmbedding('one'), echoEmbedding('two')], provider: 'openai', model: 'text-embedding-3-large' });
  });

  it('openai() gives a working SDK client bound to the route', async () => {
    const response = await post(`${h.url}/openai`, { text: 'sdk' }, headers);
    expect(await response.json()).toEqual({ text: 'echo: sdk' });
    const received = h.upstream.lastRequest();
    expect(received?.path).toBe('/v1/chat/completions');
    expect(received?.headers.authorization).toBe(`Bearer ${key}`);
    expect((received?.json as { model: string }).model).toBe('gpt-5-mini');
  });

  it('surfaces upstream errors from the context as SwitchyardErrors', async () => {
    h.upstream.enqueue(behaviors.error('openai', 'invalid_api_key'));
    const response = await post(`${h.url}/complete`, { text: 'x' }, headers);
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
  });
});
