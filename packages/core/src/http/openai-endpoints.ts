import type { Readable } from 'node:stream';
import { SwitchyardError } from '../errors.js';
import { readBody, readBodyBytes } from '../providers/openai-provider.js';
import type { CallOptions, JsonBody, UpstreamResponse, UpstreamTarget } from '../providers/provider.js';
import { routeAllowedByPolicy } from '../reachability/policy.js';
import { runAttempts, servedHeaders } from '../router/attempts.js';
import { resolveRoute } from '../router/resolve.js';
import type { Route } from '../router/route.js';
import { createPassthroughObserver } from '../stream/passthrough-observer.js';
import { DONE_FRAME, encodeOpenAIErrorFrame, openAIErrorBody, PING_COMMENT } from '../stream/sse-encoder.js';
import { toSwitchyardError } from '../upstream-errors.js';
import { usageOfJsonBytes } from '../stream/chunk-parts.js';
import { errorHeaders, recordUsage, type Endpoint, type EndpointContext } from './endpoint-context.js';
import { reserveQuota } from './quota-check.js';

/** The SSE headers of SPEC §4: never cached, never transformed (compression middleware skips them), never buffered. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

/** Answers with an error in OpenAI's envelope plus `hint` (SPEC §4). */
export function writeOpenAIError(context: EndpointContext, thrown: unknown): void {
  const error = toSwitchyardError(thrown);
  context.log.status = error.status;
  context.log.code = error.code;
  const headers = errorHeaders(error);
  if (context.attempts.length > 0) headers['x-llm-attempts'] = String(context.attempts.length);
  context.sink.writeHead(error.status, headers);
  context.sink.end(JSON.stringify(openAIErrorBody(error)));
}

function upstreamRequestId(response: UpstreamResponse): string | undefined {
  const id = response.headers['x-request-id'];
  return Array.isArray(id) ? id[0] : id;
}

/** Whether an upstream answered with SSE (some ignore `stream: true` and answer JSON). */
export function isEventStream(response: UpstreamResponse): boolean {
  const type = response.headers['content-type'];
  return typeof type === 'string' && type.includes('text/event-stream');
}

async function routeAndCall(
  context: EndpointContext,
  defaultTier: string,
  call: (target: UpstreamTarget, body: JsonBody, options: CallOptions) => Promise<UpstreamResponse>,
): Promise<{ route: Route; target: UpstreamTarget; response: UpstreamResponse; body: JsonBody; fallbackReason: string | undefined }> {
  const body = await context.body();
  const route = resolveRoute(context.runtime.config, { headers: context.headers, query: context.query, requested: body.model }, { defaultTier });
  context.log.keySource = route.keySource;
  context.log.provider = route.provider.id;
  await reserveQuota(context, route, body);
  const signal = context.sink.signal;
  const outcome = await runAttempts(
    route,
    context.attempts,
    (target, attemptCall) => {
      // Only `model` changes; everything else the caller sent passes through as it was.
      const upstreamBody = target.model === body.model ? body : { ...body, model: target.model };
      return call(target, upstreamBody, attemptCall);
    },
    signal,
    context.runtime,
  );
  context.log.model = outcome.target.model;
  context.log.provider = outcome.target.route.provider.id;
  return { route, target: outcome.target, response: outcome.value, body, fallbackReason: outcome.fallbackReason };
}

/** Sends a non-streamed upstream answer on, as bytes. */
async function forwardWhole(context: EndpointContext, target: UpstreamTarget, response: UpstreamResponse, fallbackReason?: string): Promise<void> {
  // Passed on as the bytes that came: no decoding, no re-encoding.
  const bytes = await readBodyBytes(response.body, context.runtime.config.limits.upstreamBodyBytes);
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    ...servedHeaders(target, context.attempts, fallbackReason),
  };
  const requestId = upstreamRequestId(response);
  if (requestId) headers['x-request-id'] = requestId;
  context.log.status = 200;
  if (fallbackReason !== undefined) context.log.fallbackReason = fallbackReason;
  recordUsage(context, target.model, usageOfJsonBytes(bytes));
  context.sink.writeHead(200, headers);
  context.sink.end(bytes);
}

/**
 * Feeds every chunk of `body` to `onChunk`, pausing while the promise it returns (backpressure) is pending.
 * Resolves at the end of the body; rejects with its error, or when it closes before its end. Plain events rather
 * than `for await`: this runs once per frame of every stream, and the async iterator costs a few per cent there.
 */
function pump(body: Readable, onChunk: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const resume = () => body.resume();
    const onData = (chunk: Buffer) => {
      const pending = onChunk(chunk);
      if (pending) {
        body.pause();
        void pending.then(resume);
      }
    };
    const settle = (error?: unknown) => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onEnd = () => settle();
    const onError = (error: unknown) => settle(error ?? new Error('The upstream stream failed.'));
    const onClose = () => settle(new Error('The upstream stream closed before its end.'));
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('error', onError);
    body.once('close', onClose);
  });
}

/**
 * Forwards an upstream SSE stream as bytes, watching only for usage, errors and the end. After the commit point a
 * failure becomes an error frame with no `[DONE]`: a client never mistakes a broken stream for a finished one.
 */
