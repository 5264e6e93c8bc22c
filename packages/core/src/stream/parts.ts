/** Token counts, as the upstream reported them. */
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  /** Reasoning tokens (part of `output_tokens`), when the upstream reports them. */
  reasoning_tokens?: number;
  /** Input tokens read from the provider's prompt cache (part of `input_tokens`), when reported. */
  cached_tokens?: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'unavailable' | (string & {});

/** One normalized piece of a streamed answer, whatever provider sent it. */
export type StreamPart =
  | { type: 'text'; text: string }
  | { type: 'reasoning'; text: string }
  | { type: 'tool-call-delta'; index: number; id?: string; name?: string; arguments: string }
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; reason: FinishReason; model?: string }
  | { type: 'error'; error: import('../errors.js').SwitchyardError };
