import { describe, expect, it } from 'vitest';
import { createLocalQuotas, IN_FLIGHT_RETRY_MS, msUntilUtcMidnight, utcDay } from './local-quotas.js';
import type { QuotaSubject, ReserveRequest } from './types.js';

const NOON = Date.UTC(2026, 10, 30, 12, 0, 0);

function subject(limits: QuotaSubject['limits'], id = 'c.one'): QuotaSubject {
  return { kind: 'caller', id, limits };
}

let sequence = 0;
function request(subjects: QuotaSubject[], now: number, tokens = 0, spendMicros = 0, ttlMs = 60_000): ReserveRequest {
  return { id: `r${++sequence}`, subjects, tokens, spendMicros, now, ttlMs };
}

describe('utcDay and msUntilUtcMidnight', () => {
  it('name the UTC day and the time left in it', () => {
    expect(utcDay(NOON)).toBe('20261130');
    expect(utcDay(Date.UTC(2026, 0, 1, 0, 0, 0))).toBe('20260101');
    expect(msUntilUtcMidnight(NOON)).toBe(12 * 3_600_000);
    expect(msUntilUtcMidnight(Date.UTC(2026, 10, 30, 23, 59, 59, 999))).toBe(1);
  });
});

describe('createLocalQuotas', () => {
  it('counts requests in a sliding minute and says when the oldest leaves it', () => {
    const quotas = createLocalQuotas();
    const caller = subject({ requestsPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect(quotas.reserve(request([caller], NOON + i * 1_000)).ok).toBe(true);
    const refused = quotas.reserve(request([caller], NOON + 10_000));
    expect(refused).toMatchObject({ ok: false, limit: 'requestsPerMinute', value: 3, retryAfterMs: 50_000 });
    // The first request leaves the window a minute after it started; not a millisecond before.
    expect(quotas.reserve(request([caller], NOON + 59_999)).ok).toBe(false);
    expect(quotas.reserve(request([caller], NOON + 60_000)).ok).toBe(true);
  });

  it('holds estimates, settles real usage, and refuses what would pass the daily budget', () => {
    const quotas = createLocalQuotas();
    const caller = subject({ tokensPerDay: 1_000 });
    const first = quotas.reserve(request([caller], NOON, 600));
    if (!first.ok) throw new Error('refused');
    // 600 held + 600 wanted > 1000: refused while the first call is in flight, for a short while only.
    expect(quotas.reserve(request([caller], NOON, 600))).toMatchObject({ ok: false, limit: 'tokensPerDay', retryAfterMs: IN_FLIGHT_RETRY_MS });
    quotas.settle(first.reservation, { tokens: 100, spendMicros: 0 });
    expect(quotas.reserve(request([caller], NOON, 600)).ok).toBe(true);
    // 100 settled + 600 held + 400 wanted > 1000; and 100 + 950 > 1000 even with nothing held: until midnight.
    expect(quotas.reserve(request([caller], NOON, 400))).toMatchObject({ ok: false, retryAfterMs: IN_FLIGHT_RETRY_MS });
    expect(quotas.reserve(request([caller], NOON, 950))).toMatchObject({ ok: false, retryAfterMs: msUntilUtcMidnight(NOON) });
  });

  it('counts spend in micro-USD', () => {
    const quotas = createLocalQuotas();
    const caller = subject({ spendMicrosPerDay: 1_000 });
    const made = quotas.reserve(request([caller], NOON, 0, 700));
    if (!made.ok) throw new Error('refused');
    quotas.settle(made.reservation, { tokens: 0, spendMicros: 700 });
    expect(quotas.reserve(request([caller], NOON, 0, 301))).toMatchObject({ ok: false, limit: 'spendPerDay', value: 1_000 });
    expect(quotas.reserve(request([caller], NOON, 0, 300)).ok).toBe(true);
  });

  it('reclaims a reservation that is never settled once it expires', () => {
    const quotas = createLocalQuotas();
    const caller = subject({ tokensPerDay: 1_000 });
    expect(quotas.reserve(request([caller], NOON, 900, 0, 5_000)).ok).toBe(true);
    expect(quotas.reserve(request([caller], NOON + 4_999, 900)).ok).toBe(false);
    expect(quotas.reserve(request([caller], NOON + 5_000, 900)).ok).toBe(true);
  });

  it('reserves in every subject or in none', () => {
    const quotas = createLocalQuotas();
    const app = { kind: 'appToken' as const, id: 'a.app', limits: { requestsPerMinute: 10 } };
    const tight = subject({ requestsPerMinute: 1 });
    expect(quotas.reserve(request([app, tight], NOON)).ok).toBe(true);
    expect(quotas.reserve(request([app, tight], NOON))).toMatchObject({ ok: false, subject: { id: 'c.one' } });
    // The refused request did not count against the app token: 9 more fit.
    const other = subject({ requestsPerMinute: 100 }, 'c.two');
    const results = Array.from({ length: 10 }, () => quotas.reserve(request([app, other], NOON)).ok);
    expect(results.filter(Boolean)).toHaveLength(9);
  });

  it('splits limits over the instances it stands in for when running alone', () => {
    const quotas = createLocalQuotas();
    const caller = subject({ requestsPerMinute: 10, tokensPerDay: 100 });
    const results = Array.from({ length: 10 }, () => quotas.reserve(request([caller], NOON), 3).ok);
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(quotas.reserve(request([subject({ tokensPerDay: 100 }, 'c.x')], NOON, 34), 3)).toMatchObject({ ok: false, value: 33 });
  });

  it('starts a new budget at UTC midnight, and forgets idle subjects', () => {
    const quotas = createLocalQuotas();
    const caller = subject({ tokensPerDay: 100 });
    const made = quotas.reserve(request([caller], NOON, 100));
    if (!made.ok) throw new Error('refused');
    quotas.settle(made.reservation, { tokens: 100, spendMicros: 0 });
    expect(quotas.reserve(request([caller], NOON, 1)).ok).toBe(false);
    const tomorrow = NOON + 86_400_000;
    expect(quotas.reserve(request([caller], tomorrow, 1)).ok).toBe(true);
    expect(quotas.size).toBe(1);
    quotas.sweep(tomorrow + 2 * 86_400_000);
    expect(quotas.size).toBe(0);
  });
});
