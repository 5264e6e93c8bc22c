/**
 * The numbers behind the page's charts: the last requests (from Switchyard's per-request log entries, which never
 * carry a key) and the history of each provider's breaker and probe (sampled from the health registry).
 */
import { providerStatuses, type RequestLogEntry, type Switchyard } from '@switchyard/core';

/** One request, as the charts need it. */
export interface RequestPoint {
  /** Epoch ms when it ended. */
  t: number;
  endpoint: string | null;
  provider: string | null;
  model: string | null;
  outcome: 'ok' | 'failover' | 'error' | 'client_aborted';
  code: string | null;
  durationMs: number;
  firstByteMs: number | null;
  attempts: number;
}

/** A provider's breaker state from time `t` on. */
export interface BreakerPoint {
  t: number;
  state: string;
  failures: number;
}

/** One probe result. */
export interface ProbePoint {
  t: number;
  status: string;
  latencyMs: number | null;
}

/** What `GET /demo/stats` answers. */
export interface StatsSnapshot {
  now: number;
  windowMs: number;
  providers: string[];
  requests: RequestPoint[];
  breakers: Record<string, BreakerPoint[]>;
  probes: Record<string, ProbePoint[]>;
}

export interface DemoStats {
  /** The `onRequest` hook's second listener. */
  record(entry: RequestLogEntry): void;
  /** Reads breakers and probes now (also done on a timer). */
  sample(): void;
  snapshot(): StatsSnapshot;
  close(): void;
}

export interface DemoStatsOptions {
  /** How far back the charts look. */
  windowMs?: number;
  /** How often breakers and probes are read. */
  sampleMs?: number;
  /** Most requests kept. */
  maxRequests?: number;
  now?: () => number;
}

function outcomeOf(entry: RequestLogEntry): RequestPoint['outcome'] {
  if (entry.clientAborted) return 'client_aborted';
  if (entry.code !== undefined || entry.streamError !== undefined) return 'error';
  return entry.fallbackReason === undefined ? 'ok' : 'failover';
}

/** Bounded in time and count: an old point leaves as a new one comes. */
export function createDemoStats(switchyard: Switchyard, options: DemoStatsOptions = {}): DemoStats {
  const windowMs = options.windowMs ?? 15 * 60_000;
  const maxRequests = options.maxRequests ?? 5_000;
  const now = options.now ?? Date.now;
  const requests: RequestPoint[] = [];
  const breakers = new Map<string, BreakerPoint[]>();
  const probes = new Map<string, ProbePoint[]>();

  const trim = <T extends { t: number }>(points: T[], keepLast: boolean) => {
    const cutoff = now() - windowMs;
    // The state in force at the window's start stays, so a chart knows what it was.
    let drop = 0;
    while (drop < points.length && (points[drop] as T).t < cutoff) drop++;
    if (keepLast && drop > 0) drop--;
    if (drop > 0) points.splice(0, drop);
  };

  function sample() {
    const t = now();
    for (const status of providerStatuses(switchyard.config, switchyard.health)) {
      if (!status.reachable.policy) continue;
      const history = breakers.get(status.id) ?? [];
      breakers.set(status.id, history);
      const last = history.at(-1);
      // Only changes are kept, plus a point now and then so the line reaches the present.
      if (!last || last.state !== status.breaker.state || last.failures !== status.breaker.consecutiveFailures || t - last.t > 30_000) {
        history.push({ t, state: status.breaker.state, failures: status.breaker.consecutiveFailures });
      }
      trim(history, true);
      if (status.probe?.checkedAt) {
        const checked = Date.parse(status.probe.checkedAt);
        const probeHistory = probes.get(status.id) ?? [];
        probes.set(status.id, probeHistory);
        if (probeHistory.at(-1)?.t !== checked) probeHistory.push({ t: checked, status: status.probe.status, latencyMs: status.probe.latencyMs });
        trim(probeHistory, false);
      }
    }
  }

  const timer = setInterval(sample, options.sampleMs ?? 2_000);
  timer.unref();
  sample();

  return {
    record(entry) {
      requests.push({
        t: now(),
        endpoint: entry.endpoint ?? null,
        provider: entry.provider ?? null,
        model: entry.model ?? null,
        outcome: outcomeOf(entry),
        code: entry.code ?? entry.streamError ?? null,
        durationMs: entry.durationMs,
        firstByteMs: entry.firstByteMs ?? null,
        attempts: entry.attempts ?? 0,
      });
      // Trimmed a tenth at a time: shifting a full array on every request would cost more than the request's metrics.
      if (requests.length > maxRequests + Math.ceil(maxRequests / 10)) requests.splice(0, requests.length - maxRequests);
      // A failure can move a breaker: read it now rather than up to a sample period later (plain successes wait).
      if ((entry.attempts ?? 0) > 1 || entry.code !== undefined || entry.streamError !== undefined) sample();
    },
    sample,
    snapshot() {
      trim(requests, false);
      if (requests.length > maxRequests) requests.splice(0, requests.length - maxRequests);
      return {
        now: now(),
        windowMs,
        providers: [...breakers.keys()],
        requests: [...requests],
        breakers: Object.fromEntries(breakers),
        probes: Object.fromEntries(probes),
      };
    },
    close() {
      clearInterval(timer);
    },
  };
}
