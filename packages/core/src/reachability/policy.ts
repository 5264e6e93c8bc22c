import type { ResolvedConfig, ResolvedProvider } from '../config.js';
import type { Route } from '../router/route.js';
import { SwitchyardError } from '../errors.js';

/** Ids of the providers reachable from the running cluster by policy (SPEC §3). */
export function reachableProviderIds(config: ResolvedConfig): string[] {
  return [...config.providers.values()].filter((provider) => provider.reachableByPolicy).map((provider) => provider.id);
}

/** The `provider_unreachable` answer for a provider this cluster does not reach by policy; no network call made. */
export function policyUnreachableError(config: ResolvedConfig, provider: ResolvedProvider): SwitchyardError {
  const reachable = reachableProviderIds(config);
  return new SwitchyardError('provider_unreachable', `Provider "${provider.id}" is not reachable from the ${config.cluster} cluster.`, {
    provider: provider.id,
    retryable: false,
    hint:
      reachable.length > 0
        ? `reachable from ${config.cluster}: ${reachable.join(', ')}; set X-LLM-Provider to one of them`
        : `no provider is reachable from ${config.cluster}; ask the operator to configure an egress base URL`,
    details: { reachable },
  });
}

/**
 * Whether the cluster's policy lets a route out: its provider is reachable from here, or the caller named a relay of
 * its own (another host, which the provider's policy says nothing about).
 */
export function routeAllowedByPolicy(route: Route): boolean {
  return route.baseUrlSource === 'caller' || route.provider.reachableByPolicy;
}
