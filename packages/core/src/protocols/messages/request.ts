/** Anthropic Messages requests: the check at the edge, and translation to and from a Conversation. */
import { z } from 'zod';
import type { CheckedRequest, JsonObject, TranslationTarget } from '../codec.js';
import {
  budgetForEffort,
  type ContentPart,
  type Conversation,
  type ConversationMessage,
  type ImageContent,
  type ReasoningEffort,
  type ResponseFormat,
  type TextContent,
  type ToolChoice,
  type ToolDefinition,
} from '../conversation.js';
import { cacheControlJson, readCacheControl, withCacheControl } from '../cache-control.js';
import { checkWith, invalid, isRecord, optionalNumber, untranslatable } from '../validation.js';

const HINT = 'send {"model": "...", "max_tokens": 1024, "messages": [{"role": "user", "content": "..."}]} as the Anthropic Messages API defines it';

/** What a translation asks for when the caller set no `max_tokens` (Anthropic requires one). */
export const DEFAULT_MAX_TOKENS = 4096;

const blockSchema = z.looseObject({ type: z.string({ error: 'must be a content block with a "type"' }) });
const contentSchema = z.union([z.string(), z.array(blockSchema)], { error: 'must be a string or an array of content blocks' });

const messageSchema = z.looseObject({
  role: z.enum(['user', 'assistant'], { error: 'must be "user" or "assistant"' }),
  content: contentSchema,
});

const systemSchema = z.union([z.string(), z.array(z.looseObject({ type: z.literal('text'), text: z.string() }))], { error: 'must be a string or an array of text blocks' });

const countSchema = z.looseObject({
  messages: z.array(messageSchema, { error: 'must be an array of messages' }).min(1, 'must have at least one message'),
  system: systemSchema.optional(),
  stream: z.boolean().nullish(),
});

const checkSchema = countSchema.extend({
  max_tokens: z.number({ error: 'is required: a positive integer' }).int('must be an integer').positive('must be positive'),
});

/** Checks a Messages request: `max_tokens`, and `messages` of user and assistant turns with string or block content. */
export function checkMessagesRequest(body: JsonObject): CheckedRequest {
  const parsed = checkWith(checkSchema, body, HINT);
  return { model: body.model, stream: parsed.stream === true };
}

/** Checks a `count_tokens` request (no `max_tokens` needed). */
export function checkCountTokensRequest(body: JsonObject): CheckedRequest {
  checkWith(countSchema, body, HINT);
  return { model: body.model, stream: false };
}

// ---------------------------------------------------------------------------------------------------------------
// Anthropic Messages → Conversation

/** Fields a translation drops without a word: delivery, bookkeeping, or server-side context housekeeping. */
const ADVISORY = new Set(['model', 'messages', 'stream', 'service_tier', 'context_management', 'metadata', 'max_tokens', 'inference_geo']);
const KNOWN = new Set(['system', 'temperature', 'top_p', 'top_k', 'stop_sequences', 'tools', 'tool_choice', 'thinking', 'output_format', 'output_config']);

/** Anthropic's `output_config.effort` levels, as the wire-neutral efforts say them (`xhigh` and `max` are the top one there). */
const EFFORTS: Readonly<Record<string, ReasoningEffort>> = { low: 'low', medium: 'medium', high: 'high', xhigh: 'high', max: 'high' };

function imageOf(block: Record<string, unknown>, at: string, target: TranslationTarget): ImageContent {
  const source = block.source;
  if (!isRecord(source)) return invalid(`${at}.source must be an object.`, HINT, `${at}.source`);
  if (source.type === 'base64' && typeof source.media_type === 'string' && typeof source.data === 'string') {
    return withCacheControl({ type: 'image' as const, source: { kind: 'base64' as const, mediaType: source.media_type, data: source.data } }, readCacheControl(block.cache_control));
  }
  if (source.type === 'url' && typeof source.url === 'string') return withCacheControl({ type: 'image' as const, source: { kind: 'url' as const, url: source.url } }, readCacheControl(block.cache_control));
  return untranslatable(`An image with a "${String(source.type)}" source (${at})`, target, `${at}.source`, 'send the image as base64 or a URL');
}

