/**
 * Resume at the commit seam (SPEC §5): a stream that broke after the commit is continued on another candidate, and
 * the continuation's parts are spliced into the client's one stream, whichever way it was being written (bytes
 * passed through, parts re-encoded, `/api/chat` events). The client sees one answer; its last frame (or a `route`
 * event) says where it was resumed; usage and cost are summed over the attempts that fed it.
 */
import type { ResumeSettings } from '../config.js';
import { SwitchyardError } from '../errors.js';
import type { JsonBody, UpstreamTarget } from '../providers/provider.js';
import type { SentAnswer } from '../protocols/codec.js';
import type { Conversation, Wire } from '../protocols/conversation.js';
import { codecFor } from '../protocols/index.js';
import { type AttemptCall, runAttempts } from '../router/attempts.js';
import { generationParts, translationTarget } from '../router/generate.js';
import { createOverlapFilter, generateContinuation, resumableBreak, resumeRoute } from '../router/resume.js';
import { computeCost } from '../stream/cost.js';
import type { FinishReason, StreamPart, Usage } from '../stream/parts.js';
import type { ResumeRecord } from '../stream/sse-encoder.js';
import type { AttemptSpan } from '../telemetry/telemetry.js';
import { toSwitchyardError } from '../upstream-errors.js';
import { type EndpointContext, type SwitchyardRuntime, writeUsage } from './endpoint-context.js';

/** What a request that may be resumed keeps for the moment its stream breaks. */
export interface ResumePlan {
  settings: ResumeSettings;
  /** The wire `body` is written in: the caller's, or `chat` for `/api/chat` (the request built for it). */
  wire: Wire;
  body: JsonBody;
  /** Protocol headers for upstreams of the caller's wire (Anthropic's version and betas). */
  headers?: Readonly<Record<string, string>> | undefined;
}

/** A stream that broke after the commit: where, why, what the client had, and what its upstream reported. */
export interface StreamBreak {
  target: UpstreamTarget;
  failure: SwitchyardError;
  sent: SentAnswer;
  usage: Usage | undefined;
  span?: AttemptSpan | undefined;
}

/** Where a continuation's parts go: the client's stream, whichever way it is written. */
export interface SpliceOutput {
  /** Sends one part; returns a promise only when the client is slower than the upstream. */
  emit(part: StreamPart): Promise<void> | undefined;
  /** Marks the answer resumed (the last frame's `x_switchyard`); called before the finish part is emitted. */
  annotate(resumed: ResumeRecord[]): void;
  /** A continuation took over (for a `route` event). */
  resumed?(resumed: ResumeRecord[]): Promise<void> | undefined;
}

/** How a resumed answer ended. */
export interface ResumeResult {
  /** The error the answer ends with; undefined when a continuation finished it. */
  failure: SwitchyardError | undefined;
  /** Usage summed over every attempt that fed the answer (as far as each reported it). */
  usage: Usage | undefined;
  /** The summed cost; null when one of those models has no price. */
  cost: number | null | undefined;
  /** The model of the last attempt that fed it. */
  model: string;
  resumed: ResumeRecord[];
}

type ResumeContext = Pick<EndpointContext, 'runtime' | 'attempts' | 'log'>;

/** A stream that broke after the commit counts against its provider (a caller's relay is not the provider). */
export function reportBreak(runtime: SwitchyardRuntime, target: UpstreamTarget, failure: SwitchyardError): void {
  if (target.route.baseUrlSource === 'provider') runtime.health?.reportStreamFailure(target.route.provider.id, failure);
}

/** Usage added up field by field; optional counts stay absent unless one of them reported it. */
export function sumUsage(all: readonly Usage[]): Usage | undefined {
  if (all.length === 0) return undefined;
  if (all.length === 1) return all[0];
  const total: Usage = { input_tokens: 0, output_tokens: 0, total_tokens: 0 };
  for (const usage of all) {
    total.input_tokens += usage.input_tokens;
    total.output_tokens += usage.output_tokens;
    total.total_tokens += usage.total_tokens;
    for (const key of ['reasoning_tokens', 'cached_tokens', 'cache_write_tokens'] as const) {
      const value = usage[key];
      if (value !== undefined) total[key] = (total[key] ?? 0) + value;
    }
  }
  return total;
}

function costOf(fed: readonly { model: string; usage: Usage }[], prices: Parameters<typeof computeCost>[2]): number | null | undefined {
  if (fed.length === 0) return undefined;
  let total = 0;
  for (const { model, usage } of fed) {
    const cost = computeCost(model, usage, prices);
    if (cost === null) return null;
    total += cost;
  }
  return Math.round(total * 1e8) / 1e8;
}

/** Puts an answer's summed usage and cost on the request's log entry. */
export function recordResumedUsage(context: Pick<EndpointContext, 'log'>, result: ResumeResult): void {
  const { usage } = result;
  if (!usage) return;
  writeUsage(context.log, usage);
  if (result.cost !== undefined) context.log.cost = result.cost;
}

/** The error a break with a tool call under way ends with: tool calls are not resumed. */
function toolCallBreak(failure: SwitchyardError): SwitchyardError {
  return new SwitchyardError(failure.code, `${failure.message} A tool call was under way, and tool calls are not resumed.`, {
    provider: failure.provider,
    retryable: failure.retryable,
    hint: 'a tool call cut short cannot be continued elsewhere; send the request again',
    cause: failure,
  });
}

