/**
 * Hedging (SPEC §5): when a request's first byte is later than its hedge delay, one second attempt starts on the next
 * candidate (a failover provider with its operator's key, or the same model again, when the tier has no other); the
 * first to send a byte wins and the other is aborted, its upstream connection closed and its usage never read.
 * Only requests that opted in pay for any of it: the timer, the first-byte wait, the statistics.
 */
import type { Readable } from 'node:stream';
import type { ResolvedConfig } from '../config.js';
import { SwitchyardError } from '../errors.js';
import type { UpstreamTarget } from '../providers/provider.js';
import { type AttemptCall, type AttemptOutcome, type AttemptPolicy, type AttemptRecord, AttemptSuperseded, runAttempts, runOnce } from './attempts.js';
import { failoverRoutes } from './failover.js';
import type { Generation } from './generate.js';
import type { HeaderBag } from './resolve.js';
import type { Route } from './route.js';

/** Recent times to first byte per provider, for hedge delays given as a percentile. */
export interface FirstByteStats {
  record(provider: string, ms: number): void;
  /** The `p`-th percentile of the provider's recent times, or undefined before `MIN_SAMPLES` were seen. */
  percentile(provider: string, p: number): number | undefined;
}

/** Fewer samples than this say too little for a percentile: the tier's `delayMs` stands until then. */
export const MIN_SAMPLES = 20;
const WINDOW = 200;

/** Keeps the last 200 times to first byte of each provider (of hedged requests: only they measure it). */
export function createFirstByteStats(): FirstByteStats {
  const windows = new Map<string, { values: Float64Array; next: number; count: number }>();
  return {
    record(provider, ms) {
      let window = windows.get(provider);
      if (!window) {
        window = { values: new Float64Array(WINDOW), next: 0, count: 0 };
        windows.set(provider, window);
      }
      window.values[window.next] = ms;
      window.next = (window.next + 1) % WINDOW;
      window.count = Math.min(WINDOW, window.count + 1);
    },
    percentile(provider, p) {
      const window = windows.get(provider);
      if (!window || window.count < MIN_SAMPLES) return undefined;
      const sorted = window.values.slice(0, window.count).sort();
      return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
    },
  };
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

const MAX_HEADER_MS = 600_000;

/**
 * The hedge delay of one request in milliseconds, or undefined when it is not hedged: `X-LLM-Hedge-Ms` where the
 * operator allows it, else its tier's setting (`*` for every request), never below `hedge.minDelayMs`. A header that
 * is not a whole number of milliseconds is a 400, allowed or not.
 */
export function hedgeDelayFor(config: ResolvedConfig, route: Route, headers: HeaderBag, stats: FirstByteStats | undefined): number | undefined {
  const settings = config.hedge;
  const header = first(headers['x-llm-hedge-ms'])?.trim();
  if (header !== undefined) {
    const value = /^\d{1,7}$/.test(header) ? Number(header) : Number.NaN;
    if (!(value <= MAX_HEADER_MS)) {
      throw new SwitchyardError('invalid_request', 'X-LLM-Hedge-Ms must be a whole number of milliseconds.', { hint: `send X-LLM-Hedge-Ms: <0 to ${MAX_HEADER_MS}>, or leave it out` });
    }
    if (settings?.header) return Math.max(settings.minDelayMs, value);
  }
  if (!settings) return undefined;
  const { tiers } = settings;
  const tier = (route.tier !== undefined && Object.hasOwn(tiers, route.tier) ? tiers[route.tier] : undefined) ?? (Object.hasOwn(tiers, '*') ? tiers['*'] : undefined);
  if (!tier) return undefined;
  let delay = tier.delayMs;
  if (tier.percentile !== undefined) {
    const observed = stats?.percentile(route.provider.id, tier.percentile);
    if (observed !== undefined) delay = Math.min(delay, observed);
  }
  return Math.max(settings.minDelayMs, Math.round(delay));
}

/** Where the second attempt goes: the tier's next model, else the first admissible failover route, else the same model again. */
export function hedgeTarget(route: Route, policy: AttemptPolicy): UpstreamTarget {
  const next = route.candidates[1];
  if (next !== undefined) return { route, model: next };
  const { health } = policy;
  const [leg] = failoverRoutes(policy.config, route, (provider) => !health || (health.wouldAdmit(provider.id) && health.probeBlock(provider.id) === undefined));
  if (leg) return { route: leg, model: leg.candidates[0] as string };
  return { route, model: route.candidates[0] as string };
}

/**
 * Resolves once `body` holds its first chunk (left in place for whoever reads it next) or has ended; rejects with
 * its error, when it closes first, or with the signal's reason.
 */
export function firstChunk(body: Readable, signal?: AbortSignal): Promise<void> {
  if (body.readableLength > 0 || body.readableEnded) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      body.off('readable', onReadable);
      body.off('error', onError);
      body.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    // Nothing is read here: the chunk stays buffered, and the stream flows again once a reader attaches.
    const onReadable = () => {
      cleanup();
      resolve();
    };
    const onError = (error: unknown) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('The upstream stream closed before its first byte.'));
    };
    const onAbort = () => {
      cleanup();
      reject(signal?.reason);
    };
    if (signal?.aborted) return onAbort();
    body.on('readable', onReadable);
    body.once('error', onError);
    body.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a hedged plan produced: the winner's outcome, and which attempt won when a hedge started. */
