import type { ResolvedConfig } from '../config.js';
import type { BreakerState } from '../reachability/circuit-breaker.js';
import type { HealthRegistry } from '../reachability/health-registry.js';
import type { ProbeStatus, ProbeStep } from '../reachability/probe.js';
import type { SharingMode, StateStatus, StateStore } from '../state/types.js';
import type { Endpoint } from './endpoint-context.js';

/** The last probe of a provider, as `GET /api/providers` shows it. */
export interface ProbeView {
  /** What the probe found. */
  status: ProbeStatus;
  /** Time to the `GET /models` answer, in ms; null when it did not get that far. */
  latencyMs: number | null;
  /** ISO time of the probe. */
  checkedAt: string | null;
  /** Duration of each step that completed, in ms. */
  steps: Partial<Record<ProbeStep, number>>;
  /** The step that failed, if one did. */
  failedStep: ProbeStep | null;
  /** The status of `GET /models`, if it was answered. */
  httpStatus: number | null;
  /** What went wrong, in a few words. */
  detail: string | null;
}

/** A provider's circuit breaker, as `GET /api/providers` shows it. */
export interface BreakerView {
  /** `closed`, `open` or `half-open`. */
  state: BreakerState;
  /** Failures in a row so far. */
  consecutiveFailures: number;
  /** ISO time the circuit last opened; null while closed. */
  openedAt: string | null;
  /** ISO time an open circuit lets a trial through; null unless open. */
  retryAt: string | null;
}

/** One provider as `GET /api/providers` shows it. Never the key: only whether one is configured. */
export interface ProviderStatus {
  /** The provider id. */
  id: string;
  /** Human-readable name. */
  label: string;
  /** Whether it is the first default provider. */
  default: boolean;
  /** By policy (SPEC §3), and by the last probe (null: not probed). */
  reachable: {
    /** Reachable from this cluster by policy. */
    policy: boolean;
    /** Reachable by the last probe; null when not probed. */
    probe: boolean | null;
  };
  /** The last probe; null when not probed. */
  probe: ProbeView | null;
  /** The circuit breaker. */
  breaker: BreakerView;
  /** Clusters it is reachable from by policy. */
  clusters: readonly string[];
  /** Tier name → model candidates. */
  tiers: Readonly<Record<string, readonly string[]>>;
  /** Alias → tier or model. */
  aliases: Readonly<Record<string, string>>;
  /** Whether the operator configured a key (never the key). */
  serverKey: boolean;
}

/** The instance's shared state, as `GET /api/providers` shows it: `alone` says it serves on its own state. */
export interface StateView {
  store: StateStore;
  mode: SharingMode;
  instance: string;
  /** ISO time of the last change of mode. */
  since: string;
  reason: string | null;
  peers: number;
}

/** The shared state's standing for `GET /api/providers` (SPEC §9). */
export function stateView(status: StateStatus): StateView {
  return { store: status.store, mode: status.mode, instance: status.instanceId, since: new Date(status.since).toISOString(), reason: status.reason ?? null, peers: status.peers };
}

const CLOSED: BreakerView = { state: 'closed', consecutiveFailures: 0, openedAt: null, retryAt: null };

const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());

/** The state of every provider for this cluster: policy, last probe and breaker. */
export function providerStatuses(config: ResolvedConfig, health?: HealthRegistry): ProviderStatus[] {
  return [...config.providers.values()].map((provider) => {
    const measured = health?.health(provider.id);
    const probe = measured?.probe;
    const breaker = measured?.breaker;
    return {
      id: provider.id,
      label: provider.label,
      default: config.defaultProviders[0] === provider.id,
      reachable: { policy: provider.reachableByPolicy, probe: probe ? probe.status === 'reachable' : null },
      probe: probe
        ? {
            status: probe.status,
            latencyMs: probe.latencyMs,
            checkedAt: iso(probe.checkedAt),
            steps: probe.steps,
            failedStep: probe.failedStep ?? null,
            httpStatus: probe.httpStatus ?? null,
            detail: probe.detail ?? null,
          }
        : null,
      breaker: breaker
        ? { state: breaker.state, consecutiveFailures: breaker.consecutiveFailures, openedAt: iso(breaker.openedAt), retryAt: iso(breaker.retryAt) }
        : CLOSED,
      clusters: provider.clusters,
      tiers: provider.tiers,
      aliases: provider.aliases,
      serverKey: provider.apiKey !== undefined,
    };
  });
}

/** `GET /api/providers` (SPEC §4). */
export const providersEndpoint: Endpoint = async (context) => {
  const { config, health, state } = context.runtime;
  context.log.status = 200;
  context.sink.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  const shared = state ? { state: stateView(state.status()) } : {};
  context.sink.end(JSON.stringify({ cluster: config.cluster, defaultProviders: config.defaultProviders, ...shared, providers: providerStatuses(config, health) }));
};