/** A resumable attempt's call: its idle timeout is the resume's `stallMs`, when set. */
export function withStall(settings: ResumeSettings, call: AttemptCall): AttemptCall {
  return settings.stallMs === undefined ? call : { ...call, timeouts: { ...call.timeouts, idleMs: settings.stallMs } };
}

/**
 * Continues a broken answer, as often as `maxResumes` allows: each continuation is planned on the tier's next model
 * (same provider, the caller's key allowed) then failover providers (operator keys only), asked to carry on from the
 * text the client has, and its parts go to `out` with any repetition of that text cut. Reasoning from a continuation
 * is not sent once anything went out (the client has the answer's own); its tool calls are. A break with a tool call
 * under way, a break that is the request's fault, or one whose request cannot be rebuilt ends as it would without
 * resume. Never throws: the result says how it ended.
 */
export async function resumeAnswer(context: ResumeContext, plan: ResumePlan, broken: StreamBreak, signal: AbortSignal, out: SpliceOutput): Promise<ResumeResult> {
  const { runtime, attempts, log } = context;
  const { config } = runtime;
  const telemetry = runtime.telemetry?.enabled ? runtime.telemetry : undefined;
  const fed: { model: string; usage: Usage }[] = broken.usage ? [{ model: broken.target.model, usage: broken.usage }] : [];
  const resumed: ResumeRecord[] = [];
  const sent = broken.sent;
  let { target, failure, span } = broken;
  let conversation: Conversation | undefined;
  const result = (): ResumeResult => ({ failure, usage: sumUsage(fed.map((entry) => entry.usage)), cost: costOf(fed, config.prices), model: target.model, resumed });

  for (;;) {
    span?.broke(failure.code);
    if (resumed.length >= plan.settings.maxResumes || !resumableBreak(failure) || signal.aborted) return result();
    if (sent.toolCall) {
      failure = toolCallBreak(failure);
      return result();
    }
    try {
      conversation ??= codecFor(plan.wire).decodeRequest(plan.body, translationTarget(target, plan.wire));
    } catch {
      // A request the wire-neutral form cannot hold is not rebuilt elsewhere: the break stands.
      return result();
    }
    const asked = conversation;
    const start = sent.text;
    telemetry?.metrics()?.resume(target.route.provider.id);
    let outcome;
    try {
      outcome = await runAttempts(
        resumeRoute(target),
        attempts,
        (next, call) => generateContinuation(runtime.providerFor(next.route), next, asked, start, plan.wire, withStall(plan.settings, call), plan.headers),
        signal,
        runtime,
        { kind: 'resume' },
      );
    } catch {
      // Nowhere to go on: the client learns of the break itself.
      return result();
    }
    const from = target;
    target = outcome.target;
    span = outcome.span;
    resumed.push({ from: { provider: from.route.provider.id, model: from.model }, to: { provider: target.route.provider.id, model: target.model }, at: start.length, code: failure.code });
    log.resumes = resumed.length;
    const announced = out.resumed?.(resumed);
    if (announced) await announced;

    const provider = target.route.provider.id;
    const filter = createOverlapFilter(start);
    // Once anything went out, a continuation's own thinking stays unsent: the client has the answer's.
    const quiet = start !== '' || sent.reasoning;
    let usage: Usage | undefined;
    let finish: Extract<StreamPart, { type: 'finish' }> | undefined;
    let broke: SwitchyardError | undefined;
    const text = (piece: string) => {
      if (piece === '') return undefined;
      sent.text += piece;
      return out.emit({ type: 'text', text: piece });
    };
    try {
      for await (const part of generationParts(outcome.value, { provider, signal, limit: config.limits.upstreamBodyBytes })) {
        let pending: Promise<void> | undefined;
        switch (part.type) {
          case 'text':
            pending = text(filter.push(part.text));
            break;
          case 'reasoning':
          case 'reasoning-signature':
          case 'reasoning-redacted':
            if (!quiet) {
              sent.reasoning = true;
              pending = out.emit(part);
            }
            break;
          case 'tool-call-delta': {
            const held = text(filter.flush());
            if (held) await held;
            sent.toolCall = true;
            pending = out.emit(part);
            break;
          }
          case 'usage':
            usage = part.usage;
            break;
          case 'finish':
            finish = part;
            break;
          case 'error':
            broke = part.error;
            break;
        }
        if (broke) break;
        if (pending) await pending;
      }
    } catch (thrown) {
      if (!signal.aborted) broke = toSwitchyardError(thrown, { provider, cluster: target.route.cluster, secrets: [target.route.apiKey] });
    }
    if (usage) fed.push({ model: target.model, usage });
    if (signal.aborted) return result();
    const held = text(filter.flush());
    if (held) await held;
    if (!broke) {
      out.annotate(resumed);
      const reason: FinishReason = finish?.reason ?? 'stop';
      const ended = out.emit(finish ?? { type: 'finish', reason });
      if (ended) await ended;
      const total = sumUsage(fed.map((entry) => entry.usage));
      if (total) {
        const counted = out.emit({ type: 'usage', usage: total });
        if (counted) await counted;
      }
      return { ...result(), failure: undefined };
    }
    reportBreak(runtime, target, broke);
    failure = broke;
  }
}
