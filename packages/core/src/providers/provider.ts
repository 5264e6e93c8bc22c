import type { Readable } from 'node:stream';
import type { Timeouts } from '../config.js';
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

/** An OpenAI-protocol request body (chat completions or embeddings), as a plain object. */
export type JsonBody = Record<string, unknown>;

/**
 * A provider speaks to one upstream. Version 1 of the interface takes and gives the OpenAI Chat Completions
 * protocol: a provider with another protocol translates in both directions, and the router never changes.
 *
 * Every method resolves with a 2xx response, or rejects with a `SwitchyardError` (normalized upstream error,
 * network failure or timeout). The moment it resolves is before the first byte goes to the client.
 */
export interface Provider {
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
