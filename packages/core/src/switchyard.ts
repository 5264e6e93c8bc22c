import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Paths, type ResolvedConfig, resolveConfig, type SwitchyardOptions } from './config.js';
import { createDispatcher, type UpstreamDispatcher } from './dispatch/dispatcher.js';
import { SwitchyardError } from './errors.js';
import { redactLogEntry } from './redact.js';
import { chatEndpoint, writeChatError } from './http/chat-endpoint.js';
import type { Endpoint, EndpointContext, SwitchyardRuntime } from './http/endpoint-context.js';
import { chatCompletionsEndpoint, embeddingsEndpoint, modelsEndpoint, writeOpenAIError } from './http/openai-endpoints.js';
import { providersEndpoint } from './http/providers-endpoint.js';
import { acceptParsedBody, bodyError, parseJsonObject, readRequestBody } from './http/request-body.js';
import { createNodeSink, createWebSink, type ResponseSink } from './http/response-sink.js';
import { createLlmContext, type LlmContext, type LlmContextView } from './llm-context.js';
import { createOpenAIProvider } from './providers/openai-provider.js';
import type { Provider } from './providers/provider.js';
import { createHealthRegistry, type HealthRegistry } from './reachability/health-registry.js';
import { type RequestView, type ResolveOptions, resolveRoute } from './router/resolve.js';
import type { Route } from './router/route.js';

/** Options for `handleNode` when a framework already did part of the work. */
export interface HandleNodeOptions {
  /** The body a framework already parsed (`req.body`, `ctx.request.body`); read from the request when undefined. */
  body?: unknown;
  /** The path to match, when the framework mounted the app under a prefix. Defaults to `req.url` without its query. */
  path?: string;
  /** Serve this endpoint whatever the path (for handlers mounted on routes of the app's choosing). */
  endpoint?: EndpointName;
}

/** The endpoints of SPEC §4, by name (the keys of the `paths` option). */
export type EndpointName = keyof Paths;

/** Every endpoint name, for adapters that offer one handler per endpoint. */
export const ENDPOINT_NAMES: readonly EndpointName[] = ['chat', 'chatCompletions', 'embeddings', 'models', 'providers'];

/** Whether a value is a Switchyard already (adapters take options or a shared instance). */
export function isSwitchyard(value: unknown): value is Switchyard {
  return typeof value === 'object' && value !== null && 'handleNode' in value && 'resolve' in value;
}

