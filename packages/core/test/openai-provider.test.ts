/**
 * The OpenAI-protocol adapter against the testkit upstream on loopback: what goes out (URL, auth header, body)
 * and what comes back (JSON, SSE parts, errors), for plain OpenAI-compatible hosts and for Azure OpenAI.
 */
import { randomUUID } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { behaviors, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createSwitchyard,
  readParts,
  SwitchyardError,
  type StreamPart,
  type Switchyard,
  type SwitchyardOptions,
} from '../src/index.js';
import { readBody } from '../src/providers/openai-provider.js';

const AZURE_HOST = 'switchyard-test.openai.azure.com';

/** Resolves the Azure test host to loopback, everything else as the system would. */
const azureToLoopback: LookupFunction = (hostname, options, callback) => {
  if (hostname !== AZURE_HOST) {
    dnsLookup(hostname, options, callback);
    return;
  }
  const address: LookupAddress = { address: '127.0.0.1', family: 4 };
  if (options.all) (callback as (err: null, addresses: LookupAddress[]) => void)(null, [address]);
  else callback(null, address.address, address.family);
};

const callerKey = () => `sk-caller-${randomUUID()}`;
const operatorKey = () => `sk-operator-${randomUUID()}`;

let upstream: TestUpstream;
let azureBase: string;
const routers: Switchyard[] = [];

beforeAll(async () => {
  upstream = await startTestUpstream({ host: '127.0.0.1', port: 0 });
  azureBase = `http://${AZURE_HOST}:${new URL(upstream.url).port}`;
});

afterEach(async () => {
  upstream.reset();
  await Promise.all(routers.splice(0).map((router) => router.close()));
});

afterAll(async () => {
  await upstream.close();
});

function router(options: SwitchyardOptions): Switchyard {
  const created = createSwitchyard({ lookup: azureToLoopback, ...options });
  routers.push(created);
  return created;
}

async function collect(parts: AsyncIterable<StreamPart>): Promise<StreamPart[]> {
  const out: StreamPart[] = [];
  for await (const part of parts) out.push(part);
  return out;
}

function textOf(parts: StreamPart[], type: 'text' | 'reasoning'): string {
  return parts.map((part) => (part.type === type ? part.text : '')).join('');
}

