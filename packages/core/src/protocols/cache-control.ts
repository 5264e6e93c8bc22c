/** Anthropic-style `cache_control` marks, read from any wire's content and written back where a target honours them. */
import type { JsonObject } from './codec.js';
import type { CacheControl } from './conversation.js';
import { isRecord } from './validation.js';

/** The mark a content part carries (`{type: "ephemeral", ttl?}`), or undefined. */
export function readCacheControl(value: unknown): CacheControl | undefined {
  return isRecord(value) && value.type === 'ephemeral' ? { type: 'ephemeral', ...(typeof value.ttl === 'string' ? { ttl: value.ttl } : {}) } : undefined;
}

/** `part` with its mark, when it has one. */
export function withCacheControl<T extends object>(part: T, cache: CacheControl | undefined): T {
  return cache ? { ...part, cacheControl: cache } : part;
}

/** `{cache_control}` to spread into a content part, or `{}` without a mark. */
export function cacheControlJson(cache: CacheControl | undefined): JsonObject {
  return cache ? { cache_control: cache.ttl ? { type: cache.type, ttl: cache.ttl } : { type: cache.type } } : {};
}
