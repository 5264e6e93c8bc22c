import type { Cluster, ResolvedProvider } from '../config.js';

/** Where the key of a route came from. */
export type KeySource = 'caller' | 'operator' | 'none';

/** Where the base URL of a route came from. */
export type BaseUrlSource = 'provider' | 'caller';

/** What the router made of one request: which provider, which models, which key, which base URL. */
export interface Route {
  /** The provider the request goes to. */
  provider: ResolvedProvider;
  /** What the caller asked for (`general`, `DeepSeekFlash`, `gpt-4o`), or undefined for the default. */
  requested: string | undefined;
  /** The tier or alias that matched, or undefined when a raw model id was asked for. */
  name: string | undefined;
  /** Whether the request named a tier, an alias or a raw model id. */
  kind: 'tier' | 'alias' | 'model';
  /** The tier behind the name (aliases resolve to a tier), used for failover to other providers. */
  tier: string | undefined;
  /** Concrete model ids to try, in order. */
  candidates: readonly string[];
  /** Where this server runs. */
  cluster: Cluster;
  /** Where the request goes (the provider's, or the caller's relay). */
  baseUrl: string;
  /** Whose base URL it is. */
  baseUrlSource: BaseUrlSource;
  /** The key to send. Never log it. */
  apiKey: string | undefined;
  /** Whose key it is. */
  keySource: KeySource;
}
