import { EventEmitter } from 'node:events';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Timeouts } from '../config.js';
import { onCancel } from '../cancellation.js';
import { SwitchyardError } from '../errors.js';
import { type Allowlist, baseUrlForbidden, checkCallerBaseUrl, compileAllowlist, parseCallerBaseUrl } from './base-url-policy.js';
import { type ConnectHook, createCheckedConnector } from './checked-connector.js';

export type { ConnectHook, ConnectTarget } from './checked-connector.js';

/** One request leaving for a provider. */
export interface OutgoingRequest {
  /** The full URL, query included. */
  url: string;
  /** The HTTP method. */
  method: 'GET' | 'POST';
  /** Exactly the headers to send: the dispatcher adds none from the inbound request. */
  headers: Record<string, string>;
  /** The request body (JSON text). */
  body?: string | undefined;
  /** Whether the base URL came from the caller (`X-LLM-Base-Url`): then the base-URL policy applies. */
  callerChosen: boolean;
  /** Aborts the request. */
  signal?: AbortSignal | undefined;
  /** The deadlines of this attempt. */
  timeouts: Timeouts;
}

/** An upstream's answer, before its body is read. */
export interface DispatchedResponse {
  /** The HTTP status. */
  status: number;
  /** The response headers. */
  headers: Record<string, string | string[] | undefined>;
  /** The body, unread. */
  body: Readable;
}

/** Policy, pools and limits of the dispatcher. */
export interface DispatcherOptions {
  /** URL prefixes a caller may use beyond the public-https rule. */
  allowedBaseUrls?: readonly string[];
  /** Connect timeout, in ms. */
  connectTimeoutMs?: number;
  /** Keep-alive sockets per upstream origin are reused for this long when idle, in ms. */
  keepAliveTimeoutMs?: number;
  /** Replaces DNS resolution (tests point provider host names at loopback with it). Caller-chosen names are still checked. */
  lookup?: LookupFunction;
  /** The largest upstream response body from a caller-chosen origin, in bytes (streams included). Default 64 MiB. */
  maxCallerResponseBytes?: number;
}

/** Options for {@link UpstreamDispatcher.fetch}. */
export interface DispatchFetchOptions {
  /** Whether the URL came from the caller: then the base-URL policy applies and the checked agent is used. */
  callerChosen: boolean;
}

/**
 * The one way out: every byte that leaves for a provider goes through `request` (or `fetch`, for the `openai` SDK
 * clients this package hands out). The base-URL policy, pinned and checked connections, deadlines, size limits and
 * keep-alive pools per origin live here, so no route, adapter or client can skip them.
 */
export interface UpstreamDispatcher {
  /** Sends one request through the policy, pools and deadlines; resolves with the response headers. */
  request(request: OutgoingRequest): Promise<DispatchedResponse>;
  /** A web `fetch` through the same policy and pools: redirects are never followed. */
  fetch(url: string | URL, init: RequestInit | undefined, options: DispatchFetchOptions): Promise<Response>;
  /** The undici agent for operator-configured and allowlisted origins. */
  readonly agent: Agent;
  /** The undici agent for caller-chosen origins: every connection resolved, checked and pinned. */
  readonly callerAgent: Agent;
  /**
   * Registers a hook that sees every connection to a caller-chosen origin after its addresses passed the policy and
   * before the socket connects (for audit logs or an egress policy of your own); a hook that throws refuses the
   * connection. Returns the function that removes it.
   */
  onConnect(hook: ConnectHook): () => void;
  /** Closes both pools once their requests are done. */
  close(): Promise<void>;
}

const DEFAULT_MAX_CALLER_RESPONSE_BYTES = 64 * 1024 * 1024;

function redirectRefused(status: number): SwitchyardError {
  return baseUrlForbidden(
    `The caller-chosen base URL answered with a redirect (HTTP ${status}), which is never followed.`,
    'point X-LLM-Base-Url at the final address of the relay; redirects are not followed',
  );
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400 && status !== 304;
}

