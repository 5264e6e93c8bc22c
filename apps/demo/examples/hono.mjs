/*
 * Switchyard in a Hono app on @hono/node-server: the core's web-standard `fetch(request) → Response`, no adapter.
 *
 * How to run it (from the repository root):
 *   npm run build                                   # once: the example loads the built dist/ of @switchyard/core
 *   OPENAI_API_KEY=sk-... node apps/demo/examples/hono.mjs
 *
 * The router reads the demo's environment (LLM_CLUSTER, OPENAI_API_KEY, OPENAI_BASE_URL, SWITCHYARD_APP_TOKENS, ...);
 * PORT (default 3000, 0 for any free port) and HOST (default 127.0.0.1) say where it listens. Then:
 *   curl -N -X POST localhost:3000/api/chat -H 'Content-Type: application/json' -d '{"question":"hi"}'
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createSwitchyard, optionsFromEnv, SwitchyardError } from '@switchyard/core';

const switchyard = createSwitchyard(optionsFromEnv(process.env));
const app = new Hono();

// Switchyard's endpoints: the request as it came (body unread), answered by the core; its signal aborts the
// upstream call when the client leaves.
app.use(async (c, next) => {
  if (!switchyard.matches(c.req.method, c.req.path)) return next();
  return switchyard.fetch(c.req.raw);
});

// A route of your own: the LLM context routes by the caller's headers, like req.llm.
app.post('/summarize', async (c) => {
  const body = await c.req.json();
  const llm = switchyard.context({ headers: Object.fromEntries(c.req.raw.headers), body, signal: c.req.raw.signal });
  const answer = await llm.complete({ messages: [{ role: 'user', content: `Summarize: ${body.text}` }] });
  return c.json({ summary: answer.text, servedBy: `${answer.provider}/${answer.model}` });
});

// An LLM error answers with its own status and code.
app.onError((error, c) => {
  if (!SwitchyardError.isInstance(error)) throw error;
  return c.json({ error: { code: error.code, message: error.message, hint: error.hint } }, error.status);
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000), hostname: process.env.HOST ?? '127.0.0.1' }, (info) => {
  console.log(`Switchyard Hono example listening on http://${info.address}:${info.port}`);
});
// The WebSocket chat (`GET /api/chat` upgrades) on the server @hono/node-server started.
switchyard.attach(server);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections?.();
    void switchyard.close();
  });
}