function textOf(block: Record<string, unknown>, at: string): TextContent {
  if (typeof block.text !== 'string') invalid(`${at}.text must be a string.`, HINT, `${at}.text`);
  return withCacheControl({ type: 'text' as const, text: block.text }, readCacheControl(block.cache_control));
}

function toolResultContent(content: unknown, at: string, target: TranslationTarget): Array<TextContent | ImageContent> {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return invalid(`${at}.content must be a string or an array of blocks.`, HINT, `${at}.content`);
  return content.map((block: unknown, index) => {
    const blockAt = `${at}.content[${index}]`;
    if (!isRecord(block)) return invalid(`${blockAt} must be a content block.`, HINT, blockAt);
    if (block.type === 'text') return textOf(block, blockAt);
    if (block.type === 'image') return imageOf(block, blockAt, target);
    return untranslatable(`A "${String(block.type)}" block inside a tool result (${blockAt})`, target, blockAt);
  });
}

function blocksOf(message: Record<string, unknown>, at: string, target: TranslationTarget): ContentPart[] {
  const content = message.content;
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  const parts: ContentPart[] = [];
  (content as Array<Record<string, unknown>>).forEach((block, index) => {
    const blockAt = `${at}.content[${index}]`;
    switch (block.type) {
      case 'text':
        parts.push(textOf(block, blockAt));
        return;
      case 'image':
        if (message.role !== 'user') return untranslatable(`An image in an assistant turn (${blockAt})`, target, blockAt);
        parts.push(imageOf(block, blockAt, target));
        return;
      case 'tool_use':
        if (typeof block.id !== 'string' || typeof block.name !== 'string') return invalid(`${blockAt} needs a string "id" and "name".`, HINT, blockAt);
        parts.push(withCacheControl({ type: 'tool-call' as const, id: block.id, name: block.name, arguments: JSON.stringify(block.input ?? {}) }, readCacheControl(block.cache_control)));
        return;
      case 'tool_result':
        if (typeof block.tool_use_id !== 'string') return invalid(`${blockAt}.tool_use_id must be a string.`, HINT, `${blockAt}.tool_use_id`);
        parts.push(
          withCacheControl(
            { type: 'tool-result' as const, callId: block.tool_use_id, content: toolResultContent(block.content, blockAt, target), ...(block.is_error === true ? { isError: true } : {}) },
            readCacheControl(block.cache_control),
          ),
        );
        return;
      case 'thinking':
        if (typeof block.thinking !== 'string') return invalid(`${blockAt}.thinking must be a string.`, HINT, `${blockAt}.thinking`);
        parts.push({ type: 'reasoning', text: block.thinking, ...(typeof block.signature === 'string' && block.signature !== '' ? { signature: block.signature } : {}) });
        return;
      case 'redacted_thinking':
        if (typeof block.data === 'string') parts.push({ type: 'reasoning-redacted', data: block.data });
        return;
      default:
        untranslatable(`A "${String(block.type)}" block (${blockAt})`, target, blockAt);
    }
  });
  return parts;
}

// Claude Code's attribution line, meant for Anthropic's billing alone: its hash changes per request, so passed on it would
// break every other provider's prefix cache (and Anthropic refuses it from anyone but Claude Code).
const BILLING_LINE = /^x-anthropic-billing-header:[^\n]*(?:\n|$)/;

function systemOf(system: unknown): TextContent[] {
  if (system === undefined || system === null) return [];
  const blocks = typeof system === 'string' ? [{ text: system }] : (system as Array<Record<string, unknown>>);
  return blocks.flatMap((block) => {
    const text = (block.text as string).replace(BILLING_LINE, '');
    return text === '' ? [] : [withCacheControl({ type: 'text' as const, text }, readCacheControl(block.cache_control))];
  });
}

