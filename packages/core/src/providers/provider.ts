import type { Readable } from 'node:stream';
import type { Timeouts } from '../config.js';
import type { Wire } from '../protocols/conversation.js';
import type { Route } from '../router/route.js';


/** Where one attempt goes: a route narrowed to one concrete model. */
export interface UpstreamTarget {
  /** The request's route. */
  route: Route;
  /** The concrete model id for this attempt. */
  model: string;
}

/** Per-call options every provider method takes. */
export interface CallOptions {
  /** Aborts the upstream call (client gone, deadline passed). */
  signal?: AbortSignal | undefined;
  /** Overrides the configured timeouts for this call. */
  timeouts?: Partial<Timeouts> | undefined;
}

/** A 2xx upstream answer, before its body is read. The body is JSON or `text/event-stream` bytes. */
export interface UpstreamResponse {
  /** The HTTP status (2xx). */
  status: number;
  /** The response headers. */
  headers: Record<string, string | string[] | undefined>;
  /** The body, unread. */
  body: Readable;
}

/** A request body as a plain object. */
export type JsonBody = Record<string, unknown>;

/** One generation request on one wire: the body in that wire's shape (its `model` already the attempt's). */
export interface GenerateRequest {
  wire: Wire;
  body: JsonBody;
  /** Protocol headers passed on from the caller (`anthropic-version`, `anthropic-beta`); a provider keeps those its wire knows. */
  headers?: Readonly<Record<string, string>> | undefined;
}

/**
 * Version 1 of the provider interface: it speaks OpenAI Chat Completions only. Still accepted wherever a provider is
 * (the `adapters` option); it is treated as a v2 provider whose one wire is `chat`.
 */
export interface ProviderV1 {
  /** The version of this interface the provider implements. */
  readonly specificationVersion: 'v1';
  /** The wire protocol it speaks upstream (`openai`, …). */
  readonly protocol: string;
  /** `POST {base}/chat/completions` with `body` (its `model` already set to `target.model`). */
  doChat(target: UpstreamTarget, body: JsonBody, options?: CallOptions): Promise<UpstreamResponse>;
  /** `POST {base}/embeddings`. */
  doEmbed(target: UpstreamTarget, body: JsonBody, options?: CallOptions): Promise<UpstreamResponse>;
  /** `GET {base}/models`. */
  doListModels(target: Omit<UpstreamTarget, 'model'>, options?: CallOptions): Promise<UpstreamResponse>;
}

/**
 * A provider speaks to one upstream (STYLE: a provider is a spec, not a class hierarchy). Version 2 says which wires
 * it speaks natively: a request arriving on one of them is passed through, any other is translated by the core into
 * the first of them, so a provider never translates and the router never changes.
 *
 * Every method resolves with a 2xx response, or rejects with a `SwitchyardError` (normalized upstream error,
 * network failure or timeout). The moment it resolves is before the first byte goes to the client.
 */
export interface ProviderV2 {
  readonly specificationVersion: 'v2';
  /** The wires this provider speaks natively, preferred first. Omitted: those of the route's provider settings. */
  readonly wires?: readonly Wire[] | undefined;
  /** `POST` a generation request on one of its wires (`/chat/completions`, `/responses`, `/messages`). */
  doGenerate(target: UpstreamTarget, request: GenerateRequest, options?: CallOptions): Promise<UpstreamResponse>;
  /** `POST {base}/messages/count_tokens`, for providers that count exactly; omitted: Switchyard estimates. */
  doCountTokens?(target: UpstreamTarget, request: GenerateRequest, options?: CallOptions): Promise<UpstreamResponse>;
  /** `POST {base}/embeddings`. */
  doEmbed(target: UpstreamTarget, body: JsonBody, options?: CallOptions): Promise<UpstreamResponse>;
  /** `GET {base}/models`. */
  doListModels(target: Omit<UpstreamTarget, 'model'>, options?: CallOptions): Promise<UpstreamResponse>;
}

/** A provider of either version. */
export type Provider = ProviderV1 | ProviderV2;

/** A v2 view of any provider: a v1 provider speaks `chat` only, through its `doChat`. */
export function asProviderV2(provider: Provider): ProviderV2 {
  if (provider.specificationVersion === 'v2') return provider;
  return {
    specificationVersion: 'v2',
    wires: ['chat'],
    doGenerate: (target, request, options) => provider.doChat(target, request.body, options),
    doEmbed: (target, body, options) => provider.doEmbed(target, body, options),
    doListModels: (target, options) => provider.doListModels(target, options),
  };
}
