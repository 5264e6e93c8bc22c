import { z } from 'zod';
import { SwitchyardError } from '../errors.js';
import { checkWith } from '../protocols/validation.js';
import { readBody } from '../providers/openai-provider.js';
import type { CallOptions, JsonBody, UpstreamResponse, UpstreamTarget } from '../providers/provider.js';
import { routeAllowedByPolicy } from '../reachability/policy.js';
import { runAttempts } from '../router/attempts.js';
import { resolveRoute } from '../router/resolve.js';
import type { Route } from '../router/route.js';
import { type Endpoint, type EndpointContext, writeWireError } from './endpoint-context.js';
import { chatCodec } from '../protocols/chat/index.js';
import { forwardWhole } from './forward.js';
import { reserveQuota } from './quota-check.js';

export { SSE_HEADERS } from './forward.js';
export { isEventStream } from '../router/generate.js';

/** Answers with an error in OpenAI's envelope plus `hint` (SPEC §4). */
export function writeOpenAIError(context: EndpointContext, thrown: unknown): void {
  writeWireError(context, chatCodec, thrown);
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

const embeddingInput = z.union([z.string(), z.array(z.string()).min(1), z.array(z.number()).min(1), z.array(z.array(z.number()).min(1)).min(1)], {
  error: 'is required: a string, an array of strings, or token arrays',
});
const embeddingsSchema = z.looseObject({ input: embeddingInput });

/** `POST /v1/embeddings`: the `embedding` tier by default. */
export const embeddingsEndpoint: Endpoint = async (context) => {
  try {
    checkWith(embeddingsSchema, await context.body(), 'send {"model": "...", "input": "text to embed"}');
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
