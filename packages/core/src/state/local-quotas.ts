import type { QuotaLimits, QuotaSubject, Reservation, ReserveOutcome, ReserveRequest, SettledUsage } from './types.js';

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** A budget blocked only by calls still in flight frees up when they settle: retry soon rather than tomorrow. */
export const IN_FLIGHT_RETRY_MS = 2_000;

/** The UTC day of an epoch-ms time, as `YYYYMMDD` (the day budgets count in). */
export function utcDay(now: number): string {
  const date = new Date(now);
  return `${date.getUTCFullYear()}${String(date.getUTCMonth() + 1).padStart(2, '0')}${String(date.getUTCDate()).padStart(2, '0')}`;
}

/** Milliseconds from `now` to the next UTC midnight, when daily budgets start again. */
export function msUntilUtcMidnight(now: number): number {
  return DAY_MS - (now % DAY_MS);
}

interface Held {
  tokens: number;
  spendMicros: number;
  expiresAt: number;
}

interface Counters {
  /** Start times of the requests of the last minute, oldest first. */
  requests: number[];
  day: string;
  tokens: number;
  spendMicros: number;
  heldTokens: number;
  heldSpendMicros: number;
  held: Map<string, Held>;
}

/** In-process quota counters: the memory state's, and the Redis state's while it runs alone. */
export interface LocalQuotas {
  /** Reserves against every subject, all or nothing. Limits are divided by `share` (the instances a limit is split over). */
  reserve(request: ReserveRequest, share?: number): ReserveOutcome;
  /** Replaces a reservation with the real usage. */
  settle(reservation: Reservation, usage: SettledUsage): void;
  /** Forgets subjects with nothing left to count. */
  sweep(now: number): void;
  /** Subjects counted right now (for tests and metrics). */
  readonly size: number;
}

function scaled(limit: number | undefined, share: number): number | undefined {
  return limit === undefined ? undefined : Math.max(1, Math.floor(limit / share));
}

function scaledLimits(limits: QuotaLimits, share: number): QuotaLimits {
  if (share <= 1) return limits;
  return {
    requestsPerMinute: scaled(limits.requestsPerMinute, share),
    tokensPerDay: scaled(limits.tokensPerDay, share),
    spendMicrosPerDay: scaled(limits.spendMicrosPerDay, share),
  };
}

/** Creates in-process quota counters with the same rules as the Redis scripts: a sliding minute, UTC days, reclaimed reservations. */
export function createLocalQuotas(): LocalQuotas {
  const subjects = new Map<string, Counters>();

  function countersOf(subject: QuotaSubject, day: string): Counters {
    let counters = subjects.get(subject.id);
    if (!counters) {
      counters = { requests: [], day, tokens: 0, spendMicros: 0, heldTokens: 0, heldSpendMicros: 0, held: new Map() };
      subjects.set(subject.id, counters);
    } else if (counters.day !== day) {
      // A new UTC day: yesterday's budget is spent; calls still in flight settle into a day that is gone.
      Object.assign(counters, { day, tokens: 0, spendMicros: 0, heldTokens: 0, heldSpendMicros: 0 });
      counters.held.clear();
    }
    return counters;
  }

  function reclaim(counters: Counters, now: number): void {
    for (const [id, held] of counters.held) {
      if (held.expiresAt > now) continue;
      counters.heldTokens -= held.tokens;
      counters.heldSpendMicros -= held.spendMicros;
      counters.held.delete(id);
    }
  }

  return {
    reserve(request, share = 1) {
      const { now } = request;
      const day = utcDay(now);
      const checked: Array<[Counters, QuotaLimits]> = [];
      for (const subject of request.subjects) {
        const limits = scaledLimits(subject.limits, share);
        const counters = countersOf(subject, day);
        const { requests } = counters;
        while (requests.length > 0 && (requests[0] as number) <= now - MINUTE_MS) requests.shift();
        if (limits.requestsPerMinute !== undefined && requests.length >= limits.requestsPerMinute) {
          return { ok: false, subject, limit: 'requestsPerMinute', value: limits.requestsPerMinute, retryAfterMs: (requests[0] as number) + MINUTE_MS - now };
        }
        if (limits.tokensPerDay !== undefined || limits.spendMicrosPerDay !== undefined) {
          reclaim(counters, now);
          const budgets = [
            ['tokensPerDay', limits.tokensPerDay, counters.tokens, counters.heldTokens, request.tokens],
            ['spendPerDay', limits.spendMicrosPerDay, counters.spendMicros, counters.heldSpendMicros, request.spendMicros],
          ] as const;
          for (const [limit, value, used, held, wanted] of budgets) {
            if (value === undefined || used + held + wanted <= value) continue;
            return { ok: false, subject, limit, value, retryAfterMs: used + wanted > value ? msUntilUtcMidnight(now) : IN_FLIGHT_RETRY_MS };
          }
        }
        checked.push([counters, limits]);
      }
      for (const [counters, limits] of checked) {
        if (limits.requestsPerMinute !== undefined) counters.requests.push(now);
        if (limits.tokensPerDay !== undefined || limits.spendMicrosPerDay !== undefined) {
          counters.heldTokens += request.tokens;
          counters.heldSpendMicros += request.spendMicros;
          counters.held.set(request.id, { tokens: request.tokens, spendMicros: request.spendMicros, expiresAt: now + request.ttlMs });
        }
      }
      return { ok: true, reservation: { id: request.id, subjects: request.subjects, day, tokens: request.tokens, spendMicros: request.spendMicros, where: 'local' } };
    },

    settle(reservation, usage) {
      for (const subject of reservation.subjects) {
        if (subject.limits.tokensPerDay === undefined && subject.limits.spendMicrosPerDay === undefined) continue;
        const counters = subjects.get(subject.id);
        if (!counters || counters.day !== reservation.day) continue;
        const held = counters.held.get(reservation.id);
        if (held) {
          counters.heldTokens -= held.tokens;
          counters.heldSpendMicros -= held.spendMicros;
          counters.held.delete(reservation.id);
        }
        counters.tokens += usage.tokens;
        counters.spendMicros += usage.spendMicros;
      }
    },

    sweep(now) {
      const day = utcDay(now);
      for (const [id, counters] of subjects) {
        const { requests } = counters;
        while (requests.length > 0 && (requests[0] as number) <= now - MINUTE_MS) requests.shift();
        reclaim(counters, now);
        if (requests.length === 0 && counters.held.size === 0 && (counters.day !== day || (counters.tokens === 0 && counters.spendMicros === 0))) subjects.delete(id);
      }
    },

    get size() {
      return subjects.size;
    },
  };
}
