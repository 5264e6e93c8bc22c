import { createHmac, randomBytes } from 'node:crypto';
import { SwitchyardError } from '../errors.js';
import { computeCost, type PriceTable } from '../stream/cost.js';
import type { QuotaLimits, QuotaLimitSettings, QuotaSettings, QuotaSubject, Reservation, ReserveOutcome, SharedState } from './types.js';

export type { QuotaLimitSettings, QuotaSettings };

/** What a request brings to the quota check. */
export interface QuotaRequest {
  /** The app token the request was authorized with, when app tokens are configured. */
  appToken?: string | undefined;
  /** The caller's own key, when the route uses one (never an operator key). */
  callerKey?: string | undefined;
  /** The request body, for its `max_tokens`. */
  body: Record<string, unknown>;
  /** Size of the request body in bytes, for the input estimate (its JSON size when unknown). */
  bodyBytes?: number | undefined;
  /** The model the route tries first, for the spend estimate. */
  model: string;
}

/** The usage a request ended with, from its log entry. */
export interface QuotaUsage {
  inputTokens?: number | undefined;
  outputTokens?: number | undefined;
  cost?: number | null | undefined;
}

/** Limits per app token and per caller: reserve before the upstream call, settle after it (SPEC §9). */
export interface QuotaGate {
  /** Reserves the request's estimate; undefined when no limit applies. Throws `rate_limited` or `budget_exceeded`. */
  reserve(request: QuotaRequest): Reservation | undefined | Promise<Reservation | undefined>;
  /** Settles with the real usage; `answered` says whether an upstream answered (else nothing was spent). */
  settle(reservation: Reservation, usage: QuotaUsage, answered: boolean): void;
}

const OUTPUT_FIELDS = ['max_tokens', 'max_completion_tokens', 'max_output_tokens'] as const;

/**
 * The estimate reserved before a call: input tokens as a quarter of the body's bytes (a ceiling for most text),
 * output tokens as the request's own maximum, else `defaultOutputTokens`.
 */
export function estimateUsage(body: Record<string, unknown>, bodyBytes: number, defaultOutputTokens: number): { inputTokens: number; outputTokens: number } {
  let outputTokens = defaultOutputTokens;
  for (const field of OUTPUT_FIELDS) {
    const value = body[field];
    if (typeof value === 'number' && Number.isInteger(value) && value > 0) {
      outputTokens = value;
      break;
    }
  }
  return { inputTokens: Math.ceil(Math.max(0, bodyBytes) / 4), outputTokens };
}

/** USD to integer micro-USD, rounded up so a budget is never under-counted. */
export function toMicros(usd: number | null | undefined): number {
  return usd === null || usd === undefined || !(usd > 0) ? 0 : Math.ceil(Math.round(usd * 1e8) / 100);
}

function limitsOf(settings: QuotaLimitSettings | undefined): QuotaLimits | undefined {
  if (!settings) return undefined;
  const limits: QuotaLimits = {
    requestsPerMinute: settings.requestsPerMinute,
    tokensPerDay: settings.tokensPerDay,
    spendMicrosPerDay: settings.spendPerDay === undefined ? undefined : Math.floor(settings.spendPerDay * 1e6),
  };
  return limits.requestsPerMinute === undefined && limits.tokensPerDay === undefined && limits.spendMicrosPerDay === undefined ? undefined : limits;
}

const WHO = { appToken: 'app token', caller: 'caller key' } as const;

function formatUsd(micros: number): string {
  return `$${(micros / 1e6).toFixed(micros % 10_000 === 0 ? 2 : 6).replace(/(\.\d\d\d*?)0+$/, '$1')}`;
}

