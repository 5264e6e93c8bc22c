import type { ResolvedConfig, Timeouts } from '../config.js';
import { type ErrorCode, SwitchyardError } from '../errors.js';
import type { UpstreamTarget } from '../providers/provider.js';
import type { HealthRegistry } from '../reachability/health-registry.js';
import { policyUnreachableError, routeAllowedByPolicy } from '../reachability/policy.js';
import type { AttemptKind } from '../telemetry/attributes.js';
import { type AttemptSpan, startAttemptSpan, type Telemetry } from '../telemetry/telemetry.js';
import { toSwitchyardError } from '../upstream-errors.js';
import { failoverRoutes, failsOver } from './failover.js';
import { isRetryable, retryDelay, sleep } from './retry.js';
import type { Route } from './route.js';

/** One try, as the answer reports it (`X-LLM-Attempts`, the `route` event). */
export interface AttemptRecord {
  /** The provider tried. */
  provider: string;
  /** The model tried. */
  model: string;
  /** How it went; `aborted`: stopped because another attempt answered first (a hedge's loser). */
  status: 'ok' | 'failed' | 'aborted';
  /** The error code of a failed try. */
  code?: ErrorCode;
  /** Set for tries outside the first plan: a continuation after a break (`resume`), the second attempt of a hedge (`hedge`). */
  kind?: 'resume' | 'hedge';
}

/** The reason an attempt's signal is aborted with when another attempt of the request answered first. */
export class AttemptSuperseded extends Error {
  override readonly name = 'AttemptSuperseded';
  /** The reason, with a message that says so. */
  constructor() {
    super('Another attempt answered first.');
  }
}

/** What a successful plan produced: the value, where it came from, and every try on the way. */
export interface AttemptOutcome<T> {
  /** What the successful try produced. */
  value: T;
  /** Where it came from. */
  target: UpstreamTarget;
  /** Every try, in order. */
  attempts: AttemptRecord[];
  /** Why the answer came from another provider than the route's (`X-LLM-Fallback-Reason`); undefined when it did not. */
  fallbackReason?: string | undefined;
  /**
   * The span of the attempt that answered, when traced: a break after the commit marks it failed.
   * @internal
   */
  span?: AttemptSpan | undefined;
}

/** Options of one plan: `kind` marks every try of a plan made after the first (a continuation, a hedge). */
export interface PlanOptions {
  kind?: 'resume' | 'hedge' | undefined;
}

/** What each try gets besides its target: the abort signal and the timeouts of the route's tier. */
export interface AttemptCall {
  /** Aborts the try (the client left, or a deadline passed). */
  signal: AbortSignal | undefined;
  /** The deadlines of the route's tier, over the defaults. */
  timeouts: Partial<Timeouts> | undefined;
}

/** What the planner needs beyond the route: retries, failover and tier timeouts from the config; breakers and probes from the registry. */
export interface AttemptPolicy {
  /** Retries, failover and tier timeouts. */
  readonly config: ResolvedConfig;
  /** Breakers and probes, when the planner consults them. */
  readonly health?: HealthRegistry | undefined;
  /**
   * Spans per attempt and retry/failover counts (SPEC §10); absent or disabled: none. Set by `createSwitchyard`.
   * @internal
   */
  readonly telemetry?: Telemetry | undefined;
  /** Jitter source, for tests. */
  readonly random?: () => number;
}

/** Codes after which the next model candidate of the tier is tried (SPEC §5). */
const NEXT_CANDIDATE: ReadonlySet<ErrorCode> = new Set(['model_not_found', 'region_restricted']);

/** One attempt's work: call the upstream for `target`, resolve once it answered. */
export type Run<T> = (target: UpstreamTarget, call: AttemptCall) => Promise<T>;

/** Why the route's own provider is not tried: `error` when it must not be, none when a probe only advises against it. */
interface Block {
  reason: string;
  error?: SwitchyardError;
}

function circuitOpenError(health: HealthRegistry, providerId: string): SwitchyardError {
  const { breaker } = health.health(providerId);
  const waitMs = breaker.retryAt === undefined ? undefined : Math.max(0, breaker.retryAt - Date.now());
  const when = waitMs === undefined ? 'a trial call is under way; retry in a moment' : `retry after ${Math.max(1, Math.ceil(waitMs / 1000))}s`;
  return new SwitchyardError('provider_unreachable', `The circuit for provider "${providerId}" is open after ${breaker.consecutiveFailures} consecutive failures.`, {
    provider: providerId,
    retryAfterMs: waitMs,
    hint: `circuit open: ${when}, or pick another provider`,
    details: { breaker: breaker.state },
  });
}

