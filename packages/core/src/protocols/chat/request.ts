/** Chat Completions requests: the check at the edge, and translation to and from a Conversation. */
import { z } from 'zod';
import { isReasoningModel } from '../../providers/model-params.js';
import type { CheckedRequest, JsonObject, TranslationTarget } from '../codec.js';
import {
  type CacheControl,
  type ContentPart,
  type Conversation,
  type ConversationMessage,
  effortForBudget,
  type ImageContent,
  type ReasoningEffort,
  type TextContent,
  type ToolChoice,
  type ToolDefinition,
} from '../conversation.js';
import { cacheControlJson, readCacheControl, withCacheControl } from '../cache-control.js';
import { checkWith, imageSource, invalid, isRecord, optionalNumber, untranslatable } from '../validation.js';

const HINT = 'send {"model": "...", "messages": [{"role": "user", "content": "..."}]} as the Chat Completions API defines it';

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;

const contentSchema = z.union([z.string(), z.array(z.looseObject({ type: z.string() })), z.null()]);

const messageSchema = z.looseObject({
  role: z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }),
  content: contentSchema.optional(),
});

const checkSchema = z.looseObject({
  messages: z.array(messageSchema, { error: 'must be an array of messages' }).min(1, 'must have at least one message'),
  stream: z.boolean().nullish(),
});

/** Checks a Chat Completions request: `messages` an array of messages with real roles and content of the right type. */
export function checkChatRequest(body: JsonObject): CheckedRequest {
  const parsed = checkWith(checkSchema, body, HINT);
  return { model: body.model, stream: parsed.stream === true };
}

// ---------------------------------------------------------------------------------------------------------------
// Chat Completions → Conversation

/** Fields a translation drops without a word: they tune delivery or bookkeeping, never what the answer says. */
const ADVISORY = new Set(['model', 'messages', 'stream', 'stream_options', 'store', 'metadata', 'service_tier', 'prompt_cache_key', 'prompt_cache_retention', 'safety_identifier', 'seed', 'verbosity', 'user']);

function imageOf(raw: Record<string, unknown>, param: string, target: TranslationTarget): ImageContent {
  const image = raw.image_url;
  const url = typeof image === 'string' ? image : isRecord(image) && typeof image.url === 'string' ? image.url : undefined;
  if (url === undefined) invalid(`${param}.image_url.url must be a string.`, HINT, `${param}.image_url`);
  const detail = isRecord(image) && typeof image.detail === 'string' ? image.detail : undefined;
  const source = imageSource(url, param, target);
  return withCacheControl({ type: 'image' as const, source, ...(detail ? { detail } : {}) }, readCacheControl(raw.cache_control));
}

/** The parts of a `content` (a string or an array of parts); `allowImages` for user turns. */
function contentParts(content: unknown, param: string, target: TranslationTarget, allowImages: boolean): Array<TextContent | ImageContent> {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) invalid(`${param} must be a string or an array of content parts.`, HINT, param);
  const out: Array<TextContent | ImageContent> = [];
  content.forEach((raw: unknown, index) => {
    const at = `${param}[${index}]`;
    if (!isRecord(raw)) invalid(`${at} must be a content part object.`, HINT, at);
    if (raw.type === 'text') {
      if (typeof raw.text !== 'string') invalid(`${at}.text must be a string.`, HINT, `${at}.text`);
      out.push(withCacheControl({ type: 'text' as const, text: raw.text }, readCacheControl(raw.cache_control)));
    } else if (raw.type === 'image_url' && allowImages) {
      out.push(imageOf(raw, at, target));
    } else if (raw.type === 'refusal' && typeof raw.refusal === 'string') {
      out.push({ type: 'text', text: raw.refusal });
    } else {
      untranslatable(`A "${String(raw.type)}" content part (${at})`, target, at);
    }
  });
  return out;
}

function textOnly(parts: Array<TextContent | ImageContent>): TextContent[] {
  return parts.filter((part): part is TextContent => part.type === 'text');
}

function toolsOf(raw: unknown, target: TranslationTarget): ToolDefinition[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!Array.isArray(raw)) invalid('tools must be an array.', HINT, 'tools');
  return raw.map((tool: unknown, index) => {
    const at = `tools[${index}]`;
    if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) untranslatable(`A tool that is not a function tool (${at})`, target, at);
    const fn = tool.function as Record<string, unknown>;
    if (typeof fn.name !== 'string' || fn.name === '') invalid(`${at}.function.name must be a non-empty string.`, HINT, `${at}.function.name`);
    const definition: ToolDefinition = { name: fn.name, parameters: isRecord(fn.parameters) ? fn.parameters : { type: 'object', properties: {} } };
    if (typeof fn.description === 'string') definition.description = fn.description;
    if (typeof fn.strict === 'boolean') definition.strict = fn.strict;
    return withCacheControl(definition, readCacheControl(tool.cache_control));
  });
}

