import type { ErrorCode } from '../errors.js';
import type { UpstreamTarget } from '../providers/provider.js';
import { toSwitchyardError } from '../upstream-errors.js';
import type { Route } from './route.js';

/** One try, as the answer reports it (`X-LLM-Attempts`, the `route` event). */
export interface AttemptRecord {
  provider: string;
  model: string;
  status: 'ok' | 'failed';
  code?: ErrorCode;
}

/** What a successful plan produced: the value, where it came from, and every try on the way. */
export interface AttemptOutcome<T> {
  value: T;
  target: UpstreamTarget;
  attempts: AttemptRecord[];
}

/** Codes after which the next model candidate of the tier is tried (SPEC §5). */
const NEXT_CANDIDATE: ReadonlySet<ErrorCode> = new Set(['model_not_found', 'region_restricted']);

/**
 * Tries the route's candidates in order until one answers. Runs before the commit point: a failure here is data for
 * the next try, never something the client has seen. Throws the last error, with `attempts` filled in.
 */
export async function runAttempts<T>(
  route: Route,
  attempts: AttemptRecord[],
  run: (target: UpstreamTarget) => Promise<T>,
  signal?: AbortSignal,
): Promise<AttemptOutcome<T>> {
  const { candidates } = route;
  for (let i = 0; i < candidates.length; i++) {
    const target: UpstreamTarget = { route, model: candidates[i] as string };
    try {
      const value = await run(target);
      attempts.push({ provider: route.provider.id, model: target.model, status: 'ok' });
      return { value, target, attempts };
    } catch (thrown) {
      const error = toSwitchyardError(thrown, { provider: route.provider.id, cluster: route.cluster, secrets: [route.apiKey] });
      attempts.push({ provider: route.provider.id, model: target.model, status: 'failed', code: error.code });
      if (signal?.aborted || !NEXT_CANDIDATE.has(error.code) || i === candidates.length - 1) throw error;
    }
  }
  throw new Error('unreachable: a route always has at least one candidate');
}

/** `X-LLM-Served-By` and `X-LLM-Attempts` for an answer. */
export function servedHeaders(target: UpstreamTarget, attempts: readonly AttemptRecord[]): Record<string, string> {
  return {
    'x-llm-served-by': `${target.route.provider.id}/${target.model}`,
    'x-llm-attempts': String(attempts.length),
  };
}