function blockOf(route: Route, policy: AttemptPolicy): Block | undefined {
  // A caller-chosen relay is another host: the provider's policy, breaker and probe say nothing about it.
  if (route.baseUrlSource === 'caller') return undefined;
  const { provider, cluster } = route;
  if (!routeAllowedByPolicy(route)) {
    return { reason: `provider_unreachable: ${provider.id} not reachable from ${cluster}`, error: policyUnreachableError(policy.config, provider) };
  }
  const { health } = policy;
  if (!health) return undefined;
  if (!health.wouldAdmit(provider.id)) return { reason: `provider_unreachable: ${provider.id} circuit open`, error: circuitOpenError(health, provider.id) };
  const probe = health.probeBlock(provider.id);
  return probe ? { reason: `provider_unreachable: ${provider.id} probe ${probe}` } : undefined;
}

function attemptKind(failover: boolean, candidate: number, retry: number, plan: PlanOptions['kind']): AttemptKind {
  if (retry > 0) return 'retry';
  if (candidate > 0) return 'candidate';
  if (failover) return 'failover';
  return plan ?? 'first';
}

type Tried<T> = { ok: true; outcome: AttemptOutcome<T> } | { ok: false; error: SwitchyardError };

/**
 * One try of one target: the breaker's permit, the attempt span, the run, the report to the breaker and the record.
 * Resolves with the outcome or the normalized error; rejects only when the circuit opened under the request.
 */
async function tryTarget<T>(
  target: UpstreamTarget,
  attempts: AttemptRecord[],
  run: Run<T>,
  call: AttemptCall,
  policy: AttemptPolicy | undefined,
  kind: AttemptKind,
  plan: PlanOptions['kind'],
  last: SwitchyardError | undefined,
): Promise<Tried<T>> {
  const { route } = target;
  const { provider } = route;
  const { signal } = call;
  const telemetry = policy?.telemetry?.enabled ? policy.telemetry : undefined;
  const health = route.baseUrlSource === 'caller' ? undefined : policy?.health;
  let permit = health?.acquire(provider.id);
  // Only a shared breaker's half-open trial is claimed asynchronously; the hot path stays synchronous.
  if (permit instanceof Promise) permit = await permit;
  // The circuit opened under this very request: its own last error says more than "circuit open".
  if (health && !permit) throw last ?? circuitOpenError(health, provider.id);
  // Only a caller's key can land in what the caller typed (a model id, a relay host).
  const secret = route.keySource === 'caller' ? route.apiKey : undefined;
  const span = telemetry && startAttemptSpan(telemetry, { provider: provider.id, model: target.model, baseUrl: route.baseUrl, kind, number: attempts.length + 1, secret });
  try {
    const value = await (span ? span.within(() => run(target, call)) : run(target, call));
    health?.report(provider.id, permit);
    attempts.push(plan ? { provider: provider.id, model: target.model, status: 'ok', kind: plan } : { provider: provider.id, model: target.model, status: 'ok' });
    span?.succeed();
    return { ok: true, outcome: { value, target, attempts, span: span || undefined } };
  } catch (thrown) {
    const error = toSwitchyardError(thrown, { provider: provider.id, cluster: route.cluster, secrets: [route.apiKey] });
    const superseded = signal?.aborted === true && signal.reason instanceof AttemptSuperseded;
    health?.report(provider.id, permit, error, signal?.aborted === true);
    const record: AttemptRecord = superseded ? { provider: provider.id, model: target.model, status: 'aborted' } : { provider: provider.id, model: target.model, status: 'failed', code: error.code };
    if (plan) record.kind = plan;
    attempts.push(record);
    if (superseded) span?.abandon();
    else span?.fail(error.code);
    return { ok: false, error };
  }
}

/** Tries one route's candidates in order, each with retries; reports every outcome to the provider's breaker. */
async function runLeg<T>(
  route: Route,
  attempts: AttemptRecord[],
  run: Run<T>,
  signal: AbortSignal | undefined,
  policy: AttemptPolicy | undefined,
  failover = false,
  plan: PlanOptions['kind'] = undefined,
): Promise<AttemptOutcome<T>> {
  const { candidates, provider } = route;
  const telemetry = policy?.telemetry?.enabled ? policy.telemetry : undefined;
  const retries = policy?.config.retries;
  const call: AttemptCall = { signal, timeouts: route.tier === undefined ? undefined : policy?.config.tierTimeouts[route.tier] };
  let last: SwitchyardError | undefined;
  for (let i = 0; i < candidates.length; i++) {
    const target: UpstreamTarget = { route, model: candidates[i] as string };
    for (let retry = 0; ; retry++) {
      const tried = await tryTarget(target, attempts, run, call, policy, attemptKind(failover, i, retry, plan), plan, last);
      if (tried.ok) return tried.outcome;
      const error = tried.error;
      last = error;
      if (signal?.aborted) throw error;
      if (NEXT_CANDIDATE.has(error.code) && i < candidates.length - 1) break;
      const delay = retries && retry < retries.max && isRetryable(error) ? retryDelay(error, retry, retries, policy?.random) : undefined;
      if (delay === undefined) throw error;
      telemetry?.metrics()?.retry(provider.id, error.code);
      try {
        await sleep(delay, signal);
      } catch {
        throw error;
      }
    }
  }
  throw last ?? new Error('unreachable: a route always has at least one candidate');
}