function toolChoiceOf(raw: unknown): ToolChoice | undefined {
  if (raw === 'auto' || raw === 'none' || raw === 'required') return raw;
  if (isRecord(raw) && isRecord(raw.function) && typeof raw.function.name === 'string') return { name: raw.function.name };
  if (raw === undefined || raw === null) return undefined;
  return invalid('tool_choice must be "auto", "none", "required" or {"type":"function","function":{"name":…}}.', HINT, 'tool_choice');
}

function stopOf(raw: unknown): string[] | undefined {
  if (typeof raw === 'string') return [raw];
  if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) return raw as string[];
  if (raw === undefined || raw === null) return undefined;
  return invalid('stop must be a string or an array of strings.', HINT, 'stop');
}


const EFFORTS = new Set(['minimal', 'low', 'medium', 'high']);

/** Decodes a checked Chat Completions request for translation to another wire. */
export function decodeChatRequest(body: JsonObject, target: TranslationTarget): Conversation {
  for (const key of Object.keys(body)) {
    if (ADVISORY.has(key)) continue;
    const value = body[key];
    // Defaults a client sends without meaning anything by them are not a request for a feature.
    const inert = value === null || value === false || value === 0 || (key === 'n' && value === 1) || (key === 'logit_bias' && isRecord(value) && Object.keys(value).length === 0);
    if (inert) continue;
    if (!['temperature', 'top_p', 'max_tokens', 'max_completion_tokens', 'stop', 'tools', 'tool_choice', 'parallel_tool_calls', 'reasoning_effort', 'response_format', 'reasoning', 'thinking', 'top_k'].includes(key)) {
      untranslatable(`The "${key}" parameter`, target, key);
    }
  }
  const system: TextContent[] = [];
  const messages: ConversationMessage[] = [];
  const push = (role: 'user' | 'assistant', content: ContentPart[]) => {
    if (content.length === 0) return;
    const previous = messages.at(-1);
    // Consecutive turns of one role are one turn on wires that alternate (tool results then a user question).
    if (previous?.role === role) previous.content.push(...content);
    else messages.push({ role, content });
  };
  (body.messages as Array<Record<string, unknown>>).forEach((message, index) => {
    const at = `messages[${index}]`;
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(...textOnly(contentParts(message.content, `${at}.content`, target, false)));
        return;
      case 'user':
        push('user', contentParts(message.content, `${at}.content`, target, true));
        return;
      case 'assistant': {
        const content: ContentPart[] = [];
        const reasoning = message.reasoning_content ?? message.reasoning;
        if (typeof reasoning === 'string' && reasoning !== '') content.push({ type: 'reasoning', text: reasoning });
        content.push(...textOnly(contentParts(message.content, `${at}.content`, target, false)));
        if (typeof message.refusal === 'string' && message.refusal !== '') content.push({ type: 'text', text: message.refusal });
        if (message.function_call !== undefined && message.function_call !== null) untranslatable(`A legacy function_call (${at})`, target, `${at}.function_call`, 'send tool_calls instead');
        const calls = message.tool_calls;
        if (Array.isArray(calls)) {
          calls.forEach((call: unknown, callIndex) => {
            const callAt = `${at}.tool_calls[${callIndex}]`;
            if (!isRecord(call) || !isRecord(call.function) || typeof call.function.name !== 'string') invalid(`${callAt} must be {"id", "type": "function", "function": {"name", "arguments"}}.`, HINT, callAt);
            const fn = call.function as Record<string, unknown>;
            const args = typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {});
            content.push({ type: 'tool-call', id: typeof call.id === 'string' ? call.id : `call_${index}_${callIndex}`, name: fn.name as string, arguments: args });
          });
        }
        push('assistant', content);
        return;
      }
      case 'tool': {
        if (typeof message.tool_call_id !== 'string') invalid(`${at}.tool_call_id must be a string.`, HINT, `${at}.tool_call_id`);
        const parts = contentParts(message.content, `${at}.content`, target, false);
        push('user', [{ type: 'tool-result', callId: message.tool_call_id, content: parts.length > 0 ? parts : [{ type: 'text', text: '' }] }]);
        return;
      }
      default:
        untranslatable(`A "${String(message.role)}" message (${at})`, target, `${at}.role`, 'send tool messages instead of legacy function messages');
    }
  });

  const conversation: Conversation = { model: typeof body.model === 'string' ? body.model : undefined, system, messages, stream: body.stream === true };
  const tools = toolsOf(body.tools, target);
  if (tools) conversation.tools = tools;
  const toolChoice = toolChoiceOf(body.tool_choice);
  if (toolChoice) conversation.toolChoice = toolChoice;
  if (typeof body.parallel_tool_calls === 'boolean') conversation.parallelToolCalls = body.parallel_tool_calls;
  const maxTokens = optionalNumber(body, 'max_completion_tokens', HINT) ?? optionalNumber(body, 'max_tokens', HINT);
  if (maxTokens !== undefined) conversation.maxTokens = maxTokens;
  const temperature = optionalNumber(body, 'temperature', HINT);
  if (temperature !== undefined) conversation.temperature = temperature;
  const topP = optionalNumber(body, 'top_p', HINT);
  if (topP !== undefined) conversation.topP = topP;
  const topK = optionalNumber(body, 'top_k', HINT);
  if (topK !== undefined) conversation.topK = topK;
  const stop = stopOf(body.stop);
  if (stop) conversation.stop = stop;
  const effort = body.reasoning_effort ?? (isRecord(body.reasoning) ? body.reasoning.effort : undefined);
  if (typeof effort === 'string') {
    if (effort === 'none') conversation.reasoning = { enabled: false };
    else if (EFFORTS.has(effort)) conversation.reasoning = { enabled: true, effort: effort as ReasoningEffort };
    else invalid('reasoning_effort must be one of minimal, low, medium, high.', HINT, 'reasoning_effort');
  }
  // LiteLLM's and vLLM's Anthropic-style `thinking` on a chat request.
  const thinking = body.thinking;
  if (isRecord(thinking) && thinking.type === 'enabled') {
    conversation.reasoning = { enabled: true, ...(typeof thinking.budget_tokens === 'number' ? { budgetTokens: thinking.budget_tokens } : {}) };
  } else if (isRecord(thinking) && thinking.type === 'disabled') conversation.reasoning = { enabled: false };
  const format = body.response_format;
  if (isRecord(format)) {
    if (format.type === 'json_object') conversation.responseFormat = { type: 'json_object' };
    else if (format.type === 'json_schema' && isRecord(format.json_schema) && isRecord(format.json_schema.schema)) {
      const schema = format.json_schema;
      conversation.responseFormat = {
        type: 'json_schema',
        name: typeof schema.name === 'string' ? schema.name : 'response',
        schema: schema.schema as Record<string, unknown>,
        ...(typeof schema.strict === 'boolean' ? { strict: schema.strict } : {}),
        ...(typeof schema.description === 'string' ? { description: schema.description } : {}),
      };
    } else if (format.type !== 'text') invalid('response_format must be text, json_object or json_schema.', HINT, 'response_format');
  }
  if (typeof body.user === 'string' && body.user !== '') conversation.user = body.user;
  return conversation;
}

