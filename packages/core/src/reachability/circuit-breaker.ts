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

/** A per-provider circuit breaker (SPEC §5, issue 4). */
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
}

/** A breaker's thresholds, and hooks for the registry and tests. */
export interface CircuitBreakerOptions extends BreakerOptions {
  /** A trial that never reports frees its slot after this long, so a lost permit cannot wedge the breaker. */
  trialTimeoutMs: number;
  /** Called when the circuit opens (to schedule a half-open probe). */
  onOpen?: (retryAt: number) => void;
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
  let trialSince: number | undefined;

  const state = (): BreakerState => {
    if (openedAt === undefined) return 'closed';
    return now() < openedAt + options.cooldownMs ? 'open' : 'half_open';
  };
  const trialFree = () => trialSince === undefined || now() - trialSince > options.trialTimeoutMs;
  const open = () => {
    openedAt = now();
    trialSince = undefined;
    options.onOpen?.(openedAt + options.cooldownMs);
  };

  return {
    acquire() {
      const current = state();
      if (current === 'closed') return REGULAR;
      if (current === 'open' || !trialFree()) return undefined;
      trialSince = now();
      return { trial: true };
    },
    wouldAdmit() {
      const current = state();
      return current === 'closed' || (current === 'half_open' && trialFree());
    },
    report(permit, outcome) {
      if (permit?.trial) trialSince = undefined;
      if (outcome === 'neutral') return;
      if (outcome === 'success') {
        // Any answer proves the provider can be reached: a trial's, or a late one from before the circuit opened.
        resetFrom = failures;
        failures = 0;
        openedAt = undefined;
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
        retryAt: current === 'open' && openedAt !== undefined ? openedAt + options.cooldownMs : undefined,
      };
    },
  };
}
