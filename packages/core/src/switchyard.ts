import { randomUUID, timingSafeEqual, createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type Paths, type ResolvedConfig, resolveConfig, type SwitchyardOptions } from './config.js';
import { createDispatcher, type UpstreamDispatcher } from './dispatch/dispatcher.js';
import { SwitchyardError } from './errors.js';
import { redactLogEntry } from './redact.js';
import { chatEndpoint, type ChatTurnContext, writeChatError } from './http/chat-endpoint.js';
import { createChatSockets } from './http/chat-socket.js';
import type { Endpoint, EndpointContext, SwitchyardRuntime } from './http/endpoint-context.js';
import { embeddingsEndpoint, modelsEndpoint, writeOpenAIError } from './http/openai-endpoints.js';
import { chatCompletionsEndpoint, countTokensEndpoint, messagesEndpoint, responsesEndpoint } from './http/generation-endpoint.js';
import { writeWireError } from './http/endpoint-context.js';
import { messagesCodec } from './protocols/messages/index.js';
import { providersEndpoint } from './http/providers-endpoint.js';
import { acceptParsedBody, bodyError, parseJsonObject, readRequestBody } from './http/request-body.js';
import { createNodeSink, createWebSink, type ResponseSink } from './http/response-sink.js';
import { createLlmContext, type LlmContext, type LlmContextView } from './llm-context.js';
import { createOpenAIProvider } from './providers/openai-provider.js';
import { asProviderV2, type ProviderV2 } from './providers/provider.js';
import { createHealthRegistry, type HealthRegistry } from './reachability/health-registry.js';
import { type RequestView, type ResolveOptions, resolveRoute } from './router/resolve.js';
import type { Route } from './router/route.js';
import { createMemoryState } from './state/memory-state.js';
import { createQuotaGate } from './state/quotas.js';
import { createRedisState } from './state/redis-state.js';
import type { SharedState } from './state/types.js';
import type { MetricSources } from './telemetry/metrics.js';
import { createTelemetry, type RequestTrace } from './telemetry/telemetry.js';
import { createFirstByteStats } from './router/hedge.js';

/** What `attach` needs of a server: its `'upgrade'` event (`node:http` and `node:https` servers). */
export type UpgradeServer = Pick<EventEmitter, 'on' | 'off' | 'listenerCount'>;

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
export const ENDPOINT_NAMES: readonly EndpointName[] = ['chat', 'chatCompletions', 'responses', 'messages', 'countTokens', 'embeddings', 'models', 'providers'];

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
  /** Where breakers, probes and quota counters live: this process, or Redis shared by many (SPEC §9). */
  readonly state: SharedState;
  /** Resolves once the shared state has joined Redis, or runs alone for now (bounded by `redis.connectTimeoutMs`); never rejects. */
  ready(): Promise<void>;
  /** Resolves a route from a request view (SPEC §2). */
  resolve(view: RequestView, options?: ResolveOptions): Route;
  /** The provider a route goes through (a v1 adapter is wrapped as v2). */
  providerFor(route: Route): ProviderV2;
  /** Whether `method path` is one of the endpoints this instance serves. */
  matches(method: string | undefined, path: string): boolean;
  /** Serves a request on Node's http objects if it is one of the endpoints; resolves false (and writes nothing) otherwise. */
  handleNode(req: IncomingMessage, res: ServerResponse, options?: HandleNodeOptions): Promise<boolean>;
  /** A web-standard handler: `fetch(request) → Response`, for plain servers, Hono, Bun or Deno. 404 for other paths. */
  fetch(request: Request): Promise<Response>;
  /**
   * Takes a `node:http` upgrade request for the WebSocket chat (`GET /api/chat`, SPEC §4); returns false, leaving the
   * socket alone, for any other path. For servers that route their own `'upgrade'` events; else use `attach`.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Serves the WebSocket chat on a `node:http` or `node:https` server: `switchyard.attach(app.listen(3000))`. Upgrades to
   * other paths are left to the server's other `'upgrade'` listeners (refused with 404 when there are none).
   * Returns a function that detaches it again.
   */
  attach(server: UpgradeServer): () => void;
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

