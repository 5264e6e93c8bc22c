/** Reference: a plain `node:http` keep-alive proxy (an `http.Agent({keepAlive: true})` and `pipe`). */
import http from 'node:http';
import { chatRequestBody, readBody, upstreamHeaders, upstreamPath, upstreamTarget } from '../lib/reference.mjs';

export async function createTarget({ upstreamUrl }) {
  const upstream = upstreamTarget(upstreamUrl);
  const agent = new http.Agent({ keepAlive: true });

  function forward(req, res, body) {
    const length = typeof body === 'string' ? Buffer.byteLength(body) : Number(req.headers['content-length'] ?? 0);
    const outgoing = http.request(
      { hostname: upstream.hostname, port: upstream.port, path: upstreamPath(upstream, req.url), method: 'POST', agent, headers: upstreamHeaders(req, length) },
      (answer) => {
        const headers = { 'content-type': answer.headers['content-type'] ?? 'application/json' };
        if (answer.headers['content-length']) headers['content-length'] = answer.headers['content-length'];
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    outgoing.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    // A client that leaves takes the upstream call with it.
    res.on('close', () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    if (typeof body === 'string') outgoing.end(body);
    else req.pipe(outgoing);
  }

  function handler(req, res) {
    if (req.method === 'POST' && (req.url === '/v1/chat/completions' || req.url === '/v1/messages')) return forward(req, res, req);
    if (req.method === 'POST' && req.url === '/api/chat') {
      readBody(req).then(
        (text) => forward(req, res, chatRequestBody(text)),
        () => res.writeHead(400).end(),
      );
      return;
    }
    res.writeHead(404).end();
  }
  return { handler, close: async () => agent.destroy() };
}
