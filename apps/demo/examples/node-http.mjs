/*
 * Switchyard on plain node:http: the core's handleNode answers its endpoints, the rest is yours.
 *
 * How to run it (from the repository root):
 *   npm run build                                   # once: the example loads the built dist/ of @switchyard/core
 *   OPENAI_API_KEY=sk-... node apps/demo/examples/node-http.mjs
 *
 * The router reads the demo's environment (LLM_CLUSTER, OPENAI_API_KEY, OPENAI_BASE_URL, SWITCHYARD_APP_TOKENS, ...);
 * PORT (default 3000, 0 for any free port) and HOST (default 127.0.0.1) say where it listens. Then:
 *   curl -N -X POST localhost:3000/api/chat -H 'Content-Type: application/json' -d '{"question":"hi"}'
 */
import { createServer } from 'node:http';
import { clientGoneSignal, createSwitchyard, optionsFromEnv, SwitchyardError } from '@switchyard/core';

const switchyard = createSwitchyard(optionsFromEnv(process.env));

const server = createServer(async (req, res) => {
  try {
    // Switchyard's endpoints: it reads the body, streams the answer and resolves true; anything else is false.
    if (await switchyard.handleNode(req, res)) return;
    // A route of your own: the LLM context routes by the caller's headers, like req.llm.
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/summarize') {
      const llm = switchyard.context({ headers: req.headers, signal: clientGoneSignal(res) });
      const answer = await llm.complete({ messages: [{ role: 'user', content: `Summarize: ${url.searchParams.get('text')}` }] });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ summary: answer.text, servedBy: `${answer.provider}/${answer.model}` }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"code":"not_found"}}');
  } catch (error) {
    // An LLM error answers with its own status and code; anything else is a 500.
    const known = SwitchyardError.isInstance(error);
    if (!known) console.error(error);
    if (res.headersSent) res.destroy();
    else res.writeHead(known ? error.status : 500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: known ? { code: error.code, message: error.message, hint: error.hint } : { code: 'internal' } }));
  }
});

// The WebSocket chat (`GET /api/chat` upgrades) on the same server.
switchyard.attach(server);

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`Switchyard node:http example listening on http://${address}:${port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections();
    void switchyard.close();
  });
}
