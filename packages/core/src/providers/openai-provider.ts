import type { Readable } from 'node:stream';
import type { Timeouts } from '../config.js';
import type { DispatchedResponse, UpstreamDispatcher } from '../dispatch/dispatcher.js';
import { SwitchyardError } from '../errors.js';
import { collectBody } from '../stream/collect.js';
import type { Route } from '../router/route.js';
import { normalizeUpstreamError, toSwitchyardError } from '../upstream-errors.js';
import { joinEndpoint, type Endpoint } from './join-url.js';
import type { CallOptions, GenerateRequest, JsonBody, ProviderV2, UpstreamResponse, UpstreamTarget } from './provider.js';
import type { Wire } from '../protocols/conversation.js';

/** What the OpenAI-protocol provider sends through. */
export interface OpenAIProviderOptions {
  /** The one way out: every upstream request goes through it. */
  dispatcher: UpstreamDispatcher;
  /** The default deadlines of a call. */
  timeouts: Timeouts;
}

/** Reads a body into a string, refusing more than `limit` bytes. */
export async function readBody(body: Readable, limit: number): Promise<string> {
  return (await readBodyBytes(body, limit)).toString('utf8');
}

/** Reads a body into one Buffer, refusing more than `limit` bytes (for answers passed on as they came). */
export function readBodyBytes(body: Readable, limit: number): Promise<Buffer> {
  return collectBody(body, limit, () => new SwitchyardError('upstream_error', `The upstream answer is larger than ${limit} bytes.`, { retryable: false }), 'destroy');
}

/** The path of each wire's generation endpoint, under its base URL. */
const WIRE_PATHS: Readonly<Record<Wire, string>> = { chat: 'chat/completions', responses: 'responses', messages: 'messages' };

/** The Anthropic API version sent when the caller named none. */
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/**
 * The built-in HTTP provider: every provider of SPEC §3, any OpenAI-compatible relay, and Anthropic-compatible
 * endpoints, on whichever wires the route's provider settings say it speaks. Requests go out through the shared
 * dispatcher (one keep-alive pool per origin), never through a per-request SDK client or `fetch`.
 */
export function createOpenAIProvider(options: OpenAIProviderOptions): ProviderV2 {
  const { dispatcher } = options;
  // Operator base URLs are few and fixed: join them once.
  const endpoints = new Map<string, Endpoint>();

  function endpoint(route: Route, path: string, wire?: Wire): Endpoint {
    if (route.baseUrlSource === 'caller') return joinEndpoint(route.baseUrl, path, route.provider.auth);
    // A wire served at its own base URL (DeepSeek's Anthropic Messages) is joined to that one.
    const base = (wire && route.provider.wireBaseUrls[wire]) || route.baseUrl;
    const cacheKey = `${base} ${path}`;
    let found = endpoints.get(cacheKey);
    if (!found) {
      found = joinEndpoint(base, path, route.provider.auth);
      endpoints.set(cacheKey, found);
    }
    return found;
  }

  function headers(route: Route, auth: Endpoint['auth'], body: boolean, request?: GenerateRequest): Record<string, string> {
    const out: Record<string, string> = { accept: 'application/json, text/event-stream' };
    if (body) out['content-type'] = 'application/json';
    const messages = request?.wire === 'messages';
    // A provider that takes no key (a local server, the demo's sandbox) gets none, even one a caller sent.
    if (route.apiKey !== undefined && auth !== 'none') {
      if (messages) out['x-api-key'] = route.apiKey;
      else if (auth === 'api-key') out['api-key'] = route.apiKey;
      else out.authorization = `Bearer ${route.apiKey}`;
    }
    if (messages) {
      // Only the protocol's own headers travel with the request; nothing else the caller sent does.
      out['anthropic-version'] = request.headers?.['anthropic-version'] ?? DEFAULT_ANTHROPIC_VERSION;
      const beta = request.headers?.['anthropic-beta'];
      if (beta !== undefined) out['anthropic-beta'] = beta;
    }
    return out;
  }

  async function send(route: Route, path: string, method: 'GET' | 'POST', body: JsonBody | undefined, call: CallOptions = {}, request?: GenerateRequest): Promise<UpstreamResponse> {
    const target = endpoint(route, path, request?.wire);
    const context = { provider: route.provider.id, cluster: route.cluster, secrets: [route.apiKey] };
    let response: DispatchedResponse;
    try {
      response = await dispatcher.request({
        url: target.url,
        method,
        headers: headers(route, target.auth, body !== undefined, request),
        body: body === undefined ? undefined : JSON.stringify(body),
        callerChosen: route.baseUrlSource === 'caller',
        signal: call.signal,
        timeouts: call.timeouts ? { ...options.timeouts, ...call.timeouts } : options.timeouts,
      });
    } catch (error) {
      throw toSwitchyardError(error, context);
    }
    if (response.status >= 200 && response.status < 300) return response;
    let text = '';
    try {
      text = await readBody(response.body, 64 * 1024);
    } catch {
      // An unreadable error body still yields an error from the status below.
    }
    if (response.status >= 300 && response.status < 400) {
      throw new SwitchyardError('upstream_error', `The upstream answered with a redirect (${response.status}), which is not followed.`, {
        provider: route.provider.id,
        upstreamStatus: response.status,
        retryable: false,
        hint: 'point the base URL at the final address; redirects are never followed',
      });
    }
    throw normalizeUpstreamError({ status: response.status, body: text, headers: response.headers, ...context });
  }

  return {
    specificationVersion: 'v2',
    doGenerate: (target: UpstreamTarget, request: GenerateRequest, call?: CallOptions) => send(target.route, WIRE_PATHS[request.wire], 'POST', request.body, call, request),
    doCountTokens: (target: UpstreamTarget, request: GenerateRequest, call?: CallOptions) => send(target.route, 'messages/count_tokens', 'POST', request.body, call, request),
    doEmbed: (target: UpstreamTarget, body: JsonBody, call?: CallOptions) => send(target.route, 'embeddings', 'POST', body, call),
    doListModels: (target: Omit<UpstreamTarget, 'model'>, call?: CallOptions) => send(target.route, 'models', 'GET', undefined, call),
  };
}
