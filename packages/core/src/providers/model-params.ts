/** Models that take `max_completion_tokens` and refuse `temperature` (gpt-5 family, o-series). */
export function isReasoningModel(model: string): boolean {
  const id = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  return id.startsWith('gpt-5') || /^o\d/.test(id);
}

/** Sampling settings Switchyard puts in a request it builds itself. */
export interface GenerationSettings {
  /** Sampling temperature; dropped for models that take none. */
  temperature?: number | undefined;
  /** Longest answer; sent as `max_completion_tokens` or `max_tokens`, as the model takes it. */
  maxTokens?: number | undefined;
}

/** Adds generation settings under the names the model accepts (SPEC §3), when Switchyard builds the request itself. */
export function applyGenerationSettings(body: Record<string, unknown>, model: string, settings: GenerationSettings): Record<string, unknown> {
  if (isReasoningModel(model)) {
    if (settings.maxTokens !== undefined) body.max_completion_tokens = settings.maxTokens;
    delete body.temperature;
    delete body.max_tokens;
  } else {
    if (settings.maxTokens !== undefined) body.max_tokens = settings.maxTokens;
    if (settings.temperature !== undefined) body.temperature = settings.temperature;
  }
  return body;
}
