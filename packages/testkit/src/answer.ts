import { createHash } from 'node:crypto';
import type { ScriptedToolCall, TokenUsage } from './behavior.js';

/** A tool call ready to render: its id (undefined: the wire's default), name and argument fragments. */
export interface AnswerToolCall {
  id: string | undefined;
  name: string;
  /** The argument fragments, in order; joined, the whole arguments. */
  fragments: string[];
}

/** What an answer says, independent of the wire it is rendered in and of whether it is streamed. */
export interface Answer {
  /** Text deltas, in order; joined for a non-streaming answer. */
  content: string[];
  /** Reasoning deltas, sent before the text. */
  reasoning: string[];
  /** Tool calls, sent after the text. */
  toolCalls: AnswerToolCall[];
  /** As scripted, in either vocabulary; each wire maps it (see `messagesStopReason`, `responsesOutcome`). */
  finishReason: string;
  stopSequence: string | undefined;
  /** Thinking signature / encrypted reasoning; undefined: derived from the reasoning. */
  signature: string | undefined;
  /** Chat omits usage when undefined; the other wires always carry it (then the counted numbers). */
  usage: TokenUsage | undefined;
  /** Chat only: usage on the finish chunk, no separate usage chunk. */
  usageOnFinishChunk: boolean;
  /** Chat only: end the stream with `data: [DONE]`. */
  done: boolean;
}

const MAX_FRAGMENT = 16;

/**
 * Splits tool-call arguments into the fragments a streaming provider sends: three pieces of equal length
 * (fewer for shorter text), at most 16 characters each. The pieces always join back to `text`.
 */
export function splitArguments(text: string): string[] {
  const characters = Array.from(text);
  if (characters.length === 0) return [];
  const size = Math.max(1, Math.min(MAX_FRAGMENT, Math.ceil(characters.length / 3)));
  const fragments: string[] = [];
  for (let start = 0; start < characters.length; start += size) fragments.push(characters.slice(start, start + size).join(''));
  return fragments;
}

/** Scripted tool calls, fragmented. */
export function toolCallsOf(calls: readonly ScriptedToolCall[] | undefined): AnswerToolCall[] {
  return (calls ?? []).map((call) => ({
    id: call.id,
    name: call.name,
    fragments: typeof call.arguments === 'string' ? splitArguments(call.arguments) : [...call.arguments],
  }));
}

/** The whole arguments of a tool call. */
export function argumentsOf(call: AnswerToolCall): string {
  return call.fragments.join('');
}

/** The finish an answer ends with when the script names none. */
export function defaultFinish(toolCalls: readonly unknown[] | undefined, stopSequence: string | undefined): string {
  if (toolCalls !== undefined && toolCalls.length > 0) return 'tool_calls';
  return stopSequence === undefined ? 'stop' : 'stop_sequence';
}

const CHAT_FINISH: Readonly<Record<string, string>> = {
  end_turn: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  stop_sequence: 'stop',
  refusal: 'content_filter',
  max_output_tokens: 'length',
};

/** The chat `finish_reason` for a scripted finish; chat names (and unknown names) pass through. */
export function chatFinishReason(finish: string): string {
  return CHAT_FINISH[finish] ?? finish;
}

const MESSAGES_STOP: Readonly<Record<string, string>> = {
  stop: 'end_turn',
  length: 'max_tokens',
  max_output_tokens: 'max_tokens',
  tool_calls: 'tool_use',
  content_filter: 'refusal',
};

/** The messages `stop_reason` for a scripted finish; Anthropic names (and unknown names) pass through. */
export function messagesStopReason(finish: string): string {
  return MESSAGES_STOP[finish] ?? finish;
}

/** How a responses answer ends for a scripted finish: completed, or incomplete with its reason. */
export function responsesOutcome(finish: string): { status: 'completed' } | { status: 'incomplete'; reason: string } {
  if (finish === 'length' || finish === 'max_tokens' || finish === 'max_output_tokens') return { status: 'incomplete', reason: 'max_output_tokens' };
  if (finish === 'content_filter' || finish === 'refusal') return { status: 'incomplete', reason: 'content_filter' };
  return { status: 'completed' };
}

/** A deterministic stand-in for a thinking signature: base64 of a SHA-256 of the reasoning. */
export function signatureOf(answer: Answer): string {
  return answer.signature ?? createHash('sha256').update(answer.reasoning.join('')).digest('base64');
}

/** The cached and cache-write prompt tokens of a usage, zero when not given. */
export function cacheTokens(usage: TokenUsage): { cached: number; written: number } {
  return { cached: usage.prompt_tokens_details?.cached_tokens ?? 0, written: usage.prompt_tokens_details?.cache_write_tokens ?? 0 };
}
