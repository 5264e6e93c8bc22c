import { describe, expect, it } from 'vitest';
import { hasOperatorKey, optionsFromEnv, resolveConfig, SwitchyardConfigError, type SwitchyardOptions } from './config.js';
import { resolveRoute } from './router/resolve.js';

const RELAY = 'https://egress.example.com/v1';

function issuesOf(options: unknown): string[] {
  try {
    resolveConfig(options as SwitchyardOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(SwitchyardConfigError);
    return (error as SwitchyardConfigError).issues;
  }
  throw new Error('expected a SwitchyardConfigError');
}

describe('resolveConfig: defaults (SPEC §3)', () => {
  it('starts from the six built-in providers on the global cluster', () => {
    const config = resolveConfig();
    expect(config.cluster).toBe('global');
    expect([...config.providers.keys()]).toEqual(['openai', 'anthropic', 'gemini', 'deepseek', 'dashscope', 'volcengine']);
    expect(config.defaultProviders).toEqual(['openai']);
    expect(config.allowCallerBaseUrl).toBe(true);
    expect(config.queryCredentials).toBe(false);
    expect(config.failover).toEqual([]);
    expect(config.appTokens).toBeUndefined();
    expect(hasOperatorKey(config)).toBe(false);
  });

  it.for([
    { cluster: 'global', defaults: ['openai'], reachable: ['openai', 'anthropic', 'gemini', 'deepseek', 'dashscope'] },
    { cluster: 'cn', defaults: ['dashscope', 'volcengine'], reachable: ['deepseek', 'dashscope', 'volcengine'] },
  ] as const)('cluster $cluster: default providers and reachability by policy', ({ cluster, defaults, reachable }) => {
    const config = resolveConfig({ cluster });
    expect(config.defaultProviders).toEqual(defaults);
    const reachableIds = [...config.providers.values()].filter((p) => p.reachableByPolicy).map((p) => p.id);
    expect(reachableIds).toEqual(reachable);
  });

  it.for([
    { cluster: 'global', id: 'openai', baseUrl: 'https://api.openai.com/v1' },
    { cluster: 'global', id: 'gemini', baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai' },
    { cluster: 'global', id: 'dashscope', baseUrl: 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1' },
    { cluster: 'cn', id: 'dashscope', baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1' },
    { cluster: 'cn', id: 'volcengine', baseUrl: 'https://ark.cn-beijing.volces.com/api/v3' },
  ] as const)('$id on $cluster: $baseUrl', ({ cluster, id, baseUrl }) => {
    expect(resolveConfig({ cluster }).providers.get(id)?.baseUrl).toBe(baseUrl);
  });

  it('labels providers, and falls back to the id', () => {
    const config = resolveConfig({ providers: { relay: { baseUrl: RELAY, clusters: ['global'] } } });
    expect(config.providers.get('volcengine')?.label).toBe('Volcengine Ark');
    expect(config.providers.get('relay')?.label).toBe('relay');
  });

  it('makes a provider reachable from a cluster where the operator configured an egress base URL', () => {
    const config = resolveConfig({ cluster: 'cn', providers: { openai: { clusterBaseUrls: { cn: RELAY } } } });
    expect(config.providers.get('openai')).toMatchObject({ baseUrl: RELAY, reachableByPolicy: true });
    expect(config.providers.get('gemini')?.reachableByPolicy).toBe(false);
  });

  it('does not count a base URL for another cluster as egress', () => {
    const config = resolveConfig({ cluster: 'cn', providers: { openai: { clusterBaseUrls: { global: RELAY } } } });
    expect(config.providers.get('openai')).toMatchObject({ baseUrl: 'https://api.openai.com/v1', reachableByPolicy: false });
  });

  it('can drop the built-in providers', () => {
    const config = resolveConfig({ builtinProviders: false, providers: { relay: { baseUrl: RELAY, clusters: ['cn'] } }, cluster: 'cn' });
    expect([...config.providers.keys()]).toEqual(['relay']);
    // No configured default exists, so the first provider is the default.
    expect(config.defaultProviders).toEqual(['relay']);
  });

  it('keeps only existing providers in the default order', () => {
    const config = resolveConfig({ builtinProviders: false, providers: { volcengine: { baseUrl: RELAY, clusters: ['cn'] } }, cluster: 'cn' });
    expect(config.defaultProviders).toEqual(['volcengine']);
  });

  it('merges prices onto the defaults', () => {
    const config = resolveConfig({ prices: { 'deepseek-chat': { input: 0.27, output: 1.1 }, 'gpt-5': { input: 1, output: 8 } } });
    expect(config.prices['deepseek-chat']).toEqual({ input: 0.27, output: 1.1 });
    expect(config.prices['gpt-5']).toEqual({ input: 1, output: 8 });
    expect(config.prices['gpt-5-mini']).toEqual({ input: 0.25, output: 2 });
  });
});

describe('resolveConfig: wrong options', () => {
  it('throws one SwitchyardConfigError listing every problem', () => {
    let thrown: unknown;
    try {
      resolveConfig({
        cluster: 'mars' as 'cn',
        providers: {
          nobase: { clusters: ['global'] },
          badurl: { baseUrl: 'not a url', clusters: ['global'] },
        },
        failover: ['nope'],
        heartbeatMs: -5,
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SwitchyardConfigError);
    const error = thrown as SwitchyardConfigError;
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('SwitchyardConfigError');
    expect(error.issues).toHaveLength(5);
    const expected = [/^cluster: /, /^heartbeatMs: /, /^providers\.nobase\.baseUrl: /, /^providers\.badurl\.baseUrl: /, /^failover: unknown provider "nope"$/];
    for (const pattern of expected) {
      expect(error.issues.some((issue) => pattern.test(issue)), `${pattern} in ${error.issues.join(' | ')}`).toBe(true);
    }
    for (const issue of error.issues) expect(error.message).toContain(issue);
  });

  it.for([
    { name: 'unknown cluster', options: { cluster: 'eu' }, issue: /^cluster: / },
    { name: 'non-object options', options: 'global', issue: /^\(root\): / },
    { name: 'provider without baseUrl', options: { providers: { moonshot: { clusters: ['global'] } } }, issue: /^providers\.moonshot\.baseUrl: / },
    { name: 'provider without clusters', options: { providers: { moonshot: { baseUrl: RELAY } } }, issue: /^providers\.moonshot\.clusters: / },
    { name: 'non-URL baseUrl', options: { providers: { openai: { baseUrl: 'api.openai.com' } } }, issue: /^providers\.openai\.baseUrl: / },
    { name: 'non-http baseUrl', options: { providers: { openai: { baseUrl: 'ftp://api.openai.com/v1' } } }, issue: /^providers\.openai\.baseUrl: / },
    { name: 'non-URL cluster base URL', options: { providers: { openai: { clusterBaseUrls: { cn: 'relay' } } } }, issue: /^providers\.openai\.clusterBaseUrls\.cn: / },
    { name: 'empty operator key', options: { providers: { openai: { apiKey: '' } } }, issue: /^providers\.openai\.apiKey: / },
    { name: 'unknown auth', options: { providers: { openai: { auth: 'basic' } } }, issue: /^providers\.openai\.auth: / },
    { name: 'tier without candidates', options: { providers: { openai: { tiers: { general: [] } } } }, issue: /^providers\.openai\.tiers\.general: / },
    { name: 'upper-case provider id', options: { providers: { DeepSeek: { baseUrl: RELAY, clusters: ['global'] } } }, issue: /^providers/ },
    { name: 'unknown failover id', options: { failover: ['dashscope', 'nope'] }, issue: /^failover: unknown provider "nope"$/ },
    { name: 'unknown default provider', options: { defaultProviders: ['nope'] }, issue: /^defaultProviders: unknown provider "nope"$/ },
    { name: 'empty default providers', options: { defaultProviders: [] }, issue: /^defaultProviders: / },
    { name: 'empty app token', options: { appTokens: [''] }, issue: /^appTokens\.0: / },
    { name: 'agent with an empty tier', options: { agents: { App: { tier: '' } } }, issue: /^agents\.App\.tier: / },
    { name: 'zero timeout', options: { timeouts: { idleMs: 0 } }, issue: /^timeouts\.idleMs: / },
    { name: 'path without a slash', options: { paths: { chat: 'api/chat' } }, issue: /^paths\.chat: / },
    { name: 'no provider at all', options: { builtinProviders: false }, issue: /^providers: at least one provider is needed$/ },
  ])('$name', ({ options, issue }) => {
    const issues = issuesOf(options);
    expect(issues, issues.join(' | ')).toHaveLength(1);
    expect(issues[0]).toMatch(issue);
  });

  it('does not blame providers that are fine when the top level is wrong', () => {
    const issues = issuesOf({ cluster: 'mars', providers: { deepseek: { baseUrl: RELAY, clusters: ['global'] } }, failover: ['deepseek'] });
    expect(issues).toEqual([expect.stringMatching(/^cluster: /)]);
  });
});

describe('optionsFromEnv (SPEC §8)', () => {
  it('gives the defaults for an empty environment', () => {
    const options = optionsFromEnv({});
    expect(options).toEqual({ cluster: 'global', providers: {} });
    const config = resolveConfig(options);
    expect(config.cluster).toBe('global');
    expect(hasOperatorKey(config)).toBe(false);
  });

  it.for([
    { LLM_CLUSTER: 'cn', cluster: 'cn' },
    { LLM_CLUSTER: 'global', cluster: 'global' },
    { LLM_CLUSTER: ' cn ', cluster: 'cn' },
    { LLM_CLUSTER: '', cluster: 'global' },
  ])('LLM_CLUSTER=$LLM_CLUSTER → $cluster', ({ LLM_CLUSTER, cluster }) => {
    expect(resolveConfig(optionsFromEnv({ LLM_CLUSTER })).cluster).toBe(cluster);
  });

  it('rejects an unknown LLM_CLUSTER at start-up', () => {
    expect(issuesOf(optionsFromEnv({ LLM_CLUSTER: 'mars' }))).toEqual([expect.stringMatching(/^cluster: /)]);
  });

  it.for([
    { variable: 'OPENAI_API_KEY', id: 'openai' },
    { variable: 'GEMINI_API_KEY', id: 'gemini' },
    { variable: 'DASHSCOPE_API_KEY', id: 'dashscope' },
    { variable: 'ARK_API_KEY', id: 'volcengine' },
  ])('$variable is the operator key of $id', ({ variable, id }) => {
    const config = resolveConfig(optionsFromEnv({ [variable]: ' sk-env-key \n' }));
    expect(config.providers.get(id)?.apiKey).toBe('sk-env-key');
    for (const other of config.providers.values()) if (other.id !== id) expect(other.apiKey).toBeUndefined();
    expect(hasOperatorKey(config)).toBe(true);
  });

  it('ignores empty keys', () => {
    const config = resolveConfig(optionsFromEnv({ OPENAI_API_KEY: '', ARK_API_KEY: '   ' }));
    expect(hasOperatorKey(config)).toBe(false);
  });

  it.for([
    { variable: 'OPENAI_BASE_URL', id: 'openai' },
    { variable: 'GEMINI_BASE_URL', id: 'gemini' },
    { variable: 'DASHSCOPE_BASE_URL', id: 'dashscope' },
    { variable: 'ARK_BASE_URL', id: 'volcengine' },
  ])('$variable is the base URL of $id on either cluster', ({ variable, id }) => {
    for (const cluster of ['global', 'cn']) {
      const config = resolveConfig(optionsFromEnv({ LLM_CLUSTER: cluster, [variable]: RELAY }));
      expect(config.providers.get(id), cluster).toMatchObject({ baseUrl: RELAY, reachableByPolicy: true });
    }
  });

  it('an operator base URL on cn makes openai reachable by policy, and routes the operator key there', () => {
    const config = resolveConfig(optionsFromEnv({ LLM_CLUSTER: 'cn', OPENAI_API_KEY: 'sk-env-openai', OPENAI_BASE_URL: RELAY }));
    expect(config.providers.get('openai')?.reachableByPolicy).toBe(true);
    expect(config.providers.get('gemini')?.reachableByPolicy).toBe(false);
    // The default on cn is still dashscope; openai is reachable when asked for.
    expect(config.defaultProviders).toEqual(['dashscope', 'volcengine']);
    const route = resolveRoute(config, { headers: { 'x-llm-provider': 'openai' } });
    expect(route).toMatchObject({ baseUrl: RELAY, baseUrlSource: 'provider', apiKey: 'sk-env-openai', keySource: 'operator' });
  });

  it('rejects a base URL that is not a URL at start-up', () => {
    expect(issuesOf(optionsFromEnv({ OPENAI_BASE_URL: 'relay.internal' }))).toEqual([expect.stringMatching(/^providers\.openai\.clusterBaseUrls\.global: /)]);
  });

  it('reads the comma-separated lists', () => {
    const options = optionsFromEnv({
      SWITCHYARD_ALLOWED_BASE_URLS: 'https://relay.internal/v1, https://litellm.corp/ ,',
      SWITCHYARD_APP_TOKENS: 'token-a,token-b',
      SWITCHYARD_FAILOVER: 'dashscope , volcengine',
    });
    const config = resolveConfig(options);
    expect(config.allowedBaseUrls).toEqual(['https://relay.internal/v1', 'https://litellm.corp/']);
    expect(config.appTokens).toEqual(['token-a', 'token-b']);
    expect(config.failover).toEqual(['dashscope', 'volcengine']);
  });

  it.for(['SWITCHYARD_ALLOWED_BASE_URLS', 'SWITCHYARD_APP_TOKENS', 'SWITCHYARD_FAILOVER'])('%s empty is unset', (variable) => {
    const config = resolveConfig(optionsFromEnv({ [variable]: ' ' }));
    expect(config.allowedBaseUrls).toEqual([]);
    expect(config.appTokens).toBeUndefined();
    expect(config.failover).toEqual([]);
  });

  it('rejects an unknown SWITCHYARD_FAILOVER id at start-up', () => {
    expect(issuesOf(optionsFromEnv({ SWITCHYARD_FAILOVER: 'dashscope,mistral' }))).toEqual(['failover: unknown provider "mistral"']);
  });

  it('ignores variables that are not its own', () => {
    expect(optionsFromEnv({ PORT: '3000', KOA_PORT: '3001', LOG_LEVEL: 'debug', MISTRAL_API_KEY: 'sk-x' })).toEqual({ cluster: 'global', providers: {} });
  });

  it('reads the Anthropic and DeepSeek keys and relays (SPEC §8)', () => {
    const options = optionsFromEnv({ LLM_CLUSTER: 'cn', ANTHROPIC_API_KEY: 'a-key', DEEPSEEK_API_KEY: 'd-key', DEEPSEEK_BASE_URL: RELAY });
    expect(options.providers).toEqual({ anthropic: { apiKey: 'a-key' }, deepseek: { apiKey: 'd-key', clusterBaseUrls: { cn: RELAY } } });
  });

  it('reads process.env by default', () => {
    expect(optionsFromEnv()).toEqual(optionsFromEnv(process.env));
  });
});
