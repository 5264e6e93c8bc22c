import { execFileSync } from 'node:child_process';

/**
 * The curl of the seed (`seeds/000_81981f34454bbfce.txt`, "Use it in Mirobody"), character for character, except its
 * two placeholders: `<global-cluster-base-url>` becomes `$BASE_URL` and `sk-...` becomes `$LLM_KEY`.
 */
export const SEED_CURL = `curl -N -X POST $BASE_URL/api/chat \\
  -H "Authorization: Bearer $TOKEN" \\
  -H "X-LLM-Provider: openai" \\
  -H "X-LLM-Api-Key: $LLM_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{"question":"hi","agent":"App","provider":"general"}'`;

/** Whether the `curl` binary is on PATH. */
export function hasCurl(): boolean {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
