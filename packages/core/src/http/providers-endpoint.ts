import type { ResolvedConfig } from '../config.js';
import type { BreakerState } from '../reachability/circuit-breaker.js';
import type { HealthRegistry } from '../reachability/health-registry.js';
import type { ProbeStatus, ProbeStep } from '../reachability/probe.js';
import type { SharingMode, StateStatus, StateStore } from '../state/types.js';
import type { Endpoint } from './endpoint-context.js';

/** The last probe of a provider, as `GET /api/providers` shows it. */
export interface ProbeView {
  status: ProbeStatus;
  latencyMs: number | null;
  /** ISO time of the probe. */
  checkedAt: string | null;
  /** Duration of each step that completed, in ms. */
  steps: Partial<Record<ProbeStep, number>>;
  failedStep: ProbeStep | null;
  httpStatus: number | null;
  detail: string | null;
}

/** A provider's circuit breaker, as `GET /api/providers` shows it. */
export interface BreakerView {
  state: BreakerState;
  consecutiveFailures: number;
  /** ISO time the circuit last opened; null while closed. */
  openedAt: string | null;
  /** ISO time an open circuit lets a trial through; null unless open. */
  retryAt: string | null;
}

/** One provider as `GET /api/providers` shows it. Never the key: only whether one is configured. */
export interface ProviderStatus {
  id: string;
  label: string;
  default: boolean;
  /** By policy (SPEC §3), and by the last probe (null: not probed). */
  reachable: { policy: boolean; probe: boolean | null };
  probe: ProbeView | null;
  breaker: BreakerView;
  clusters: readonly string[];
  tiers: Readonly<Record<string, readonly string[]>>;
  aliases: Readonly<Record<string, string>>;
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