// ---------------------------------------------------------------------------------------------------------------
// Conversation → Chat Completions

function cacheJson(cache: CacheControl | undefined, keep: boolean): JsonObject {
  return keep ? cacheControlJson(cache) : {};
}

function imageUrl(image: ImageContent): string {
  return image.source.kind === 'url' ? image.source.url : `data:${image.source.mediaType};base64,${image.source.data}`;
}

/** A `content` value: a plain string where nothing but unmarked text is in it, else an array of parts. */
function chatContent(parts: Array<TextContent | ImageContent>, keepCache: boolean): string | JsonObject[] {
  const plain = parts.every((part) => part.type === 'text' && !(keepCache && part.cacheControl));
  // Separate blocks are separate paragraphs; glued together they would run into each other.
  if (plain) return parts.map((part) => (part as TextContent).text).join('\n\n');
  return parts.map((part) =>
    part.type === 'text'
      ? { type: 'text', text: part.text, ...cacheJson(part.cacheControl, keepCache) }
      : { type: 'image_url', image_url: { url: imageUrl(part), ...(part.detail ? { detail: part.detail } : {}) }, ...cacheJson(part.cacheControl, keepCache) },
  );
}

function applyReasoning(out: JsonObject, conversation: Conversation, target: TranslationTarget): void {
  const reasoning = conversation.reasoning;
  if (!reasoning) return;
  const effort = reasoning.effort ?? (reasoning.budgetTokens === undefined ? 'medium' : effortForBudget(reasoning.budgetTokens));
  switch (target.reasoningParameter ?? 'reasoning_effort') {
    case 'reasoning_effort':
      // Only reasoning models take the parameter; to others, thinking off is what they do anyway.
      if (reasoning.enabled && isReasoningModel(target.model)) out.reasoning_effort = effort;
      else if (reasoning.enabled && /gemini/i.test(target.model)) out.reasoning_effort = effort;
      return;
    case 'enable_thinking':
      out.enable_thinking = reasoning.enabled;
      if (reasoning.enabled && reasoning.budgetTokens !== undefined) out.thinking_budget = reasoning.budgetTokens;
      return;
    case 'thinking':
      out.thinking = { type: reasoning.enabled ? 'enabled' : 'disabled' };
      return;
    case 'none':
      return;
  }
}

