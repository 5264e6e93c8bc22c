import { describe, expect, it } from 'vitest';
import { resolveConfig, type ResolvedConfig, type SwitchyardOptions } from '../config.js';
import { SwitchyardError, type ErrorCode } from '../errors.js';
import { resolveRoute, type HeaderBag, type RequestView, type ResolveOptions } from './resolve.js';
import type { Route } from './route.js';

const OPENAI_KEY = 'sk-operator-openai-0001';
const GEMINI_KEY = 'sk-operator-gemini-0002';
const DASHSCOPE_KEY = 'sk-operator-dashscope-0003';
const ARK_KEY = 'sk-operator-ark-0004';
const DEEPSEEK_KEY = 'sk-operator-deepseek-0005';
const CALLER_KEY = 'sk-caller-0006';
const RELAY = 'https://relay.example.com/v1';

const ALL_BUILTIN = ['openai', 'anthropic', 'gemini', 'deepseek', 'dashscope', 'volcengine'];

/** Configurations the cases run against, built once. */
const configs = {
  /** Global cluster, no operator key anywhere. */
  globalBare: resolveConfig({}),
  /** Global cluster, an operator key for every built-in provider. */
  globalKeys: resolveConfig({
    providers: { openai: { apiKey: OPENAI_KEY }, gemini: { apiKey: GEMINI_KEY }, dashscope: { apiKey: DASHSCOPE_KEY }, volcengine: { apiKey: ARK_KEY } },
  }),
  /** Global cluster, an operator key for gemini only. */
  globalGeminiKey: resolveConfig({ providers: { gemini: { apiKey: GEMINI_KEY } } }),
  cnBare: resolveConfig({ cluster: 'cn' }),
  cnKeys: resolveConfig({ cluster: 'cn', providers: { dashscope: { apiKey: DASHSCOPE_KEY }, volcengine: { apiKey: ARK_KEY } } }),
  cnArkOnly: resolveConfig({ cluster: 'cn', providers: { volcengine: { apiKey: ARK_KEY } } }),
  /** Callers may not name a relay. */
  noCallerBaseUrl: resolveConfig({ allowCallerBaseUrl: false, providers: { openai: { apiKey: OPENAI_KEY } } }),
  /** Upgrade requests may carry credentials in the query. */
  queryOn: resolveConfig({ queryCredentials: true, providers: { openai: { apiKey: OPENAI_KEY } } }),
  queryOff: resolveConfig({ providers: { openai: { apiKey: OPENAI_KEY } } }),
  /** An operator-added OpenAI-compatible provider, a keyless local one, and tier overrides on built-ins. */
  extended: resolveConfig({
    providers: {
      moonshot: {
        label: 'DeepSeek',
        baseUrl: 'https://api.deepseek.com/v1',
        clusters: ['global', 'cn'],
        apiKey: DEEPSEEK_KEY,
        tiers: { general: ['deepseek-chat'], expert: ['deepseek-reasoner'] },
        aliases: { R1: 'expert', V3: 'deepseek-chat' },
      },
      local: { baseUrl: 'http://127.0.0.1:11434/v1', clusters: ['global'], auth: 'none', tiers: { general: ['llama3.2'] } },
      openai: { apiKey: OPENAI_KEY, tiers: { general: ['gpt-4.1', 'gpt-4.1-mini'] } },
      dashscope: { apiKey: DASHSCOPE_KEY, tiers: { general: ['qwen-plus'] } },
    },
  }),
  /** Only the operator's provider, made the default. */
  onlyDeepseek: resolveConfig({
    builtinProviders: false,
    providers: { moonshot: { baseUrl: 'https://api.deepseek.com/v1', clusters: ['global'], apiKey: DEEPSEEK_KEY, tiers: { general: ['deepseek-chat'] } } },
    defaultProviders: ['moonshot'],
  }),
} satisfies Record<string, ResolvedConfig>;

type ConfigName = keyof typeof configs;

/** The parts of a route a case asserts on (the provider by id). */
interface RouteShape {
  provider: string;
  requested: string | undefined;
  name: string | undefined;
  kind: Route['kind'];
  tier: string | undefined;
  candidates: readonly string[];
  cluster: Route['cluster'];
  baseUrl: string;
  baseUrlSource: Route['baseUrlSource'];
  apiKey: string | undefined;
  keySource: Route['keySource'];
}

