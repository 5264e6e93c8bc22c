import { SwitchyardError } from '../errors.js';

function forbidden(message: string): SwitchyardError {
  return new SwitchyardError('base_url_forbidden', message);
}

/** Whether a URL starts with one of the operator's allowed prefixes (compared on the normalized URL). */
export function isAllowlisted(url: URL, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return false;
  const href = url.href;
  return allowed.some((prefix) => href.startsWith(prefix));
}

/**
 * Checks a caller-chosen URL before anything is sent to it: https only unless the operator allowlisted the prefix,
 * and no userinfo (`https://api.openai.com@127.0.0.1/` names 127.0.0.1, not OpenAI).
 */
export function checkCallerBaseUrl(url: URL, allowed: readonly string[]): void {
  if (url.username !== '' || url.password !== '') throw forbidden('X-LLM-Base-Url must not carry a user name or password.');
  if (isAllowlisted(url, allowed)) return;
  if (url.protocol !== 'https:') throw forbidden('X-LLM-Base-Url must use https.');
}

/** Parses a caller-chosen base URL, refusing what is not a URL. */
export function parseCallerBaseUrl(value: string): URL {
  try {
    return new URL(value);
  } catch {
    throw forbidden('X-LLM-Base-Url is not a valid URL.');
  }
}
