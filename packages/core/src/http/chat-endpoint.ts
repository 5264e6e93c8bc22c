import type { ResolvedConfig } from '../config.js';
import { type ErrorCode, SwitchyardError } from '../errors.js';
import { applyGenerationSettings } from '../providers/model-params.js';
import { readBody } from '../providers/openai-provider.js';
import type { JsonBody, UpstreamResponse, UpstreamTarget } from '../providers/provider.js';
import { runAttempts, servedHeaders } from '../router/attempts.js';
import { resolveRoute } from '../router/resolve.js';
import { computeCost } from '../stream/cost.js';
import { completionToParts } from '../stream/chunk-parts.js';
import type { StreamPart, Usage } from '../stream/parts.js';
import { readParts } from '../stream/read-stream.js';
import { type ChatEvent, encodeChatEvent } from '../stream/sse-encoder.js';
import { toSwitchyardError } from '../upstream-errors.js';
import { recordUsage, type Endpoint, type EndpointContext } from './endpoint-context.js';
import { isEventStream, SSE_HEADERS } from './openai-endpoints.js';
import type { BodyProblem } from './request-body.js';

/** The numeric codes of the `/api/chat` 400 envelope (SPEC §4; -1, -2, -3 and -10 are fixed there). */
export const CHAT_ERROR_NUMBERS = {
  /** The body is not a JSON object. */
  bad_json: -1,
  /** `question` is not a string. */
  invalid_question: -2,
  /** `question` is empty. */
  empty_question: -3,
  /** `agent` names no configured agent. */
  unknown_agent: -4,
  /** The body is over the size limit. */
  payload_too_large: -5,
  /** `X-LLM-Provider` names no provider. */
  unknown_provider: -6,
  /** `X-LLM-Base-Url` was refused. */
  base_url_forbidden: -7,
  /** Any other bad input. */
  invalid_request: -8,
  /** No key for the provider. */
  missing_api_key: -10,
  /** The app token is missing or wrong. */
  unauthorized: -11,
} as const;

/** A chat message as `/api/chat` accepts it in `messages`. */
export interface ChatMessage {
  /** Who said it. */
  role: 'system' | 'user' | 'assistant';
  /** What was said. */
  content: string;
}

class ChatInputError extends Error {
  constructor(
    readonly number: number,
    readonly error: SwitchyardError,
  ) {
    super(error.message);
  }
}

function inputError(number: number, message: string, hint: string, code: ErrorCode = 'invalid_request'): ChatInputError {
  return new ChatInputError(number, new SwitchyardError(code, message, { hint }));
}

function numberFor(error: SwitchyardError): number {
  const problem = error.details?.problem as BodyProblem | undefined;
  if (problem === 'bad_json' || problem === 'not_object' || problem === 'too_deep') return CHAT_ERROR_NUMBERS.bad_json;
  if (error.code === 'payload_too_large') return CHAT_ERROR_NUMBERS.payload_too_large;
  if (error.code in CHAT_ERROR_NUMBERS) return CHAT_ERROR_NUMBERS[error.code as keyof typeof CHAT_ERROR_NUMBERS];
  return CHAT_ERROR_NUMBERS.invalid_request;
}

function writeInputError(context: EndpointContext, number: number, error: SwitchyardError): void {
  context.log.status = error.status;
  context.log.code = error.code;
  context.sink.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8' });
  context.sink.end(JSON.stringify({ success: false, code: number, msg: error.message, error: { code: error.code, hint: error.hint } }));
}

/** Answers an error raised before `/api/chat` began (the app-token check) in the endpoint's own 4xx envelope. */
export function writeChatError(context: EndpointContext, thrown: unknown): void {
  const error = toSwitchyardError(thrown);
  writeInputError(context, numberFor(error), error);
}

function parseMessages(value: unknown): ChatMessage[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw inputError(CHAT_ERROR_NUMBERS.invalid_request, '`messages` must be an array.', 'send messages as [{"role":"user","content":"..."}]');
  return value.map((message: unknown, index) => {
    const m = message as { role?: unknown; content?: unknown } | null;
    if (!m || (m.role !== 'user' && m.role !== 'assistant' && m.role !== 'system') || typeof m.content !== 'string') {
      throw inputError(CHAT_ERROR_NUMBERS.invalid_request, `messages[${index}] must be {role: "user"|"assistant"|"system", content: string}.`, 'fix or drop that message');
    }
    return { role: m.role, content: m.content };
  });
}

function agentFor(config: ResolvedConfig, value: unknown) {
  const names = Object.keys(config.agents);
  const name = value === undefined || value === null || value === '' ? names[0] : value;
  const agent = typeof name === 'string' ? config.agents[name] : undefined;
  if (!agent) {
    const shown = typeof value === 'string' ? value.slice(0, 64) : typeof value;
    throw inputError(CHAT_ERROR_NUMBERS.unknown_agent, `Unknown agent "${shown}". Known agents: ${names.join(', ')}.`, `set "agent" to one of: ${names.join(', ')}`);
  }
  return agent;
}

/** Builds the upstream request for `/api/chat`: system prompt, history, question; usage always requested. */
export function buildChatRequest(model: string, messages: ChatMessage[], settings: { temperature?: number; maxTokens?: number } = {}): JsonBody {
  return applyGenerationSettings({ model, messages, stream: true, stream_options: { include_usage: true } }, model, settings);
}

function finishFor(reason: string | undefined): 'stop' | 'length' {
  return reason === 'length' ? 'length' : 'stop';
}

/**
 * `POST /api/chat` (SPEC §4): validates before anything streams (400 envelope with numeric codes), tries the
 * candidates, then streams `id`, `route`, `thinking`/`reply`, `costStatistics` and `end`. Upstream failures become
 * an `error` event then `end`, never a silent close.
 */
