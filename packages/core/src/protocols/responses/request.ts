/** OpenAI Responses requests: the check at the edge, and translation to and from a Conversation. */
import { z } from 'zod';
import { isReasoningModel } from '../../providers/model-params.js';
import type { CheckedRequest, JsonObject, TranslationTarget } from '../codec.js';
import {
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
import { checkWith, imageSource, invalid, isRecord, optionalNumber, untranslatable } from '../validation.js';

const HINT = 'send {"model": "...", "input": "..."} or {"model": "...", "input": [{"role": "user", "content": "..."}]} as the Responses API defines it';

/** What to do instead of relying on state an upstream without the Responses API cannot keep. */
const STATELESS_HINT =
  'send the whole conversation in `input` with `store: false` (as Codex CLI does; the AI SDK: providerOptions.openai.store = false), or pick a provider that speaks Responses natively (openai, dashscope, volcengine)';

const itemSchema = z.looseObject({ type: z.string({ error: 'must be a string' }).optional() }, { error: 'must be an input item object' });

const checkSchema = z.looseObject({
  model: z.string({ error: 'must be a string' }).min(1, 'must not be empty').optional(),
  input: z.union([z.string(), z.array(itemSchema)], { error: 'is required: a string, or an array of input items' }),
  instructions: z.string({ error: 'must be a string' }).nullish(),
  tools: z.array(z.looseObject({ type: z.string({ error: 'must be a string' }) }, { error: 'must be a tool object' }), { error: 'must be an array of tools' }).nullish(),
  stream: z.boolean({ error: 'must be a boolean' }).nullish(),
});

/** Checks a Responses request: `input` a string or an array of items, `model` a string, `stream` a boolean. */
export function checkResponsesRequest(body: JsonObject): CheckedRequest {
  const parsed = checkWith(checkSchema, body, HINT);
  return { model: body.model, stream: parsed.stream === true };
}

// ---------------------------------------------------------------------------------------------------------------
// Responses → Conversation

/** Fields a translation drops without a word: delivery, bookkeeping and caching hints, never what the answer says. */
const ADVISORY = new Set([
  'model',
  'input',
  'stream',
  'stream_options',
  'include',
  'metadata',
  'client_metadata',
  'prompt_cache_key',
  'prompt_cache_retention',
  'prompt_cache_options',
  'service_tier',
  'truncation',
  'user',
  'safety_identifier',
  'top_logprobs',
  'max_tool_calls',
]);
const KNOWN = new Set(['instructions', 'tools', 'tool_choice', 'parallel_tool_calls', 'reasoning', 'max_output_tokens', 'temperature', 'top_p', 'text', 'store']);
/** Parameters that need state kept by a Responses server: refused on translated targets, with a hint. */
const STATEFUL = new Set(['previous_response_id', 'conversation', 'background', 'prompt', 'context_management']);

/** Hints for the built-in tools only an OpenAI-style Responses server runs. */
function builtInToolAdvice(type: string): string {
  if (type.startsWith('web_search')) return 'remove it (Codex CLI: web_search = "disabled" in config.toml), or pick a provider that speaks Responses natively';
  return 'remove it, or pick a provider that speaks Responses natively';
}

function imageOf(raw: Record<string, unknown>, at: string, target: TranslationTarget): ImageContent {
  const url = raw.image_url;
  if (typeof url !== 'string') {
    if (raw.file_id !== undefined) untranslatable(`An image given by file_id (${at})`, target, at, 'send the image as a URL or a base64 data URL');
    invalid(`${at}.image_url must be a string.`, HINT, `${at}.image_url`);
  }
  const detail = typeof raw.detail === 'string' && raw.detail !== '' ? raw.detail : undefined;
  const source = imageSource(url, at, target);
  return { type: 'image', source, ...(detail ? { detail } : {}) };
}

/** The parts of a message's `content`: a string, or `input_text`/`output_text`/`refusal`/`input_image` parts. */
function contentParts(content: unknown, at: string, target: TranslationTarget, allowImages: boolean): Array<TextContent | ImageContent> {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  if (!Array.isArray(content)) invalid(`${at} must be a string or an array of content parts.`, HINT, at);
  const out: Array<TextContent | ImageContent> = [];
  content.forEach((raw: unknown, index) => {
    const partAt = `${at}[${index}]`;
    if (!isRecord(raw)) invalid(`${partAt} must be a content part object.`, HINT, partAt);
    switch (raw.type) {
      case 'input_text':
      case 'output_text':
      case 'text':
      case 'summary_text':
        if (typeof raw.text !== 'string') invalid(`${partAt}.text must be a string.`, HINT, `${partAt}.text`);
        if (raw.text !== '') out.push({ type: 'text', text: raw.text });
        return;
      case 'refusal':
        if (typeof raw.refusal === 'string' && raw.refusal !== '') out.push({ type: 'text', text: raw.refusal });
        return;
      case 'input_image':
        if (!allowImages) untranslatable(`An image outside a user message (${partAt})`, target, partAt);
        out.push(imageOf(raw, partAt, target));
        return;
      default:
        untranslatable(`An "${String(raw.type)}" content part (${partAt})`, target, partAt);
    }
  });
  return out;
}

/** The text of a reasoning item: its summary, else its `reasoning_text` content (DeepSeek). */
function reasoningText(item: Record<string, unknown>): string {
  const texts = (list: unknown, type: string) => (Array.isArray(list) ? list.filter((part) => isRecord(part) && part.type === type && typeof part.text === 'string').map((part) => (part as { text: string }).text) : []);
  const summary = texts(item.summary, 'summary_text');
  return (summary.length > 0 ? summary : texts(item.content, 'reasoning_text')).join('\n\n');
}

/** The tools of a request; a `namespace` is flattened into its functions, a call names the function alone. */
function toolsOf(raw: unknown, target: TranslationTarget): ToolDefinition[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const tools: ToolDefinition[] = [];
  const names = new Set<string>();
  const add = (tool: Record<string, unknown>, at: string) => {
    if (typeof tool.name !== 'string' || tool.name === '') invalid(`${at}.name must be a non-empty string.`, HINT, `${at}.name`);
    if (names.has(tool.name)) untranslatable(`A second tool named "${tool.name}" (${at})`, target, at, 'give every function tool, namespaced ones included, its own name');
    names.add(tool.name);
    const definition: ToolDefinition = { name: tool.name, parameters: isRecord(tool.parameters) ? tool.parameters : { type: 'object', properties: {} } };
    if (typeof tool.description === 'string' && tool.description !== '') definition.description = tool.description;
    if (typeof tool.strict === 'boolean') definition.strict = tool.strict;
    tools.push(definition);
  };
  (raw as Array<Record<string, unknown>>).forEach((tool, index) => {
    const at = `tools[${index}]`;
    if (tool.type === 'function') return add(tool, at);
    if (tool.type === 'namespace' && Array.isArray(tool.tools)) {
      tool.tools.forEach((inner: unknown, innerIndex) => {
        const innerAt = `${at}.tools[${innerIndex}]`;
        if (!isRecord(inner) || inner.type !== 'function') untranslatable(`A "${String(isRecord(inner) ? inner.type : inner)}" tool inside a namespace (${innerAt})`, target, innerAt);
        add(inner, innerAt);
      });
      return;
    }
    if (tool.type === 'custom') untranslatable(`A free-form (custom) tool "${String(tool.name)}" (${at})`, target, at, 'declare it as a function tool with JSON parameters, or pick a provider that speaks Responses natively');
    untranslatable(`The built-in "${String(tool.type)}" tool (${at})`, target, at, builtInToolAdvice(String(tool.type)));
  });
  return tools;
}

function toolChoiceOf(raw: unknown, target: TranslationTarget): ToolChoice | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (raw === 'auto' || raw === 'none' || raw === 'required') return raw;
  if (isRecord(raw) && raw.type === 'function' && typeof raw.name === 'string') return { name: raw.name };
  if (isRecord(raw) && typeof raw.type === 'string') return untranslatable(`A "${raw.type}" tool_choice`, target, 'tool_choice', 'send "auto", "none", "required" or {"type": "function", "name": …}');
  return invalid('tool_choice must be "auto", "none", "required" or {"type": "function", "name": …}.', HINT, 'tool_choice');
}