interface Case {
  name: string;
  config: ConfigName;
  headers?: HeaderBag;
  query?: string;
  requested?: unknown;
  options?: ResolveOptions;
  route?: Partial<RouteShape>;
  error?: { code: ErrorCode; status?: number; provider?: string; message?: RegExp };
}

function shape(route: Route): RouteShape {
  const { provider, ...rest } = route;
  return { ...rest, provider: provider.id };
}

function view(c: Case): RequestView {
  return { headers: c.headers ?? {}, query: c.query === undefined ? undefined : new URLSearchParams(c.query), requested: c.requested };
}

function caught(run: () => unknown): SwitchyardError {
  try {
    run();
  } catch (error) {
    expect(SwitchyardError.isInstance(error), String(error)).toBe(true);
    return error as SwitchyardError;
  }
  throw new Error('expected a SwitchyardError, got a route');
}

function run(cases: Case[]): void {
  it.for(cases)('$name', (c) => {
    const resolve = () => resolveRoute(configs[c.config], view(c), c.options);
    if (c.error) {
      const error = caught(resolve);
      expect(error.code).toBe(c.error.code);
      expect(error.status).toBe(c.error.status ?? 400);
      if (c.error.provider !== undefined) expect(error.provider).toBe(c.error.provider);
      if (c.error.message) expect(error.message).toMatch(c.error.message);
      return;
    }
    expect(shape(resolve())).toMatchObject(c.route ?? {});
  });
}

const callerOpenai = { 'x-llm-provider': 'openai', 'x-llm-api-key': CALLER_KEY };

describe('resolveRoute: X-LLM-Provider (SPEC §2)', () => {
  run([
    { name: 'lower-case id', config: 'globalKeys', headers: { 'x-llm-provider': 'gemini' }, route: { provider: 'gemini', keySource: 'operator', apiKey: GEMINI_KEY } },
    { name: 'mixed case id', config: 'globalKeys', headers: { 'x-llm-provider': 'OpenAI' }, route: { provider: 'openai', apiKey: OPENAI_KEY } },
    { name: 'upper case id', config: 'globalKeys', headers: { 'x-llm-provider': 'DASHSCOPE' }, route: { provider: 'dashscope', apiKey: DASHSCOPE_KEY } },
    { name: 'padded id', config: 'globalKeys', headers: { 'x-llm-provider': '  volcengine \t' }, route: { provider: 'volcengine', apiKey: ARK_KEY } },
    { name: 'array value: the first one counts', config: 'globalKeys', headers: { 'x-llm-provider': ['gemini', 'openai'] }, route: { provider: 'gemini' } },
    { name: 'empty array: as if absent', config: 'globalKeys', headers: { 'x-llm-provider': [] }, route: { provider: 'openai' } },
    { name: 'blank value: as if absent', config: 'globalKeys', headers: { 'x-llm-provider': '   ' }, route: { provider: 'openai' } },
    { name: 'operator-added provider, any case', config: 'extended', headers: { 'x-llm-provider': 'MoonShot' }, route: { provider: 'moonshot', apiKey: DEEPSEEK_KEY } },
    { name: 'unknown id', config: 'globalKeys', headers: { 'x-llm-provider': 'mistral' }, error: { code: 'unknown_provider', message: /"mistral"/ } },
    { name: 'unknown id, even with a caller key', config: 'globalBare', headers: { 'x-llm-provider': 'mistral', 'x-llm-api-key': CALLER_KEY }, error: { code: 'unknown_provider' } },
    { name: 'built-in id switched off', config: 'onlyDeepseek', headers: { 'x-llm-provider': 'openai' }, error: { code: 'unknown_provider', message: /moonshot/ } },
  ]);

  it('lists the valid ids in the unknown_provider error', () => {
    const error = caught(() => resolveRoute(configs.extended, { headers: { 'x-llm-provider': 'nope' } }));
    expect(error.details).toEqual({ providers: [...ALL_BUILTIN, 'moonshot', 'local'] });
    for (const id of [...ALL_BUILTIN, 'moonshot', 'local']) {
      expect(error.message).toContain(id);
      expect(error.hint).toContain(id);
    }
  });

  it('does not echo a huge X-LLM-Provider back', () => {
    const huge = 'x'.repeat(100_000);
    const error = caught(() => resolveRoute(configs.globalKeys, { headers: { 'x-llm-provider': huge } }));
    expect(error.code).toBe('unknown_provider');
    const serialized = JSON.stringify({ message: error.message, hint: error.hint, details: error.details, json: error });
    expect(serialized.length).toBeLessThan(1_000);
    expect(serialized).not.toContain('x'.repeat(65));
  });
});

