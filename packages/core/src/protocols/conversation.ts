/**
 * The wire-neutral form of a generation request: what every codec decodes a request into and encodes a request
 * from when the caller's wire and the upstream's differ. Passthrough never builds it.
 */

/** The wire protocols Switchyard speaks (SPEC §3): Chat Completions, Responses, Anthropic Messages. */
export type Wire = 'chat' | 'responses' | 'messages';

/** Every wire, in the order a provider that speaks several prefers them for translation. */
export const WIRES: readonly Wire[] = ['chat', 'responses', 'messages'];

/** Anthropic's prompt-cache marker, kept where the target honours it. */
export interface CacheControl {
  type: 'ephemeral';
  ttl?: string;
}

/** Text in a turn. */
export interface TextContent {
  type: 'text';
  text: string;
  cacheControl?: CacheControl;
}

/** An image in a turn. */
export interface ImageContent {
  type: 'image';
  /** Inline bytes (base64) with their media type, or a URL the provider fetches. */
  source: { kind: 'base64'; mediaType: string; data: string } | { kind: 'url'; url: string };
  /** OpenAI's `detail` (`low`, `high`, `auto`). */
  detail?: string;
  cacheControl?: CacheControl;
}

/** Reasoning the assistant did in an earlier turn, with the signature some providers need to accept it back. */
export interface ReasoningContent {
  type: 'reasoning';
  text: string;
  signature?: string;
}

/** Reasoning a provider sent redacted or encrypted: opaque, only its own provider can read it. */
export interface RedactedReasoningContent {
  type: 'reasoning-redacted';
  data: string;
}

/** A tool call the assistant made. */
export interface ToolCallContent {
  type: 'tool-call';
  id: string;
  name: string;
  /** The arguments as JSON text. */
  arguments: string;
  cacheControl?: CacheControl;
}

/** The result of a tool call, sent back in a user turn. */
export interface ToolResultContent {
  type: 'tool-result';
  /** The id of the tool call this answers. */
  callId: string;
  content: Array<TextContent | ImageContent>;
  isError?: boolean;
  cacheControl?: CacheControl;
}

/** Any part of a turn's content. */
export type ContentPart = TextContent | ImageContent | ReasoningContent | RedactedReasoningContent | ToolCallContent | ToolResultContent;

/** One turn. Tool results travel in user turns (Anthropic's shape); Chat Completions' `tool` messages map to them. */
export interface ConversationMessage {
  role: 'user' | 'assistant';
  content: ContentPart[];
}

/** A tool the model may call. */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
  strict?: boolean;
  cacheControl?: CacheControl;
}

/** Whether and which tool the model must call. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** How hard a reasoning model should think. */
export type ReasoningEffort = 'minimal' | 'low' | 'medium' | 'high';

/** The shape the answer must take: text, any JSON object, or JSON matching a schema. */
export type ResponseFormat = { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; name: string; schema: Record<string, unknown>; strict?: boolean; description?: string };

/** A generation request in the wire-neutral form. */
export interface Conversation {
  /** What the caller asked for (a tier, alias or model id); the attempt replaces it with a concrete model. */
  model: string | undefined;
  /** System instructions, in order (Chat Completions' system and developer messages, Anthropic's `system`, Responses' `instructions`). */
  system: TextContent[];
  messages: ConversationMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  stream: boolean;
  /** Thinking asked for: an effort, a token budget, or both; `enabled: false` turns it off where a model thinks by default. */
  reasoning?: { enabled: boolean; effort?: ReasoningEffort; budgetTokens?: number; summary?: string };
  responseFormat?: ResponseFormat;
  /** An end-user id for the provider's abuse monitoring (OpenAI `user`, Anthropic `metadata.user_id`). */
  user?: string;
}

/** The effort a token budget amounts to, and back (for wires that say one where the other said the other). */
export function effortForBudget(budget: number): ReasoningEffort {
  if (budget <= 2048) return 'low';
  if (budget <= 8192) return 'medium';
  return 'high';
}

/** A thinking budget in tokens for an effort (Anthropic needs at least 1,024). */
export function budgetForEffort(effort: ReasoningEffort): number {
  switch (effort) {
    case 'minimal':
      return 1024;
    case 'low':
      return 2048;
    case 'medium':
      return 8192;
    case 'high':
      return 24576;
  }
}
