/**
 * Key redaction (SPEC §6): every log line, error message and echoed upstream message goes through here.
 * The patterns are compiled once; `redactSecrets` runs on every logged line.
 */

/** What a redacted value is replaced with. */
export const REDACTED = '***';

// A token made of key characters; dots only between them, so a sentence's final period survives.
const KEYISH = String.raw`[A-Za-z0-9_\-*]+(?:\.+[A-Za-z0-9_\-*]+)*`;

const PATTERNS: readonly (readonly [RegExp, string])[] = [
  // OpenAI echoes the key it refused, partly masked: "Incorrect API key provided: sk-abc***...xyz."
  [/(API[ _-]?key provided:\s*)(\S+?)(?=\.?(?:\s|$))/gi, `$1${REDACTED}`],
  // URL userinfo passwords: https://user:pass@host
  [/(\/\/[^\s/?#@:]+:)[^\s/?#@]+@/g, `$1${REDACTED}@`],
  // Credentials in query strings (the upgrade-request `llm_api_key`, Google's `key`).
  [/([?&](?:llm_api_key|llm_apikey|api_key|apikey|api-key|key|access_token|token)=)[^&#\s"'<>]+/gi, `$1${REDACTED}`],
  // Header- or JSON-shaped credentials: `api-key: v`, `x-llm-api-key: v`, `"api_key": "v"`, `llm_api_key=v`.
  [/(api[-_]?key["']?\s*[:=]\s*["']?)[^\s"',;&]+/gi, `$1${REDACTED}`],
  // Authorization: Bearer <token>
  [/(\bBearer\s+)[A-Za-z0-9._~+/=-]+/gi, `$1${REDACTED}`],
  // OpenAI, DashScope, DeepSeek and Anthropic keys: sk-…, sk-proj-…, sk-ant-…
  [new RegExp(String.raw`\bsk-(?=[A-Za-z0-9_*.-]{6})${KEYISH}`, 'g'), REDACTED],
  // Google API keys.
  [/\bAIza[0-9A-Za-z_-]{10,}/g, REDACTED],
  // Keys an upstream echoed with a masked middle: bad-key-**********test (the lookbehind keeps long runs linear).
  [/(?<![A-Za-z0-9_-])[A-Za-z0-9][A-Za-z0-9_-]*\*{4,}[A-Za-z0-9_-]*/g, REDACTED],
];

// Cheap gate: a line with none of these cannot match any pattern above.
const MAYBE = /sk-|AIza|bearer|key|token|\*\*\*\*|:\/\/[^\s/]*@/i;

/**
 * Replaces the given secrets (non-empty, at least 4 characters), and anything shaped like an API key,
 * with `***`.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  if (secrets.length > 0) {
    // Longest first, so a secret that contains another is replaced whole.
    const usable = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
    if (usable.length > 1) usable.sort((a, b) => b.length - a.length);
    for (const secret of usable) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  if (!MAYBE.test(out)) return out;
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

const URL_QUERY_KEY = /([?&](?:llm_api_key|llm_apikey|api_key|apikey|api-key|key|access_token|token)=)[^&#]*/gi;
const URL_USERINFO_PASSWORD = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/;

/** Masks credential query values (`llm_api_key`, `key`, …) and the userinfo password of a URL, for logging. */
export function redactUrl(url: string): string {
  if (!url.includes('=') && !url.includes('@')) return url;
  return url.replace(URL_USERINFO_PASSWORD, `$1${REDACTED}@`).replace(URL_QUERY_KEY, `$1${REDACTED}`);
}

/**
 * A copy of a log entry (any flat or nested record) whose strings have the given secrets and anything key-shaped
 * masked. For the per-request log line: a caller can put a key anywhere it types (a model name, a path).
 */
export function redactLogEntry<T extends object>(entry: T, secrets: readonly (string | undefined)[] = []): T {
  return redactValue(entry, secrets, 0) as T;
}

function redactValue(value: unknown, secrets: readonly (string | undefined)[], depth: number): unknown {
  if (typeof value === 'string') return redactSecrets(value, secrets);
  if (typeof value !== 'object' || value === null || depth > 8) return value;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, secrets, depth + 1));
  if (value instanceof Error) {
    // Errors keep what a log needs, as a plain object (their own fields are not enumerable).
    const { code } = value as { code?: unknown };
    return {
      type: value.name,
      message: redactSecrets(value.message, secrets),
      ...(typeof code === 'string' ? { code } : {}),
      ...(value.stack ? { stack: redactSecrets(value.stack, secrets) } : {}),
    };
  }
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = redactValue(item, secrets, depth + 1);
  return out;
}