describe('resolveRoute: provider/model in the model (SPEC §2)', () => {
  run([
    {
      name: 'used when no header is sent: tier',
      config: 'globalKeys',
      requested: 'dashscope/kimi',
      route: { provider: 'dashscope', requested: 'kimi', name: 'kimi', kind: 'tier', tier: 'kimi', candidates: ['kimi-k2.6'], apiKey: DASHSCOPE_KEY },
    },
    {
      name: 'used when no header is sent: raw model id',
      config: 'globalKeys',
      requested: 'gemini/gemini-2.5-pro',
      route: { provider: 'gemini', requested: 'gemini-2.5-pro', kind: 'model', name: undefined, tier: undefined, candidates: ['gemini-2.5-pro'] },
    },
    { name: 'prefix is case-insensitive', config: 'globalKeys', requested: 'OpenAI/expert', route: { provider: 'openai', kind: 'tier', candidates: ['gpt-5-pro', 'o3-pro'] } },
    { name: 'alias after the prefix', config: 'cnKeys', requested: 'volcengine/豆包', route: { provider: 'volcengine', kind: 'alias', tier: 'general', candidates: ['doubao-seed-2-0-lite-260428'] } },
    { name: 'only the first slash splits', config: 'globalKeys', requested: 'dashscope/qwen/qwen3-max', route: { provider: 'dashscope', kind: 'model', candidates: ['qwen/qwen3-max'] } },
    { name: 'operator-added provider prefix', config: 'extended', requested: 'moonshot/R1', route: { provider: 'moonshot', kind: 'alias', tier: 'expert', candidates: ['deepseek-reasoner'] } },
    {
      name: 'ignored when the header is sent: the whole string is the model id',
      config: 'globalKeys',
      headers: { 'x-llm-provider': 'gemini' },
      requested: 'openai/gpt-4o',
      route: { provider: 'gemini', requested: 'openai/gpt-4o', kind: 'model', candidates: ['openai/gpt-4o'], apiKey: GEMINI_KEY },
    },
    {
      name: 'ignored when the header names the same provider',
      config: 'globalKeys',
      headers: { 'x-llm-provider': 'openai' },
      requested: 'openai/general',
      route: { provider: 'openai', kind: 'model', candidates: ['openai/general'] },
    },
    {
      name: 'unknown prefix: the string is a raw model id for the default provider',
      config: 'globalKeys',
      requested: 'meta-llama/Llama-3.3-70B-Instruct',
      route: { provider: 'openai', requested: 'meta-llama/Llama-3.3-70B-Instruct', kind: 'model', candidates: ['meta-llama/Llama-3.3-70B-Instruct'] },
    },
    { name: 'leading slash is no prefix', config: 'globalKeys', requested: '/gpt-5', route: { provider: 'openai', kind: 'model', candidates: ['/gpt-5'] } },
    { name: 'unknown prefix with a header', config: 'globalKeys', headers: { 'x-llm-provider': 'dashscope' }, requested: 'qwen/qwen3-max', route: { provider: 'dashscope', candidates: ['qwen/qwen3-max'] } },
  ]);
});

