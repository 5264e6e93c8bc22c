import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { SwitchyardRuntime } from './http/endpoint-context.js';
import { applyGenerationSettings } from './providers/model-params.js';
import { readBody } from './providers/openai-provider.js';
import type { JsonBody } from './providers/provider.js';
import { isAzureDeploymentPath, isAzureHost, DEFAULT_AZURE_API_VERSION } from './providers/azure.js';
import { type AttemptRecord, runAttempts } from './router/attempts.js';
import { type HeaderBag, resolveRoute } from './router/resolve.js';
import type { Route } from './router/route.js';
import type { FinishReason, StreamPart, Usage } from './stream/parts.js';
import { generate, generationParts } from './router/generate.js';

/** What `req.llm` is built from. */
export interface LlmContextView {
  /** The request's headers (`X-LLM-Provider`, `X-LLM-Api-Key`, `X-LLM-Base-Url`, …). */
  headers: HeaderBag;
  /** The request body, when parsed: its `model` (or `provider`) names the tier for `route`. */
  body?: unknown;
  /** The query of an upgrade request, for opt-in `llm_*` credentials. */
  query?: URLSearchParams | undefined;
  /** Aborts calls made through this context (the client went away). */
  signal?: AbortSignal | undefined;
}

/** A call made through `req.llm`: the messages, and optionally the tier and sampling. */
export interface ChatCallRequest {
  /** The conversation, in OpenAI's message shape. */
  messages: ChatCompletionMessageParam[];
  /** A tier, alias or model id; defaults to the request's own, then `general`. */
  model?: string;
  /** Sampling temperature, where the model takes one. */
  temperature?: number;
  /** Longest answer, in tokens (sent as the parameter the model takes). */
  maxTokens?: number;
  /** Aborts this call. */
  signal?: AbortSignal;
}

/** A finished, non-streamed answer. */
export interface Completion {
  /** The answer. */
  text: string;
  /** The reasoning, where the model shows it (empty otherwise). */
  reasoning: string;
  /** Token counts, when the provider reported them. */
  usage: Usage | undefined;
  /** Why the answer ended. */
  finishReason: FinishReason | undefined;
  /** The provider that answered. */
  provider: string;
  /** The model that answered. */
  model: string;
  /** Every try on the way, in order. */
  attempts: AttemptRecord[];
  /** Why another provider answered than the one asked for; undefined when none did. */
  fallbackReason?: string | undefined;
}

/** Vectors for one text or many. */
export interface Embeddings {
  /** One vector per input, in order. */
  embeddings: number[][];
  /** Token counts, when the provider reported them. */
  usage:
    | {
        /** Tokens of the input. */
        input_tokens: number;
        /** All tokens counted. */
        total_tokens: number;
      }
    | undefined;
  /** The provider that answered. */
  provider: string;
  /** The model that answered. */
  model: string;
}

/** The LLM side of one request: its route, and calls made on it. Route resolution is lazy: unused, it costs nothing. */
export interface LlmContext {
  /** The route from the request's headers and body. Throws a SwitchyardError (for example `missing_api_key`). */
  readonly route: Route;
  /** Streams normalized parts: text, reasoning, usage, finish, error. */
  chat(request: ChatCallRequest): AsyncGenerator<StreamPart, void>;
  /** One whole answer. */
  complete(request: ChatCallRequest): Promise<Completion>;
  /** Embeds one text or many. */
  embed(input: string | string[], options?: { model?: string; signal?: AbortSignal }): Promise<Embeddings>;
  /** An official `openai` client bound to the route (base URL, key, Azure conventions), sending through Switchyard's dispatcher. */
  openai(): OpenAI;
}

function requestedOf(body: unknown): unknown {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  return b.model ?? b.provider;
}

/**
 * Builds `req.llm` for one request over a Switchyard's runtime; apps get it from `switchyard.context(view)`.
 * @internal
 */