export const chatEndpoint: Endpoint = async (context) => {
  const { config } = context.runtime;
  const { sink } = context;
  let messages: ChatMessage[];
  let target: UpstreamTarget | undefined;
  let response: UpstreamResponse | undefined;
  let failure: SwitchyardError | undefined;
  let fallbackReason: string | undefined;
  let route;
  try {
    const body = await context.body();
    const { question } = body;
    if (typeof question !== 'string') throw inputError(CHAT_ERROR_NUMBERS.invalid_question, '`question` must be a string.', 'send {"question": "..."}');
    if (question.trim() === '') throw inputError(CHAT_ERROR_NUMBERS.empty_question, '`question` is empty.', 'ask something');
    const agent = agentFor(config, body.agent);
    const history = parseMessages(body.messages);
    route = resolveRoute(config, { headers: context.headers, query: context.query, requested: body.provider }, { defaultTier: agent.tier });
    let system = agent.systemPrompt;
    if (typeof body.language === 'string' && body.language.trim() !== '') system = `${system}\nAnswer in ${body.language.trim().slice(0, 32)}.`.trim();
    messages = [...(system ? [{ role: 'system' as const, content: system }] : []), ...history, { role: 'user', content: question }];
  } catch (error) {
    if (error instanceof ChatInputError) return writeInputError(context, error.number, error.error);
    const normalized = toSwitchyardError(error);
    return writeInputError(context, numberFor(normalized), normalized);
  }
  context.log.provider = route.provider.id;
  context.log.keySource = route.keySource;
  try {
    const outcome = await runAttempts(
      route,
      context.attempts,
      (t, call) => context.runtime.providerFor(t.route).doChat(t, buildChatRequest(t.model, messages), call),
      sink.signal,
      context.runtime,
    );
    target = outcome.target;
    response = outcome.value;
    fallbackReason = outcome.fallbackReason;
  } catch (error) {
    failure = toSwitchyardError(error);
  }
  // A refused X-LLM-Base-Url is bad input, not an upstream failure: the 400 envelope, before anything streams.
  if (failure?.code === 'base_url_forbidden') return writeInputError(context, CHAT_ERROR_NUMBERS.base_url_forbidden, failure);
  if (sink.signal.aborted) {
    context.log.clientAborted = true;
    return;
  }

  // The commit point: from here on the client has bytes, and failures are events.
  const model = target?.model ?? route.candidates[0] ?? '';
  const headers: Record<string, string> = target
    ? { ...SSE_HEADERS, ...servedHeaders(target, context.attempts, fallbackReason) }
    : { ...SSE_HEADERS, 'x-llm-attempts': String(context.attempts.length) };
  // After a failover the answer comes from another provider than the route's.
  const served = target?.route ?? route;
  context.log.status = 200;
  context.log.model = model;
  if (fallbackReason !== undefined) context.log.fallbackReason = fallbackReason;
  sink.writeHead(200, headers);
  const heartbeat = setTimeout(function beat() {
    sink.write(encodeChatEvent({ type: 'heartbeat', ts: Date.now() }));
    heartbeat.refresh();
  }, config.heartbeatMs);
  const send = (event: ChatEvent) => {
    heartbeat.refresh();
    return sink.write(encodeChatEvent(event));
  };
  send({ type: 'id', id: context.requestId });
  send({ type: 'route', provider: served.provider.id, model, cluster: route.cluster, attempts: context.attempts, ...(fallbackReason === undefined ? {} : { fallbackReason }) });

  let usage: Usage | undefined;
  let finish: string | undefined;
  try {
    if (response && !failure) {
      const parts: AsyncIterable<StreamPart> = isEventStream(response)
        ? readParts(response.body, { provider: served.provider.id, signal: sink.signal })
        : (async function* () {
            yield* completionToParts(JSON.parse(await readBody((response as UpstreamResponse).body, config.limits.upstreamBodyBytes)));
          })();
      for await (const part of parts) {
        let pending: Promise<void> | undefined;
        if (part.type === 'text') pending = send({ type: 'reply', content: part.text });
        else if (part.type === 'reasoning') pending = send({ type: 'thinking', content: part.text });
        else if (part.type === 'usage') usage = part.usage;
        else if (part.type === 'finish') finish = part.reason;
        else if (part.type === 'error') {
          failure = part.error;
          break;
        }
        if (pending) await pending;
      }
    }
  } catch (error) {
    if (!sink.signal.aborted) failure = toSwitchyardError(error, { provider: served.provider.id, cluster: route.cluster, secrets: [route.apiKey, served.apiKey] });
  } finally {
    clearTimeout(heartbeat);
  }
  // A stream that broke after the commit counts against its provider (a caller's relay is not the provider).
  if (failure && response && !sink.signal.aborted && served.baseUrlSource === 'provider') context.runtime.health?.reportStreamFailure(served.provider.id, failure);
  if (sink.signal.aborted) {
    context.log.clientAborted = true;
    response?.body.destroy();
    return;
  }
  recordUsage(context, model, usage);
  if (usage) {
    send({
      type: 'costStatistics',
      model,
      input_tokens: usage.input_tokens,
      output_tokens: usage.output_tokens,
      total_tokens: usage.total_tokens,
      total_cost: computeCost(model, usage, config.prices),
    });
  }
  if (failure) {
    context.log.streamError = failure.code;
    context.log.code = failure.code;
    send({ type: 'error', content: failure.message, code: failure.code, hint: failure.hint });
    sink.end(encodeChatEvent({ type: 'end', finish_reason: failure.code === 'provider_unreachable' ? 'unavailable' : 'error' }));
    return;
  }
  sink.end(encodeChatEvent({ type: 'end', finish_reason: finishFor(finish) }));
};