describe('resolveRoute: tiers, aliases and raw model ids (SPEC §3)', () => {
  const openai = (requested: string, candidates: string[], extra: Partial<RouteShape> = {}): Case => ({
    name: `openai ${requested}`,
    config: 'globalKeys',
    requested,
    route: { provider: 'openai', kind: 'tier', candidates, ...extra },
  });
  run([
    openai('general', ['gpt-5', 'gpt-5-mini'], { name: 'general', tier: 'general', requested: 'general' }),
    openai('expert', ['gpt-5-pro', 'o3-pro'], { tier: 'expert' }),
    openai('vision', ['gpt-4o', 'gpt-4o-mini']),
    openai('reasoning', ['o3', 'o4-mini']),
    openai('embedding', ['text-embedding-3-large', 'text-embedding-3-small']),
    openai('GENERAL', ['gpt-5', 'gpt-5-mini'], { name: 'general', tier: 'general', requested: 'GENERAL' }),
    openai('  Expert  ', ['gpt-5-pro', 'o3-pro'], { requested: 'Expert' }),
    ...(
      [
        ['general', ['gemini-3.5-flash', 'gemini-2.5-flash']],
        ['expert', ['gemini-3.1-pro', 'gemini-2.5-pro']],
        ['embedding', ['gemini-embedding-001']],
      ] as const
    ).map(([requested, candidates]): Case => ({
      name: `gemini ${requested}`,
      config: 'globalKeys',
      headers: { 'x-llm-provider': 'gemini' },
      requested,
      route: { provider: 'gemini', kind: 'tier', tier: requested, candidates },
    })),
    ...(
      [
        ['general', 'tier', 'general', ['deepseek-v4-flash']],
        ['DeepSeekFlash', 'alias', 'general', ['deepseek-v4-flash']],
        ['deepseekflash', 'alias', 'general', ['deepseek-v4-flash']],
        ['expert', 'tier', 'expert', ['deepseek-v4-pro']],
        ['DeepSeekPro', 'alias', 'expert', ['deepseek-v4-pro']],
        ['DEEPSEEKPRO', 'alias', 'expert', ['deepseek-v4-pro']],
        ['kimi', 'tier', 'kimi', ['kimi-k2.6']],
        ['minimax', 'tier', 'minimax', ['MiniMax-M2.7']],
        ['embedding', 'tier', 'embedding', ['text-embedding-v4']],
      ] as const
    ).map(([requested, kind, tier, candidates]): Case => ({
      name: `dashscope ${requested}`,
      config: 'cnKeys',
      headers: { 'x-llm-provider': 'dashscope' },
      requested,
      route: { provider: 'dashscope', kind, tier, candidates },
    })),
    {
      name: 'dashscope alias keeps its configured spelling as the name',
      config: 'cnKeys',
      requested: 'deepseekFLASH',
      route: { provider: 'dashscope', name: 'DeepSeekFlash', requested: 'deepseekFLASH', kind: 'alias' },
    },
    { name: 'volcengine general', config: 'cnKeys', headers: { 'x-llm-provider': 'volcengine' }, requested: 'general', route: { provider: 'volcengine', kind: 'tier', candidates: ['doubao-seed-2-0-lite-260428'] } },
    {
      name: 'volcengine 豆包',
      config: 'cnKeys',
      headers: { 'x-llm-provider': 'volcengine' },
      requested: '豆包',
      route: { provider: 'volcengine', name: '豆包', kind: 'alias', tier: 'general', candidates: ['doubao-seed-2-0-lite-260428'] },
    },
    { name: 'aliases belong to their provider: DeepSeekFlash on openai is a raw id', config: 'globalKeys', requested: 'DeepSeekFlash', route: { provider: 'openai', kind: 'model', candidates: ['DeepSeekFlash'] } },
    { name: '豆包 on dashscope is a raw id', config: 'cnKeys', requested: '豆包', route: { provider: 'dashscope', kind: 'model', candidates: ['豆包'] } },
    { name: 'a tier the provider lacks is a raw id', config: 'cnKeys', headers: { 'x-llm-provider': 'volcengine' }, requested: 'expert', route: { provider: 'volcengine', kind: 'model', candidates: ['expert'] } },
    {
      name: 'raw model id passes through',
      config: 'globalKeys',
      requested: 'gpt-4o-2024-08-06',
      route: { provider: 'openai', requested: 'gpt-4o-2024-08-06', name: undefined, kind: 'model', tier: undefined, candidates: ['gpt-4o-2024-08-06'] },
    },
    { name: 'raw model id keeps its case', config: 'globalKeys', requested: 'GPT-5', route: { kind: 'model', candidates: ['GPT-5'] } },
    { name: 'raw model id is trimmed', config: 'globalKeys', requested: ' o3 ', route: { kind: 'model', candidates: ['o3'], requested: 'o3' } },
    { name: 'a model id that is a candidate is still a raw id', config: 'globalKeys', requested: 'gpt-5-mini', route: { kind: 'model', candidates: ['gpt-5-mini'] } },
    { name: 'a name from Object.prototype is a raw id', config: 'globalKeys', requested: 'constructor', route: { kind: 'model', candidates: ['constructor'] } },
  ]);
});