describe('the OpenAI-protocol adapter against an OpenAI-compatible host', () => {
  function openaiRouter(key = operatorKey()) {
    return { key, sy: router({ providers: { openai: { baseUrl: upstream.url, apiKey: key } } }) };
  }

  it('sends a non-streaming chat with the operator key as Bearer, to {base}/chat/completions', async () => {
    const { key, sy } = openaiRouter();
    const route = sy.resolve({ headers: { 'x-llm-provider': 'openai' }, requested: 'general' });
    upstream.enqueue(behaviors.completion('hello there', { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } }));
    const body = { model: route.candidates[0], messages: [{ role: 'user', content: 'hi' }] };
    const response = await sy.providerFor(route).doGenerate({ route, model: route.candidates[0] as string }, { wire: 'chat', body });
    const json = JSON.parse(await readBody(response.body, 1 << 20)) as { choices: Array<{ message: { content: string } }>; usage: { total_tokens: number } };

    expect(response.status).toBe(200);
    expect(json.choices[0]?.message.content).toBe('hello there');
    expect(json.usage.total_tokens).toBe(5);
    const seen = upstream.lastRequest();
    expect(seen?.method).toBe('POST');
    expect(seen?.path).toBe('/v1/chat/completions');
    expect(seen?.headers.authorization).toBe(`Bearer ${key}`);
    expect(seen?.headers['api-key']).toBeUndefined();
    expect(seen?.headers['content-type']).toBe('application/json');
    expect(seen?.json).toEqual(body);
  });

  it('streams text, reasoning and usage parts, and the upstream saw stream_options.include_usage when the core built the request', async () => {
    const { sy } = openaiRouter();
    upstream.enqueue(behaviors.stream(['Hel', 'lo', '!'], { reasoning: ['think', 'ing'], usage: { prompt_tokens: 4, completion_tokens: 3, total_tokens: 7 } }));
    const llm = sy.context({ headers: { 'x-llm-provider': 'openai' } });
    const parts = await collect(llm.chat({ messages: [{ role: 'user', content: 'hi' }] }));

    expect(textOf(parts, 'text')).toBe('Hello!');
    expect(textOf(parts, 'reasoning')).toBe('thinking');
    expect(parts.find((part) => part.type === 'usage')).toMatchObject({ type: 'usage', usage: { input_tokens: 4, output_tokens: 3, total_tokens: 7 } });
    expect(parts.filter((part) => part.type === 'finish')).toEqual([expect.objectContaining({ type: 'finish', reason: 'stop' })]);
    const sent = upstream.lastRequest()?.json as Record<string, unknown>;
    expect(sent.stream).toBe(true);
    expect(sent.stream_options).toEqual({ include_usage: true });
  });

  it('reads usage from the finish chunk (DeepSeek style)', async () => {
    const { sy } = openaiRouter();
    upstream.enqueue(behaviors.stream(['a', 'b'], { usageOnFinishChunk: true, usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } }));
    const parts = await collect(sy.context({ headers: { 'x-llm-provider': 'openai' } }).chat({ messages: [{ role: 'user', content: 'x' }] }));
    expect(parts.filter((part) => part.type === 'usage')).toEqual([{ type: 'usage', usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } }]);
    expect(textOf(parts, 'text')).toBe('ab');
  });

  it.for([
    { fixture: 'dashscope-qwen3-max-reasoning', reasoning: true },
    { fixture: 'deepseek-v4-pro-reasoning', reasoning: true },
    { fixture: 'azure-openai-gpt-4o-mini-text', reasoning: false },
    { fixture: 'openai-text', reasoning: false },
  ])('replays the recorded $fixture stream into parts', async ({ fixture, reasoning }) => {
    const { sy } = openaiRouter();
    upstream.enqueue(behaviors.fixture(fixture, { done: true }));
    const parts = await collect(sy.context({ headers: { 'x-llm-provider': 'openai' } }).chat({ messages: [{ role: 'user', content: 'x' }] }));
    expect(parts.some((part) => part.type === 'error')).toBe(false);
    expect(textOf(parts, 'text').length).toBeGreaterThan(0);
    expect(textOf(parts, 'reasoning').length > 0).toBe(reasoning);
    expect(parts.some((part) => part.type === 'finish')).toBe(true);
  });

  it('sends embeddings to {base}/embeddings and reads the vectors back in order', async () => {
    const { key, sy } = openaiRouter();
    const result = await sy.context({ headers: { 'x-llm-provider': 'openai' } }).embed(['one', 'two']);
    expect(result.embeddings).toHaveLength(2);
    expect(result.embeddings[0]?.length).toBeGreaterThan(0);
    expect(result.embeddings[0]).not.toEqual(result.embeddings[1]);
    const seen = upstream.lastRequest();
    expect(seen?.path).toBe('/v1/embeddings');
    expect(seen?.headers.authorization).toBe(`Bearer ${key}`);
    expect(seen?.json).toMatchObject({ input: ['one', 'two'], encoding_format: 'float' });
  });

  it('lists models with a GET and no body', async () => {
    const { sy } = openaiRouter();
    const route = sy.resolve({ headers: { 'x-llm-provider': 'openai' } });
    const response = await sy.providerFor(route).doListModels({ route });
    const json = JSON.parse(await readBody(response.body, 1 << 20)) as { object: string; data: unknown[] };
    expect(json.object).toBe('list');
    expect(upstream.lastRequest()?.method).toBe('GET');
    expect(upstream.lastRequest()?.path).toBe('/v1/models');
    expect(upstream.lastRequest()?.body).toBe('');
  });

  it.for([
    ['a base URL ending in /v1/', (base: string) => `${base}/`],
    ['a base URL ending in /v1', (base: string) => base],
    ['a pasted full endpoint URL', (base: string) => `${base}/chat/completions`],
  ] as const)('joins %s without /v1/v1', async ([, make]) => {
    const sy = router({ providers: { openai: { baseUrl: make(upstream.url), apiKey: operatorKey() } } });
    await sy.context({ headers: { 'x-llm-provider': 'openai' } }).complete({ messages: [{ role: 'user', content: 'hi' }] });
    expect(upstream.lastRequest()?.path).toBe('/v1/chat/completions');
  });

  it('builds gpt-5 and o-series requests with max_completion_tokens and no temperature', async () => {
    const { sy } = openaiRouter();
    const llm = sy.context({ headers: { 'x-llm-provider': 'openai' } });
    for (const model of ['gpt-5-mini', 'o4-mini']) {
      await llm.complete({ model, messages: [{ role: 'user', content: 'hi' }], temperature: 0.3, maxTokens: 50 });
      const sent = upstream.lastRequest()?.json as Record<string, unknown>;
      expect(sent.model).toBe(model);
      expect(sent.max_completion_tokens).toBe(50);
      expect(sent).not.toHaveProperty('max_tokens');
      expect(sent).not.toHaveProperty('temperature');
    }
    await llm.complete({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], temperature: 0.3, maxTokens: 50 });
    expect(upstream.lastRequest()?.json).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.3, max_tokens: 50 });
  });

  it('sends to an operator base URL that replaces the default per-cluster URL', async () => {
    const sy = router({ providers: { dashscope: { baseUrl: upstream.url, apiKey: operatorKey() } } });
    expect(sy.resolve({ headers: { 'x-llm-provider': 'dashscope' } }).baseUrl).toBe(upstream.url);
  });

  it('turns a provider error into a SwitchyardError with the key redacted from the echoed message', async () => {
    const key = callerKey();
    const sy = router({ providers: { dashscope: { baseUrl: upstream.url } } });
    upstream.enqueue(behaviors.error('dashscope', 'InvalidApiKey'));
    const llm = sy.context({ headers: { 'x-llm-provider': 'dashscope', 'x-llm-api-key': key } });
    const error = await llm.complete({ messages: [{ role: 'user', content: 'hi' }] }).catch((thrown: unknown) => thrown);
    expect(SwitchyardError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: 'invalid_api_key', status: 401, provider: 'dashscope' });
    expect(JSON.stringify({ message: (error as Error).message, hint: (error as SwitchyardError).hint })).not.toContain(key);
    expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
  });
});

