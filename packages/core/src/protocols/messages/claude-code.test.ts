/**
 * What Claude Code sends on `/v1/messages` (the shape recorded from `claude -p`, its texts shortened), translated for a
 * chat-only upstream: nothing it sends is refused, and nothing Anthropic-only reaches the upstream.
 */
import { describe, expect, it } from 'vitest';
import { SwitchyardError } from '../../errors.js';
import { encodeChatRequest } from '../chat/request.js';
import type { JsonObject, TranslationTarget } from '../codec.js';
import { decodeMessagesRequest } from './request.js';

const DASHSCOPE: TranslationTarget = { wire: 'chat', provider: 'dashscope', model: 'deepseek-v4-flash', reasoningParameter: 'enable_thinking', cacheControl: true };
const OPENAI: TranslationTarget = { wire: 'chat', provider: 'openai', model: 'gpt-5', reasoningParameter: 'reasoning_effort' };
const BILLING = 'x-anthropic-billing-header: cc_version=2.1.112.81e; cc_entrypoint=sdk-cli; cch=00000;';
const USER_ID = JSON.stringify({ device_id: 'ddf6', account_uuid: '', session_id: '0d9d36c0' });

const schema = (properties: Record<string, unknown>, required: string[]) => ({
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

/** The first request of `claude -p 'hello there'`, as Claude Code 2.1 sends it. */
function firstRequest(): JsonObject {
  return {
    model: 'general',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>\nThe following skills are available…\n</system-reminder>\n' },
          { type: 'text', text: 'hello there', cache_control: { type: 'ephemeral' } },
        ],
      },
    ],
    system: [
      { type: 'text', text: BILLING },
      { type: 'text', text: "You are a Claude agent, built on Anthropic's Claude Agent SDK.", cache_control: { type: 'ephemeral' } },
      { type: 'text', text: '\nYou are an interactive agent that helps users with software engineering tasks.', cache_control: { type: 'ephemeral' } },
    ],
    tools: [
      { name: 'Bash', description: 'Executes a given bash command.', input_schema: schema({ command: { type: 'string' } }, ['command']) },
      { name: 'Read', description: 'Reads a file from the local filesystem.', input_schema: schema({ file_path: { type: 'string' } }, ['file_path']) },
    ],
    metadata: { user_id: USER_ID },
    max_tokens: 32000,
    thinking: { type: 'adaptive' },
    context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
    output_config: { effort: 'high' },
    stream: true,
  };
}

/** The second request: the model thought, said something and called Read; Claude Code ran it. */
function toolResultRequest(): JsonObject {
  const first = firstRequest();
  return {
    ...first,
    messages: [
      ...(first.messages as JsonObject[]),
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'I should read the file.', signature: '' },
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id: 'call_read_1', name: 'Read', input: { file_path: '/work/notes.txt' } },
        ],
      },
      { role: 'user', content: [{ tool_use_id: 'call_read_1', type: 'tool_result', content: '1\tthe word is kumquat\n', cache_control: { type: 'ephemeral' } }] },
    ],
  };
}

