/**
 * What the hand-written reference routes share: they forward `/v1/chat/completions`, `/v1/responses` and `/v1/messages`
 * bodies as they came, and turn an
 * `/api/chat` body into the upstream's streaming chat completion (their minimal equivalent). No routing, no checks.
 */

/** Reads a request body into a string. */
export async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
}

/** The upstream request for an `/api/chat` body. */
export function chatRequestBody(text) {
  const { question } = JSON.parse(text);
  return JSON.stringify({ model: 'gpt-5', messages: [{ role: 'user', content: String(question) }], stream: true, stream_options: { include_usage: true } });
}

/** The upstream's URL parts for a base URL such as `http://127.0.0.1:PORT/v1`: chat completions, and `messages` for Anthropic's wire. */
export function upstreamTarget(upstreamUrl) {
  const url = new URL(upstreamUrl);
  const base = url.pathname.replace(/\/$/, '');
  return { origin: url.origin, hostname: url.hostname, port: Number(url.port), path: `${base}/chat/completions`, messagesPath: `${base}/messages`, responsesPath: `${base}/responses` };
}

/** The upstream path for a request the references serve: `/v1/messages` and `/v1/responses` go to their own endpoints as they came. */
export function upstreamPath(upstream, requestPath) {
  if (requestPath === '/v1/messages') return upstream.messagesPath;
  if (requestPath === '/v1/responses') return upstream.responsesPath;
  return upstream.path;
}

/** The headers sent upstream: JSON, and the caller's key as a bearer token (Anthropic's `x-api-key` and version for messages). */
export function upstreamHeaders(req, length) {
  const headers = { 'content-type': 'application/json', 'content-length': String(length) };
  if (req.url === '/v1/messages') {
    headers['x-api-key'] = req.headers['x-llm-api-key'] ?? '';
    headers['anthropic-version'] = req.headers['anthropic-version'] ?? '2023-06-01';
  } else headers.authorization = `Bearer ${req.headers['x-llm-api-key'] ?? ''}`;
  return headers;
}

/**
 * A plain `node:http` handler for the references on `node:http`: the four endpoints' bodies are read and handed to
 * `forward(req, res, body)` (an `/api/chat` body turned into the upstream's chat completion); 404 elsewhere, 502 when
 * forwarding fails.
 */
export function nodeReferenceHandler(forward) {
  return function handler(req, res) {
    const known = req.url === '/v1/chat/completions' || req.url === '/v1/messages' || req.url === '/v1/responses' || req.url === '/api/chat';
    if (req.method !== 'POST' || !known) return void res.writeHead(404).end();
    readBody(req)
      .then((text) => forward(req, res, req.url === '/api/chat' ? chatRequestBody(text) : text))
      .catch(() => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
  };
}

/** The env the demo and the core are configured from: the openai provider pointed at the bench's upstream. */
export function switchyardEnv(upstreamUrl) {
  return {
    LLM_CLUSTER: 'global',
    // An operator key keeps the demo from starting its own in-process sandbox; callers send their own key anyway.
    OPENAI_API_KEY: `sk-bench-operator-${process.pid}-${Date.now().toString(36)}`,
    OPENAI_BASE_URL: upstreamUrl,
    ANTHROPIC_API_KEY: `sk-bench-operator-anthropic-${process.pid}`,
    ANTHROPIC_BASE_URL: upstreamUrl,
    // A provider that speaks Chat Completions only, on the same upstream: `/v1/responses` to it is translated.
    GEMINI_API_KEY: `sk-bench-operator-gemini-${process.pid}`,
    GEMINI_BASE_URL: upstreamUrl,
    LOG_LEVEL: 'info',
  };
}
