import type { ResolvedConfig, ResolvedProvider } from '../config.js';
import { checkCallerCredentials } from '../dispatch/base-url-policy.js';
import { SwitchyardError } from '../errors.js';
import type { Route } from './route.js';

/** Lower-case header names, as Node's `IncomingMessage.headers` has them. */
export type HeaderBag = Record<string, string | string[] | undefined>;

/** A framework-neutral view of the parts of a request that routing reads. */
/** What the router reads of a request: its headers, the query of upgrades, and the requested model. */
export interface RequestView {
  /** The request's headers, lower-cased names. */
  headers: HeaderBag;
  /** Query parameters; read for credentials only on upgrade requests, and only when enabled. */
  query?: URLSearchParams | undefined;
  /** The tier, alias, raw model id or `provider/model` the caller asked for. */
  requested?: unknown;
}

/** How to resolve a request that names no model. */
export interface ResolveOptions {
  /** The tier used when the request names none (`general` for chat, `embedding` for embeddings). */
  defaultTier?: string;
}

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined) return undefined;
  const trimmed = first.trim();
  return trimmed === '' ? undefined : trimmed;
}

function credential(view: RequestView, config: ResolvedConfig, headerName: string, queryName: string): string | undefined {
  const fromHeader = header(view.headers, headerName);
  if (fromHeader !== undefined || !config.queryCredentials || !view.query || header(view.headers, 'upgrade') === undefined) return fromHeader;
  const fromQuery = view.query.get(queryName)?.trim();
  return fromQuery === '' ? undefined : fromQuery;
}

function unknownProvider(id: string, config: ResolvedConfig): SwitchyardError {
  const valid = [...config.providers.keys()];
  return new SwitchyardError('unknown_provider', `Unknown provider "${id.slice(0, 64)}". Valid providers: ${valid.join(', ')}.`, {
    hint: `set X-LLM-Provider to one of: ${valid.join(', ')}`,
    details: { providers: valid },
  });
}

function defaultProvider(config: ResolvedConfig, callerKey: boolean): ResolvedProvider {
  const keyed = (provider: ResolvedProvider) => callerKey || provider.apiKey !== undefined || provider.auth === 'none';
  // Prefer a default provider this cluster reaches by policy and that has a key (the caller's, or the operator's).
  for (const id of config.defaultProviders) {
    const provider = config.providers.get(id);
    if (provider?.reachableByPolicy && keyed(provider)) return provider;
  }
  // With no caller key, then the first default provider the operator holds a key for.
  if (!callerKey) {
    for (const id of config.defaultProviders) {
      const provider = config.providers.get(id);
      if (provider && (provider.apiKey || provider.auth === 'none')) return provider;
    }
  }
  return config.providers.get(config.defaultProviders[0] as string) as ResolvedProvider;
}

/**
 * Turns a request into a route (SPEC §2): provider, tier or alias, model candidates, base URL and key.
 * A few map lookups: it runs on every request. Throws `SwitchyardError` for `unknown_provider`,
 * `missing_api_key`, `base_url_forbidden` and `invalid_request`.
 */
export function resolveRoute(config: ResolvedConfig, view: RequestView, options: ResolveOptions = {}): Route {
  const providerHeader = credential(view, config, 'x-llm-provider', 'llm_provider');
  const callerKey = credential(view, config, 'x-llm-api-key', 'llm_api_key');
  const callerBaseUrl = credential(view, config, 'x-llm-base-url', 'llm_base_url');
  // Oversize or malformed X-LLM-* values are refused here, before anything is routed (SPEC §6).
  checkCallerCredentials(callerKey, callerBaseUrl);

  let requested: string | undefined;
  if (view.requested !== undefined && view.requested !== null) {
    if (typeof view.requested !== 'string') {
      throw new SwitchyardError('invalid_request', 'The model must be a string.', { param: 'model', hint: 'send a tier, an alias or a model id as a string' });
    }
    requested = view.requested.trim() || undefined;
  }

  let provider: ResolvedProvider | undefined;
  if (providerHeader !== undefined) {
    provider = config.providers.get(providerHeader.toLowerCase());
    if (!provider) throw unknownProvider(providerHeader, config);
  } else if (requested !== undefined) {
    const slash = requested.indexOf('/');
    if (slash > 0) {
      provider = config.providers.get(requested.slice(0, slash).toLowerCase());
      if (provider) requested = requested.slice(slash + 1) || undefined;
    }
  }
  provider ??= defaultProvider(config, callerKey !== undefined);

  const lookup = requested ?? options.defaultTier ?? 'general';
  const named = provider.names.get(lookup.toLowerCase());
  if (!named && requested === undefined) {
    throw new SwitchyardError('model_not_found', `Provider "${provider.id}" has no "${lookup}" tier.`, {
      hint: `name a model; tiers of ${provider.id}: ${Object.keys(provider.tiers).join(', ') || 'none'}`,
      provider: provider.id,
    });
  }

  let apiKey: string | undefined;
  let keySource: Route['keySource'];
  if (callerKey !== undefined) {
    apiKey = callerKey;
    keySource = 'caller';
  } else if (provider.apiKey !== undefined) {
    apiKey = provider.apiKey;
    keySource = 'operator';
  } else if (provider.auth === 'none') {
    keySource = 'none';
  } else {
    throw new SwitchyardError('missing_api_key', `No API key for provider "${provider.id}".`, { provider: provider.id });
  }

  let baseUrl = provider.baseUrl;
  let baseUrlSource: Route['baseUrlSource'] = 'provider';
  if (callerBaseUrl !== undefined) {
    if (!config.allowCallerBaseUrl) {
      throw new SwitchyardError('base_url_forbidden', 'X-LLM-Base-Url is turned off on this server.', {
        hint: 'remove X-LLM-Base-Url; this server only calls the providers it is configured for',
      });
    }
    if (keySource !== 'caller') {
      // The operator's key is bound to the operator's base URL; it never travels to a caller-chosen one.
      throw new SwitchyardError('missing_api_key', 'X-LLM-Base-Url needs X-LLM-Api-Key.', {
        hint: 'send your own key in X-LLM-Api-Key with X-LLM-Base-Url; the server key is never sent to a caller-chosen URL',
        provider: provider.id,
      });
    }
    baseUrl = callerBaseUrl;
    baseUrlSource = 'caller';
  }

  return {
    // With a caller-chosen base URL the route carries no operator key at all, not even on its provider.
    provider: baseUrlSource === 'caller' && provider.apiKey !== undefined ? { ...provider, apiKey: undefined } : provider,
    requested,
    name: named?.name,
    kind: named ? named.kind : 'model',
    tier: named?.tier,
    candidates: named ? named.candidates : [lookup],
    cluster: config.cluster,
    baseUrl,
    baseUrlSource,
    apiKey,
    keySource,
  };
}
