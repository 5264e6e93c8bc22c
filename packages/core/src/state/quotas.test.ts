import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICES } from '../providers/provider-table.js';
import { createMemoryState } from './memory-state.js';
import { createQuotaGate, estimateUsage, quotaError, toMicros } from './quotas.js';
import type { QuotaSubject, Reservation } from './types.js';

const SETTINGS = { defaultOutputTokens: 1024, reservationTtlMs: 60_000 };

describe('estimateUsage', () => {
  it('takes a quarter of the body bytes as input and the request maximum as output', () => {
    expect(estimateUsage({ max_tokens: 50 }, 401, 1024)).toEqual({ inputTokens: 101, outputTokens: 50 });
    expect(estimateUsage({ max_completion_tokens: 7 }, 0, 1024)).toEqual({ inputTokens: 0, outputTokens: 7 });
    expect(estimateUsage({ max_output_tokens: 9 }, 4, 1024)).toEqual({ inputTokens: 1, outputTokens: 9 });
    // A maximum that is not a positive whole number is no maximum.
    expect(estimateUsage({ max_tokens: '50', max_completion_tokens: -1 }, 8, 1024)).toEqual({ inputTokens: 2, outputTokens: 1024 });
  });
});

describe('toMicros', () => {
  it('rounds USD up to whole micro-dollars, without float noise', () => {
    expect(toMicros(0.0001)).toBe(100);
    expect(toMicros(0.00012501)).toBe(126);
    expect(toMicros(1.1)).toBe(1_100_000);
    expect(toMicros(null)).toBe(0);
    expect(toMicros(0)).toBe(0);
  });
});

describe('quotaError', () => {
  const caller: QuotaSubject = { kind: 'caller', id: 'c.x', limits: { requestsPerMinute: 20 } };
  it('is a 429 rate_limited for requests per minute, retryable, with its wait', () => {
    const error = quotaError({ ok: false, subject: caller, limit: 'requestsPerMinute', value: 20, retryAfterMs: 12_300 });
    expect(error).toMatchObject({ code: 'rate_limited', status: 429, retryable: true, retryAfterMs: 12_300 });
    expect(error.message).toBe('This caller key reached its limit of 20 requests per minute.');
    expect(error.hint).toBe('20 requests per minute per caller key; retry after 13s');
  });
  it('is a 429 budget_exceeded for a daily budget, not retryable', () => {
    const app: QuotaSubject = { kind: 'appToken', id: 'a.x', limits: {} };
    const error = quotaError({ ok: false, subject: app, limit: 'spendPerDay', value: 2_500_000, retryAfterMs: 3_600_000 });
    expect(error).toMatchObject({ code: 'budget_exceeded', status: 429, retryable: false, retryAfterMs: 3_600_000 });
    expect(error.message).toBe('This app token reached its budget of $2.50 for today (UTC).');
    expect(quotaError({ ok: false, subject: app, limit: 'tokensPerDay', value: 5_000, retryAfterMs: 1 }).message).toContain('5000 tokens');
  });
});

describe('createQuotaGate', () => {
  it('is absent when no limit is set', () => {
    expect(createQuotaGate(undefined, createMemoryState(), DEFAULT_PRICES)).toBeUndefined();
    expect(createQuotaGate({ ...SETTINGS, caller: {} }, createMemoryState(), DEFAULT_PRICES)).toBeUndefined();
  });

  it('names subjects by a keyed hash, never by the key, and the same key by the same hash', async () => {
    const state = createMemoryState();
    const seen: QuotaSubject[][] = [];
    const spy = { ...state, reserve: (request: Parameters<typeof state.reserve>[0]) => (seen.push([...request.subjects]), state.reserve(request)) };
    const gate = createQuotaGate({ ...SETTINGS, caller: { requestsPerMinute: 5 }, appToken: { requestsPerMinute: 5 }, secret: 'a-secret-of-sixteen+' }, spy, DEFAULT_PRICES);
    const key = 'sk-caller-key-0123456789';
    await gate?.reserve({ callerKey: key, appToken: 'app-token-1', body: {}, model: 'gpt-5' });
    await gate?.reserve({ callerKey: key, body: {}, model: 'gpt-5' });
    const [first, second] = seen;
    expect(first?.map((subject) => subject.kind)).toEqual(['appToken', 'caller']);
    expect(first?.[1]?.id).toMatch(/^c\.[A-Za-z0-9_-]{22}$/);
    expect(second?.[0]?.id).toBe(first?.[1]?.id);
    expect(JSON.stringify(seen)).not.toContain(key);
    expect(JSON.stringify(seen)).not.toContain('app-token-1');
    // Another secret, another name: the hash tells nothing without the secret.
    const other = createQuotaGate({ ...SETTINGS, caller: { requestsPerMinute: 5 }, secret: 'another-secret-16+' }, { ...state, reserve: (request) => (seen.push([...request.subjects]), state.reserve(request)) }, DEFAULT_PRICES);
    await other?.reserve({ callerKey: key, body: {}, model: 'gpt-5' });
    expect(seen[2]?.[0]?.id).not.toBe(first?.[1]?.id);
  });

  it('reserves the estimate priced by the first model, and settles the real usage', async () => {
    const state = createMemoryState();
    const settled: Array<{ tokens: number; spendMicros: number }> = [];
    const gate = createQuotaGate({ ...SETTINGS, caller: { spendPerDay: 1 } }, { ...state, settle: (_r, usage) => settled.push(usage) }, DEFAULT_PRICES);
    const reservation = (await gate?.reserve({ callerKey: 'k', body: { max_tokens: 100 }, bodyBytes: 400, model: 'gpt-5' })) as Reservation;
    // gpt-5: $1.25 in, $10 out per million: 100 × 1.25 + 100 × 10 = 1125 micro-USD.
    expect(reservation).toMatchObject({ tokens: 200, spendMicros: 1_125 });
    gate?.settle(reservation, { inputTokens: 10, outputTokens: 5, cost: 0.0000625 }, true);
    gate?.settle(reservation, {}, true);
    gate?.settle(reservation, {}, false);
    expect(settled).toEqual([
      { tokens: 15, spendMicros: 63 },
      { tokens: 200, spendMicros: 1_125 },
      { tokens: 0, spendMicros: 0 },
    ]);
  });

  it('applies no limit to a request without a subject (no app token, an operator key)', () => {
    const gate = createQuotaGate({ ...SETTINGS, caller: { requestsPerMinute: 1 } }, createMemoryState(), DEFAULT_PRICES);
    expect(gate?.reserve({ body: {}, model: 'gpt-5' })).toBeUndefined();
  });
});
