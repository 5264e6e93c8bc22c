import { countTokens, lastUserText, messageText, promptTokens } from './echo.js';
import type { Wire } from './routes.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function texts(parts: readonly string[]): string {
  return parts.filter((part) => part !== '').join('\n');
}

/** The text of Anthropic content: a string, or its text blocks and the text of its tool_result blocks, one per line. */
export function anthropicContentText(content: unknown): string {
  if (typeof content === 'string') return content;
  return texts(
    records(content).map((block) => {
      if (block.type === 'text' && typeof block.text === 'string') return block.text;
      if (block.type === 'tool_result') return anthropicContentText(block.content);
      return '';
    }),
  );
}

/** The text of Responses content or function output: a string, or its `input_text`/`output_text`/`text` parts. */
export function responsesContentText(content: unknown): string {
  if (typeof content === 'string') return content;
  return texts(
    records(content).map((part) =>
      (part.type === 'input_text' || part.type === 'output_text' || part.type === 'text') && typeof part.text === 'string' ? part.text : '',
    ),
  );
}

/** A Responses input item's text: a message's content, or a function call's output. */
function responsesItemText(item: Record<string, unknown>): string {
  if (item.type === 'function_call_output') return responsesContentText(item.output);
  if (item.type === undefined || item.type === 'message') return responsesContentText(item.content);
  return '';
}

/** Whether a Responses input item comes from the caller's side: a user message, or a function call's output. */
function isResponsesUserItem(item: Record<string, unknown>): boolean {
  if (item.type === 'function_call_output') return true;
  return (item.type === undefined || item.type === 'message') && item.role === 'user';
}

/**
 * The text the sandbox echoes: chat, the last `user` message; messages, the last `user` message (text and tool_result
 * blocks); responses, `input` as a string, or its last user message or `function_call_output`. '' when there is none.
 */
export function lastUserTextOf(wire: Wire, body: unknown): string {
  if (!isRecord(body)) return '';
  switch (wire) {
    case 'chat':
      return lastUserText(body);
    case 'messages': {
      const user = records(body.messages).findLast((message) => message.role === 'user');
      return user === undefined ? '' : anthropicContentText(user.content);
    }
    case 'responses': {
      if (typeof body.input === 'string') return body.input;
      const item = records(body.input).findLast(isResponsesUserItem);
      return item === undefined ? '' : responsesItemText(item);
    }
  }
}

/** Prompt tokens of a request with the sandbox's counter: every message (and the system prompt or instructions). */
export function promptTokensOf(wire: Wire, body: unknown): number {
  if (!isRecord(body)) return 0;
  switch (wire) {
    case 'chat':
      return promptTokens(body);
    case 'messages': {
      const system = typeof body.system === 'string' ? body.system : messageText(body.system);
      return records(body.messages).reduce((sum, message) => sum + countTokens(anthropicContentText(message.content)), countTokens(system));
    }
    case 'responses': {
      const instructions = typeof body.instructions === 'string' ? countTokens(body.instructions) : 0;
      if (typeof body.input === 'string') return instructions + countTokens(body.input);
      return records(body.input).reduce((sum, item) => sum + countTokens(responsesItemText(item)), instructions);
    }
  }
}
