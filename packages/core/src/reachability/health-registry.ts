import type { LookupFunction } from 'node:net';
import type { ResolvedConfig, ResolvedProvider } from '../config.js';
import type { SwitchyardError } from '../errors.js';
import type { HealthKey, RemoteChange, SharedState, TrialClaim } from '../state/types.js';
import { type BreakerPermit, type BreakerSnapshot, type CircuitBreaker, createCircuitBreaker } from './circuit-breaker.js';
import { healthOutcome } from './passive-health.js';
import { type ProbeResult, type ProbeStatus, probeTarget } from './probe.js';

/** A provider's measured health: its last probe and its breaker. */
export interface ProviderHealth {
  /** The last probe of the provider's base URL; undefined when none ran (not reachable by policy, or probes off). */
  probe: ProbeResult | undefined;
  /** The provider's circuit breaker. */
  breaker: BreakerSnapshot;
}

/** What the registry watches, and hooks for tests. */
export interface HealthRegistryOptions {
  /** The providers, probe settings and breaker thresholds. */
  config: ResolvedConfig;
  /** Replaces DNS resolution in probes (the `lookup` option of `createSwitchyard`). */
  lookup?: LookupFunction | undefined;
  /** The clock, for tests. */
  now?: () => number;
  /** The jitter source, for tests. */
  random?: () => number;
  /** Where breakers, probes and passive health are shared with other instances (SPEC §9); absent or memory: this process only. */
  state?: SharedState | undefined;
}

/** Passive health, circuit breakers and probes for every provider of one Switchyard. */
export interface HealthRegistry {
  /**
   * Leave for one call to a provider, or undefined while its circuit is open (or half-open with the trial out).
   * Synchronous, except for the half-open trial of a shared breaker: that one is claimed across instances first.
   */
  acquire(providerId: string): BreakerPermit | undefined | Promise<BreakerPermit | undefined>;
  /** Whether a call to the provider would be let through now. */
  wouldAdmit(providerId: string): boolean;
  /** Reports a call made with `acquire`'s permit: success (no error), or an error classified by `healthOutcome`. */
  report(providerId: string, permit: BreakerPermit | undefined, error?: SwitchyardError, cancelled?: boolean): void;
  /** Reports a failure after the answer began (a cut or stalled stream): it counts against the provider. */
  reportStreamFailure(providerId: string, error: SwitchyardError): void;
  /** The last probe's verdict when it says blocked and no call has succeeded since; undefined otherwise. */
  probeBlock(providerId: string): ProbeStatus | undefined;
  /** Probe and breaker state; a stale probe is refreshed in the background. */
  health(providerId: string): ProviderHealth;
  /** Probes a provider now; one probe in flight per base URL, shared by concurrent callers. Never rejects. */
  probe(providerId: string): Promise<ProbeResult | undefined>;
  /** Starts probes of every provider reachable by policy, without waiting for them. */
  warm(): void;
  /** Stops timers; later probes resolve undefined. */
  close(): void;
}

interface CachedProbe {
  result: ProbeResult;
  expiresAt: number;
}

const BLOCKED: ReadonlySet<ProbeStatus> = new Set(['network_blocked', 'region_blocked']);
const PROBE_STATUSES: ReadonlySet<string> = new Set<ProbeStatus>(['reachable', 'region_blocked', 'network_blocked', 'degraded']);