describe('keys and reachability at the edges', () => {
  it('sends no key to a provider that takes none, even one the caller sent', async () => {
    const key = callerKey();
    const sy = router({ providers: { local: { baseUrl: upstream.url, auth: 'none', clusters: ['global'], tiers: { general: ['local-model'] } } } });
    const llm = sy.context({ headers: { 'x-llm-provider': 'local', 'x-llm-api-key': key } });
    await llm.complete({ messages: [{ role: 'user', content: 'hi' }] });
    await llm.openai().chat.completions.create({ model: 'local-model', messages: [{ role: 'user', content: 'hi' }] });
    expect(upstream.requests).toHaveLength(2);
    for (const seen of upstream.requests) {
      expect(seen.headers.authorization).toBeUndefined();
      expect(JSON.stringify(seen.headers)).not.toContain(key);
    }
  });

  it('lists the tiers of a provider this cluster does not reach, without a network call', async () => {
    const sy = router({ cluster: 'cn', providers: { openai: { baseUrl: upstream.url } } });
    const response = await sy.fetch(new Request('http://switchyard.test/v1/models', { headers: { 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey() } }));
    const json = (await response.json()) as { data: Array<{ id: string }> };
    expect(response.status).toBe(200);
    expect(json.data.map((model) => model.id)).toContain('general');
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('the OpenAI-protocol adapter against Azure OpenAI', () => {
  it('calls a deployment URL with the api-key header and an api-version, never a Bearer', async () => {
    const key = operatorKey();
    const sy = router({ providers: { azure: { label: 'Azure OpenAI', baseUrl: `${azureBase}/openai/deployments/gpt-4o-mini`, apiKey: key, clusters: ['global'], tiers: { general: ['gpt-4o-mini'] } } } });
    upstream.enqueue(behaviors.fixture('azure-openai-gpt-4o-mini-text', { done: true }));
    const parts = await collect(sy.context({ headers: { 'x-llm-provider': 'azure' } }).chat({ messages: [{ role: 'user', content: 'hi' }] }));

    expect(textOf(parts, 'text').length).toBeGreaterThan(0);
    const seen = upstream.lastRequest();
    expect(seen?.path).toBe('/openai/deployments/gpt-4o-mini/chat/completions');
    expect(seen?.query['api-version']).toBe('2024-10-21');
    expect(seen?.headers['api-key']).toBe(key);
    expect(seen?.headers.authorization).toBeUndefined();
    expect(seen?.headers.host).toBe(`${AZURE_HOST}:${new URL(upstream.url).port}`);
  });

  it('keeps an api-version the operator chose', async () => {
    const sy = router({ providers: { azure: { baseUrl: `${azureBase}/openai/deployments/emb?api-version=2025-01-01-preview`, apiKey: operatorKey(), clusters: ['global'], tiers: { embedding: ['text-embedding-3-small'] } } } });
    await sy.context({ headers: { 'x-llm-provider': 'azure' } }).embed('hello');
    expect(upstream.lastRequest()?.path).toBe('/openai/deployments/emb/embeddings');
    expect(upstream.lastRequest()?.query['api-version']).toBe('2025-01-01-preview');
  });

  it('calls the v1 API path with api-key and no api-version', async () => {
    const key = operatorKey();
    const sy = router({ providers: { azure: { baseUrl: `${azureBase}/openai/v1`, apiKey: key, clusters: ['global'], tiers: { general: ['gpt-4o-mini'] } } } });
    await sy.context({ headers: { 'x-llm-provider': 'azure' } }).complete({ messages: [{ role: 'user', content: 'hi' }] });
    expect(upstream.lastRequest()?.path).toBe('/openai/v1/chat/completions');
    expect(upstream.lastRequest()?.query['api-version']).toBeUndefined();
    expect(upstream.lastRequest()?.headers['api-key']).toBe(key);
  });

  it('sends a caller key the Azure way when the caller names an allowlisted Azure relay', async () => {
    const key = callerKey();
    const base = `${azureBase}/openai/deployments/gpt-4o-mini`;
    const sy = router({ allowedBaseUrls: [`${azureBase}/`], providers: { openai: { apiKey: operatorKey() } } });
    const llm = sy.context({ headers: { 'x-llm-provider': 'openai', 'x-llm-api-key': key, 'x-llm-base-url': base } });
    expect(llm.route).toMatchObject({ baseUrlSource: 'caller', keySource: 'caller' });
    await llm.complete({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const seen = upstream.lastRequest();
    expect(seen?.path).toBe('/openai/deployments/gpt-4o-mini/chat/completions');
    expect(seen?.query['api-version']).toBe('2024-10-21');
    expect(seen?.headers['api-key']).toBe(key);
    expect(seen?.headers.authorization).toBeUndefined();
  });

  it('gives apps an openai SDK client bound to the Azure route', async () => {
    const key = operatorKey();
    const sy = router({ providers: { azure: { baseUrl: `${azureBase}/openai/deployments/gpt-4o-mini`, apiKey: key, clusters: ['global'], tiers: { general: ['gpt-4o-mini'] } } } });
    const client = sy.context({ headers: { 'x-llm-provider': 'azure' } }).openai();
    const completion = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'ping' }] });
    expect(completion.choices[0]?.message.content).toContain('ping');
    expect(upstream.lastRequest()?.path).toBe('/openai/deployments/gpt-4o-mini/chat/completions');
    expect(upstream.lastRequest()?.query['api-version']).toBeDefined();
    expect(upstream.lastRequest()?.headers['api-key']).toBe(key);
  });
});
