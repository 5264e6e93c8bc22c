/**
 * An honest estimate of a request's input tokens, for upstreams that cannot count them exactly: about four characters
 * per token for alphabetic text, one per character for CJK text, a flat figure per image, and a few per message.
 */
import type { Conversation } from './conversation.js';

/** What one image costs, roughly, whatever its size (Anthropic: about width × height / 750, ~1,600 for a typical photo). */
const IMAGE_TOKENS = 1600;
const MESSAGE_OVERHEAD = 4;

/** Tokens in a text, by a character heuristic. */
export function estimateTextTokens(text: string): number {
  let wide = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x2e80) wide++;
  return wide + Math.ceil((text.length - wide) / 4);
}

/** The estimated input tokens of a conversation: system, messages, tools. */
export function estimateInputTokens(conversation: Conversation): number {
  let tokens = 0;
  for (const part of conversation.system) tokens += estimateTextTokens(part.text);
  for (const message of conversation.messages) {
    tokens += MESSAGE_OVERHEAD;
    for (const part of message.content) {
      switch (part.type) {
        case 'text':
        case 'reasoning':
          tokens += estimateTextTokens(part.text);
          break;
        case 'image':
          tokens += IMAGE_TOKENS;
          break;
        case 'tool-call':
          tokens += estimateTextTokens(part.name) + estimateTextTokens(part.arguments);
          break;
        case 'tool-result':
          for (const item of part.content) tokens += item.type === 'text' ? estimateTextTokens(item.text) : IMAGE_TOKENS;
          break;
        case 'reasoning-redacted':
          tokens += Math.ceil(part.data.length / 8);
          break;
      }
    }
  }
  for (const tool of conversation.tools ?? []) tokens += estimateTextTokens(`${tool.name} ${tool.description ?? ''} ${JSON.stringify(tool.parameters)}`);
  return Math.max(1, tokens);
}