/** What the metrics' gauges read: breakers and probes from the registry, shared state's standing, and the model ids the configuration knows. */
function metricSources(config: ResolvedConfig, health: HealthRegistry, state: SharedState): MetricSources {
  const knownModels = new Set(Object.keys(config.prices));
  for (const provider of config.providers.values()) {
    for (const candidates of Object.values(provider.tiers)) for (const model of candidates) knownModels.add(model);
    for (const target of Object.values(provider.aliases)) if (!provider.tiers[target]) knownModels.add(target);
  }
  return {
    cluster: config.cluster,
    knownModels,
    *providers() {
      for (const id of config.providers.keys()) {
        const { probe, breaker } = health.health(id);
        yield { id, breaker: breaker.state, probe: probe && { reachable: probe.status === 'reachable', latencyMs: probe.latencyMs } };
      }
    },
    // Up while Redis answers; down while this instance serves on its own state (SPEC §9).
    sharedState: state.store === 'redis' ? () => ({ up: state.status().mode === 'shared', backend: 'redis' }) : undefined,
  };
}

/** Masks the body's text and wraps the sink, so the request span can carry the prompt and the answer (opt-in). */
function captureContent(context: EndpointContext, trace: RequestTrace): void {
  const { output } = trace;
  const read = context.body;
  context.body = () =>
    read().then((body) => {
      trace.input = body;
      return body;
    });
  if (!output) return;
  const sink = context.sink;
  context.sink = {
    get signal() {
      return sink.signal;
    },
    get committed() {
      return sink.committed;
    },
    get firstWriteAt() {
      return sink.firstWriteAt;
    },
    writeHead: (status, headers) => sink.writeHead(status, headers),
    write(chunk) {
      output.push(chunk);
      return sink.write(chunk);
    },
    end(chunk) {
      if (chunk !== undefined) output.push(chunk);
      sink.end(chunk);
    },
  };
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
  const state = config.redis ? createRedisState(config.redis) : createMemoryState();
  if (options.onStateChange) state.onStatus(options.onStateChange);
  const health = createHealthRegistry({ config, lookup: options.lookup, state });
  const quotas = createQuotaGate(config.quotas, state, config.prices);
  // Fire and forget: start-up never waits for a probe, and a failed probe is only a result.
  health.warm();
  const telemetry = createTelemetry({ settings: config.telemetry, sources: metricSources(config, health, state) });
  const adapters: Record<string, ProviderV2> = {};
  for (const [id, adapter] of Object.entries(options.adapters ?? {})) adapters[id] = asProviderV2(adapter);
  const runtime: SwitchyardRuntime = {
    config,
    dispatcher,
    health,
    telemetry,
    firstBytes: config.hedge ? createFirstByteStats() : undefined,
    state,
    quotas,
    providerFor: (route) => adapters[route.provider.id] ?? openai,
  };
  const onRequest = options.onRequest;
  const appTokens = config.appTokens?.map(digest);
  const { paths } = config;
  const byName: Record<EndpointName, [method: string, endpoint: Endpoint]> = {
    chat: ['POST', chatEndpoint],
    chatCompletions: ['POST', chatCompletionsEndpoint],
    responses: ['POST', responsesEndpoint],
    messages: ['POST', messagesEndpoint],
    countTokens: ['POST', countTokensEndpoint],
    embeddings: ['POST', embeddingsEndpoint],
    models: ['GET', modelsEndpoint],
    providers: ['GET', providersEndpoint],
  };
  const endpoints = new Map<string, Endpoint>(
    (Object.keys(byName) as EndpointName[]).map((name) => [`${byName[name][0]} ${paths[name]}`, byName[name][1]]),
  );
  const endpointNames = new Map<Endpoint, EndpointName>((Object.keys(byName) as EndpointName[]).map((name) => [byName[name][1], name]));

  /** Each endpoint's own error envelope, for errors raised before it runs (the app-token check). */
  function errorWriter(endpoint: Endpoint): (context: EndpointContext, error: unknown) => void {
    if (endpoint === chatEndpoint) return writeChatError;
    if (endpoint === messagesEndpoint || endpoint === countTokensEndpoint) return (context, error) => writeWireError(context, messagesCodec, error);
    return writeOpenAIError;
  }

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

  /** The request spans of WebSocket chat turns, until the turn's report ends them. */
  const turnTraces = new WeakMap<ChatTurnContext, RequestTrace>();

  /**
   * Completes a request's log entry and hands it to its consumers, once per request (an HTTP request or a WebSocket
   * turn): the quota held before the upstream call is settled, `onRequest` gets the entry with every secret the caller
   * sent masked, then the metrics and the request span read it.
   */
  function report(context: ChatTurnContext, started: number, firstWriteAt: number | undefined, secrets: readonly (string | undefined)[] = [], trace = turnTraces.get(context)): void {
    const { log, attempts } = context;
    if (context.reservation) quotas?.settle(context.reservation, log, attempts.some((attempt) => attempt.status === 'ok'));
    if (state.store === 'redis' && state.status().mode === 'alone') log.sharedState = 'alone';
    if (attempts.length > 0) {
      log.attempts = attempts.length;
      // The provider that answered, on every endpoint (after a failover it is not the route's).
      const served = attempts.findLast((attempt) => attempt.status === 'ok');
      if (served) log.provider = served.provider;
    }
    if (firstWriteAt !== undefined) log.firstByteMs = Math.round((firstWriteAt - started) * 100) / 100;
    if (!onRequest && !telemetry.enabled) return;
    log.durationMs = Math.round((performance.now() - started) * 100) / 100;
    const masked = onRequest || trace ? [callerSecret(context.headers['x-llm-api-key']), callerSecret(context.headers['x-api-key']), callerSecret(context.query?.get('llm_api_key')), ...secrets] : secrets;
    if (onRequest) {
      try {
        // The entry never carries a key; the caller's own key is masked even where the caller typed it (a model name).
        onRequest(redactLogEntry(log, masked));
      } catch {
        // A failing logger never breaks a request.
      }
    }
    if (telemetry.enabled) {
      try {
        telemetry.finishRequest(trace, log, attempts, masked);
      } catch {
        // Telemetry never breaks a request.
      }
    }
  }

  /** Runs one WebSocket chat turn under its own request span, as an HTTP request runs under its own. */
  function traceTurn(context: ChatTurnContext, turn: () => Promise<void>): Promise<void> {
    const trace = telemetry.enabled ? telemetry.startRequest('chat', config.cluster) : undefined;
    if (!trace) return turn();
    turnTraces.set(context, trace);
    return trace.within(turn);
  }

  async function serve(endpoint: Endpoint, context: EndpointContext): Promise<void> {
    try {
      if (!authorized(context.headers.authorization)) {
        throw new SwitchyardError('unauthorized', 'This server needs an app token.');
      }
      await endpoint(context);
    } catch (error) {
      if (!context.sink.committed) errorWriter(endpoint)(context, error);
      else context.sink.end();
    }
  }

  // Request-level consumers (the logger, metrics, the request span) all read the log entry here, once per request.
  async function run(endpoint: Endpoint, context: EndpointContext, started: number): Promise<void> {
    const name = endpointNames.get(endpoint);
    const trace = telemetry.enabled ? telemetry.startRequest(name, config.cluster) : undefined;
    try {
      if (trace) {
        if (telemetry.captureContent) captureContent(context, trace);
        await trace.within(() => serve(endpoint, context));
      } else {
        await serve(endpoint, context);
      }
    } finally {
      context.log.endpoint = name;
      report(context, started, context.sink.firstWriteAt, [], trace);
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
      reservation: undefined,
    };
  }

  /** A context for one WebSocket chat turn: each turn is a request of its own (id, log entry, attempts). */
  function turnContext(method: string, path: string, headers: EndpointContext['headers'], query: URLSearchParams | undefined): ChatTurnContext {
    const requestId = randomUUID();
    return { runtime, headers, query, requestId, log: { requestId, method, path, endpoint: 'chat', status: 0, durationMs: 0 }, attempts: [], reservation: undefined };
  }

  function queryOf(url: string | undefined, headers: EndpointContext['headers']): URLSearchParams | undefined {
    if (!config.queryCredentials || headers.upgrade === undefined || !url) return undefined;
    const index = url.indexOf('?');
    return index === -1 ? undefined : new URLSearchParams(url.slice(index + 1));
  }

  let closing: Promise<void> | undefined;
  const sockets = createChatSockets({ config, authorized, turnContext, credentialQuery: queryOf, report, traceTurn });

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    return sockets.handleUpgrade(req, socket, head);
  }

  return {
    config,
    dispatcher,
    health,
    state,
    ready: () => state.ready(),
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

    handleUpgrade,

    attach(server) {
      const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        if (handleUpgrade(req, socket, head)) return;
        // With no other taker, an upgrade to another path would hang: answer it.
        if (server.listenerCount('upgrade') === 1) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      };
      server.on('upgrade', onUpgrade);
      return () => {
        server.off('upgrade', onUpgrade);
      };
    },

    close: () => {
      // Idempotent: shutdown paths often call close() more than once.
      closing ??= (async () => {
        sockets.close();
        telemetry.close();
        health.close();
        await state.close();
        await dispatcher.close();
      })();
      return closing;
    },
  };
}