const EFFORTS: Readonly<Record<string, ReasoningEffort>> = { minimal: 'minimal', low: 'low', medium: 'medium', high: 'high', xhigh: 'high' };

/** Whether a parameter's value asks for nothing (a client's default sent as is). */
function inert(value: unknown): boolean {
  return value === null || value === undefined || value === false || (Array.isArray(value) && value.length === 0) || (isRecord(value) && Object.keys(value).length === 0);
}

/** Decodes a checked Responses request for translation to another wire; what needs server state is a 400 with a hint. */
export function decodeResponsesRequest(body: JsonObject, target: TranslationTarget): Conversation {
  for (const key of Object.keys(body)) {
    if (ADVISORY.has(key) || KNOWN.has(key) || inert(body[key])) continue;
    if (STATEFUL.has(key)) {
      invalid(`"${key}" needs state kept by a Responses server, which provider "${target.provider}" (${target.wire === 'chat' ? 'Chat Completions' : 'Anthropic Messages'}) does not have.`, STATELESS_HINT, key);
    }
    untranslatable(`The "${key}" parameter`, target, key);
  }
  if (body.store === true) invalid(`"store": true keeps the response on a Responses server, which provider "${target.provider}" does not have.`, STATELESS_HINT, 'store');

  const system: TextContent[] = [];
  if (typeof body.instructions === 'string' && body.instructions !== '') system.push({ type: 'text', text: body.instructions });
  const messages: ConversationMessage[] = [];
  const push = (role: 'user' | 'assistant', content: ContentPart[]) => {
    if (content.length === 0) return;
    const previous = messages.at(-1);
    // Consecutive items of one role are one turn on wires that alternate (a function call, then the next one).
    if (previous?.role === role) previous.content.push(...content);
    else messages.push({ role, content });
  };

  const input = body.input;
  if (typeof input === 'string') push('user', input === '' ? [] : [{ type: 'text', text: input }]);
  else {
    (input as Array<Record<string, unknown>>).forEach((item, index) => {
      const at = `input[${index}]`;
      const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
      switch (type) {
        case 'message': {
          const role = item.role;
          if (role === 'system' || role === 'developer') system.push(...(contentParts(item.content, `${at}.content`, target, false).filter((part) => part.type === 'text') as TextContent[]));
          else if (role === 'user') push('user', contentParts(item.content, `${at}.content`, target, true));
          else if (role === 'assistant') push('assistant', contentParts(item.content, `${at}.content`, target, false));
          else invalid(`${at}.role must be one of user, assistant, system, developer.`, HINT, `${at}.role`);
          return;
        }
        case 'function_call': {
          if (typeof item.call_id !== 'string' || typeof item.name !== 'string') invalid(`${at} needs a string "call_id" and "name".`, HINT, at);
          const args = typeof item.arguments === 'string' ? item.arguments : JSON.stringify(item.arguments ?? {});
          push('assistant', [{ type: 'tool-call', id: item.call_id, name: item.name, arguments: args }]);
          return;
        }
        case 'function_call_output': {
          if (typeof item.call_id !== 'string') invalid(`${at}.call_id must be a string.`, HINT, `${at}.call_id`);
          const output = contentParts(item.output, `${at}.output`, target, true);
          push('user', [{ type: 'tool-result', callId: item.call_id, content: output.length > 0 ? output : [{ type: 'text', text: '' }] }]);
          return;
        }
        case 'reasoning': {
          const text = reasoningText(item);
          const encrypted = typeof item.encrypted_content === 'string' && item.encrypted_content !== '' ? item.encrypted_content : undefined;
          // Encrypted content beside readable text is that text's signature (it goes back with it); alone, it is redacted reasoning.
          if (text !== '') push('assistant', [{ type: 'reasoning', text, ...(encrypted ? { signature: encrypted } : {}) }]);
          else if (encrypted) push('assistant', [{ type: 'reasoning-redacted', data: encrypted }]);
          return;
        }
        case 'item_reference':
          invalid(`An item_reference (${at}) points at an item kept by a Responses server, which provider "${target.provider}" does not have.`, STATELESS_HINT, at);
          return;
        default:
          untranslatable(`A "${String(type)}" input item (${at})`, target, at);
      }
    });
  }

  const conversation: Conversation = { model: typeof body.model === 'string' ? body.model : undefined, system, messages, stream: body.stream === true };
  const tools = toolsOf(body.tools, target);
  if (tools && tools.length > 0) conversation.tools = tools;
  const toolChoice = toolChoiceOf(body.tool_choice, target);
  if (toolChoice !== undefined) conversation.toolChoice = toolChoice;
  if (typeof body.parallel_tool_calls === 'boolean') conversation.parallelToolCalls = body.parallel_tool_calls;
  const maxTokens = optionalNumber(body, 'max_output_tokens', HINT);
  if (maxTokens !== undefined) conversation.maxTokens = maxTokens;
  const temperature = optionalNumber(body, 'temperature', HINT);
  if (temperature !== undefined) conversation.temperature = temperature;
  const topP = optionalNumber(body, 'top_p', HINT);
  if (topP !== undefined) conversation.topP = topP;
  const reasoning = body.reasoning;
  if (isRecord(reasoning)) {
    const summary = typeof reasoning.summary === 'string' ? { summary: reasoning.summary } : {};
    const effort = reasoning.effort;
    if (effort === 'none') conversation.reasoning = { enabled: false };
    else if (typeof effort === 'string') {
      const known = Object.hasOwn(EFFORTS, effort) ? EFFORTS[effort] : undefined;
      if (known === undefined) invalid('reasoning.effort must be one of none, minimal, low, medium, high, xhigh.', HINT, 'reasoning.effort');
      conversation.reasoning = { enabled: true, effort: known, ...summary };
    }
    // A summary alone (Codex always sends one) asks to see reasoning, not for it: the model's own default stands.
  }
  const text = body.text;
  if (isRecord(text) && isRecord(text.format)) {
    const format = text.format;
    if (format.type === 'json_object') conversation.responseFormat = { type: 'json_object' };
    else if (format.type === 'json_schema') {
      if (!isRecord(format.schema)) invalid('text.format.schema must be a JSON Schema object.', HINT, 'text.format.schema');
      conversation.responseFormat = {
        type: 'json_schema',
        name: typeof format.name === 'string' ? format.name : 'response',
        schema: format.schema as Record<string, unknown>,
        ...(typeof format.strict === 'boolean' ? { strict: format.strict } : {}),
        ...(typeof format.description === 'string' ? { description: format.description } : {}),
      };
    } else if (format.type !== 'text') invalid('text.format.type must be text, json_object or json_schema.', HINT, 'text.format');
  }
  const user = typeof body.user === 'string' && body.user !== '' ? body.user : typeof body.safety_identifier === 'string' && body.safety_identifier !== '' ? body.safety_identifier : undefined;
  if (user !== undefined) conversation.user = user;
  return conversation;
}

