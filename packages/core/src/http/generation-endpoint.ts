/**
 * The generation endpoints of every wire (`/v1/chat/completions`, `/v1/responses`, `/v1/messages`, and `/v1/messages/count_tokens`):
 * check the request in its own protocol, resolve, plan, dispatch (passthrough or translation), commit, stream.
 */
import type { JsonBody, UpstreamTarget } from '../providers/provider.js';
import type { Wire } from '../protocols/conversation.js';
import { codecFor } from '../protocols/index.js';
import { checkCountTokensRequest } from '../protocols/messages/request.js';
import { type AttemptCall, runAttempts } from '../router/attempts.js';
import { type HedgedOutcome, hedgeDelayFor, runHedged } from '../router/hedge.js';
import { resumeFor } from '../router/resume.js';
import { withStall } from './resume-stream.js';
import { type Generation, generate, isEventStream, translationTarget, upstreamWire, wiresFor } from '../router/generate.js';
import { type HeaderBag, resolveRoute } from '../router/resolve.js';
import type { Route } from '../router/route.js';
import { type Endpoint, type EndpointContext, writeWireError } from './endpoint-context.js';
import { forwardStream, forwardTranslated, forwardWhole } from './forward.js';
import { reserveQuota } from './quota-check.js';
import { readBody } from '../providers/openai-provider.js';
import { estimateInputTokens } from '../protocols/token-estimate.js';

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** The headers routing reads: on `/v1/messages`, the Anthropic SDK's `x-api-key` is the caller's key when `X-LLM-Api-Key` is absent (SPEC §2). */
function routingHeaders(headers: HeaderBag, wire: Wire): HeaderBag {
  if (wire !== 'messages' || first(headers['x-llm-api-key'])?.trim()) return headers;
  const key = first(headers['x-api-key'])?.trim();
  return key ? { ...headers, 'x-llm-api-key': key } : headers;
}

/** The protocol headers a caller's request carries on to an upstream of the same protocol (Anthropic's version and betas). */
function protocolHeaders(headers: HeaderBag, wire: Wire): Record<string, string> | undefined {
  if (wire !== 'messages') return undefined;
  const out: Record<string, string> = {};
  const version = first(headers['anthropic-version']);
  const beta = first(headers['anthropic-beta']);
  if (version) out['anthropic-version'] = version;
  if (beta) out['anthropic-beta'] = beta;
  return out;
}

function resolveFor(context: EndpointContext, wire: Wire, requested: unknown): Route {
  const route = resolveRoute(context.runtime.config, { headers: routingHeaders(context.headers, wire), query: context.query, requested }, { defaultTier: 'general' });
  context.log.keySource = route.keySource;
  context.log.provider = route.provider.id;
  return route;
}

/** `POST` a generation on `wire`: the caller's request passed through where the provider speaks it, translated elsewhere. */
export function generationEndpoint(wire: Wire): Endpoint {
  const codec = codecFor(wire);
  return async function serveGeneration(context) {
    try {
      const body = await context.body();
      const checked = codec.check(body);
      const route = resolveFor(context, wire, checked.model);
      const { runtime } = context;
      // Opt-ins of SPEC §5; a request without them pays for neither (no tracking, no timer).
      const resume = checked.stream && !(typeof body.n === 'number' && body.n > 1) ? resumeFor(runtime.config, route, context.headers) : undefined;
      const hedgeMs = hedgeDelayFor(runtime.config, route, context.headers, runtime.firstBytes);
      await reserveQuota(context, route, body);
      const headers = protocolHeaders(context.headers, wire);
      const run = (target: UpstreamTarget, call: AttemptCall) => generate(runtime.providerFor(target.route), target, wire, body, resume ? withStall(resume, call) : call, headers);
      const outcome: HedgedOutcome =
        hedgeMs === undefined ? await runAttempts(route, context.attempts, run, context.sink.signal, runtime) : await runHedged(route, context.attempts, run, context.sink.signal, runtime, hedgeMs);
      const { target, fallbackReason } = outcome;
      const generation: Generation = outcome.value;
      context.log.model = target.model;
      context.log.provider = target.route.provider.id;
      if (outcome.hedged) context.log.hedged = outcome.hedged;
      const includeUsage = typeof body.stream_options === 'object' && body.stream_options !== null && (body.stream_options as { include_usage?: unknown }).include_usage === true;
      const job = resume && { plan: { settings: resume, wire, body, headers }, span: outcome.span };
      if (generation.passthrough) {
        if (checked.stream && isEventStream(generation.response)) await forwardStream(context, codec, target, generation.response, fallbackReason, job && { job, includeUsage, request: body });
        else await forwardWhole(context, target, generation.response, fallbackReason);
        return;
      }
      await forwardTranslated(context, codec, target, generation, checked.stream, fallbackReason, { includeUsage, request: body, resume: job });
    } catch (error) {
      if (context.sink.committed) throw error;
      writeWireError(context, codec, error);
    }
  };
}

/** `POST /v1/chat/completions`: OpenAI-compatible; tiers and aliases resolved in `model`. */
export const chatCompletionsEndpoint: Endpoint = generationEndpoint('chat');

/** `POST /v1/responses`: OpenAI's Responses API, stateless; passed through to upstreams that speak it, translated for the rest. */
export const responsesEndpoint: Endpoint = generationEndpoint('responses');

/** `POST /v1/messages` (and `?beta=true`): Anthropic-compatible. */
export const messagesEndpoint: Endpoint = generationEndpoint('messages');

/**
 * `POST /v1/messages/count_tokens`: exact from an upstream that counts (Anthropic), an estimate otherwise, marked as
 * such with `"estimated": true` and `X-LLM-Token-Count: estimate`.
 */
export const countTokensEndpoint: Endpoint = async (context) => {
  const codec = codecFor('messages');
  try {
    const body = await context.body();
    const checked = checkCountTokensRequest(body);
    const route = resolveFor(context, 'messages', checked.model);
    const headers = protocolHeaders(context.headers, 'messages');
    const { config } = context.runtime;
    const outcome = await runAttempts(
      route,
      context.attempts,
      async (target: UpstreamTarget, call) => {
        const provider = context.runtime.providerFor(target.route);
        const counts = upstreamWire('messages', wiresFor(target.route, provider)) === 'messages' && target.route.provider.countTokens && provider.doCountTokens;
        if (!counts) return undefined;
        const request: JsonBody = target.model === body.model ? body : { ...body, model: target.model };
        return provider.doCountTokens?.(target, { wire: 'messages', body: request, headers }, call);
      },
      context.sink.signal,
      context.runtime,
    );
    const { target } = outcome;
    context.log.model = target.model;
    const answerHeaders: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'x-llm-served-by': `${target.route.provider.id}/${target.model}` };
    if (outcome.value) {
      const text = await readBody(outcome.value.body, config.limits.upstreamBodyBytes);
      context.log.status = 200;
      answerHeaders['x-llm-token-count'] = 'exact';
      context.sink.writeHead(200, answerHeaders);
      context.sink.end(text);
      return;
    }
    // Decoded as for a translation, so the estimate counts what would really be sent.
    const conversation = codec.decodeRequest({ max_tokens: 1, ...body }, translationTarget(target, 'chat'));
    context.log.status = 200;
    answerHeaders['x-llm-token-count'] = 'estimate';
    context.sink.writeHead(200, answerHeaders);
    context.sink.end(JSON.stringify({ input_tokens: estimateInputTokens(conversation), estimated: true }));
  } catch (error) {
    if (context.sink.committed) throw error;
    writeWireError(context, codec, error);
  }
};