/** The 429 for a refused reservation: `rate_limited` for requests per minute, `budget_exceeded` for a daily budget. */
export function quotaError(outcome: Extract<ReserveOutcome, { ok: false }>): SwitchyardError {
  const who = WHO[outcome.subject.kind];
  const retryAfterMs = Math.max(1, outcome.retryAfterMs);
  const wait = `retry after ${Math.max(1, Math.ceil(retryAfterMs / 1000))}s`;
  const details = { limit: outcome.limit, scope: outcome.subject.kind, value: outcome.value };
  if (outcome.limit === 'requestsPerMinute') {
    return new SwitchyardError('rate_limited', `This ${who} reached its limit of ${outcome.value} requests per minute.`, {
      retryAfterMs,
      type: 'rate_limit_error',
      hint: `${outcome.value} requests per minute per ${who}; ${wait}`,
      details,
    });
  }
  const amount = outcome.limit === 'tokensPerDay' ? `${outcome.value} tokens` : formatUsd(outcome.value);
  return new SwitchyardError('budget_exceeded', `This ${who} reached its budget of ${amount} for today (UTC).`, {
    retryAfterMs,
    type: 'rate_limit_error',
    hint: `the daily budget of ${amount} per ${who} is used up or held by calls in flight; ${wait}, or ask the operator to raise it`,
    details,
  });
}

/** Creates the quota gate over a state; undefined when no quota is configured (nothing to check, nothing to pay). */
export function createQuotaGate(settings: QuotaSettings | undefined, state: SharedState, prices: PriceTable, now: () => number = Date.now): QuotaGate | undefined {
  if (!settings) return undefined;
  const appToken = limitsOf(settings.appToken);
  const caller = limitsOf(settings.caller);
  if (!appToken && !caller) return undefined;
  // Without Redis a process-local secret is enough; with it the configuration must name one (checked at start-up).
  const secret = settings.secret ?? randomBytes(32).toString('base64url');
  const hash = (value: string) => createHmac('sha256', secret).update(value).digest('base64url').slice(0, 22);
  const budgeted = (limits: QuotaLimits | undefined) => limits !== undefined && (limits.tokensPerDay !== undefined || limits.spendMicrosPerDay !== undefined);
  let sequence = 0;

  return {
    reserve(request) {
      const subjects: QuotaSubject[] = [];
      if (appToken && request.appToken !== undefined) subjects.push({ kind: 'appToken', id: `a.${hash(request.appToken)}`, limits: appToken });
      if (caller && request.callerKey !== undefined) subjects.push({ kind: 'caller', id: `c.${hash(request.callerKey)}`, limits: caller });
      if (subjects.length === 0) return undefined;
      let tokens = 0;
      let spendMicros = 0;
      if (subjects.some((subject) => budgeted(subject.limits))) {
        const estimate = estimateUsage(request.body, request.bodyBytes ?? Buffer.byteLength(JSON.stringify(request.body)), settings.defaultOutputTokens);
        tokens = estimate.inputTokens + estimate.outputTokens;
        const usage = { input_tokens: estimate.inputTokens, output_tokens: estimate.outputTokens, total_tokens: tokens };
        spendMicros = toMicros(computeCost(request.model, usage, prices));
      }
      const id = `${state.instanceId}.${(++sequence).toString(36)}`;
      const outcome = state.reserve({ id, subjects, tokens, spendMicros, now: now(), ttlMs: settings.reservationTtlMs });
      const decide = (result: ReserveOutcome): Reservation => {
        if (!result.ok) throw quotaError(result);
        return result.reservation;
      };
      return outcome instanceof Promise ? outcome.then(decide) : decide(outcome);
    },

    settle(reservation, usage, answered) {
      if (!reservation.subjects.some((subject) => budgeted(subject.limits))) return;
      let tokens = 0;
      let spendMicros = 0;
      if (usage.inputTokens !== undefined || usage.outputTokens !== undefined) {
        tokens = (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
        spendMicros = toMicros(usage.cost);
      } else if (answered) {
        // An answer whose usage never arrived (a client that left mid-stream): the estimate stands.
        tokens = reservation.tokens;
        spendMicros = reservation.spendMicros;
      }
      state.settle(reservation, { tokens, spendMicros });
    },
  };
}