function toolsOf(raw: unknown, target: TranslationTarget): ToolDefinition[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) return invalid('tools must be an array.', HINT, 'tools');
  return raw.map((tool: unknown, index) => {
    const at = `tools[${index}]`;
    if (!isRecord(tool)) return invalid(`${at} must be an object.`, HINT, at);
    // A typed tool (`web_search_…`, `bash_…`, `text_editor_…`, `computer_…`) runs on Anthropic's side: nothing else has it.
    if (tool.type !== undefined && tool.type !== 'custom') untranslatable(`Anthropic's server tool "${String(tool.type)}" (${at})`, target, at, 'remove it, or pick provider anthropic');
    if (typeof tool.name !== 'string' || tool.name === '') return invalid(`${at}.name must be a non-empty string.`, HINT, `${at}.name`);
    const definition: ToolDefinition = { name: tool.name, parameters: isRecord(tool.input_schema) ? tool.input_schema : { type: 'object', properties: {} } };
    if (typeof tool.description === 'string') definition.description = tool.description;
    return withCacheControl(definition, readCacheControl(tool.cache_control));
  });
}

function toolChoiceOf(raw: unknown): { choice?: ToolChoice; parallel?: boolean } {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) return invalid('tool_choice must be an object such as {"type": "auto"}.', HINT, 'tool_choice');
  const parallel = raw.disable_parallel_tool_use === true ? false : undefined;
  const out: { choice?: ToolChoice; parallel?: boolean } = parallel === undefined ? {} : { parallel };
  switch (raw.type) {
    case 'auto':
      out.choice = 'auto';
      return out;
    case 'any':
      out.choice = 'required';
      return out;
    case 'none':
      out.choice = 'none';
      return out;
    case 'tool':
      if (typeof raw.name !== 'string') return invalid('tool_choice.name must be a string.', HINT, 'tool_choice.name');
      out.choice = { name: raw.name };
      return out;
    default:
      return invalid('tool_choice.type must be auto, any, tool or none.', HINT, 'tool_choice.type');
  }
}

/** `output_config` (Claude Code sends `{effort}` with every request): the effort of its thinking, and a JSON schema for the answer. */
function outputConfigOf(raw: unknown, target: TranslationTarget): { effort?: ReasoningEffort; format?: ResponseFormat } {
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) return invalid('output_config must be an object such as {"effort": "high"}.', HINT, 'output_config');
  const out: { effort?: ReasoningEffort; format?: ResponseFormat } = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined || value === null) continue;
    if (key === 'effort') {
      const effort = typeof value === 'string' ? EFFORTS[value] : undefined;
      if (effort === undefined) return invalid('output_config.effort must be one of low, medium, high, xhigh, max.', HINT, 'output_config.effort');
      out.effort = effort;
    } else if (key === 'format') {
      out.format = formatOf(value, 'output_config.format');
    } else {
      untranslatable(`The "output_config.${key}" parameter`, target, `output_config.${key}`);
    }
  }
  return out;
}

function formatOf(raw: unknown, param: string): ResponseFormat | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw) || raw.type !== 'json_schema' || !isRecord(raw.schema)) return invalid(`${param} must be {"type": "json_schema", "schema": {...}}.`, HINT, param);
  return { type: 'json_schema', name: 'response', schema: raw.schema };
}

