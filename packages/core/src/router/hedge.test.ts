import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { createFirstByteStats, firstChunk, hedgeDelayFor, hedgeTarget, MIN_SAMPLES } from './hedge.js';
import { resolveRoute } from './resolve.js';

describe('hedgeDelayFor', () => {
  const config = resolveConfig({ providers: { openai: { apiKey: 'k' } }, hedge: { tiers: { general: 800, expert: { delayMs: 3000, percentile: 90 } }, header: true, minDelayMs: 100 } });
  const route = (requested: string) => resolveRoute(config, { headers: {}, requested });

  it('a fixed delay per tier; none for tiers without one', () => {
    expect(hedgeDelayFor(config, route('general'), {}, undefined)).toBe(800);
    expect(hedgeDelayFor(config, route('vision'), {}, undefined)).toBeUndefined();
  });

  it('a percentile of the provider\'s times to first byte once enough were seen, never above delayMs', () => {
    const stats = createFirstByteStats();
    expect(hedgeDelayFor(config, route('expert'), {}, stats)).toBe(3000);
    for (let i = 1; i <= MIN_SAMPLES * 5; i++) stats.record('openai', i * 10);
    expect(hedgeDelayFor(config, route('expert'), {}, stats)).toBe(900);
    for (let i = 0; i < 200; i++) stats.record('openai', 10_000);
    expect(hedgeDelayFor(config, route('expert'), {}, stats)).toBe(3000);
  });

  it('X-LLM-Hedge-Ms where allowed, floored at minDelayMs; a bad value is a 400', () => {
    expect(hedgeDelayFor(config, route('vision'), { 'x-llm-hedge-ms': '250' }, undefined)).toBe(250);
    expect(hedgeDelayFor(config, route('vision'), { 'x-llm-hedge-ms': '0' }, undefined)).toBe(100);
    expect(() => hedgeDelayFor(config, route('vision'), { 'x-llm-hedge-ms': '-5' }, undefined)).toThrow(/whole number of milliseconds/);
    expect(() => hedgeDelayFor(config, route('vision'), { 'x-llm-hedge-ms': '9999999' }, undefined)).toThrow(/whole number of milliseconds/);
    const closed = resolveConfig({ providers: { openai: { apiKey: 'k' } }, hedge: { tiers: { '*': 500 } } });
    expect(hedgeDelayFor(closed, resolveRoute(closed, { headers: {}, requested: 'gpt-4o' }), { 'x-llm-hedge-ms': '50' }, undefined)).toBe(500);
  });
});

describe('hedgeTarget', () => {
  it('the next model; else a failover provider with an operator key; else the same model', () => {
    const config = resolveConfig({
      providers: { openai: { tiers: { general: ['only'] } }, deepseek: { apiKey: 'operator' } },
      failover: ['deepseek'],
    });
    const two = resolveRoute(config, { headers: { 'x-llm-api-key': 'caller' }, requested: 'expert' });
    expect(hedgeTarget(two, { config }).model).toBe('o3-pro');
    const one = resolveRoute(config, { headers: { 'x-llm-api-key': 'caller' }, requested: 'general' });
    const elsewhere = hedgeTarget(one, { config });
    expect([elsewhere.route.provider.id, elsewhere.model, elsewhere.route.apiKey, elsewhere.route.keySource]).toEqual(['deepseek', 'deepseek-v4-flash', 'operator', 'operator']);
    const alone = resolveConfig({ providers: { openai: { tiers: { general: ['only'] } } } });
    const same = hedgeTarget(resolveRoute(alone, { headers: { 'x-llm-api-key': 'caller' }, requested: 'general' }), { config: alone });
    expect([same.route.provider.id, same.model, same.route.apiKey]).toEqual(['openai', 'only', 'caller']);
  });
});

describe('firstChunk', () => {
  it('resolves at the first chunk and leaves it for the reader', async () => {
    const body = new Readable({ read() {} });
    const waiting = firstChunk(body);
    body.push(Buffer.from('first'));
    await waiting;
    body.push(Buffer.from(' second'));
    body.push(null);
    const chunks: string[] = [];
    await new Promise<void>((resolve) => {
      body.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
      body.once('end', resolve);
    });
    expect(chunks.join('')).toBe('first second');
  });

  it('rejects when the body fails or closes first, or the signal aborts', async () => {
    const failing = new Readable({ read() {} });
    const failed = firstChunk(failing);
    failing.destroy(new Error('reset'));
    await expect(failed).rejects.toThrow('reset');
    const controller = new AbortController();
    const aborted = firstChunk(new Readable({ read() {} }), controller.signal);
    controller.abort(new Error('superseded'));
    await expect(aborted).rejects.toThrow('superseded');
  });
});
