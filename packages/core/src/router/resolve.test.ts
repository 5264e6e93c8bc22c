import { describe, expect, it } from 'vitest';
import { placeholder } from '@switchyard/testkit';
import { resolveConfig, resolveRoute } from '../index.js';

describe('smoke', () => {
  it('resolves', () => {
    expect(placeholder).toBe(1);
    const config = resolveConfig({ providers: { openai: { apiKey: 'k' } } });
    expect(resolveRoute(config, { headers: {}, requested: 'general' }).candidates).toEqual(['gpt-5', 'gpt-5-mini']);
  });
});
