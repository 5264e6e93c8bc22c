/*
 * Switchyard in a Fastify 5 app: the core's handleNode on Fastify's raw request and reply, no adapter package.
 *
 * How to run it (from the repository root):
 *   npm run build                                   # once: the example loads the built dist/ of @switchyard/core
 *   OPENAI_API_KEY=sk-... node apps/demo/examples/fastify.mjs
 *
 * The router reads the demo's environment (LLM_CLUSTER, OPENAI_API_KEY, OPENAI_BASE_URL, SWITCHYARD_APP_TOKENS, ...);
 * PORT (default 3000, 0 for any free port) and HOST (default 127.0.0.1) say where it listens. Then:
 *   curl -N -X POST localhost:3000/api/chat -H 'Content-Type: application/json' -d '{"question":"hi"}'
 */
import Fastify from 'fastify';
import { clientGoneSignal, createSwitchyard, optionsFromEnv, SwitchyardError } from '@switchyard/core';

const switchyard = createSwitchyard(optionsFromEnv(process.env));
// Open streams end at shutdown rather than hold it (Fastify otherwise waits for every connection to go idle).
const app = Fastify({ forceCloseConnections: true });

// Switchyard's endpoints are answered before Fastify parses a body: the core reads it (and its limits), then
// streams on the raw response, which `reply.hijack()` hands over.
app.addHook('onRequest', async (request, reply) => {
  if (!switchyard.matches(request.method, request.url.split('?')[0])) return;
  reply.hijack();
  try {
    await switchyard.handleNode(request.raw, reply.raw);
  } catch (error) {
    request.log.error(error);
    if (reply.raw.headersSent) reply.raw.destroy();
    else reply.raw.writeHead(500).end();
  }
});

// A route of your own: Fastify parses its body; the LLM context routes by the caller's headers, like req.llm.
app.post('/summarize', async (request, reply) => {
  const llm = switchyard.context({ headers: request.headers, body: request.body, signal: clientGoneSignal(reply.raw) });
  const answer = await llm.complete({ messages: [{ role: 'user', content: `Summarize: ${request.body.text}` }] });
  return { summary: answer.text, servedBy: `${answer.provider}/${answer.model}` };
});

// An LLM error answers with its own status and code.
app.setErrorHandler((error, _request, reply) => {
  if (!SwitchyardError.isInstance(error)) throw error;
  return reply.code(error.status).send({ error: { code: error.code, message: error.message, hint: error.hint } });
});
app.addHook('onClose', () => switchyard.close());

await app.listen({ port: Number(process.env.PORT ?? 3000), host: process.env.HOST ?? '127.0.0.1' });
// The WebSocket chat (`GET /api/chat` upgrades) on Fastify's own server.
switchyard.attach(app.server);
const { address, port } = app.server.address();
console.log(`Switchyard Fastify example listening on http://${address}:${port}`);

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => void app.close());
