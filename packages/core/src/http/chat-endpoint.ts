import type { ResolvedConfig } from '../config.js';
import { type ErrorCode, SwitchyardError } from '../errors.js';
import { applyGenerationSettings } from '../providers/model-params.js';
import type { JsonBody, UpstreamResponse, UpstreamTarget } from '../providers/provider.js';
import { type AttemptCall, runAttempts, servedHeaders } from '../router/attempts.js';
import { type HedgedOutcome, hedgeDelayFor, runHedged } from '../router/hedge.js';
import { resumeFor } from '../router/resume.js';
import type { ResumeSettings } from '../config.js';
import type { SentAnswer } from '../protocols/codec.js';
import type { AttemptSpan } from '../telemetry/telemetry.js';
import { noteSent } from './forward.js';
import { recordResumedUsage, reportBreak, resumeAnswer, type ResumeResult, withStall } from './resume-stream.js';
import { resolveRoute } from '../router/resolve.js';
import { costStatisticsEvent } from '../stream/cost.js';
import type { Usage } from '../stream/parts.js';
import { type Generation, generate, generationParts } from '../router/generate.js';
import { type ChatEvent, chatErrorEvent, encodeChatEvent, type ResumeRecord } from '../stream/sse-encoder.js';
import { toSwitchyardError } from '../upstream-errors.js';
import { recordUsage, retryAfterHeader, type Endpoint, type EndpointContext } from './endpoint-context.js';
import { reserveQuota } from './quota-check.js';
import { SSE_HEADERS } from './forward.js';
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
  rate_limited: -12,
  budget_exceeded: -13,
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

/** The `/api/chat` 400 envelope (SPEC §4): `message` repeats `msg`, for clients that read one or the other. */
export function chatErrorBody(number: number, error: SwitchyardError): { success: false; code: number; msg: string; message: string; error: { code: string; hint: string } } {
  return { success: false, code: number, msg: error.message, message: error.message, error: { code: error.code, hint: error.hint } };
}