function invalidRequest(run: () => unknown): SwitchyardError {
  try {
    run();
  } catch (error) {
    if (SwitchyardError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected an invalid_request error');
}

describe("Claude Code's requests, translated to Chat Completions", () => {
  it('accepts the first request whole: output_config, adaptive thinking, context_management and metadata are understood', () => {
    const conversation = decodeMessagesRequest(firstRequest(), DASHSCOPE);
    expect(conversation.reasoning).toEqual({ enabled: true, effort: 'high' });
    expect(conversation.maxTokens).toBe(32000);
    expect(conversation.user).toBe(USER_ID);
    expect(conversation.tools?.map((tool) => tool.name)).toEqual(['Bash', 'Read']);
    expect(conversation.messages).toHaveLength(1);
    expect(conversation.messages[0]?.content.at(-1)).toEqual({ type: 'text', text: 'hello there', cacheControl: { type: 'ephemeral' } });
  });

  it('drops the billing line from the system prompt and keeps the rest, with its cache marks where the target honours them', () => {
    const conversation = decodeMessagesRequest(firstRequest(), DASHSCOPE);
    expect(conversation.system.map((part) => part.text)).toEqual([
      "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
      '\nYou are an interactive agent that helps users with software engineering tasks.',
    ]);
    const chat = encodeChatRequest(conversation, DASHSCOPE);
    expect(JSON.stringify(chat)).not.toContain('x-anthropic-billing-header');
    const messages = chat.messages as JsonObject[];
    expect(messages[0]).toEqual({
      role: 'system',
      content: [
        { type: 'text', text: "You are a Claude agent, built on Anthropic's Claude Agent SDK.", cache_control: { type: 'ephemeral' } },
        { type: 'text', text: '\nYou are an interactive agent that helps users with software engineering tasks.', cache_control: { type: 'ephemeral' } },
      ],
    });
    expect(chat).toMatchObject({ model: 'deepseek-v4-flash', stream: true, max_tokens: 32000, enable_thinking: true, user: USER_ID });
    expect((chat.tools as JsonObject[]).map((tool) => (tool.function as JsonObject).name)).toEqual(['Bash', 'Read']);
  });

  it('strips the billing line where it leads a block of real instructions, and a system string too', () => {
    const body = { ...firstRequest(), system: [{ type: 'text', text: `${BILLING}\nYou are Claude Code.` }] };
    expect(decodeMessagesRequest(body, DASHSCOPE).system).toEqual([{ type: 'text', text: 'You are Claude Code.' }]);
    expect(decodeMessagesRequest({ ...firstRequest(), system: BILLING }, DASHSCOPE).system).toEqual([]);
    // Only a leading line is Claude Code's: the same words later in a prompt are the caller's own text.
    const quoted = `Explain this line:\n${BILLING}`;
    expect(decodeMessagesRequest({ ...firstRequest(), system: quoted }, DASHSCOPE).system).toEqual([{ type: 'text', text: quoted }]);
  });

  it('sends the earlier reasoning back as reasoning_content to providers that need it in a tool loop, and not to OpenAI', () => {
    const body = toolResultRequest();
    const dashscope = encodeChatRequest(decodeMessagesRequest(body, DASHSCOPE), DASHSCOPE);
    const messages = dashscope.messages as JsonObject[];
    expect(messages.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: 'Let me look.',
        reasoning_content: 'I should read the file.',
        tool_calls: [{ id: 'call_read_1', type: 'function', function: { name: 'Read', arguments: '{"file_path":"/work/notes.txt"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_read_1', content: '1\tthe word is kumquat\n' },
    ]);
    const openai = encodeChatRequest(decodeMessagesRequest(body, OPENAI), OPENAI);
    const assistant = (openai.messages as JsonObject[]).find((message) => message.role === 'assistant');
    expect(assistant).toBeDefined();
    expect(assistant).not.toHaveProperty('reasoning_content');
  });

  describe('output_config', () => {
    it.each([
      ['low', 'low'],
      ['medium', 'medium'],
      ['high', 'high'],
      ['xhigh', 'high'],
      ['max', 'high'],
    ])('effort %s rides on thinking as %s', (effort, expected) => {
      const conversation = decodeMessagesRequest({ ...firstRequest(), output_config: { effort } }, DASHSCOPE);
      expect(conversation.reasoning).toEqual({ enabled: true, effort: expected });
    });

    it('keeps a thinking budget beside the effort, and asks for no thinking when none was asked for', () => {
      const enabled = decodeMessagesRequest({ ...firstRequest(), thinking: { type: 'enabled', budget_tokens: 2048 }, output_config: { effort: 'low' } }, DASHSCOPE);
      expect(enabled.reasoning).toEqual({ enabled: true, effort: 'low', budgetTokens: 2048 });
      const { thinking: _thinking, ...withoutThinking } = firstRequest();
      expect(decodeMessagesRequest(withoutThinking, DASHSCOPE).reasoning).toBeUndefined();
    });

    it('takes a JSON schema format as the response format', () => {
      const format = { type: 'json_schema', schema: { type: 'object', properties: { word: { type: 'string' } } } };
      const conversation = decodeMessagesRequest({ ...firstRequest(), output_config: { format } }, DASHSCOPE);
      expect(conversation.responseFormat).toEqual({ type: 'json_schema', name: 'response', schema: format.schema });
    });

    it.each([
      [{ ...firstRequest(), output_config: 'high' }, 'output_config'],
      [{ ...firstRequest(), output_config: { effort: 'extreme' } }, 'output_config.effort'],
      [{ ...firstRequest(), output_config: { format: { type: 'xml' } } }, 'output_config.format'],
      [{ ...firstRequest(), output_config: { verbosity: 'low' } }, 'output_config.verbosity'],
      [{ ...firstRequest(), output_format: { type: 'xml' } }, 'output_format'],
    ])('refuses what it cannot mean or carry with a 400 naming the parameter (%#)', (body, param) => {
      const error = invalidRequest(() => decodeMessagesRequest(body, DASHSCOPE));
      expect(error.code).toBe('invalid_request');
      expect(error.status).toBe(400);
      expect(error.param).toBe(param);
      expect(error.hint).not.toBe('');
    });
  });
});
