/**
 * The official `openai` SDK as a client of `/v1`: streaming, non-streaming, embeddings, the models list, and errors
 * raised as the SDK's own classes.
 */
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Behavior, behaviors, echoEmbedding } from '@switchyard/testkit';
import { ADAPTERS, callerKey, type Harness, startHarness } from './harness.js';

type ApiError = InstanceType<typeof OpenAI.APIError>;

describe.each(ADAPTERS)('the openai SDK over %s', (adapter) => {
  let h: Harness;
  let appToken: string;
  let key: string;
  let client: OpenAI;

  beforeAll(async () => {
    appToken = `app-${randomUUID()}`;
    h = await startHarness(adapter, { switchyard: (upstream) => ({ providers: { openai: { baseUrl: upstream.url } }, appTokens: [appToken] }) });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.upstream.reset();
    key = callerKey();
    client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: appToken, maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': key } });
  });

  it('streams a chat completion, the alias resolved, the caller key sent upstream and the app token not', async () => {
    const stream = await client.chat.completions.create({ model: 'general', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream me' }] });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    const models = new Set<string>();
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      models.add(chunk.model);
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('echo: stream me');
    expect([...models]).toEqual(['gpt-5']);
    expect(usage?.completion_tokens).toBe(3);
    const received = h.upstream.lastRequest();
    expect(received?.headers.authorization).toBe(`Bearer ${key}`);
    expect(JSON.stringify(received?.headers)).not.toContain(appToken);
  });

  it('answers a non-streamed completion, with the routing headers visible through withResponse()', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'expert', messages: [{ role: 'user', content: 'whole' }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe('echo: whole');
    expect(data.model).toBe('gpt-5-pro');
    expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5-pro');
    expect(response.headers.get('x-llm-attempts')).toBe('1');
  });

  it('embeds (the SDK asks for base64 and decodes it)', async () => {
    const result = await client.embeddings.create({ model: 'embedding', input: ['left', 'right'] });
    expect(result.data.map((item) => item.embedding)).toEqual([echoEmbedding('left'), echoEmbedding('right')]);
    expect(h.upstream.lastRequest()?.json).toMatchObject({ model: 'text-embedding-3-large', input: ['left', 'right'] });
  });

  it('lists models: tiers as models, then the upstream list', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['general', 'expert', 'embedding', 'sandbox-echo']));
  });

  describe('errors as the SDK own classes', () => {
    const cases: Array<{ name: string; upstream?: Behavior; headers?: Record<string, string>; model?: string; type: abstract new (...args: never[]) => ApiError; status: number; code: string }> = [
      { name: 'a bad key', upstream: behaviors.error('openai', 'invalid_api_key'), type: OpenAI.AuthenticationError, status: 401, code: 'invalid_api_key' },
      { name: 'a rate limit', upstream: behaviors.rateLimit({ retryAfterSeconds: 1 }), type: OpenAI.RateLimitError, status: 429, code: 'rate_limited' },
      { name: 'a used-up quota', upstream: behaviors.error('openai', 'insufficient_quota'), type: OpenAI.RateLimitError, status: 429, code: 'insufficient_quota' },
      { name: 'a missing model', upstream: behaviors.error('openai', 'model_not_found'), model: 'gpt-nope', type: OpenAI.NotFoundError, status: 404, code: 'model_not_found' },
      { name: 'a region block', upstream: behaviors.regionBlock(), model: 'gpt-5', type: OpenAI.PermissionDeniedError, status: 403, code: 'region_restricted' },
      { name: 'an unknown provider', headers: { 'X-LLM-Provider': 'nope' }, type: OpenAI.BadRequestError, status: 400, code: 'unknown_provider' },
      { name: 'a broken proxy', upstream: behaviors.garbage(), type: OpenAI.InternalServerError, status: 502, code: 'upstream_error' },
    ];

    it.each(cases)('$name → $type.name $status $code', async (c) => {
      if (c.upstream) h.upstream.enqueue(c.upstream);
      const error = await client.chat.completions
        .create({ model: c.model ?? 'general', messages: [{ role: 'user', content: 'hi' }] }, c.headers ? { headers: c.headers } : {})
        .then(
          () => undefined,
          (thrown: unknown) => thrown,
        );
      expect(error).toBeInstanceOf(c.type);
      const apiError = error as ApiError;
      expect(apiError.status).toBe(c.status);
      expect(apiError.code).toBe(c.code);
      expect((apiError.error as { hint?: string }).hint?.length).toBeGreaterThan(0);
      expect(apiError.message).not.toContain(key);
    });

    it('raises the app-token refusal as AuthenticationError', async () => {
      const stranger = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: 'not-a-token', maxRetries: 0, defaultHeaders: { 'X-LLM-Api-Key': key } });
      const error = await stranger.models.list().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as ApiError).code).toBe('unauthorized');
    });
  });
});
