/** Token counts, as the upstream reported them. */
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
}

/** Why an answer ended: the upstream's reason, or the gateway's own `error` / `unavailable`. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'unavailable' | (string & {});

/** One normalized piece of a streamed answer, whatever provider sent it. */
export type StreamPart =
  | {
      /** Answer text. */
      type: 'text';
      /** The delta. */
      text: string;
    }
  | {
      /** Reasoning text. */
      type: 'reasoning';
      /** The delta. */
      text: string;
    }
  | {
      /** A piece of a tool call. */
      type: 'tool-call-delta';
      /** Which call. */
      index: number;
      /** Its id, on the first piece. */
      id?: string;
      /** The tool, on the first piece. */
      name?: string;
      /** A fragment of the JSON arguments. */
      arguments: string;
    }
  | {
      /** Token counts. */
      type: 'usage';
      /** The counts. */
      usage: Usage;
    }
  | {
      /** The end of the answer. */
      type: 'finish';
      /** Why it ended. */
      reason: FinishReason;
      /** The model that answered. */
      model?: string;
    }
  | {
      /** A failure; nothing follows. */
      type: 'error';
      /** What went wrong. */
      error: import('../errors.js').SwitchyardError;
    };
