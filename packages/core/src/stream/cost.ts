/**
 * The cost of an answer in USD, from its usage and a price table, for the `costStatistics` event.
 */
import type { Usage } from './parts.js';
import type { ChatCostContent, ChatEvent } from './sse-encoder.js';

/** Prices in USD per million tokens, by model id. */
export type PriceTable = Readonly<
  Record<
    string,
    {
      /** Per million input tokens. */
      readonly input: number;
      /** Per million output tokens. */
      readonly output: number;
    }
  >
>;

const DATE_SUFFIX = /-\d{4}-\d{2}-\d{2}$/;

/** The price of a model: its own entry, else the entry of its undated id (`gpt-4o-2024-08-06` → `gpt-4o`). */
function priceOf(model: string, prices: PriceTable): { input: number; output: number } | undefined {
  if (Object.hasOwn(prices, model)) return prices[model];
  const undated = model.replace(DATE_SUFFIX, '');
  return undated !== model && Object.hasOwn(prices, undated) ? prices[undated] : undefined;
}

/**
 * The cost of `usage` on `model` in USD, rounded to 8 decimals; null when the model has no price.
 * Output is billed as the larger of `output_tokens` and `total_tokens - input_tokens`: some upstreams (xAI)
 * leave reasoning out of the completion count but still bill it, and their total shows it.
 */
export function computeCost(model: string, usage: Usage, prices: PriceTable): number | null {
  const price = priceOf(model, prices);
  if (price === undefined || !Number.isFinite(price.input) || !Number.isFinite(price.output)) return null;
  const output = Math.max(usage.output_tokens, usage.total_tokens - usage.input_tokens);
  const cost = (usage.input_tokens * price.input + output * price.output) / 1_000_000;
  return Math.round(cost * 1e8) / 1e8;
}

/**
 * The `costStatistics` event: token counts as reported (reasoning and cache reads when known), and the cost (null for
 * an unpriced model). `cost`, when given, is the answer's cost already summed over several attempts (a resumed answer).
 */
export function costStatisticsEvent(model: string, usage: Usage, prices: PriceTable, cost?: number | null): Extract<ChatEvent, { type: 'costStatistics' }> {
  const content: ChatCostContent = {
    model,
    input_tokens: usage.input_tokens,
    output_tokens: usage.output_tokens,
    total_tokens: usage.total_tokens,
    total_cost: cost === undefined ? computeCost(model, usage, prices) : cost,
  };
  if (usage.reasoning_tokens !== undefined) content.thought_tokens = usage.reasoning_tokens;
  if (usage.cached_tokens !== undefined) content.cache_read_tokens = usage.cached_tokens;
  return { type: 'costStatistics', content };
}