/** Decodes a checked Messages request for translation to another wire. */
export function decodeMessagesRequest(body: JsonObject, target: TranslationTarget): Conversation {
  for (const key of Object.keys(body)) {
    if (ADVISORY.has(key) || KNOWN.has(key)) continue;
    const value = body[key];
    if (value === null || value === undefined || value === false || (Array.isArray(value) && value.length === 0)) continue;
    untranslatable(`The "${key}" parameter`, target, key);
  }
  const messages: ConversationMessage[] = [];
  (body.messages as Array<Record<string, unknown>>).forEach((message, index) => {
    const content = blocksOf(message, `messages[${index}]`, target);
    if (content.length === 0) return;
    const role = message.role as 'user' | 'assistant';
    const previous = messages.at(-1);
    if (previous?.role === role) previous.content.push(...content);
    else messages.push({ role, content });
  });
  const conversation: Conversation = {
    model: typeof body.model === 'string' ? body.model : undefined,
    system: systemOf(body.system),
    messages,
    stream: body.stream === true,
    maxTokens: body.max_tokens as number,
  };
  const tools = toolsOf(body.tools, target);
  if (tools) conversation.tools = tools;
  const { choice, parallel } = toolChoiceOf(body.tool_choice);
  if (choice !== undefined) conversation.toolChoice = choice;
  if (parallel !== undefined) conversation.parallelToolCalls = parallel;
  const temperature = optionalNumber(body, 'temperature', HINT);
  if (temperature !== undefined) conversation.temperature = temperature;
  const topP = optionalNumber(body, 'top_p', HINT);
  if (topP !== undefined) conversation.topP = topP;
  const topK = optionalNumber(body, 'top_k', HINT);
  if (topK !== undefined) conversation.topK = topK;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) {
    if (!body.stop_sequences.every((item) => typeof item === 'string')) invalid('stop_sequences must be strings.', HINT, 'stop_sequences');
    conversation.stop = body.stop_sequences as string[];
  }
  const output = outputConfigOf(body.output_config, target);
  const thinking = body.thinking;
  // The effort rides on thinking: without thinking it only tunes how much the model writes, which a chat upstream leaves to the model.
  const effort = output.effort ? { effort: output.effort } : {};
  if (isRecord(thinking)) {
    if (thinking.type === 'enabled') conversation.reasoning = { enabled: true, ...effort, ...(typeof thinking.budget_tokens === 'number' ? { budgetTokens: thinking.budget_tokens } : {}) };
    else if (thinking.type === 'adaptive') conversation.reasoning = { enabled: true, ...effort };
    else if (thinking.type === 'disabled') conversation.reasoning = { enabled: false };
  }
  const format = formatOf(body.output_format, 'output_format') ?? output.format;
  if (format) conversation.responseFormat = format;
  const metadata = body.metadata;
  if (isRecord(metadata) && typeof metadata.user_id === 'string' && metadata.user_id !== '') conversation.user = metadata.user_id;
  return conversation;
}

// ---------------------------------------------------------------------------------------------------------------
// Conversation → Anthropic Messages

function imageBlock(image: ImageContent): JsonObject {
  const source = image.source.kind === 'url' ? { type: 'url', url: image.source.url } : { type: 'base64', media_type: image.source.mediaType, data: image.source.data };
  return { type: 'image', source, ...cacheControlJson(image.cacheControl) };
}

function parseArguments(text: string, at: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return invalid(`The arguments of the tool call ${at} are not JSON.`, 'send tool call arguments as a JSON object', at);
  }
}

function blockOf(part: ContentPart, at: string): JsonObject | undefined {
  switch (part.type) {
    case 'text':
      // Anthropic refuses empty text blocks.
      return part.text === '' ? undefined : { type: 'text', text: part.text, ...cacheControlJson(part.cacheControl) };
    case 'image':
      return imageBlock(part);
    case 'reasoning':
      // Thinking goes back only with the signature Anthropic gave it; unsigned reasoning (from another provider) is not accepted.
      return part.signature === undefined ? undefined : { type: 'thinking', thinking: part.text, signature: part.signature };
    case 'reasoning-redacted':
      return { type: 'redacted_thinking', data: part.data };
    case 'tool-call':
      return { type: 'tool_use', id: part.id, name: part.name, input: parseArguments(part.arguments, at), ...cacheControlJson(part.cacheControl) };
    case 'tool-result':
      return {
        type: 'tool_result',
        tool_use_id: part.callId,
        content: part.content.map((item) => (item.type === 'text' ? { type: 'text', text: item.text, ...cacheControlJson(item.cacheControl) } : imageBlock(item))).filter((item) => item.type !== 'text' || item.text !== ''),
        ...(part.isError ? { is_error: true } : {}),
        ...cacheControlJson(part.cacheControl),
      };
  }
}

/**
 * Whether the last assistant turn called tools without a thinking block: with thinking on Anthropic refuses such a
 * turn, and reasoning from another provider carries no signature to send back, so that request goes without thinking.
 */
function unsignedToolTurn(messages: JsonObject[]): boolean {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i] as { role: string; content: JsonObject[] };
    if (message.role !== 'assistant') continue;
    const first = message.content[0];
    return message.content.some((block) => block.type === 'tool_use') && first?.type !== 'thinking' && first?.type !== 'redacted_thinking';
  }
  return false;
}

