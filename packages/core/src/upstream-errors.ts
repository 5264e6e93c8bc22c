// STUB: signatures only; the real normalizer replaces this file.
import type { Cluster } from './config.js';
import { SwitchyardError } from './errors.js';
import type { HeaderBag } from './router/resolve.js';

export interface UpstreamErrorInput {
  /** The upstream's HTTP status. */
  status: number;
  /** The upstream's body as text (may be JSON, a JSON array, HTML or empty). */
  body: string;
  headers?: HeaderBag | undefined;
  provider?: string | undefined;
  cluster?: Cluster | undefined;
  /** Keys to redact from anything echoed. */
  secrets?: readonly (string | undefined)[] | undefined;
}

export interface ErrorContext {
  provider?: string | undefined;
  cluster?: Cluster | undefined;
  secrets?: readonly (string | undefined)[] | undefined;
}

/** Maps an upstream error answer (status, body, headers) to a SwitchyardError. */
export function normalizeUpstreamError(input: UpstreamErrorInput): SwitchyardError {
  return new SwitchyardError('upstream_error', `upstream answered ${input.status}`, { provider: input.provider, upstreamStatus: input.status });
}

/** Maps anything thrown (SwitchyardError, openai SDK APIError, undici/network errors, aborts) to a SwitchyardError. */
export function toSwitchyardError(error: unknown, context: ErrorContext = {}): SwitchyardError {
  if (SwitchyardError.isInstance(error)) return error;
  return new SwitchyardError('upstream_error', 'upstream call failed', { provider: context.provider, cause: error });
}