/** The chat dialects whose answers carry `reasoning_content`, and which take it back in the history. */
const REPLAYS_REASONING: ReadonlySet<string> = new Set(['enable_thinking', 'thinking', 'none']);

/** A Chat Completions request body for `target` from a Conversation. */
export function encodeChatRequest(conversation: Conversation, target: TranslationTarget): JsonObject {
  const keepCache = target.cacheControl === true;
  const messages: JsonObject[] = [];
  if (conversation.system.length > 0) messages.push({ role: 'system', content: chatContent(conversation.system, keepCache) });
  conversation.messages.forEach((message, index) => {
    if (message.role === 'assistant') {
      const text: TextContent[] = [];
      const calls: JsonObject[] = [];
      let reasoning = '';
      for (const part of message.content) {
        if (part.type === 'text') text.push(part);
        else if (part.type === 'tool-call') calls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: part.arguments } });
        else if (part.type === 'reasoning') reasoning += part.text;
      }
      const out: JsonObject = { role: 'assistant', content: text.length > 0 ? chatContent(text, keepCache) : null };
      // Providers that stream `reasoning_content` (DeepSeek, DashScope, Ark) refuse a thinking-mode tool loop whose history lacks it,
      // and ignore it where not needed; standard Chat Completions (OpenAI, Gemini) has no such field.
      if (reasoning !== '' && REPLAYS_REASONING.has(target.reasoningParameter ?? 'reasoning_effort')) out.reasoning_content = reasoning;
      if (calls.length > 0) out.tool_calls = calls;
      if (text.length > 0 || calls.length > 0) messages.push(out);
      return;
    }
    // A user turn: tool results become `tool` messages first (they answer the assistant's calls), then what the user said.
    const rest: Array<TextContent | ImageContent> = [];
    for (const part of message.content) {
      if (part.type === 'tool-result') {
        if (part.content.some((item) => item.type === 'image')) {
          untranslatable(`An image inside a tool result (messages[${index}])`, target, `messages[${index}]`, 'send the image in a user message instead, or pick a provider that speaks this protocol');
        }
        const text = part.content.map((item) => (item as TextContent).text).join('');
        messages.push({ role: 'tool', tool_call_id: part.callId, content: part.isError ? `Error: ${text}` : text });
      } else if (part.type === 'text' || part.type === 'image') rest.push(part);
    }
    if (rest.length > 0) messages.push({ role: 'user', content: chatContent(rest, keepCache) });
  });

  const out: JsonObject = { model: target.model, messages };
  if (conversation.stream) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  const reasoningModel = isReasoningModel(target.model);
  if (conversation.maxTokens !== undefined) out[reasoningModel ? 'max_completion_tokens' : 'max_tokens'] = conversation.maxTokens;
  if (conversation.temperature !== undefined && !reasoningModel) out.temperature = conversation.temperature;
  if (conversation.topP !== undefined && !reasoningModel) out.top_p = conversation.topP;
  if (conversation.stop) out.stop = conversation.stop;
  if (conversation.tools && conversation.tools.length > 0) {
    out.tools = conversation.tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, ...(tool.description !== undefined ? { description: tool.description } : {}), parameters: tool.parameters, ...(tool.strict !== undefined ? { strict: tool.strict } : {}) },
    }));
    if (conversation.parallelToolCalls !== undefined) out.parallel_tool_calls = conversation.parallelToolCalls;
  }
  const choice = conversation.toolChoice;
  if (choice !== undefined) out.tool_choice = typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
  applyReasoning(out, conversation, target);
  const format = conversation.responseFormat;
  if (format?.type === 'json_object') out.response_format = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    out.response_format = {
      type: 'json_schema',
      json_schema: { name: format.name, schema: format.schema, ...(format.strict !== undefined ? { strict: format.strict } : {}), ...(format.description ? { description: format.description } : {}) },
    };
  }
  if (conversation.user !== undefined) out.user = conversation.user;
  return out;
}
