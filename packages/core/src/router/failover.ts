import type { ResolvedConfig, ResolvedProvider } from '../config.js';
import type { SwitchyardError } from '../errors.js';
import type { Route } from './route.js';

/**
 * Routes a request may fail over to (SPEC §5): the same tier on the providers of `config.failover`, in order, that
 * hold an operator key (or need none) and pass `admissible` (reachable by policy, circuit not open). Each carries
 * the operator's key of its own provider: a caller's key never goes to another provider.
 */
export function failoverRoutes(config: ResolvedConfig, route: Route, admissible: (provider: ResolvedProvider) => boolean): Route[] {
  const tier = route.tier;
  if (tier === undefined) return [];
  const routes: Route[] = [];
  for (const id of config.failover) {
    const provider = config.providers.get(id);
    if (!provider || provider.id === route.provider.id) continue;
    if (provider.apiKey === undefined && provider.auth !== 'none') continue;
    const candidates = provider.tiers[tier];
    if (!candidates || candidates.length === 0 || !provider.reachableByPolicy || !admissible(provider)) continue;
    routes.push({
      provider,
      requested: route.requested,
      name: tier,
      kind: 'tier',
      tier,
      candidates,
      cluster: route.cluster,
      baseUrl: provider.baseUrl,
      baseUrlSource: 'provider',
      apiKey: provider.apiKey,
      keySource: provider.apiKey === undefined ? 'none' : 'operator',
    });
  }
  return routes;
}

/** Whether a failure of the whole route may be taken elsewhere: the provider failed, not the request or the caller's key. */
export function failsOver(error: SwitchyardError, route: Route): boolean {
  switch (error.code) {
    case 'provider_unreachable':
    case 'upstream_timeout':
    case 'region_restricted':
      return true;
    case 'upstream_error':
      return error.retryable;
    case 'rate_limited':
      // The operator's own capacity ran out; a caller's rate limit is the caller's to handle.
      return route.keySource !== 'caller';
    default:
      return false;
  }
}
