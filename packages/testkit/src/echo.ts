import { createHash } from 'node:crypto';

/** The prefix of every sandbox reply. */
export const ECHO_PREFIX = 'echo: ';

const EMBEDDING_DIMENSIONS = 8;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text of a message's content: a string, or the text parts of an array, one per line. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter((part): part is { type: 'text'; text: string } => isRecord(part) && part.type === 'text' && typeof part.text === 'string')
    .map((part) => part.text)
    .join('\n');
}

function messagesOf(body: unknown): Record<string, unknown>[] {
  if (!isRecord(body) || !Array.isArray(body.messages)) return [];
  return body.messages.filter(isRecord);
}

/** The text of the last `user` message in a chat request body, or '' when there is none. */
export function lastUserText(body: unknown): string {
  const user = messagesOf(body).findLast((message) => message.role === 'user');
  return user === undefined ? '' : messageText(user.content);
}

/** The sandbox's reply to a chat request body. */
export function echoReply(body: unknown): string {
  return `${ECHO_PREFIX}${lastUserText(body)}`;
}

/** Deterministic token count: whitespace-separated words. Good enough for usage arithmetic in tests. */
export function countTokens(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/).length;
}

/** Tokens in every message of a chat request body. */
export function promptTokens(body: unknown): number {
  return messagesOf(body).reduce((sum, message) => sum + countTokens(messageText(message.content)), 0);
}

/**
 * Splits a reply into the content deltas the sandbox streams: one per word (leading whitespace kept with its word),
 * then, while there are fewer than `minimum` pieces, the longest piece is halved, so short replies still stream in several chunks.
 * The pieces always join back to `text`.
 */
export function splitIntoChunks(text: string, minimum = 3): string[] {
  const pieces: string[] = [...(text.match(/\s*\S+/g) ?? [])];
  const covered = pieces.join('').length;
  if (covered < text.length) {
    // Trailing whitespace rides on the last piece.
    if (pieces.length === 0) pieces.push(text.slice(covered));
    else pieces[pieces.length - 1] += text.slice(covered);
  }
  while (pieces.length < minimum) {
    let longest = 0;
    pieces.forEach((piece, index) => {
      if (Array.from(piece).length > Array.from(pieces[longest] ?? '').length) longest = index;
    });
    const characters = Array.from(pieces[longest] ?? '');
    if (characters.length < 2) break;
    const middle = Math.ceil(characters.length / 2);
    pieces.splice(longest, 1, characters.slice(0, middle).join(''), characters.slice(middle).join(''));
  }
  return pieces;
}

/** A deterministic unit-length vector of 8 float32 values derived from a SHA-256 of the text. */
export function echoEmbedding(text: string): number[] {
  const digest = createHash('sha256').update(text).digest();
  const raw = Array.from({ length: EMBEDDING_DIMENSIONS }, (_, index) => digest.readUInt32BE(index * 4) / 2 ** 31 - 1);
  const length = Math.hypot(...raw) || 1;
  // Rounded to float32 so the JSON floats and the base64 bytes decode to the same numbers.
  return raw.map((value) => Math.fround(value / length));
}

/** A vector as OpenAI's `encoding_format: 'base64'` sends it: little-endian float32 bytes, base64. */
export function encodeEmbeddingBase64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

/** The texts of an embeddings `input`: a string, an array of strings, or token arrays; undefined when malformed. */
export function embeddingInputs(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((item) => typeof item === 'number')) return [JSON.stringify(input)];
  const texts: string[] = [];
  for (const item of input) {
    if (typeof item === 'string') texts.push(item);
    else if (Array.isArray(item) && item.every((token) => typeof token === 'number')) texts.push(JSON.stringify(item));
    else return undefined;
  }
  return texts;
}
