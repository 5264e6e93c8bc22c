/**
 * Resume (SPEC §5), the planner's side: whether a request may be continued after a break, where a continuation goes,
 * how it is asked for on each upstream, and how its start is fitted to what the client already has.
 *
 * How a continuation is asked for, by the provider's `continuation` setting:
 * - `prefill` (Anthropic Messages, models before Claude 4.6): the partial answer, trailing whitespace trimmed (the API
 *   refuses a last assistant turn that ends in whitespace), as the last assistant turn; the model carries on from it.
 * - `partial` / `prefix` (Chat Completions: DashScope's Qwen and Kimi honour `partial: true`, DeepSeek's beta endpoint
 *   and Mistral `prefix: true`): the same last assistant message, marked.
 * - `instruction` (everything else, and Claude 4.6 and later, which refuse a prefill): the partial answer as an
 *   assistant turn, then a user turn asking to continue exactly where it stopped.
 * A continuation is asked without thinking settings when it has a start (Anthropic refuses a prefill with thinking
 * on, and the thinking already went out), without a forced tool and without a JSON format (a fragment of JSON is not
 * valid JSON).
 */
import { EVERY_TIER, type ResolvedConfig, type ResolvedProvider, type ResumeSettings } from '../config.js';
import { type ErrorCode, SwitchyardError } from '../errors.js';
import type { CallOptions, JsonBody, ProviderV2, UpstreamTarget } from '../providers/provider.js';
import type { Conversation, Wire } from '../protocols/conversation.js';
import { codecFor } from '../protocols/index.js';
import type { Generation } from './generate.js';
import { translationTarget, upstreamWire, wiresFor } from './generate.js';
import type { HeaderBag } from './resolve.js';
import type { Route } from './route.js';

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The resume settings of one request, or undefined when it is not resumed: its tier opted in (`*` for every
 * request), or the caller sent `X-LLM-Resume: true` where the operator allows it. `X-LLM-Resume: false` turns it off;
 * any other value is a 400, allowed or not.
 */
export function resumeFor(config: ResolvedConfig, route: Route, headers: HeaderBag): ResumeSettings | undefined {
  const settings = config.resume;
  const header = first(headers['x-llm-resume'])?.trim().toLowerCase();
  if (header !== undefined) {
    if (header === 'false') return undefined;
    if (header !== 'true') throw new SwitchyardError('invalid_request', 'X-LLM-Resume must be true or false.', { hint: 'send X-LLM-Resume: true to continue a broken stream elsewhere, or leave it out' });
    if (settings?.header) return settings;
  }
  if (!settings) return undefined;
  const { tiers } = settings;
  return tiers.includes(EVERY_TIER) || (route.tier !== undefined && tiers.includes(route.tier)) ? settings : undefined;
}

const RESUMABLE: ReadonlySet<ErrorCode> = new Set(['upstream_error', 'upstream_timeout', 'provider_unreachable', 'rate_limited']);

/** Whether a break may be continued elsewhere: the provider failed (a cut, a stall, an overload), not the request. */
export function resumableBreak(error: SwitchyardError): boolean {
  return RESUMABLE.has(error.code);
}

/**
 * The route a continuation is planned on: the tier's models after the one that broke, or that one again when it was
 * the last. `runAttempts` takes it on to a failover provider (operator keys only) when those fail.
 */
export function resumeRoute(target: UpstreamTarget): Route {
  const { route, model } = target;
  const at = route.candidates.indexOf(model);
  const after = at === -1 ? [] : route.candidates.slice(at + 1);
  return { ...route, candidates: after.length > 0 ? after : [model] };
}

/** The words that ask a model without prefill to carry on its answer. */
export const CONTINUE_INSTRUCTION =
  'Your previous answer was cut off. Continue it from exactly where it stopped, even mid-word or mid-sentence: do not repeat any of it, add no preamble, and do not mention the interruption.';

/** Claude models from 4.6 on refuse an assistant prefill (Anthropic, 2026-02). */
function refusesPrefill(model: string): boolean {
  const match = /claude-(?:opus|sonnet|haiku)-(\d+)(?:-(\d{1,2})(?!\d))?/.exec(model);
  if (!match) return false;
  const major = Number(match[1]);
  const minor = match[2] === undefined ? 0 : Number(match[2]);
  return major > 4 || (major === 4 && minor >= 6);
}