function writeInputError(context: EndpointContext, number: number, error: SwitchyardError): void {
  context.log.status = error.status;
  context.log.code = error.code;
  context.sink.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', ...retryAfterHeader(error) });
  context.sink.end(JSON.stringify(chatErrorBody(number, error)));
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
 * Where one chat turn's events go: an SSE answer to `POST /api/chat`, or frames on a WebSocket. The turn logic
 * (validation, routing, failover, limits, events) is written once, against this.
 */
export interface ChatEventSink {
  /** Aborted when the client goes away or cancels the turn; the upstream call is aborted with it. */
  readonly signal: AbortSignal;
  /** The turn is refused before anything streamed: SSE answers the 400 envelope, a socket sends `error` then `end`. */
  refuse(number: number, error: SwitchyardError): void;
  /** The commit point, with the routing headers (`X-LLM-Served-By`, `X-LLM-Attempts`): from here on failures are events. */
  commit(headers: Record<string, string>): void;
  /** Sends one event; returns a promise only when the client is slower than the upstream (backpressure). */
  send(event: ChatEvent): Promise<void> | undefined;
  /** Sends the last event (`end`) and closes the turn. */
  end(event: Extract<ChatEvent, { type: 'end' }>): void;
}

/** One chat turn as the turn logic sees it: the request's headers and query (credentials), its log entry and attempts. */
export type ChatTurnContext = Pick<EndpointContext, 'runtime' | 'headers' | 'query' | 'requestId' | 'log' | 'attempts' | 'reservation'>;

/** The SSE side of `POST /api/chat`: events as `data:` frames on the endpoint's response. */
function sseEvents(context: EndpointContext): ChatEventSink {
  const { sink } = context;
  return {
    signal: sink.signal,
    refuse: (number, error) => writeInputError(context, number, error),
    commit: (headers) => sink.writeHead(200, { ...SSE_HEADERS, ...headers }),
    send: (event) => sink.write(encodeChatEvent(event)),
    end: (event) => sink.end(encodeChatEvent(event)),
  };
}

function refuse(context: ChatTurnContext, events: ChatEventSink, number: number, error: SwitchyardError): void {
  context.log.status = error.status;
  context.log.code = error.code;
  events.refuse(number, error);
}

/**
 * One `/api/chat` turn (SPEC §4), whatever carries it: validates before anything streams (a refusal with the numeric
 * codes), tries the candidates, then sends `id`, `route`, `thinking`/`reply`, `costStatistics` and `end`. Upstream
 * failures become an `error` event then `end`, never a silent close.
 */
export async function runChatTurn(context: ChatTurnContext, turnBody: () => Promise<Record<string, unknown>>, events: ChatEventSink): Promise<void> {
  const { config } = context.runtime;
  let messages: ChatMessage[];
  let target: UpstreamTarget | undefined;
  let response: UpstreamResponse | undefined;
  let generation: Generation | undefined;
  let failure: SwitchyardError | undefined;
  let fallbackReason: string | undefined;
  let route;
  let resume: ResumeSettings | undefined;
  let hedgeMs: number | undefined;
  try {
    const body = await turnBody();
    const { question } = body;
    if (typeof question !== 'string') throw inputError(CHAT_ERROR_NUMBERS.invalid_question, '`question` must be a string.', 'send {"question": "..."}');
    if (question.trim() === '') throw inputError(CHAT_ERROR_NUMBERS.empty_question, '`question` is empty.', 'ask something');
    const agent = agentFor(config, body.agent);
    const history = parseMessages(body.messages);
    route = resolveRoute(config, { headers: context.headers, query: context.query, requested: body.provider }, { defaultTier: agent.tier });
    // Opt-ins of SPEC §5; a turn without them pays for neither (no tracking, no timer).
    resume = resumeFor(config, route, context.headers);
    hedgeMs = hedgeDelayFor(config, route, context.headers, context.runtime.firstBytes);
    await reserveQuota(context, route, body);
    let system = agent.systemPrompt;
    if (typeof body.language === 'string' && body.language.trim() !== '') system = `${system}\nAnswer in ${body.language.trim().slice(0, 32)}.`.trim();
    messages = [...(system ? [{ role: 'system' as const, content: system }] : []), ...history, { role: 'user', content: question }];
  } catch (error) {
    if (error instanceof ChatInputError) return refuse(context, events, error.number, error.error);
    const normalized = toSwitchyardError(error);
    return refuse(context, events, numberFor(normalized), normalized);
  }
  context.log.provider = route.provider.id;
  context.log.keySource = route.keySource;
  let span: AttemptSpan | undefined;
  try {
    // Built as a Chat Completions request; a provider that speaks another wire gets it translated.
    const run = (t: UpstreamTarget, call: AttemptCall) => generate(context.runtime.providerFor(t.route), t, 'chat', buildChatRequest(t.model, messages), resume ? withStall(resume, call) : call);
    const outcome: HedgedOutcome =
      hedgeMs === undefined ? await runAttempts(route, context.attempts, run, events.signal, context.runtime) : await runHedged(route, context.attempts, run, events.signal, context.runtime, hedgeMs);
    target = outcome.target;
    generation = outcome.value;
    response = generation.response;
    fallbackReason = outcome.fallbackReason;
    span = outcome.span;
    if (outcome.hedged) context.log.hedged = outcome.hedged;
  } catch (error) {
    failure = toSwitchyardError(error);
  }
  // A refused X-LLM-Base-Url is bad input, not an upstream failure: refused before anything streams.
  if (failure?.code === 'base_url_forbidden') return refuse(context, events, CHAT_ERROR_NUMBERS.base_url_forbidden, failure);
  if (events.signal.aborted) {
    context.log.clientAborted = true;
    return;
  }

  // The commit point: from here on the client has bytes, and failures are events.
  const model = target?.model ?? route.candidates[0] ?? '';
  const headers: Record<string, string> = target ? servedHeaders(target, context.attempts, fallbackReason) : { 'x-llm-attempts': String(context.attempts.length) };
  // After a failover the answer comes from another provider than the route's.
  const served = target?.route ?? route;
  context.log.status = 200;
  context.log.model = model;
  if (fallbackReason !== undefined) context.log.fallbackReason = fallbackReason;
  events.commit(headers);
  const heartbeat = setTimeout(function beat() {
    events.send({ type: 'heartbeat', content: '' });
    heartbeat.refresh();
  }, config.heartbeatMs);
  const send = (event: ChatEvent) => {
    heartbeat.refresh();
    return events.send(event);
  };
  send({ type: 'id', content: context.requestId });
  send({
    type: 'route',
    content: { provider: served.provider.id, model, cluster: route.cluster, attempts: context.attempts, ...(fallbackReason === undefined ? {} : { fallbackReason }) },
  });

  let usage: Usage | undefined;
  let finish: string | undefined;
  // What went out, kept only where a break may be continued elsewhere.
  const sent: SentAnswer | undefined = resume ? { text: '', reasoning: false, toolCall: false } : undefined;
  try {
    if (generation && !failure) {
      const parts = generationParts(generation, { provider: served.provider.id, signal: events.signal, limit: config.limits.upstreamBodyBytes });
      for await (const part of parts) {
        let pending: Promise<void> | undefined;
        if (sent !== undefined) noteSent(sent, part);
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
    if (!events.signal.aborted) failure = toSwitchyardError(error, { provider: served.provider.id, cluster: route.cluster, secrets: [route.apiKey, served.apiKey] });
  }
  // A stream that broke after the commit counts against its provider (a caller's relay is not the provider).
  if (failure && response && target && !events.signal.aborted) reportBreak(context.runtime, target, failure);
  let resumed: ResumeResult | undefined;
  if (failure && resume && sent && target && generation && !events.signal.aborted) {
    response?.body.destroy();
    resumed = await resumeAnswer(context, { settings: resume, wire: 'chat', body: buildChatRequest(target.model, messages) }, { target, failure, sent, usage, span }, events.signal, {
      emit(part) {
        if (part.type === 'text') return send({ type: 'reply', content: part.text });
        if (part.type === 'reasoning') return send({ type: 'thinking', content: part.text });
        if (part.type === 'usage') usage = part.usage;
        else if (part.type === 'finish') finish = part.reason;
        return undefined;
      },
      annotate: () => undefined,
      resumed: (records) => {
        const last = records.at(-1) as ResumeRecord;
        return send({ type: 'route', content: { provider: last.to.provider, model: last.to.model, cluster: route.cluster, attempts: context.attempts, resumed: records } });
      },
    });
    failure = resumed.failure;
  }
  clearTimeout(heartbeat);
  if (events.signal.aborted) {
    context.log.clientAborted = true;
    response?.body.destroy();
    return;
  }
  if (resumed) recordResumedUsage(context, resumed);
  else recordUsage(context, model, usage);
  if (usage) send(costStatisticsEvent(resumed?.model ?? model, usage, config.prices, resumed?.cost));
  if (failure) {
    context.log.streamError = failure.code;
    context.log.code = failure.code;
    send(chatErrorEvent(failure));
    events.end({ type: 'end', content: '', finish_reason: failure.code === 'provider_unreachable' ? 'unavailable' : 'error' });
    return;
  }
  events.end({ type: 'end', content: '', finish_reason: finishFor(finish) });
}

/** `POST /api/chat` (SPEC §4): one chat turn answered as `text/event-stream`. */
export const chatEndpoint: Endpoint = (context) => runChatTurn(context, context.body, sseEvents(context));
