import { randomBytes } from 'node:crypto';
import { createLocalQuotas } from './local-quotas.js';
import type { SharedState, StateStatus, TrialClaim } from './types.js';

const GRANTED: TrialClaim = Object.freeze({ outcome: 'granted' });
const SWEEP_MS = 60_000;

/** A random id for this process's instance, never derived from anything a caller sent. */
export function newInstanceId(): string {
  return `${process.pid.toString(36)}-${randomBytes(6).toString('hex')}`;
}

/** The in-process state (the default): one instance, nothing to share; quotas counted in memory. */
export function createMemoryState(options: { instanceId?: string; now?: () => number } = {}): SharedState {
  const now = options.now ?? Date.now;
  const quotas = createLocalQuotas();
  const instanceId = options.instanceId ?? newInstanceId();
  const status: StateStatus = { store: 'memory', mode: 'local', instanceId, since: now(), peers: 1 };
  const sweeper = setInterval(() => quotas.sweep(now()), SWEEP_MS);
  sweeper.unref();
  return {
    store: 'memory',
    instanceId,
    status: () => ({ ...status }),
    ready: () => Promise.resolve(),
    onStatus: () => () => {},
    track: () => {},
    onRemote: () => () => {},
    publishBreaker: () => {},
    claimTrial: () => GRANTED,
    releaseTrial: () => {},
    publishProbe: () => {},
    publishSuccess: () => {},
    reserve: (request) => quotas.reserve(request),
    settle: (reservation, usage) => quotas.settle(reservation, usage),
    close() {
      clearInterval(sweeper);
      return Promise.resolve();
    },
  };
}