/** How a continuation is asked of this upstream: the wire it goes on (the caller's where it can), and the way its start is given. */
export function continuationStyle(provider: ResolvedProvider, wires: readonly Wire[], model: string, preferred: Wire): { wire: Wire; style: ResolvedProvider['continuation'] } {
  const style = provider.continuation;
  if (style === 'prefill' && wires.includes('messages') && !refusesPrefill(model)) return { wire: 'messages', style };
  if ((style === 'partial' || style === 'prefix') && wires.includes('chat')) return { wire: 'chat', style };
  return { wire: upstreamWire(preferred, wires), style: 'instruction' };
}

/** The conversation a continuation asks: the request's, the start of the answer, and (by style) the instruction. */
export function continuationConversation(conversation: Conversation, start: string, style: ResolvedProvider['continuation']): Conversation {
  // Anthropic refuses a last assistant turn that ends in whitespace; the overlap filter drops it again if it comes back.
  const text = style === 'prefill' ? start.trimEnd() : start;
  const asked: Conversation = { ...conversation, messages: [...conversation.messages], stream: true };
  if (text === '') return asked;
  asked.messages.push({ role: 'assistant', content: [{ type: 'text', text }] });
  if (style === 'instruction') asked.messages.push({ role: 'user', content: [{ type: 'text', text: CONTINUE_INSTRUCTION }] });
  delete asked.reasoning;
  delete asked.responseFormat;
  if (asked.toolChoice !== undefined && asked.toolChoice !== 'auto' && asked.toolChoice !== 'none') delete asked.toolChoice;
  return asked;
}

/**
 * Asks `provider` to continue an answer: `conversation` with `start` given the way the provider takes it (see the
 * module's notes), always streamed, always translated (the continuation is re-encoded for the client).
 */
export function generateContinuation(
  provider: ProviderV2,
  target: UpstreamTarget,
  conversation: Conversation,
  start: string,
  preferred: Wire,
  call: CallOptions,
  headers?: Readonly<Record<string, string>>,
): Promise<Generation> {
  const { wire, style } = continuationStyle(target.route.provider, wiresFor(target.route, provider), target.model, preferred);
  const translation = translationTarget(target, wire);
  const body: JsonBody = codecFor(wire).encodeRequest(continuationConversation(conversation, start, style), translation);
  if ((style === 'partial' || style === 'prefix') && start !== '' && Array.isArray(body.messages)) {
    const last = body.messages.at(-1) as JsonBody | undefined;
    if (last?.role === 'assistant') last[style] = true;
  }
  return provider.doGenerate(target, { wire, body, headers: wire === 'messages' ? headers : undefined }, call).then((response) => ({ wire, passthrough: false, response }));
}

const PROBE = 32;

/** Overlaps shorter than this are taken for coincidence (a word the continuation happens to start with), unless only whitespace. */
const MIN_OVERLAP = 8;

/**
 * Fits a continuation's text to what the client already has: a continuation that says the end of the sent text again
 * (or starts the whole answer over) has that part cut, so the client's text reads as one answer. The start is held
 * back only until it can be told apart: as long as it could still be the start of a repetition (it occurs in the sent
 * text), at most a little longer than the sent text.
 */
export function createOverlapFilter(sent: string): { push(text: string): string; flush(): string } {
  let head = '';
  let decided = sent === '';
  function decide(): string {
    decided = true;
    // The longest overlap: a start of `head` that the sent text ends with. Long ones contain head's first 32 characters.
    let best = 0;
    const probe = head.slice(0, PROBE);
    if (probe.length === PROBE) {
      for (let at = sent.indexOf(probe, Math.max(0, sent.length - head.length)); at !== -1; at = sent.indexOf(probe, at + 1)) {
        if (head.startsWith(sent.slice(at))) {
          best = sent.length - at;
          break;
        }
      }
    }
    for (let k = Math.min(PROBE - 1, sent.length, head.length); best === 0 && k > 0; k--) {
      if (sent.endsWith(head.slice(0, k))) best = k;
    }
    const overlap = head.slice(0, best);
    const cut = best === sent.length || best >= MIN_OVERLAP || (best > 0 && overlap.trim() === '') ? best : 0;
    const out = head.slice(cut);
    head = '';
    return out;
  }
  return {
    push(text) {
      if (decided) return text;
      head += text;
      // Still possibly a repetition while `head` occurs in the sent text as a whole.
      if (head.length <= sent.length && sent.includes(head)) return '';
      return decide();
    },
    flush() {
      return decided ? '' : decide();
    },
  };
}
