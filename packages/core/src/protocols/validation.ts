/** Request checks at the edge: a zod schema's first problem becomes a 400 `invalid_request` naming the field. */
import type { z } from 'zod';
import { SwitchyardError } from '../errors.js';
import type { TranslationTarget } from './codec.js';
import type { ImageContent } from './conversation.js';

/** `messages[2].content`, from a zod issue path. */
export function paramOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** Parses `body` with `schema`, or throws `invalid_request` for its first problem, with `hint`. */
export function checkWith<T>(schema: z.ZodType<T>, body: unknown, hint: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue ? paramOf(issue.path) : '';
  const message = issue ? `${param ? `${param}: ` : ''}${issue.message}` : 'The request body does not match the protocol.';
  return invalid(message, hint, param || null);
}

/** Throws a 400 `invalid_request`. */
export function invalid(message: string, hint: string, param: string | null = null): never {
  throw new SwitchyardError('invalid_request', message, { hint, param });
}

const WIRE_NAMES = { chat: 'Chat Completions', responses: 'Responses', messages: 'Anthropic Messages' } as const;

/** Throws a 400 for something the request asks that the target's wire cannot carry: never dropped silently. */
export function untranslatable(what: string, target: TranslationTarget, param: string | null = null, advice?: string): never {
  const wire = WIRE_NAMES[target.wire];
  throw new SwitchyardError('invalid_request', `${what} cannot be translated to ${wire}, which provider "${target.provider}" speaks.`, {
    param,
    hint: advice ?? `remove it, or pick a provider that speaks this endpoint's protocol natively`,
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A request's optional numeric field: undefined when absent or null, a 400 with `hint` when not a finite number. */
export function optionalNumber(body: Record<string, unknown>, key: string, hint: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) invalid(`${key} must be a number.`, hint, key);
  return value;
}

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

/** An image URL of the OpenAI wires as a source: a base64 data URL or http(s); anything else cannot be translated. */
export function imageSource(url: string, param: string, target: TranslationTarget): ImageContent['source'] {
  const match = DATA_URL.exec(url);
  if (match) return { kind: 'base64', mediaType: match[1] as string, data: match[2] as string };
  if (!/^https?:\/\//i.test(url)) untranslatable(`An image URL that is neither http(s) nor a base64 data URL (${param})`, target, param);
  return { kind: 'url', url };
}