export interface HedgedOutcome extends AttemptOutcome<Generation> {
  /** `primary` or `hedge` once a second attempt started; undefined when the first byte came in time. */
  hedged?: 'primary' | 'hedge' | undefined;
}

/** What a hedged plan needs beyond the attempt policy. */
export interface HedgePolicy extends AttemptPolicy {
  readonly firstBytes?: FirstByteStats | undefined;
}

/**
 * Runs a request's plan (as `runAttempts`) with a hedge: each attempt counts as answered at its first body byte, and
 * when none came within `delayMs`, one second attempt starts on `hedgeTarget`. The first byte wins; the other attempt
 * is aborted at once (its socket closed) and recorded `aborted`. Throws the first plan's error when both fail.
 */
export function runHedged(
  route: Route,
  attempts: AttemptRecord[],
  start: (target: UpstreamTarget, call: AttemptCall) => Promise<Generation>,
  signal: AbortSignal | undefined,
  policy: HedgePolicy,
  delayMs: number,
): Promise<HedgedOutcome> {
  let winner: 'primary' | 'hedge' | undefined;
  const primary = new AbortController();
  const second = new AbortController();
  const onAbort = () => {
    primary.abort(signal?.reason);
    second.abort(signal?.reason);
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  const runner =
    (who: 'primary' | 'hedge') =>
    async (target: UpstreamTarget, call: AttemptCall): Promise<Generation> => {
      const began = performance.now();
      const provider = target.route.provider.id;
      let generation: Generation | undefined;
      try {
        generation = await start(target, call);
        await firstChunk(generation.response.body, call.signal);
      } catch (error) {
        generation?.response.body.destroy();
        // A loser's wait is a lower bound of its time to first byte: still worth counting.
        if (call.signal?.reason instanceof AttemptSuperseded) policy.firstBytes?.record(provider, performance.now() - began);
        throw error;
      }
      // Decided here, synchronously, so two first bytes a moment apart cannot both win.
      if (winner !== undefined && winner !== who) {
        generation.response.body.destroy();
        throw new AttemptSuperseded();
      }
      winner = who;
      policy.firstBytes?.record(provider, performance.now() - began);
      (who === 'primary' ? second : primary).abort(new AttemptSuperseded());
      return generation;
    };

  return new Promise<HedgedOutcome>((resolve, reject) => {
    let primaryFailed: unknown;
    let primaryDone = false;
    let secondDone = false;
    let secondRun: Promise<unknown> | undefined;
    const settle = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    // The winner is handed on once the loser has let go and recorded its try, so X-LLM-Attempts counts it.
    const afterLoser = (loser: Promise<unknown> | undefined, outcome: HedgedOutcome) => {
      if (!loser) return resolve(outcome);
      void loser.then(
        () => resolve(outcome),
        () => resolve(outcome),
      );
    };
    const primaryRun = runAttempts(route, attempts, runner('primary'), primary.signal, policy);
    const timer = setTimeout(() => {
      if (winner !== undefined || primaryDone) return;
      const target = hedgeTarget(route, policy);
      if (policy.telemetry?.enabled) policy.telemetry.metrics()?.hedge(route.provider.id);
      const run = runOnce(target, attempts, runner('hedge'), second.signal, policy, 'hedge');
      secondRun = run;
      run.then(
        (outcome) => {
          secondDone = true;
          settle();
          const elsewhere = target.route.provider.id !== route.provider.id;
          afterLoser(primaryRun, { ...outcome, hedged: 'hedge', fallbackReason: elsewhere ? `hedge: ${route.provider.id} sent no byte within ${delayMs}ms` : undefined });
        },
        (error: unknown) => {
          secondDone = true;
          if (winner === 'primary' || !primaryDone) return;
          settle();
          reject(primaryFailed ?? error);
        },
      );
    }, delayMs);
    primaryRun.then(
      (outcome) => {
        primaryDone = true;
        settle();
        afterLoser(secondRun, secondRun ? { ...outcome, hedged: 'primary' } : outcome);
      },
      (error: unknown) => {
        primaryDone = true;
        primaryFailed = error;
        if (winner === 'hedge') return;
        if (!secondRun || secondDone) {
          settle();
          reject(error);
        }
      },
    );
  });
}