/**
 * The abort signal of one upstream call, as undici accepts it (an emitter with `aborted`, `reason` and an `abort`
 * event). It is an order of magnitude cheaper than an `AbortController` and its `EventTarget`, and one is made
 * for every call.
 */
class CallAbort extends EventEmitter {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

/** Creates the dispatcher: one pooled agent for trusted origins, one checked agent for caller-chosen ones. */
export function createDispatcher(options: DispatcherOptions = {}): UpstreamDispatcher {
  const allowlist: Allowlist = compileAllowlist(options.allowedBaseUrls ?? []);
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const keepAlive = { keepAliveTimeout: options.keepAliveTimeoutMs ?? 10_000, keepAliveMaxTimeout: 60_000 };
  const hooks = new Set<ConnectHook>();
  const agent = new Agent({
    ...keepAlive,
    connect: { timeout: connectTimeoutMs, ...(options.lookup ? { lookup: options.lookup } : {}) },
  });
  const callerAgent = new Agent({
    ...keepAlive,
    maxResponseSize: options.maxCallerResponseBytes ?? DEFAULT_MAX_CALLER_RESPONSE_BYTES,
    connect: createCheckedConnector({ lookup: options.lookup, timeoutMs: connectTimeoutMs, hooks }),
  });

  /** The agent a URL goes through, after the static part of the policy. */
  function agentFor(url: URL, callerChosen: boolean): Agent {
    if (!callerChosen) return agent;
    // Allowlisted relays are the operator's own decision: internal addresses and http are allowed there.
    return checkCallerBaseUrl(url, allowlist) === 'allowlisted' ? agent : callerAgent;
  }

  async function request(outgoing: OutgoingRequest): Promise<DispatchedResponse> {
    const url = outgoing.callerChosen ? parseCallerBaseUrl(outgoing.url) : new URL(outgoing.url);
    const via = agentFor(url, outgoing.callerChosen);
    const { timeouts } = outgoing;
    // One timer bounds the whole attempt, body included; undici's own timers bound first byte and idle gaps.
    const total = new CallAbort();
    const timer = setTimeout(() => total.abort(new SwitchyardError('upstream_timeout', 'The upstream call took longer than allowed.')), timeouts.totalMs);
    const { signal } = outgoing;
    const stopWatching = signal ? onCancel(signal, () => total.abort(signal.reason)) : undefined;
    const release = () => {
      clearTimeout(timer);
      stopWatching?.();
    };
    try {
      const response = await via.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: outgoing.method,
        headers: outgoing.headers,
        body: outgoing.body ?? null,
        signal: total,
        headersTimeout: timeouts.firstByteMs,
        bodyTimeout: timeouts.idleMs,
      });
      response.body.once('close', release);
      if (outgoing.callerChosen && isRedirect(response.statusCode)) {
        // Dropped unread: its Location is never looked at, let alone followed.
        response.body.on('error', () => {}).destroy();
        throw redirectRefused(response.statusCode);
      }
      return { status: response.statusCode, headers: response.headers, body: response.body };
    } catch (error) {
      release();
      if (total.aborted && SwitchyardError.isInstance(total.reason)) throw total.reason;
      throw error;
    }
  }

  async function fetchThrough(input: string | URL, init: RequestInit | undefined, fetchOptions: DispatchFetchOptions): Promise<Response> {
    const href = String(input);
    const url = fetchOptions.callerChosen ? parseCallerBaseUrl(href) : new URL(href);
    const via = agentFor(url, fetchOptions.callerChosen);
    const response = (await undiciFetch(href, { ...(init as object), redirect: 'manual', dispatcher: via } as Parameters<typeof undiciFetch>[1])) as unknown as Response;
    if (fetchOptions.callerChosen && isRedirect(response.status)) {
      await response.body?.cancel().catch(() => {});
      throw redirectRefused(response.status);
    }
    return response;
  }

  return {
    request,
    fetch: fetchThrough,
    agent,
    callerAgent,
    onConnect(hook) {
      hooks.add(hook);
      return () => hooks.delete(hook);
    },
    close: async () => {
      await Promise.all([agent.close(), callerAgent.close()]);
    },
  };
}