describe('resolveRoute: the model field must be a string', () => {
  run([
    ...([42, true, {}, ['general'], { tier: 'general' }] as unknown[]).map(
      (requested): Case => ({ name: `rejects ${JSON.stringify(requested)}`, config: 'globalKeys', requested, error: { code: 'invalid_request' } }),
    ),
    { name: 'null means none', config: 'globalKeys', requested: null, route: { requested: undefined, candidates: ['gpt-5', 'gpt-5-mini'] } },
    { name: 'empty string means none', config: 'globalKeys', requested: '', route: { requested: undefined, tier: 'general' } },
    { name: 'blank string means none', config: 'globalKeys', requested: ' \n ', route: { requested: undefined, tier: 'general' } },
  ]);

  it('names the parameter', () => {
    expect(caught(() => resolveRoute(configs.globalKeys, { headers: {}, requested: 7 })).param).toBe('model');
  });
});

describe('resolveRoute: default tier', () => {
  run([
    { name: 'general when nothing is asked for', config: 'globalKeys', route: { requested: undefined, name: 'general', kind: 'tier', tier: 'general', candidates: ['gpt-5', 'gpt-5-mini'] } },
    { name: 'defaultTier embedding', config: 'globalKeys', options: { defaultTier: 'embedding' }, route: { tier: 'embedding', candidates: ['text-embedding-3-large', 'text-embedding-3-small'] } },
    { name: 'defaultTier embedding on dashscope', config: 'cnKeys', options: { defaultTier: 'embedding' }, route: { provider: 'dashscope', candidates: ['text-embedding-v4'] } },
    { name: 'defaultTier does not override what was asked for', config: 'globalKeys', requested: 'gpt-4o', options: { defaultTier: 'embedding' }, route: { kind: 'model', candidates: ['gpt-4o'] } },
    { name: 'defaultTier after a provider/ prefix with nothing behind it', config: 'globalKeys', requested: 'gemini/', options: { defaultTier: 'embedding' }, route: { provider: 'gemini', candidates: ['gemini-embedding-001'] } },
    {
      name: 'a provider without the default tier',
      config: 'cnKeys',
      headers: { 'x-llm-provider': 'volcengine' },
      options: { defaultTier: 'embedding' },
      error: { code: 'model_not_found', status: 404, provider: 'volcengine' },
    },
  ]);
});

describe('resolveRoute: default provider per cluster (SPEC §3)', () => {
  run([
    { name: 'global: openai, operator key', config: 'globalKeys', route: { provider: 'openai', cluster: 'global', keySource: 'operator', apiKey: OPENAI_KEY } },
    { name: 'global: openai, caller key', config: 'globalBare', headers: { 'x-llm-api-key': CALLER_KEY }, route: { provider: 'openai', keySource: 'caller', apiKey: CALLER_KEY } },
    { name: 'global: the default is openai even when only gemini has a key', config: 'globalGeminiKey', error: { code: 'missing_api_key', provider: 'openai' } },
    { name: 'global: no key at all', config: 'globalBare', error: { code: 'missing_api_key', provider: 'openai' } },
    { name: 'cn: dashscope first', config: 'cnKeys', route: { provider: 'dashscope', cluster: 'cn', apiKey: DASHSCOPE_KEY } },
    { name: 'cn: volcengine when only volcengine has an operator key', config: 'cnArkOnly', route: { provider: 'volcengine', keySource: 'operator', apiKey: ARK_KEY, candidates: ['doubao-seed-2-0-lite-260428'] } },
    { name: 'cn: a caller key goes to the first default, dashscope', config: 'cnArkOnly', headers: { 'x-llm-api-key': CALLER_KEY }, route: { provider: 'dashscope', keySource: 'caller', apiKey: CALLER_KEY } },
    { name: 'cn: caller key, no operator key', config: 'cnBare', headers: { 'x-llm-api-key': CALLER_KEY }, route: { provider: 'dashscope', keySource: 'caller' } },
    { name: 'cn: no key at all', config: 'cnBare', error: { code: 'missing_api_key', provider: 'dashscope' } },
    { name: 'cn: an alias of the fallback default', config: 'cnArkOnly', requested: '豆包', route: { provider: 'volcengine', kind: 'alias' } },
    { name: 'operator-chosen default provider', config: 'onlyDeepseek', route: { provider: 'moonshot', candidates: ['deepseek-chat'], apiKey: DEEPSEEK_KEY } },
  ]);
});

