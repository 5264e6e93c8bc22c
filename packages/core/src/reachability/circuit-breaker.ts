import type { BreakerOptions } from '../config.js';

/** `closed`: calls go through. `open`: calls fail fast. `half_open`: one trial goes through, the rest fail fast. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/** A breaker's state as `GET /api/providers` shows it. */
export interface BreakerSnapshot {
  /** `closed`, `open` or `half-open`. */
  state: BreakerState;
  /** Failures in a row so far. */
  consecutiveFailures: number;
  /** Epoch ms when the circuit last opened; undefined while closed. */
  openedAt: number | undefined;
  /** Epoch ms when an open circuit lets a trial through; undefined unless open. */
  retryAt: number | undefined;
}

/** Leave to make one call; hand it back with the outcome. */
export interface BreakerPermit {
  /** Whether this call is the half-open trial. */
  readonly trial: boolean;
}

/** What a call told us about the provider. `neutral`: nothing (the call was cancelled). */
export type CallOutcome = 'success' | 'failure' | 'neutral';

/** A per-provider circuit breaker (SPEC §5). */
export interface CircuitBreaker {
  /** Leave for one call, or undefined when the circuit is open (or half-open with its trial taken). */
  acquire(): BreakerPermit | undefined;
  /** Whether `acquire` would give leave now, without taking the trial. */
  wouldAdmit(): boolean;
  /** Reports the outcome of a call made with a permit. */
  report(permit: BreakerPermit | undefined, outcome: CallOutcome): void;
  /**
   * Reports an answer that broke after its call was reported a success (a stream cut or stalled mid-way): the
   * success's reset of the failure run is undone and the break counts, so a provider that always breaks streams opens.
   */
  reportBrokenAnswer(): void;
  /** The state right now. */
  snapshot(): BreakerSnapshot;
  /**
   * Takes on a state another instance published (SPEC §9): open with its times, or closed. Calls no hook: the
   * change came from elsewhere and must not be published again.
   */
  adopt(remote: RemoteBreakerState): void;
  /** The half-open trial this permit stood for runs on another instance: keep the slot taken for `forMs`. */
  yieldTrial(permit: BreakerPermit, forMs: number): void;
}

/** A breaker state as another instance shares it: open (with when it opened and lets a trial through) or closed. */
export interface RemoteBreakerState {
  open: boolean;
  openedAt?: number | undefined;
  retryAt?: number | undefined;
  consecutiveFailures: number;
}

/** A breaker's thresholds, and hooks for the registry and tests. */
export interface CircuitBreakerOptions extends BreakerOptions {
  /** A trial that never reports frees its slot after this long, so a lost permit cannot wedge the breaker. */
  trialTimeoutMs: number;
  /** Called when the circuit opens (to schedule a half-open probe). */
  onOpen?: (retryAt: number) => void;
  /** Called when an open circuit closes again (a trial, or a late answer, succeeded). */
  onClose?: () => void;
  /** The clock, for tests. */
  now?: () => number;
}

const REGULAR: BreakerPermit = Object.freeze({ trial: false });

/** Creates a circuit breaker: opens after `failureThreshold` consecutive failures, half-opens after `cooldownMs`. */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  const now = options.now ?? Date.now;
  let failures = 0;
  /** The failure run the last success reset, for `reportBrokenAnswer`. */
  let resetFrom = 0;
  let openedAt: number | undefined;
  /** When an open circuit lets a trial through (another instance's cooldown may differ from ours). */
  let retryAt = 0;
  /** While set and in the future, the half-open trial is out (here, or on another instance). */
  let trialUntil: number | undefined;

  const state = (): BreakerState => {
    if (openedAt === undefined) return 'closed';
    return now() < retryAt ? 'open' : 'half_open';
  };
  const trialFree = () => trialUntil === undefined || now() > trialUntil;
  const open = () => {
    openedAt = now();
    retryAt = openedAt + options.cooldownMs;
    trialUntil = undefined;
    options.onOpen?.(retryAt);
  };

  return {
    acquire() {
      const current = state();
      if (current === 'closed') return REGULAR;
      if (current === 'open' || !trialFree()) return undefined;
      trialUntil = now() + options.trialTimeoutMs;
      return { trial: true };
    },
    wouldAdmit() {
      const current = state();
      return current === 'closed' || (current === 'half_open' && trialFree());
    },
    report(permit, outcome) {
      if (permit?.trial) trialUntil = undefined;
      if (outcome === 'neutral') return;
      if (outcome === 'success') {
        // Any answer proves the provider can be reached: a trial's, or a late one from before the circuit opened.
        resetFrom = failures;
        failures = 0;
        const wasOpen = openedAt !== undefined;
        openedAt = undefined;
        if (wasOpen) options.onClose?.();
        return;
      }
      failures += 1;
      if (permit?.trial || (openedAt === undefined && failures >= options.failureThreshold)) open();
    },
    reportBrokenAnswer() {
      failures = Math.max(failures, resetFrom) + 1;
      resetFrom = 0;
      if (openedAt === undefined && failures >= options.failureThreshold) open();
    },
    snapshot() {
      const current = state();
      return {
        state: current,
        consecutiveFailures: failures,
        openedAt,
        retryAt: current === 'open' ? retryAt : undefined,
      };
    },
    adopt(remote) {
      trialUntil = undefined;
      failures = remote.consecutiveFailures;
      resetFrom = 0;
      if (!remote.open) {
        openedAt = undefined;
        return;
      }
      openedAt = remote.openedAt ?? now();
      retryAt = remote.retryAt ?? openedAt + options.cooldownMs;
    },
    yieldTrial(permit, forMs) {
      if (permit.trial) trialUntil = now() + Math.max(0, forMs);
    },
  };
}