/**
 * One try of one target outside any plan (the second attempt of a hedge): breaker permit, span, record, and no
 * retries, candidates or failover. Throws its error.
 */
export async function runOnce<T>(target: UpstreamTarget, attempts: AttemptRecord[], run: Run<T>, signal: AbortSignal | undefined, policy: AttemptPolicy, plan: 'hedge'): Promise<AttemptOutcome<T>> {
  const { route } = target;
  const call: AttemptCall = { signal, timeouts: route.tier === undefined ? undefined : policy.config.tierTimeouts[route.tier] };
  const tried = await tryTarget(target, attempts, run, call, policy, plan, plan, undefined);
  if (tried.ok) return tried.outcome;
  throw tried.error;
}

/**
 * Plans and runs the tries of one request (SPEC §5), all before the commit point: a failure here is data for the next
 * try, never something the client has seen.
 *
 * - the route's candidates in order on `model_not_found` and `region_restricted`;
 * - retries with backoff and jitter on rate limits, 5xx, connection errors and timeouts, honouring `Retry-After`;
 * - a provider not reachable by policy, or with its circuit open, fails fast with `provider_unreachable`, without a
 *   network call, unless `config.failover` may take the request;
 * - cross-provider failover, same tier, operator keys only, when the provider failed.
 *
 * Without `policy` only the candidates are tried (no retries, no failover, no breaker). Throws the last error.
 * `attempts` is filled in as tries happen, so a caller sees them even when this throws.
 */
export async function runAttempts<T>(
  route: Route,
  attempts: AttemptRecord[],
  run: Run<T>,
  signal?: AbortSignal,
  policy?: AttemptPolicy,
  options: PlanOptions = {},
): Promise<AttemptOutcome<T>> {
  const plan = options.kind;
  if (!policy) return runLeg(route, attempts, run, signal, undefined, false, plan);
  const { config, health } = policy;
  const admissible = (id: string) => !health || (health.wouldAdmit(id) && health.probeBlock(id) === undefined);
  const failovers = () => failoverRoutes(config, route, (provider) => admissible(provider.id));

  const block = blockOf(route, policy);
  let reason = block?.reason;
  let last = block?.error;
  // A probe only advises: with nowhere else to go, the route's own provider is still tried.
  if (!block || (!block.error && failovers().length === 0)) {
    try {
      return await runLeg(route, attempts, run, signal, policy, false, plan);
    } catch (thrown) {
      last = toSwitchyardError(thrown);
      if (signal?.aborted || !failsOver(last, route)) throw last;
      reason = `${last.code}: ${route.provider.id} failed`;
    }
  }
  for (const leg of failovers()) {
    if (policy.telemetry?.enabled) policy.telemetry.metrics()?.failover(route.provider.id, leg.provider.id, last?.code);
    try {
      return { ...(await runLeg(leg, attempts, run, signal, policy, true, plan)), fallbackReason: reason };
    } catch (thrown) {
      last = toSwitchyardError(thrown);
      if (signal?.aborted) throw last;
    }
  }
  throw last ?? new Error('unreachable: a blocked route always carries its error');
}

/** `X-LLM-Served-By`, `X-LLM-Attempts` and, when the answer came from another provider, `X-LLM-Fallback-Reason`. */
export function servedHeaders(target: UpstreamTarget, attempts: readonly AttemptRecord[], fallbackReason?: string): Record<string, string> {
  return setServedHeaders({}, target, attempts, fallbackReason);
}

/** Sets the headers of {@link servedHeaders} on `headers` and returns it. */
export function setServedHeaders(headers: Record<string, string>, target: UpstreamTarget, attempts: readonly AttemptRecord[], fallbackReason?: string): Record<string, string> {
  headers['x-llm-served-by'] = `${target.route.provider.id}/${target.model}`;
  headers['x-llm-attempts'] = String(attempts.length);
  if (fallbackReason !== undefined) headers['x-llm-fallback-reason'] = fallbackReason;
  return headers;
}