async function forwardStream(context: EndpointContext, target: UpstreamTarget, response: UpstreamResponse, fallbackReason?: string): Promise<void> {
  const { sink } = context;
  const headers: Record<string, string> = { ...SSE_HEADERS, ...servedHeaders(target, context.attempts, fallbackReason) };
  const requestId = upstreamRequestId(response);
  if (requestId) headers['x-request-id'] = requestId;
  context.log.status = 200;
  if (fallbackReason !== undefined) context.log.fallbackReason = fallbackReason;
  sink.writeHead(200, headers);
  const observer = createPassthroughObserver();
  const ping = setTimeout(function sendPing() {
    sink.write(PING_COMMENT);
    ping.refresh();
  }, context.runtime.config.heartbeatMs);
  let failure: SwitchyardError | undefined;
  try {
    await pump(response.body, (chunk) => {
      observer.push(chunk);
      ping.refresh();
      return sink.write(chunk);
    });
    observer.end();
    if (observer.error) failure = observer.error;
    else if (!observer.complete) failure = new SwitchyardError('upstream_error', 'The upstream stream ended before it finished.', { provider: target.route.provider.id });
  } catch (thrown) {
    if (!sink.signal.aborted) failure = toSwitchyardError(thrown, { provider: target.route.provider.id, cluster: target.route.cluster, secrets: [target.route.apiKey] });
  } finally {
    clearTimeout(ping);
  }
  recordUsage(context, target.model, observer.usage);
  if (sink.signal.aborted) {
    context.log.clientAborted = true;
    response.body.destroy();
    return;
  }
  if (failure) {
    context.log.streamError = failure.code;
    // A stream that broke after the commit counts against its provider (a caller's relay is not the provider).
    if (target.route.baseUrlSource === 'provider') context.runtime.health?.reportStreamFailure(target.route.provider.id, failure);
    // The observer saw the upstream's own error frame go by already; add ours only when the upstream sent none.
    sink.end(observer.error ? undefined : encodeOpenAIErrorFrame(failure));
    return;
  }
  sink.end(observer.sawDone ? undefined : DONE_FRAME);
}

/** `POST /v1/chat/completions`: OpenAI-compatible, tiers and aliases resolved in `model`, frames passed through. */
export const chatCompletionsEndpoint: Endpoint = async (context) => {
  try {
    const { target, response, body, fallbackReason } = await routeAndCall(context, 'general', (t, b, o) => context.runtime.providerFor(t.route).doChat(t, b, o));
    if (body.stream === true && isEventStream(response)) await forwardStream(context, target, response, fallbackReason);
    else await forwardWhole(context, target, response, fallbackReason);
  } catch (error) {
    if (context.sink.committed) throw error;
    writeOpenAIError(context, error);
  }
};

/** `POST /v1/embeddings`: the `embedding` tier by default. */
export const embeddingsEndpoint: Endpoint = async (context) => {
  try {
    const { target, response, fallbackReason } = await routeAndCall(context, 'embedding', (t, b, o) => context.runtime.providerFor(t.route).doEmbed(t, b, o));
    await forwardWhole(context, target, response, fallbackReason);
  } catch (error) {
    if (context.sink.committed) throw error;
    writeOpenAIError(context, error);
  }
};

interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/** `GET /v1/models`: the provider's tiers and aliases as models, then the upstream's own list when a key is at hand. */
export const modelsEndpoint: Endpoint = async (context) => {
  try {
    const { config } = context.runtime;
    let route: Route;
    // Without a key the tiers and aliases of the provider asked for are still listed (the error names it).
    let keyless: string | undefined;
    try {
      route = resolveRoute(config, { headers: context.headers, query: context.query });
    } catch (error) {
      if (!SwitchyardError.isInstance(error) || error.code !== 'missing_api_key') throw error;
      route = undefined as unknown as Route;
      keyless = error.provider;
    }
    const provider = route?.provider ?? config.providers.get(keyless ?? (config.defaultProviders[0] as string));
    const data: ModelEntry[] = [];
    const seen = new Set<string>();
    const add = (id: string, ownedBy: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      data.push({ id, object: 'model', created: 0, owned_by: ownedBy });
    };
    if (provider) for (const named of provider.names.values()) add(named.name, 'switchyard');
    // A provider this cluster does not reach by policy still lists its tiers and aliases, without a network call.
    if (route && routeAllowedByPolicy(route)) {
      const response = await context.runtime.providerFor(route).doListModels({ route }, { signal: context.sink.signal });
      const text = await readBody(response.body, config.limits.upstreamBodyBytes);
      try {
        const list = JSON.parse(text) as { data?: Array<{ id?: unknown; owned_by?: unknown }> };
        for (const model of list.data ?? []) if (typeof model.id === 'string') add(model.id, typeof model.owned_by === 'string' ? model.owned_by : route.provider.id);
      } catch {
        throw new SwitchyardError('upstream_error', 'The upstream model list is not JSON.', { provider: route.provider.id });
      }
    }
    context.log.status = 200;
    context.log.provider = provider?.id;
    context.sink.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    context.sink.end(JSON.stringify({ object: 'list', data }));
  } catch (error) {
    if (context.sink.committed) throw error;
    writeOpenAIError(context, error);
  }
};