// ---------------------------------------------------------------------------------------------------------------
// Conversation → Responses

function userContent(parts: ContentPart[]): JsonObject[] {
  const out: JsonObject[] = [];
  for (const part of parts) {
    if (part.type === 'text') out.push({ type: 'input_text', text: part.text });
    else if (part.type === 'image') {
      const url = part.source.kind === 'url' ? part.source.url : `data:${part.source.mediaType};base64,${part.source.data}`;
      out.push({ type: 'input_image', image_url: url, detail: part.detail ?? 'auto' });
    }
  }
  return out;
}

/** A Responses request body for `target` from a Conversation: stateless (`store: false`), the whole conversation in `input`. */
export function encodeResponsesRequest(conversation: Conversation, target: TranslationTarget): JsonObject {
  const input: JsonObject[] = [];
  conversation.messages.forEach((message) => {
    if (message.role === 'user') {
      // Function outputs answer the calls before them; what the user said comes after.
      const rest: ContentPart[] = [];
      for (const part of message.content) {
        if (part.type === 'tool-result') {
          const text = part.content.every((item) => item.type === 'text');
          const output = text ? part.content.map((item) => (item as TextContent).text).join('') : userContent(part.content);
          input.push({ type: 'function_call_output', call_id: part.callId, output: part.isError && typeof output === 'string' ? `Error: ${output}` : output });
        } else rest.push(part);
      }
      const content = userContent(rest);
      if (content.length > 0) input.push({ type: 'message', role: 'user', content });
      return;
    }
    let text = '';
    const flush = () => {
      if (text !== '') input.push({ type: 'message', role: 'assistant', content: text });
      text = '';
    };
    for (const part of message.content) {
      switch (part.type) {
        case 'text':
          text += part.text;
          break;
        case 'tool-call':
          flush();
          input.push({ type: 'function_call', call_id: part.id, name: part.name, arguments: part.arguments });
          break;
        case 'reasoning':
          // Reasoning goes back only with what makes a Responses server accept it (its encrypted content); plain text is not sent.
          if (part.signature !== undefined) {
            flush();
            input.push({ type: 'reasoning', summary: part.text === '' ? [] : [{ type: 'summary_text', text: part.text }], encrypted_content: part.signature });
          }
          break;
        case 'reasoning-redacted':
          flush();
          input.push({ type: 'reasoning', summary: [], encrypted_content: part.data });
          break;
        default:
          break;
      }
    }
    flush();
  });

  const out: JsonObject = { model: target.model, input };
  if (conversation.system.length > 0) out.instructions = conversation.system.map((part) => part.text).join('\n\n');
  if (conversation.stream) out.stream = true;
  out.store = false;
  const reasoningModel = isReasoningModel(target.model);
  if (conversation.maxTokens !== undefined) out.max_output_tokens = conversation.maxTokens;
  if (conversation.temperature !== undefined && !reasoningModel) out.temperature = conversation.temperature;
  if (conversation.topP !== undefined && !reasoningModel) out.top_p = conversation.topP;
  if (conversation.stop && conversation.stop.length > 0) untranslatable('Stop sequences', target, 'stop', 'the Responses API has no stop sequences: remove them, or pick a provider that speaks this protocol');
  if (conversation.tools && conversation.tools.length > 0) {
    out.tools = conversation.tools.map((tool) => ({
      type: 'function',
      name: tool.name,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      parameters: tool.parameters,
      strict: tool.strict ?? false,
    }));
    if (conversation.parallelToolCalls !== undefined) out.parallel_tool_calls = conversation.parallelToolCalls;
  }
  const choice = conversation.toolChoice;
  if (choice !== undefined) out.tool_choice = typeof choice === 'string' ? choice : { type: 'function', name: choice.name };
  const reasoning = conversation.reasoning;
  // Only reasoning models take `reasoning`; to the others, thinking off is what they do anyway.
  if (reasoning?.enabled && reasoningModel && target.reasoningParameter !== 'none') {
    const effort = reasoning.effort ?? (reasoning.budgetTokens === undefined ? 'medium' : effortForBudget(reasoning.budgetTokens));
    out.reasoning = { effort, summary: reasoning.summary ?? 'auto' };
    // Stateless: the reasoning comes back encrypted, so a later turn can send it again.
    out.include = ['reasoning.encrypted_content'];
  }
  const format = conversation.responseFormat;
  if (format?.type === 'json_object') out.text = { format: { type: 'json_object' } };
  else if (format?.type === 'json_schema') {
    out.text = { format: { type: 'json_schema', name: format.name, schema: format.schema, ...(format.strict !== undefined ? { strict: format.strict } : {}), ...(format.description ? { description: format.description } : {}) } };
  }
  if (conversation.user !== undefined) out.user = conversation.user;
  return out;
}