/** Creates the health registry of SPEC §3/§5: probes are used only when `config.probes.enabled`. */
export function createHealthRegistry(options: HealthRegistryOptions): HealthRegistry {
  const { config } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const probes = config.probes;
  const breakers = new Map<string, CircuitBreaker>();
  const lastSuccess = new Map<string, number>();
  const cache = new Map<string, CachedProbe>();
  const inFlight = new Map<string, Promise<ProbeResult>>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  // The memory state has no one to share with: nothing to publish, nothing to claim.
  const state = options.state?.store === 'redis' ? options.state : undefined;
  const keyOf = (providerId: string): HealthKey => ({ cluster: config.cluster, provider: providerId });
  // A trial is over once its answer's headers arrive: a claim outlives that, and no more, should its instance die mid-trial.
  const firstByteMs = Math.max(config.timeouts.firstByteMs, ...Object.values(config.tierTimeouts).map((timeouts) => timeouts.firstByteMs ?? 0));
  const trialClaimMs = Math.min(config.timeouts.totalMs, config.timeouts.connectMs + firstByteMs);

  function later(ms: number, run: () => void): void {
    if (closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, Math.max(0, ms));
    timer.unref();
    timers.add(timer);
  }

  function breakerOf(providerId: string): CircuitBreaker {
    let breaker = breakers.get(providerId);
    if (!breaker) {
      breaker = createCircuitBreaker({
        ...config.breaker,
        trialTimeoutMs: config.timeouts.totalMs,
        now,
        onOpen: (retryAt) => {
          // With probes on, the half-open trial is a probe; otherwise the next request is.
          if (probes.enabled) later(retryAt - now(), () => void trialProbe(providerId));
          const { openedAt, consecutiveFailures } = (breaker as CircuitBreaker).snapshot();
          state?.publishBreaker(keyOf(providerId), { open: true, openedAt, retryAt, consecutiveFailures }, now());
        },
        onClose: () => state?.publishBreaker(keyOf(providerId), { open: false, consecutiveFailures: 0 }, now()),
      });
      breakers.set(providerId, breaker);
    }
    return breaker;
  }

  async function trialProbe(providerId: string): Promise<void> {
    const breaker = breakerOf(providerId);
    const { state, retryAt } = breaker.snapshot();
    if (state === 'open') {
      // Timers and Date.now() tick on different clocks: a timer can fire a millisecond before the cooldown ends.
      later(Math.max(1, (retryAt ?? now()) - now() + 1), () => void trialProbe(providerId));
      return;
    }
    const permit = await acquire(providerId);
    if (!permit?.trial) return;
    const result = await probe(providerId, true);
    if (!result) breaker.report(permit, 'neutral');
    else breaker.report(permit, result.status === 'reachable' ? 'success' : 'failure');
  }

  function provider(providerId: string): ResolvedProvider | undefined {
    const found = config.providers.get(providerId);
    return found?.reachableByPolicy ? found : undefined;
  }

  function probe(providerId: string, force = false): Promise<ProbeResult | undefined> {
    const target = provider(providerId);
    if (closed || !target) return Promise.resolve(undefined);
    const key = target.baseUrl;
    const running = inFlight.get(key);
    if (running) return running;
    const cached = cache.get(key);
    if (!force && cached && cached.expiresAt > now()) return Promise.resolve(cached.result);
    const started = probeTarget(key, { ...probes, lookup: options.lookup, provider: target.id })
      .then((result) => {
        const spread = 1 + probes.jitter * (2 * random() - 1);
        cache.set(key, { result, expiresAt: now() + probes.ttlMs * spread });
        state?.publishProbe(keyOf(target.id), result, probes.ttlMs * spread);
        return result;
      })
      .finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  }

  function cachedProbe(providerId: string): ProbeResult | undefined {
    const target = provider(providerId);
    if (!target) return undefined;
    const cached = cache.get(target.baseUrl);
    if (probes.enabled && !closed && (!cached || cached.expiresAt <= now())) void probe(providerId);
    return cached?.result;
  }

  function settleClaim(breaker: CircuitBreaker, permit: BreakerPermit, claim: TrialClaim): BreakerPermit | undefined {
    if (claim.outcome === 'granted') return permit;
    if (claim.outcome === 'taken') {
      breaker.yieldTrial(permit, claim.waitMs);
      return undefined;
    }
    // Another instance's trial closed the circuit before its message arrived here: this is a regular call.
    breaker.adopt({ open: false, consecutiveFailures: 0 });
    return breaker.acquire();
  }

  function acquire(providerId: string): BreakerPermit | undefined | Promise<BreakerPermit | undefined> {
    const breaker = breakerOf(providerId);
    const permit = breaker.acquire();
    if (!state || !permit?.trial) return permit;
    const claim = state.claimTrial(keyOf(providerId), trialClaimMs);
    return claim instanceof Promise ? claim.then((answer) => settleClaim(breaker, permit, answer)) : settleClaim(breaker, permit, claim);
  }

  function applyRemote(change: RemoteChange): void {
    const target = config.providers.get(change.key.provider);
    if (closed || !target || change.key.cluster !== config.cluster) return;
    const providerId = target.id;
    if (change.type === 'breaker') {
      breakerOf(providerId).adopt(change.breaker);
      const { retryAt } = change.breaker;
      if (change.breaker.open && retryAt !== undefined && probes.enabled) later(retryAt - now(), () => void trialProbe(providerId));
    } else if (change.type === 'probe') {
      const cached = cache.get(target.baseUrl);
      if (!target.reachableByPolicy || !PROBE_STATUSES.has(change.probe.status)) return;
      if (!cached || cached.result.checkedAt < change.probe.checkedAt) cache.set(target.baseUrl, { result: change.probe as ProbeResult, expiresAt: change.expiresAt });
    } else {
      const known = lastSuccess.get(providerId);
      if (known === undefined || known < change.at) lastSuccess.set(providerId, change.at);
    }
  }

  if (state) {
    for (const id of config.providers.keys()) state.track(keyOf(id));
  }
  const stopListening = state?.onRemote(applyRemote);

  return {
    acquire,
    wouldAdmit: (providerId) => breakerOf(providerId).wouldAdmit(),
    report(providerId, permit, error, cancelled = false) {
      const outcome = cancelled ? 'neutral' : error ? healthOutcome(error) : 'success';
      if (outcome === 'success') {
        const previous = lastSuccess.get(providerId);
        const at = now();
        lastSuccess.set(providerId, at);
        // Passive health worth sharing: the first success since a probe said blocked.
        const target = state ? provider(providerId) : undefined;
        const cached = target ? cache.get(target.baseUrl) : undefined;
        if (cached && BLOCKED.has(cached.result.status) && (previous === undefined || previous < cached.result.checkedAt)) state?.publishSuccess(keyOf(providerId), at);
      }
      breakerOf(providerId).report(permit, outcome);
      if (permit?.trial && outcome === 'neutral') state?.releaseTrial(keyOf(providerId));
    },
    reportStreamFailure(providerId, error) {
      if (healthOutcome(error) === 'failure') breakerOf(providerId).reportBrokenAnswer();
    },
    probeBlock(providerId) {
      const result = cachedProbe(providerId);
      if (!result || !BLOCKED.has(result.status)) return undefined;
      // A probe is a hint; a call that succeeded since is proof.
      const success = lastSuccess.get(providerId);
      return success !== undefined && success >= result.checkedAt ? undefined : result.status;
    },
    health: (providerId) => ({ probe: cachedProbe(providerId), breaker: breakerOf(providerId).snapshot() }),
    probe: (providerId) => probe(providerId),
    warm() {
      if (!probes.enabled) return;
      for (const id of config.providers.keys()) void probe(id);
    },
    close() {
      closed = true;
      stopListening?.();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
