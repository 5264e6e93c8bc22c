import { describe, expect, it } from 'vitest';
import { computeCost, costStatisticsEvent, type PriceTable } from './cost.js';
import type { Usage } from './parts.js';

const prices: PriceTable = {
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'grok-3-mini': { input: 0.3, output: 0.5 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'gpt-4o-2024-08-06': { input: 2.5, output: 10 },
};

const usage = (input_tokens: number, output_tokens: number, total_tokens = input_tokens + output_tokens): Usage => ({
  input_tokens,
  output_tokens,
  total_tokens,
});

describe('computeCost', () => {
  it.each<[string, string, Usage, number | null]>([
    ['input and output at their prices', 'gpt-5', usage(1000, 500), 0.00625],
    ['one token', 'gpt-5', usage(1, 0), 0.00000125],
    ['rounded to 8 decimals', 'gpt-5-nano', usage(3, 7), 0.00000295],
    ['rounded, not truncated', 'gpt-5-nano', usage(1, 0), 0.00000005],
    ['a dated model id falls back to its undated price', 'gpt-5-nano-2025-08-07', usage(12, 100, 112), 0.0000406],
    ['an exact dated entry wins', 'gpt-4o-2024-08-06', usage(79, 1), 0.0002075],
    ['embeddings: input only', 'text-embedding-3-small', usage(1_000_000, 0), 0.02],
    // xAI: 1 completion token, but 290 reasoning tokens counted in the total and billed as output.
    ['reasoning left out of the completion count is billed', 'grok-3-mini', { ...usage(12, 1, 303), reasoning_tokens: 290 }, 0.0001491],
    ['no usage, no cost', 'gpt-5', usage(0, 0), 0],
    ['an unpriced model', 'qwen3-max', usage(10, 10), null],
    ['not a prototype key', 'constructor', usage(10, 10), null],
    ['not a prefix match', 'gpt-5-mini', usage(10, 10), null],
  ])('%s', (_, model, tokens, expected) => {
    expect(computeCost(model, tokens, prices)).toBe(expected);
  });
});

describe('costStatisticsEvent', () => {
  it('reports the tokens as the upstream did, with the cost, in the event content', () => {
    expect(costStatisticsEvent('grok-3-mini', { ...usage(12, 1, 303), reasoning_tokens: 290 }, prices)).toEqual({
      type: 'costStatistics',
      content: {
        model: 'grok-3-mini',
        input_tokens: 12,
        output_tokens: 1,
        total_tokens: 303,
        total_cost: 0.0001491,
        thought_tokens: 290,
      },
    });
  });

  it('carries cache reads as cache_read_tokens, and leaves out counts the upstream did not report', () => {
    const event = costStatisticsEvent('gpt-5', { ...usage(2000, 10, 2010), cached_tokens: 1920 }, prices);
    expect(event.content).toEqual({ model: 'gpt-5', input_tokens: 2000, output_tokens: 10, total_tokens: 2010, total_cost: computeCost('gpt-5', usage(2000, 10, 2010), prices), cache_read_tokens: 1920 });
    expect(Object.keys(costStatisticsEvent('gpt-5', usage(1, 2, 3), prices).content)).toEqual(['model', 'input_tokens', 'output_tokens', 'total_tokens', 'total_cost']);
  });

  it('gives total_cost null for an unpriced model', () => {
    expect(costStatisticsEvent('deepseek-v4-pro', usage(17, 47, 64), prices).content.total_cost).toBeNull();
  });
});
