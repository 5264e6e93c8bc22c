import type { SwitchyardError } from '../errors.js';

/**
 * Token counts, as the upstream reported them, in one convention whatever the wire: `input_tokens` counts every input
 * token (cache reads and writes included, as OpenAI counts them; Anthropic's own `input_tokens` leaves them out).
 */
export interface Usage {
  /** Tokens of the request. */
  input_tokens: number;
  /** Tokens of the answer. */
  output_tokens: number;
  /** Both together. */
  total_tokens: number;
  /** Reasoning tokens (part of `output_tokens`), when the upstream reports them. */
  reasoning_tokens?: number;
  /** Input tokens read from the provider's prompt cache (part of `input_tokens`), when reported. */
  cached_tokens?: number;
  /** Input tokens written to the provider's prompt cache (part of `input_tokens`), when reported. */
  cache_write_tokens?: number;
}

/** Why an answer ended, in Chat Completions' words (`tool_calls` when it asks for tools); the gateway adds `error` and `unavailable`. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'unavailable' | (string & {});

/**
 * One normalized piece of an answer, whatever wire or provider sent it: the common currency between wires.
 * A decoder turns an upstream's stream into parts; an encoder turns parts into a client's stream.
 */
export type StreamPart =
  | { type: 'text'; text: string }
  /** Reasoning (thinking) text. */
  | { type: 'reasoning'; text: string }
  /** The signature that closes the current reasoning block (Anthropic `signature_delta`). */
  | { type: 'reasoning-signature'; signature: string }
  /** Reasoning the provider sent encrypted or redacted (Anthropic `redacted_thinking`), passed on opaque. */
  | { type: 'reasoning-redacted'; data: string }
  /** A tool call's start (`id` and `name` on its first delta) or a fragment of its JSON arguments; `index` tells calls apart. */
  | { type: 'tool-call-delta'; index: number; id?: string; name?: string; arguments: string }
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; reason: FinishReason; model?: string; stopSequence?: string }
  | { type: 'error'; error: SwitchyardError };
