/*
 * Switchyard in a CommonJS Express app: `require('@switchyard/express')`, one `app.use(...)`.
 *
 * How to run it (from the repository root):
 *   npm run build                                   # once: require() loads the built dist/ of each package
 *   OPENAI_API_KEY=sk-... node apps/demo/examples/express-cjs.cjs
 *
 * The router reads the environment of the demo (LLM_CLUSTER, OPENAI_API_KEY, OPENAI_BASE_URL, DASHSCOPE_API_KEY,
 * SWITCHYARD_APP_TOKENS, ...). With no operator key, callers bring their own in X-LLM-Api-Key. PORT (default 3000,
 * 0 for any free port) and HOST (default 127.0.0.1) say where it listens. Then:
 *   curl -N -X POST localhost:3000/api/chat -H 'Content-Type: application/json' -d '{"question":"hi"}'
 *   curl -X POST localhost:3000/summarize -H 'Content-Type: application/json' -d '{"text":"a long text"}'
 * and the same chat over a WebSocket at ws://localhost:3000/api/chat (one JSON frame per turn).
 */
'use strict';

const express = require('express');
const { optionsFromEnv } = require('@switchyard/core');
const { switchyard } = require('@switchyard/express');

const app = express();

// Serves /api/chat, /v1/chat/completions, /v1/embeddings, /v1/models and /api/providers, and gives routes req.llm.
const llm = switchyard(optionsFromEnv(process.env));
app.use(llm);

// A route of your own: req.llm is the caller's route (X-LLM-Provider, X-LLM-Api-Key), resolved on first use.
// Express 5 passes a rejected promise to the error handler, so an LLM error answers with its own status.
app.post('/summarize', express.json(), async (req, res) => {
  const answer = await req.llm.complete({ messages: [{ role: 'user', content: `Summarize: ${req.body.text}` }] });
  res.json({ summary: answer.text, servedBy: `${answer.provider}/${answer.model}` });
});

const server = app.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
  const { address, port } = server.address();
  console.log(`Switchyard CommonJS example listening on http://${address}:${port}`);
});
// The WebSocket chat (GET /api/chat upgrades) on the same server.
llm.attach(server);

function shutdown() {
  server.close();
  server.closeAllConnections();
  void llm.switchyard.close();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
