// STUB: signatures only; the real redaction replaces this file.
/** Replaces the given secrets, and anything shaped like an API key, with a mask. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}
