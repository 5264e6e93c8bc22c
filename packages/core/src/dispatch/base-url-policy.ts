import { SwitchyardError } from '../errors.js';
import { ipFamily, isRefusedAddress } from './address-policy.js';

/** The hint every refusal of a caller-chosen base URL carries. */
export const BASE_URL_HINT = 'X-LLM-Base-Url must be a public https URL (no user name, no private, loopback or link-local address), or one the operator allowlisted';

/** The longest `X-LLM-Api-Key` accepted, in characters. Real keys are well under 300. */
export const MAX_CALLER_KEY_LENGTH = 1024;

/** The longest `X-LLM-Base-Url` accepted, in characters. */
export const MAX_CALLER_BASE_URL_LENGTH = 2048;

/** A `base_url_forbidden` refusal. The message names the reason, never the URL's credentials or the key. */
export function baseUrlForbidden(message: string, hint: string = BASE_URL_HINT): SwitchyardError {
  return new SwitchyardError('base_url_forbidden', message, { hint, retryable: false });
}

/** One allowlist entry, parsed once: an origin (the host may start with `*.`) and a path prefix. */
export interface AllowlistEntry {
  protocol: string;
  /** Lower-case host name; `*.example.internal` matches every name under `example.internal`. */
  hostname: string;
  /** The port as a URL spells it ('' for the scheme's default). */
  port: string;
  /** Path prefix, matched on whole segments. */
  path: string;
}

/** A compiled allowlist of URL prefixes (`allowedBaseUrls`, `SWITCHYARD_ALLOWED_BASE_URLS`). */
export type Allowlist = readonly AllowlistEntry[];

/**
 * Compiles the operator's URL prefixes. A prefix is compared by origin and by whole path segments, not as text:
 * `https://relay.internal` does not allow `https://relay.internal.evil.com`. Prefixes that are not URLs never match.
 */
export function compileAllowlist(prefixes: readonly string[]): Allowlist {
  const entries: AllowlistEntry[] = [];
  for (const prefix of prefixes) {
    let url: URL;
    try {
      url = new URL(prefix.trim());
    } catch {
      continue;
    }
    const path = url.pathname.replace(/\/+$/, '');
    entries.push({ protocol: url.protocol, hostname: url.hostname.toLowerCase(), port: url.port, path });
  }
  return entries;
}

function hostMatches(pattern: string, hostname: string): boolean {
  if (pattern.startsWith('*.')) return hostname.endsWith(pattern.slice(1)) && hostname.length > pattern.length - 1;
  return pattern === hostname;
}

/** Whether a URL lies under one of the allowlisted prefixes (same scheme, host and port; path on segment boundaries). */
export function isAllowlisted(url: URL, allowlist: Allowlist): boolean {
  for (const entry of allowlist) {
    if (entry.protocol !== url.protocol || entry.port !== url.port || !hostMatches(entry.hostname, url.hostname.toLowerCase())) continue;
    if (entry.path === '' || url.pathname === entry.path || url.pathname.startsWith(`${entry.path}/`)) return true;
  }
  return false;
}

/** Parses a caller-chosen base URL, refusing what is not an absolute http(s) URL. */
export function parseCallerBaseUrl(value: string): URL {
  if (value.length > MAX_CALLER_BASE_URL_LENGTH) throw baseUrlForbidden(`X-LLM-Base-Url is longer than ${MAX_CALLER_BASE_URL_LENGTH} characters.`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw baseUrlForbidden('X-LLM-Base-Url is not a valid URL.', 'send an absolute URL such as https://relay.example.com/v1');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw baseUrlForbidden('X-LLM-Base-Url must use https.');
  return url;
}

/** What the static check decided: an allowlisted relay (trusted by the operator), or a public URL to resolve and check. */
export type CallerUrlVerdict = 'allowlisted' | 'public';

/**
 * The part of the base-URL policy that needs no DNS, run before anything is sent: no user name or password
 * (`https://api.openai.com@127.0.0.1/` names 127.0.0.1), then allowlisted prefixes pass, then https only, and an IP
 * literal (in any spelling the WHATWG parser normalizes: decimal, octal, hex, short, IPv4-mapped) must not lie in
 * a refused range. Host names are resolved and checked when the connection is made.
 */
export function checkCallerBaseUrl(url: URL, allowlist: Allowlist): CallerUrlVerdict {
  if (url.username !== '' || url.password !== '') throw baseUrlForbidden('X-LLM-Base-Url must not carry a user name or password.');
  if (isAllowlisted(url, allowlist)) return 'allowlisted';
  if (url.protocol !== 'https:') throw baseUrlForbidden('X-LLM-Base-Url must use https.');
  if (url.hostname === '') throw baseUrlForbidden('X-LLM-Base-Url has no host.');
  if (ipFamily(url.hostname) !== 0 && isRefusedAddress(url.hostname)) {
    throw baseUrlForbidden('X-LLM-Base-Url points to a loopback, private, link-local or otherwise internal address.');
  }
  return 'public';
}

// Visible ASCII only: a key with spaces, control characters or non-ASCII bytes is not a key, and must not reach a header.
const KEY_SHAPE = /^[\x21-\x7e]+$/;

/**
 * Checks the shape of the caller's `X-LLM-*` values before routing: a key of visible ASCII up to 1 KB, a base URL
 * that parses. Throws `invalid_request` or `base_url_forbidden` (400); never echoes the key.
 */
export function checkCallerCredentials(key: string | undefined, baseUrl: string | undefined): void {
  if (key !== undefined) {
    if (key.length > MAX_CALLER_KEY_LENGTH) {
      throw new SwitchyardError('invalid_request', `X-LLM-Api-Key is longer than ${MAX_CALLER_KEY_LENGTH} characters.`, { hint: 'send the provider key itself, nothing else' });
    }
    if (!KEY_SHAPE.test(key)) {
      throw new SwitchyardError('invalid_request', 'X-LLM-Api-Key contains characters no API key has (spaces, control or non-ASCII characters).', {
        hint: 'send the provider key itself, without quotes, spaces or a "Bearer " prefix',
      });
    }
  }
  if (baseUrl !== undefined) parseCallerBaseUrl(baseUrl);
}
