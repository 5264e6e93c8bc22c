import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { Agent } from 'undici';
import type { Timeouts } from '../config.js';
import { SwitchyardError } from '../errors.js';
import { checkCallerBaseUrl } from './base-url-policy.js';

/** One request leaving for a provider. */
export interface OutgoingRequest {
  /** The full URL, query included. */
  url: string;
  method: 'GET' | 'POST';
  /** Exactly the headers to send: the dispatcher adds none from the inbound request. */
  headers: Record<string, string>;
  body?: string | undefined;
  /** Whether the base URL came from the caller (`X-LLM-Base-Url`): then the base-URL policy applies. */
  callerChosen: boolean;
  signal?: AbortSignal | undefined;
  timeouts: Timeouts;
}

export interface DispatchedResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface DispatcherOptions {
  /** URL prefixes a caller may use beyond the public-https rule. */
  allowedBaseUrls?: readonly string[];
  /** Connect timeout, in ms. */
  connectTimeoutMs?: number;
  /** Keep-alive sockets per upstream origin are reused for this long when idle, in ms. */
  keepAliveTimeoutMs?: number;
  /** Replaces DNS resolution (tests point provider host names at loopback with it). */
  lookup?: LookupFunction;
}

/**
 * The one way out: every byte that leaves for a provider goes through `request`. The base-URL policy,
 * deadlines and keep-alive pools per origin live here, so no route or adapter can skip them.
 */
export interface UpstreamDispatcher {
  request(request: OutgoingRequest): Promise<DispatchedResponse>;
  /** The undici dispatcher behind it, for the `openai` SDK clients this package hands out. */
  readonly agent: Agent;
  close(): Promise<void>;
}

export function createDispatcher(options: DispatcherOptions = {}): UpstreamDispatcher {
  const allowed = options.allowedBaseUrls ?? [];
  const agent = new Agent({
    keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000,
    keepAliveMaxTimeout: 60_000,
    connect: { timeout: options.connectTimeoutMs ?? 10_000, ...(options.lookup ? { lookup: options.lookup } : {}) },
  });

  async function request(outgoing: OutgoingRequest): Promise<DispatchedResponse> {
    const url = new URL(outgoing.url);
    if (outgoing.callerChosen) checkCallerBaseUrl(url, allowed);
    const { timeouts } = outgoing;
    // One timer bounds the whole attempt, body included; undici's own timers bound first byte and idle gaps.
    const total = new AbortController();
    const timer = setTimeout(() => total.abort(new SwitchyardError('upstream_timeout', 'The upstream call took longer than allowed.')), timeouts.totalMs);
    const onAbort = () => total.abort(outgoing.signal?.reason);
    if (outgoing.signal) {
      if (outgoing.signal.aborted) onAbort();
      else outgoing.signal.addEventListener('abort', onAbort, { once: true });
    }
    const release = () => {
      clearTimeout(timer);
      outgoing.signal?.removeEventListener('abort', onAbort);
    };
    try {
      const response = await agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: outgoing.method,
        headers: outgoing.headers,
        body: outgoing.body ?? null,
        signal: total.signal,
        headersTimeout: timeouts.firstByteMs,
        bodyTimeout: timeouts.idleMs,
      });
      response.body.once('close', release);
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      release();
      if (total.signal.aborted && SwitchyardError.isInstance(total.signal.reason)) throw total.signal.reason;
      throw error;
    }
  }

  return {
    request,
    agent,
    close: () => agent.close(),
  };
}