export function createLlmContext(runtime: SwitchyardRuntime, view: LlmContextView): LlmContext {
  const { config } = runtime;
  let route: Route | undefined;
  let client: OpenAI | undefined;

  const routeFor = (model: string | undefined, defaultTier: string): Route =>
    model === undefined && defaultTier === 'general'
      ? context.route
      : resolveRoute(config, { headers: view.headers, query: view.query, requested: model ?? requestedOf(view.body) }, { defaultTier });

  const signalOf = (signal: AbortSignal | undefined) => (signal && view.signal ? AbortSignal.any([signal, view.signal]) : (signal ?? view.signal));

  const context: LlmContext = {
    get route() {
      route ??= resolveRoute(config, { headers: view.headers, query: view.query, requested: requestedOf(view.body) });
      return route;
    },

    async *chat(request) {
      const target = routeFor(request.model, 'general');
      const signal = signalOf(request.signal);
      const attempts: AttemptRecord[] = [];
      const build = (model: string): JsonBody =>
        applyGenerationSettings({ model, messages: request.messages, stream: true, stream_options: { include_usage: true } }, model, request);
      const outcome = await runAttempts(target, attempts, (t, call) => generate(runtime.providerFor(t.route), t, 'chat', build(t.model), call), signal, runtime);
      yield* generationParts(outcome.value, { provider: outcome.target.route.provider.id, signal, limit: config.limits.upstreamBodyBytes });
    },

    async complete(request) {
      const target = routeFor(request.model, 'general');
      const signal = signalOf(request.signal);
      const attempts: AttemptRecord[] = [];
      const build = (model: string): JsonBody => applyGenerationSettings({ model, messages: request.messages }, model, request);
      const outcome = await runAttempts(target, attempts, (t, call) => generate(runtime.providerFor(t.route), t, 'chat', build(t.model), call), signal, runtime);
      const result: Completion = {
        text: '',
        reasoning: '',
        usage: undefined,
        finishReason: undefined,
        provider: outcome.target.route.provider.id,
        model: outcome.target.model,
        attempts,
        fallbackReason: outcome.fallbackReason,
      };
      for await (const part of generationParts(outcome.value, { provider: outcome.target.route.provider.id, signal, limit: config.limits.upstreamBodyBytes })) {
        if (part.type === 'text') result.text += part.text;
        else if (part.type === 'reasoning') result.reasoning += part.text;
        else if (part.type === 'usage') result.usage = part.usage;
        else if (part.type === 'finish') result.finishReason = part.reason;
        else if (part.type === 'error') throw part.error;
      }
      return result;
    },

    async embed(input, options = {}) {
      const target = routeFor(options.model, 'embedding');
      const signal = signalOf(options.signal);
      const outcome = await runAttempts(target, [], (t, call) => runtime.providerFor(t.route).doEmbed(t, { model: t.model, input, encoding_format: 'float' }, call), signal, runtime);
      const json = JSON.parse(await readBody(outcome.value.body, config.limits.upstreamBodyBytes)) as {
        data?: Array<{ embedding: number[]; index: number }>;
        usage?: { prompt_tokens?: number; total_tokens?: number };
      };
      const data = [...(json.data ?? [])].sort((a, b) => a.index - b.index);
      return {
        embeddings: data.map((item) => item.embedding),
        usage: json.usage ? { input_tokens: json.usage.prompt_tokens ?? 0, total_tokens: json.usage.total_tokens ?? 0 } : undefined,
        provider: outcome.target.route.provider.id,
        model: outcome.target.model,
      };
    },

    openai() {
      client ??= createOpenAIClient(runtime, context.route);
      return client;
    },
  };
  return context;
}

/**
 * An official `openai` client for a route. Its requests go through the dispatcher's `fetch`: the same pools, and for
 * a caller-chosen base URL the same policy (checked and pinned connections, no redirects) as every other call.
 * Apps get one from `req.llm.openai()`.
 * @internal
 */
export function createOpenAIClient(runtime: SwitchyardRuntime, route: Route): OpenAI {
  const base = new URL(route.baseUrl);
  const azure = isAzureHost(base.hostname) || route.provider.auth === 'api-key';
  const callerChosen = route.baseUrlSource === 'caller';
  const fetchThroughDispatcher = ((url: string | URL, init?: RequestInit) => runtime.dispatcher.fetch(url, init, { callerChosen })) as typeof fetch;
  // A provider that takes no key gets none, even when the caller sent one.
  const keyless = route.provider.auth === 'none' && !azure;
  const apiKey = keyless ? 'none' : (route.apiKey ?? 'none');
  return new OpenAI({
    apiKey,
    baseURL: route.baseUrl,
    fetch: fetchThroughDispatcher,
    maxRetries: 0,
    ...(keyless ? { defaultHeaders: { Authorization: null } } : {}),
    ...(azure
      ? {
          defaultHeaders: { 'api-key': apiKey, Authorization: null },
          ...(isAzureDeploymentPath(base.pathname) && !base.searchParams.has('api-version') ? { defaultQuery: { 'api-version': DEFAULT_AZURE_API_VERSION } } : {}),
        }
      : {}),
  });
}
