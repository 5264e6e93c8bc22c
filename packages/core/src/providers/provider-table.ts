import type { ProviderSettings } from '../config.js';

/** The providers of SPEC §3, as defaults an operator can override or extend. */
export const DEFAULT_PROVIDERS: Record<string, ProviderSettings> = {
  openai: {
    label: 'OpenAI',
    wires: ['chat', 'responses'],
    baseUrl: 'https://api.openai.com/v1',
    auth: 'bearer',
    clusters: ['global'],
    tiers: {
      general: ['gpt-5', 'gpt-5-mini'],
      expert: ['gpt-5-pro', 'o3-pro'],
      vision: ['gpt-4o', 'gpt-4o-mini'],
      reasoning: ['o3', 'o4-mini'],
      embedding: ['text-embedding-3-large', 'text-embedding-3-small'],
    },
    aliases: {},
  },
  anthropic: {
    label: 'Anthropic',
    wires: ['messages'],
    baseUrl: 'https://api.anthropic.com/v1',
    auth: 'bearer',
    countTokens: true,
    continuation: 'prefill',
    clusters: ['global'],
    tiers: {
      general: ['claude-sonnet-4-6', 'claude-sonnet-4-5'],
      expert: ['claude-opus-4-6', 'claude-opus-4-5'],
      fast: ['claude-haiku-4-5'],
    },
    aliases: {},
  },
  gemini: {
    label: 'Google Gemini',
    wires: ['chat'],
    baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai',
    auth: 'bearer',
    clusters: ['global'],
    tiers: {
      general: ['gemini-3.5-flash', 'gemini-2.5-flash'],
      expert: ['gemini-3.1-pro', 'gemini-2.5-pro'],
      embedding: ['gemini-embedding-001'],
    },
    aliases: {},
  },
  deepseek: {
    label: 'DeepSeek',
    wires: ['chat', 'messages'],
    baseUrl: 'https://api.deepseek.com/v1',
    wireBaseUrls: { messages: 'https://api.deepseek.com/anthropic/v1' },
    auth: 'bearer',
    reasoningParameter: 'none',
    clusters: ['cn', 'global'],
    tiers: {
      general: ['deepseek-v4-flash'],
      expert: ['deepseek-v4-pro'],
    },
    aliases: { DeepSeekFlash: 'general', DeepSeekPro: 'expert' },
  },
  dashscope: {
    label: 'Alibaba Cloud DashScope',
    wires: ['chat', 'responses'],
    reasoningParameter: 'enable_thinking',
    cacheControl: true,
    baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1',
    clusterBaseUrls: { global: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1' },
    auth: 'bearer',
    clusters: ['cn', 'global'],
    tiers: {
      general: ['deepseek-v4-flash'],
      expert: ['deepseek-v4-pro'],
      kimi: ['kimi-k2.6'],
      minimax: ['MiniMax-M2.7'],
      embedding: ['text-embedding-v4'],
    },
    aliases: { DeepSeekFlash: 'general', DeepSeekPro: 'expert' },
  },
  volcengine: {
    label: 'Volcengine Ark',
    wires: ['chat', 'responses'],
    reasoningParameter: 'thinking',
    baseUrl: 'https://ark.cn-beijing.volces.com/api/v3',
    auth: 'bearer',
    clusters: ['cn'],
    tiers: {
      general: ['doubao-seed-2-0-lite-260428'],
    },
    aliases: { 豆包: 'general' },
  },
};

/** Default provider order per cluster (SPEC §3). */
export const DEFAULT_PROVIDER_ORDER: Record<'global' | 'cn', string[]> = {
  global: ['openai'],
  cn: ['dashscope', 'volcengine'],
};

/**
 * Prices in USD per million tokens, for `costStatistics`. Only models whose list price we know are here;
 * an unknown price gives `total_cost: null` rather than a guess.
 */
export const DEFAULT_PRICES: Record<
  string,
  {
    /** Per million input tokens. */
    input: number;
    /** Per million output tokens. */
    output: number;
  }
> = {
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-pro': { input: 15, output: 120 },
  'o3-pro': { input: 20, output: 80 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  o3: { input: 2, output: 8 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5 },
  'gemini-2.5-pro': { input: 1.25, output: 10 },
  'gemini-embedding-001': { input: 0.15, output: 0 },
};