describe('resolveRoute: keys (SPEC §2)', () => {
  run([
    { name: 'caller key beats the operator key', config: 'globalKeys', headers: callerOpenai, route: { apiKey: CALLER_KEY, keySource: 'caller' } },
    { name: 'operator key when the caller sends none', config: 'globalKeys', headers: { 'x-llm-provider': 'openai' }, route: { apiKey: OPENAI_KEY, keySource: 'operator' } },
    { name: 'the operator key of the named provider, not of the default', config: 'globalKeys', headers: { 'x-llm-provider': 'volcengine' }, route: { apiKey: ARK_KEY } },
    { name: 'no key for the named provider', config: 'globalGeminiKey', headers: { 'x-llm-provider': 'dashscope' }, error: { code: 'missing_api_key', provider: 'dashscope' } },
    { name: 'padded caller key is trimmed', config: 'globalBare', headers: { 'x-llm-api-key': `  ${CALLER_KEY}\t` }, route: { apiKey: CALLER_KEY, keySource: 'caller' } },
    { name: 'array caller key: the first one counts', config: 'globalBare', headers: { 'x-llm-api-key': [CALLER_KEY, 'sk-second'] }, route: { apiKey: CALLER_KEY } },
    { name: 'blank caller key falls back to the operator key', config: 'globalKeys', headers: { 'x-llm-api-key': '  ' }, route: { apiKey: OPENAI_KEY, keySource: 'operator' } },
    { name: 'blank caller key and no operator key', config: 'globalBare', headers: { 'x-llm-api-key': '' }, error: { code: 'missing_api_key' } },
    { name: "auth 'none' needs no key", config: 'extended', headers: { 'x-llm-provider': 'local' }, route: { provider: 'local', apiKey: undefined, keySource: 'none', candidates: ['llama3.2'] } },
    { name: "auth 'none' still takes a caller key", config: 'extended', headers: { 'x-llm-provider': 'local', 'x-llm-api-key': CALLER_KEY }, route: { apiKey: CALLER_KEY, keySource: 'caller' } },
    { name: 'Authorization is never read as an LLM key', config: 'globalBare', headers: { authorization: `Bearer ${CALLER_KEY}` }, error: { code: 'missing_api_key' } },
  ]);

  it('says how to fix a missing key', () => {
    const error = caught(() => resolveRoute(configs.globalBare, { headers: {} }));
    expect(error.hint).toMatch(/X-LLM-Api-Key/);
    expect(error.message).toContain('openai');
  });
});