/** An Anthropic Messages request body for `target` from a Conversation. */
export function encodeMessagesRequest(conversation: Conversation, target: TranslationTarget): JsonObject {
  const messages: JsonObject[] = [];
  conversation.messages.forEach((message, index) => {
    const blocks: JsonObject[] = [];
    // Tool results first in a user turn, as Anthropic requires; thinking first in an assistant turn.
    const ordered =
      message.role === 'user'
        ? [...message.content.filter((part) => part.type === 'tool-result'), ...message.content.filter((part) => part.type !== 'tool-result')]
        : [...message.content.filter((part) => part.type === 'reasoning' || part.type === 'reasoning-redacted'), ...message.content.filter((part) => part.type !== 'reasoning' && part.type !== 'reasoning-redacted')];
    ordered.forEach((part, partIndex) => {
      const block = blockOf(part, `messages[${index}].content[${partIndex}]`);
      if (block) blocks.push(block);
    });
    if (blocks.length === 0) return;
    const previous = messages.at(-1);
    if (previous?.role === message.role) (previous.content as JsonObject[]).push(...blocks);
    else messages.push({ role: message.role, content: blocks });
  });

  let maxTokens = conversation.maxTokens ?? DEFAULT_MAX_TOKENS;
  const out: JsonObject = { model: target.model, max_tokens: maxTokens, messages };
  if (conversation.system.length > 0) {
    const marked = conversation.system.some((part) => part.cacheControl);
    out.system = marked ? conversation.system.map((part) => ({ type: 'text', text: part.text, ...cacheControlJson(part.cacheControl) })) : conversation.system.map((part) => part.text).join('\n\n');
  }
  if (conversation.stream) out.stream = true;
  const reasoning = conversation.reasoning;
  let thinking = false;
  if (reasoning?.enabled) {
    const budget = reasoning.budgetTokens ?? budgetForEffort(reasoning.effort ?? 'medium');
    // Anthropic needs 1,024 ≤ budget < max_tokens; a budget that does not fit is cut to what max_tokens leaves.
    if (conversation.maxTokens === undefined && budget >= maxTokens) out.max_tokens = maxTokens = budget + DEFAULT_MAX_TOKENS;
    const fitted = Math.min(budget, maxTokens - 1);
    if (fitted >= 1024 && !unsignedToolTurn(messages)) {
      out.thinking = { type: 'enabled', budget_tokens: fitted };
      thinking = true;
    }
  }
  // With thinking on, Anthropic accepts neither a temperature nor top_k, and top_p only from 0.95.
  if (conversation.temperature !== undefined && !thinking) out.temperature = Math.min(1, Math.max(0, conversation.temperature));
  if (conversation.topP !== undefined && (!thinking || conversation.topP >= 0.95)) out.top_p = conversation.topP;
  if (conversation.topK !== undefined && !thinking) out.top_k = conversation.topK;
  if (conversation.stop) out.stop_sequences = conversation.stop;
  if (conversation.tools && conversation.tools.length > 0) {
    out.tools = conversation.tools.map((tool) => ({
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      input_schema: tool.parameters,
      ...cacheControlJson(tool.cacheControl),
    }));
  }
  const choice = conversation.toolChoice;
  const disableParallel = conversation.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  if (choice === 'none') out.tool_choice = { type: 'none' };
  else if (choice === 'required') out.tool_choice = { type: 'any', ...disableParallel };
  else if (typeof choice === 'object') out.tool_choice = { type: 'tool', name: choice.name, ...disableParallel };
  else if (choice === 'auto' || conversation.parallelToolCalls === false) {
    if (out.tools) out.tool_choice = { type: 'auto', ...disableParallel };
  }
  if (conversation.responseFormat && conversation.responseFormat.type !== 'text') {
    untranslatable('A JSON response format', target, 'response_format', 'Anthropic Messages has no JSON mode: describe the JSON in the prompt, or ask for it through a tool');
  }
  if (conversation.user !== undefined) out.metadata = { user_id: conversation.user };
  return out;
}
