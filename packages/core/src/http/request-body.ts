import type { Readable } from 'node:stream';
import { SwitchyardError } from '../errors.js';
import { collectBody } from '../stream/collect.js';

export interface BodyLimits {
  bodyBytes: number;
  jsonDepth: number;
}

/** Why a body was refused, for the `/api/chat` numeric codes. */
export type BodyProblem = 'bad_json' | 'too_large' | 'too_deep' | 'not_object';

export function bodyError(problem: BodyProblem, message: string): SwitchyardError {
  const code = problem === 'too_large' ? 'payload_too_large' : 'invalid_request';
  return new SwitchyardError(code, message, { details: { problem } });
}

function isNodeReadable(source: unknown): source is Readable {
  return typeof (source as Readable).on === 'function' && typeof (source as Readable).pause === 'function';
}

/** Reads a request body, refusing more than `limit` bytes as soon as it is exceeded. */
export async function readRequestBody(source: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  if (isNodeReadable(source)) {
    const tooLarge = () => bodyError('too_large', `The request body is larger than ${limit} bytes.`);
    return (await collectBody(source, limit, tooLarge, 'pause')).toString('utf8');
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.byteLength;
    if (size > limit) throw bodyError('too_large', `The request body is larger than ${limit} bytes.`);
    chunks.push(chunk);
  }
  if (chunks.length === 0) return '';
  return Buffer.concat(chunks).toString('utf8');
}

/** The deepest nesting of arrays and objects in JSON text, counted without parsing. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return deepest;
}

/** Parses a JSON request body that must be an object. Empty text is an empty object. */
export function parseJsonObject(text: string, limits: BodyLimits): Record<string, unknown> {
  if (text.length === 0 || text.trim() === '') return {};
  if (text.length > limits.bodyBytes) throw bodyError('too_large', `The request body is larger than ${limits.bodyBytes} bytes.`);
  if (jsonDepth(text) > limits.jsonDepth) throw bodyError('too_deep', `The request body nests deeper than ${limits.jsonDepth} levels.`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bodyError('bad_json', 'The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bodyError('not_object', 'The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

/** Accepts a body some framework already parsed (`express.json()`, a Koa body parser), or refuses its shape. */
export function acceptParsedBody(value: unknown, limits: BodyLimits): Record<string, unknown> {
  if (typeof value === 'string' || Buffer.isBuffer(value)) return parseJsonObject(value.toString(), limits);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bodyError('not_object', 'The request body must be a JSON object.');
  return value as Record<string, unknown>;
}