describe('resolveRoute: base URLs (SPEC §2, §3)', () => {
  run([
    { name: 'openai default', config: 'globalKeys', route: { baseUrl: 'https://api.openai.com/v1', baseUrlSource: 'provider' } },
    { name: 'gemini default', config: 'globalKeys', headers: { 'x-llm-provider': 'gemini' }, route: { baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai' } },
    { name: 'dashscope on global: the international endpoint', config: 'globalKeys', headers: { 'x-llm-provider': 'dashscope' }, route: { baseUrl: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1' } },
    { name: 'dashscope on cn: the China endpoint', config: 'cnKeys', headers: { 'x-llm-provider': 'dashscope' }, route: { baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1' } },
    { name: 'volcengine base URL', config: 'cnKeys', headers: { 'x-llm-provider': 'volcengine' }, route: { baseUrl: 'https://ark.cn-beijing.volces.com/api/v3' } },
    { name: 'operator-added provider base URL', config: 'extended', headers: { 'x-llm-provider': 'moonshot' }, route: { baseUrl: 'https://api.deepseek.com/v1', baseUrlSource: 'provider' } },
    {
      name: 'X-LLM-Base-Url with a caller key',
      config: 'globalKeys',
      headers: { ...callerOpenai, 'x-llm-base-url': RELAY },
      route: { baseUrl: RELAY, baseUrlSource: 'caller', apiKey: CALLER_KEY, keySource: 'caller' },
    },
    { name: 'padded X-LLM-Base-Url', config: 'globalBare', headers: { 'x-llm-api-key': CALLER_KEY, 'x-llm-base-url': ` ${RELAY}  ` }, route: { baseUrl: RELAY, baseUrlSource: 'caller' } },
    { name: 'array X-LLM-Base-Url: the first one counts', config: 'globalBare', headers: { 'x-llm-api-key': CALLER_KEY, 'x-llm-base-url': [RELAY, 'https://other.example.com'] }, route: { baseUrl: RELAY } },
    { name: 'blank X-LLM-Base-Url is ignored', config: 'globalKeys', headers: { 'x-llm-base-url': '  ' }, route: { baseUrlSource: 'provider', keySource: 'operator' } },
    {
      name: 'X-LLM-Base-Url for a keyless provider with a caller key',
      config: 'extended',
      headers: { 'x-llm-provider': 'local', 'x-llm-api-key': CALLER_KEY, 'x-llm-base-url': RELAY },
      route: { baseUrl: RELAY, baseUrlSource: 'caller', keySource: 'caller' },
    },
    { name: 'X-LLM-Base-Url without a caller key, operator key configured', config: 'globalKeys', headers: { 'x-llm-base-url': RELAY }, error: { code: 'missing_api_key', provider: 'openai' } },
    { name: 'X-LLM-Base-Url without any key', config: 'globalBare', headers: { 'x-llm-base-url': RELAY }, error: { code: 'missing_api_key' } },
    { name: "X-LLM-Base-Url without a caller key, auth 'none'", config: 'extended', headers: { 'x-llm-provider': 'local', 'x-llm-base-url': RELAY }, error: { code: 'missing_api_key' } },
    { name: 'allowCallerBaseUrl false, caller key', config: 'noCallerBaseUrl', headers: { ...callerOpenai, 'x-llm-base-url': RELAY }, error: { code: 'base_url_forbidden' } },
    { name: 'allowCallerBaseUrl false, operator key', config: 'noCallerBaseUrl', headers: { 'x-llm-base-url': RELAY }, error: { code: 'base_url_forbidden' } },
    { name: 'allowCallerBaseUrl false, no header: fine', config: 'noCallerBaseUrl', headers: callerOpenai, route: { baseUrlSource: 'provider', apiKey: CALLER_KEY } },
  ]);

  it('never puts the operator key in an error about X-LLM-Base-Url', () => {
    const error = caught(() => resolveRoute(configs.globalKeys, { headers: { 'x-llm-provider': 'openai', 'x-llm-base-url': RELAY } }));
    expect(error.hint).toMatch(/X-LLM-Api-Key/);
    const serialized = JSON.stringify({ message: error.message, hint: error.hint, details: error.details, cause: String(error.cause), json: error });
    expect(serialized).not.toContain(OPENAI_KEY);
  });

  it('never lets the operator key travel with a caller-chosen base URL, anywhere in the route', () => {
    for (const [name, config] of Object.entries(configs)) {
      for (const id of config.providers.keys()) {
        const headers = { 'x-llm-provider': id, 'x-llm-api-key': CALLER_KEY, 'x-llm-base-url': RELAY };
        if (!config.allowCallerBaseUrl) continue;
        const route = resolveRoute(config, { headers, requested: 'general' });
        expect(route.baseUrlSource, `${name}/${id}`).toBe('caller');
        expect(route.apiKey).toBe(CALLER_KEY);
        const operatorKey = config.providers.get(id)?.apiKey;
        if (operatorKey) expect(JSON.stringify(route, (_key, value: unknown) => (value instanceof Map ? [...value] : value)), `${name}/${id}`).not.toContain(operatorKey);
      }
    }
  });

  it('keeps the configured provider intact when a route drops its key', () => {
    resolveRoute(configs.globalKeys, { headers: { ...callerOpenai, 'x-llm-base-url': RELAY } });
    expect(configs.globalKeys.providers.get('openai')?.apiKey).toBe(OPENAI_KEY);
    expect(resolveRoute(configs.globalKeys, { headers: { 'x-llm-provider': 'openai' } }).apiKey).toBe(OPENAI_KEY);
  });
});

describe('resolveRoute: query credentials (upgrade requests only, opt-in)', () => {
  const query = `llm_provider=gemini&llm_api_key=${CALLER_KEY}&llm_base_url=${encodeURIComponent(RELAY)}`;
  run([
    {
      name: 'honoured when enabled on an upgrade request',
      config: 'queryOn',
      headers: { upgrade: 'websocket', connection: 'Upgrade' },
      query,
      route: { provider: 'gemini', apiKey: CALLER_KEY, keySource: 'caller', baseUrl: RELAY, baseUrlSource: 'caller' },
    },
    { name: 'provider id in the query is case-insensitive', config: 'queryOn', headers: { upgrade: 'websocket' }, query: `llm_provider=GEMINI&llm_api_key=${CALLER_KEY}`, route: { provider: 'gemini' } },
    { name: 'padded query values are trimmed', config: 'queryOn', headers: { upgrade: 'websocket' }, query: `llm_provider=%20gemini%20&llm_api_key=%20${CALLER_KEY}%20`, route: { provider: 'gemini', apiKey: CALLER_KEY } },
    { name: 'ignored without the upgrade header', config: 'queryOn', query, route: { provider: 'openai', apiKey: OPENAI_KEY, keySource: 'operator', baseUrlSource: 'provider' } },
    { name: 'ignored with a blank upgrade header', config: 'queryOn', headers: { upgrade: ' ' }, query, route: { provider: 'openai', keySource: 'operator', baseUrlSource: 'provider' } },
    { name: 'ignored when switched off, even on an upgrade request', config: 'queryOff', headers: { upgrade: 'websocket' }, query, route: { provider: 'openai', keySource: 'operator', baseUrlSource: 'provider' } },
    {
      name: 'headers win over the query',
      config: 'queryOn',
      headers: { upgrade: 'websocket', 'x-llm-provider': 'openai', 'x-llm-api-key': 'sk-from-header' },
      query,
      route: { provider: 'openai', apiKey: 'sk-from-header', baseUrl: RELAY },
    },
    { name: 'empty query values are absent', config: 'queryOn', headers: { upgrade: 'websocket' }, query: 'llm_provider=&llm_api_key=', route: { provider: 'openai', keySource: 'operator' } },
    { name: 'unknown provider in the query', config: 'queryOn', headers: { upgrade: 'websocket' }, query: 'llm_provider=nope', error: { code: 'unknown_provider' } },
    { name: 'a query base URL without a caller key', config: 'queryOn', headers: { upgrade: 'websocket' }, query: `llm_base_url=${encodeURIComponent(RELAY)}`, error: { code: 'missing_api_key' } },
  ]);
});

describe('resolveRoute: operator-added providers and tier overrides', () => {
  run([
    { name: 'own tier', config: 'extended', headers: { 'x-llm-provider': 'moonshot' }, requested: 'expert', route: { provider: 'moonshot', kind: 'tier', candidates: ['deepseek-reasoner'] } },
    { name: 'own default tier', config: 'extended', headers: { 'x-llm-provider': 'moonshot' }, route: { tier: 'general', candidates: ['deepseek-chat'] } },
    { name: 'alias to a tier, any case', config: 'extended', headers: { 'x-llm-provider': 'moonshot' }, requested: 'r1', route: { name: 'R1', kind: 'alias', tier: 'expert', candidates: ['deepseek-reasoner'] } },
    { name: 'alias to a model id', config: 'extended', headers: { 'x-llm-provider': 'moonshot' }, requested: 'V3', route: { kind: 'alias', tier: undefined, candidates: ['deepseek-chat'] } },
    { name: 'built-in aliases do not leak into it', config: 'extended', headers: { 'x-llm-provider': 'moonshot' }, requested: 'DeepSeekFlash', route: { kind: 'model', candidates: ['DeepSeekFlash'] } },
    { name: 'an operator tier replaces the default tier', config: 'extended', requested: 'general', route: { provider: 'openai', candidates: ['gpt-4.1', 'gpt-4.1-mini'] } },
    { name: 'other default tiers stay', config: 'extended', requested: 'expert', route: { provider: 'openai', candidates: ['gpt-5-pro', 'o3-pro'] } },
    { name: 'aliases follow an overridden tier', config: 'extended', headers: { 'x-llm-provider': 'dashscope' }, requested: 'DeepSeekFlash', route: { kind: 'alias', tier: 'general', candidates: ['qwen-plus'] } },
    { name: 'other providers keep their defaults', config: 'extended', headers: { 'x-llm-provider': 'gemini', 'x-llm-api-key': CALLER_KEY }, route: { candidates: ['gemini-3.5-flash', 'gemini-2.5-flash'] } },
  ]);
});

describe('resolveRoute: cost', () => {
  // Resolution runs on every request, so it must stay a few map lookups; that cost is measured in bench/,
  // never asserted here (benchmarks never gate tests).
  it.skip('is cheap enough for every request (see bench/)', () => {});
});
