import type { ResolvedConfig } from '../config.js';
import type { Endpoint } from './endpoint-context.js';

/** One provider as `GET /api/providers` shows it. Never the key: only whether one is configured. */
export interface ProviderStatus {
  id: string;
  label: string;
  default: boolean;
  reachable: { policy: boolean; probe: boolean | null };
  probe: { status: string; latencyMs: number | null; checkedAt: string | null } | null;
  clusters: readonly string[];
  tiers: Readonly<Record<string, readonly string[]>>;
  aliases: Readonly<Record<string, string>>;
  serverKey: boolean;
}

/** The state of every provider for this cluster. */
export function providerStatuses(config: ResolvedConfig): ProviderStatus[] {
  return [...config.providers.values()].map((provider) => ({
    id: provider.id,
    label: provider.label,
    default: config.defaultProviders[0] === provider.id,
    reachable: { policy: provider.reachableByPolicy, probe: null },
    probe: null,
    clusters: provider.clusters,
    tiers: provider.tiers,
    aliases: provider.aliases,
    serverKey: provider.apiKey !== undefined,
  }));
}

/** `GET /api/providers` (SPEC §4). */
export const providersEndpoint: Endpoint = async (context) => {
  const { config } = context.runtime;
  context.log.status = 200;
  context.sink.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  context.sink.end(JSON.stringify({ cluster: config.cluster, defaultProviders: config.defaultProviders, providers: providerStatuses(config) }));
};