/** A configured Switchyard: routing, the endpoints of SPEC §4, and the one way out to providers. */
export interface Switchyard {
  /** The options, validated, with defaults applied. */
  readonly config: ResolvedConfig;
  /** The one way out to providers. */
  readonly dispatcher: UpstreamDispatcher;
  /** Breakers, passive health and probes per provider (SPEC §3, §5). */
  readonly health: HealthRegistry;
  /** Resolves a route from a request view (SPEC §2). */
  resolve(view: RequestView, options?: ResolveOptions): Route;
  /** The provider adapter a route goes through. */
  providerFor(route: Route): Provider;
  /** Whether `method path` is one of the endpoints this instance serves. */
  matches(method: string | undefined, path: string): boolean;
  /** Serves a request on Node's http objects if it is one of the endpoints; resolves false (and writes nothing) otherwise. */
  handleNode(req: IncomingMessage, res: ServerResponse, options?: HandleNodeOptions): Promise<boolean>;
  /** A web-standard handler: `fetch(request) → Response`, for plain servers, Hono, Bun or Deno. 404 for other paths. */
  fetch(request: Request): Promise<Response>;
  /** `req.llm` / `ctx.state.llm`: the route of a request, and calls made on it. */
  context(view: LlmContextView): LlmContext;
  /** Stops probes and closes the upstream pools. */
  close(): Promise<void>;
}

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function callerSecret(value: string | string[] | null | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first?.trim() || undefined;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Creates a Switchyard from options, validated at once: a wrong option throws one error listing every problem. */
export function createSwitchyard(options: SwitchyardOptions = {}): Switchyard {
  const config = resolveConfig(options);
  const dispatcher = createDispatcher({
    allowedBaseUrls: config.allowedBaseUrls,
    connectTimeoutMs: config.timeouts.connectMs,
    lookup: options.lookup,
  });
  const openai = createOpenAIProvider({ dispatcher, timeouts: config.timeouts });
  const health = createHealthRegistry({ config, lookup: options.lookup });
  // Fire and forget: start-up never waits for a probe, and a failed probe is only a result.
  health.warm();
  const adapters = options.adapters ?? {};
  const runtime: SwitchyardRuntime = {
    config,
    dispatcher,
    health,
    providerFor: (route) => adapters[route.provider.id] ?? openai,
  };
  const onRequest = options.onRequest;
  const appTokens = config.appTokens?.map(digest);
  const { paths } = config;
  const byName: Record<EndpointName, [method: string, endpoint: Endpoint]> = {
    chat: ['POST', chatEndpoint],
    chatCompletions: ['POST', chatCompletionsEndpoint],
    embeddings: ['POST', embeddingsEndpoint],
    models: ['GET', modelsEndpoint],
    providers: ['GET', providersEndpoint],
  };
  const endpoints = new Map<string, Endpoint>(
    (Object.keys(byName) as EndpointName[]).map((name) => [`${byName[name][0]} ${paths[name]}`, byName[name][1]]),
  );
  const endpointNames = new Map<Endpoint, EndpointName>((Object.keys(byName) as EndpointName[]).map((name) => [byName[name][1], name]));

  function authorized(header: string | string[] | undefined): boolean {
    if (!appTokens) return true;
    const value = Array.isArray(header) ? header[0] : header;
    if (!value?.startsWith('Bearer ')) return false;
    const given = digest(value.slice(7).trim());
    // Compare digests in constant time, against every token, so timing tells nothing.
    let ok = false;
    for (const token of appTokens) ok = timingSafeEqual(token, given) || ok;
    return ok;
  }

  async function run(endpoint: Endpoint, context: EndpointContext, started: number): Promise<void> {
    try {
      if (!authorized(context.headers.authorization)) {
        throw new SwitchyardError('unauthorized', 'This server needs an app token.');
      }
      await endpoint(context);
    } catch (error) {
      if (!context.sink.committed) (endpoint === chatEndpoint ? writeChatError : writeOpenAIError)(context, error);
      else context.sink.end();
    } finally {
      const { log, sink } = context;
      log.endpoint = endpointNames.get(endpoint);
      if (context.attempts.length > 0) log.attempts = context.attempts.length;
      if (sink.firstWriteAt !== undefined) log.firstByteMs = Math.round((sink.firstWriteAt - started) * 100) / 100;
      if (onRequest) {
        log.durationMs = Math.round((performance.now() - started) * 100) / 100;
        try {
          // The entry never carries a key; the caller's own key is masked even where the caller typed it (a model name).
          onRequest(redactLogEntry(context.log, [callerSecret(context.headers['x-llm-api-key']), callerSecret(context.query?.get('llm_api_key'))]));
        } catch {
          // A failing logger never breaks a request.
        }
      }
    }
  }

  function makeContext(
    method: string,
    path: string,
    headers: EndpointContext['headers'],
    query: URLSearchParams | undefined,
    body: () => Promise<Record<string, unknown>>,
    sink: ResponseSink,
  ): EndpointContext {
    const requestId = randomUUID();
    let cached: Promise<Record<string, unknown>> | undefined;
    return {
      runtime,
      method,
      path,
      headers,
      query,
      body: () => (cached ??= body()),
      sink,
      requestId,
      log: { requestId, method, path, status: 0, durationMs: 0 },
      attempts: [],
    };
  }

  function queryOf(url: string | undefined, headers: EndpointContext['headers']): URLSearchParams | undefined {
    if (!config.queryCredentials || headers.upgrade === undefined || !url) return undefined;
    const index = url.indexOf('?');
    return index === -1 ? undefined : new URLSearchParams(url.slice(index + 1));
  }

  return {
    config,
    dispatcher,
    health,
    resolve: (view, resolveOptions) => resolveRoute(config, view, resolveOptions),
    providerFor: runtime.providerFor,
    matches: (method, path) => endpoints.has(`${method} ${path}`),

    async handleNode(req, res, handleOptions = {}) {
      const path = handleOptions.path ?? pathOf(req.url);
      const method = req.method ?? 'GET';
      const endpoint = handleOptions.endpoint ? byName[handleOptions.endpoint][1] : endpoints.get(`${method} ${path}`);
      if (!endpoint) return false;
      const started = performance.now();
      const { limits } = config;
      const readBody = async () => {
        if (handleOptions.body !== undefined) return acceptParsedBody(handleOptions.body, limits);
        const length = Number(req.headers['content-length']);
        if (length > limits.bodyBytes) throw bodyError('too_large', `The request body is larger than ${limits.bodyBytes} bytes.`);
        // A body parser that consumed the stream without setting a body leaves nothing to read.
        if (req.readableEnded) return {};
        return parseJsonObject(await readRequestBody(req, limits.bodyBytes), limits);
      };
      const context = makeContext(method, path, req.headers, queryOf(req.url, req.headers), readBody, createNodeSink(req, res));
      await run(endpoint, context, started);
      return true;
    },

    async fetch(request) {
      const url = new URL(request.url);
      const endpoint = endpoints.get(`${request.method} ${url.pathname}`);
      if (!endpoint) {
        const error = new SwitchyardError('invalid_request', `No endpoint at ${request.method} ${url.pathname}.`, { hint: `endpoints: ${[...endpoints.keys()].join(', ')}` });
        return Response.json({ error: { message: error.message, type: 'invalid_request_error', code: error.code, param: null, hint: error.hint } }, { status: 404 });
      }
      const started = performance.now();
      const headers: Record<string, string> = {};
      request.headers.forEach((value, key) => {
        headers[key] = value;
      });
      const { limits } = config;
      const readBody = async () => {
        const length = Number(headers['content-length']);
        if (length > limits.bodyBytes) throw bodyError('too_large', `The request body is larger than ${limits.bodyBytes} bytes.`);
        if (!request.body) return {};
        return parseJsonObject(await readRequestBody(request.body as unknown as AsyncIterable<Uint8Array>, limits.bodyBytes), limits);
      };
      const { sink, response } = createWebSink(request.signal);
      const query = config.queryCredentials && headers.upgrade !== undefined ? url.searchParams : undefined;
      const context = makeContext(request.method, url.pathname, headers, query, readBody, sink);
      const done = run(endpoint, context, started);
      return Promise.race([response, done.then(() => response)]);
    },

    context: (view) => createLlmContext(runtime, view),

    close: () => {
      health.close();
      return dispatcher.close();
    },
  };
}
