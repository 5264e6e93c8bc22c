/** Reference: a minimal hand-written Express 5 route forwarding through an undici `Pool` (no routing, no checks). */
import express from 'express';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';
import { chatRequestBody, readBody, upstreamHeaders, upstreamPath, upstreamTarget } from '../lib/reference.mjs';

export async function createTarget({ upstreamUrl }) {
  const upstream = upstreamTarget(upstreamUrl);
  const pool = new Pool(upstream.origin);

  async function forward(req, res, body) {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const answer = await pool.request({ path: upstreamPath(upstream, req.url), method: 'POST', headers: upstreamHeaders(req, Buffer.byteLength(body)), body, signal: controller.signal });
    res.status(answer.statusCode);
    res.set('content-type', answer.headers['content-type'] ?? 'application/json');
    if (answer.headers['content-length']) res.set('content-length', answer.headers['content-length']);
    await pipeline(answer.body, res).catch(() => {});
  }

  // A client gone (autocannon closes its connections at the end of a run) or an upstream failure: no log, no crash.
  function fail(res) {
    if (!res.headersSent) res.status(502);
    res.end();
  }

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.post('/v1/chat/completions', async (req, res) => forward(req, res, await readBody(req)).catch(() => fail(res)));
  app.post('/v1/messages', async (req, res) => forward(req, res, await readBody(req)).catch(() => fail(res)));
  app.post('/api/chat', async (req, res) => forward(req, res, chatRequestBody(await readBody(req))).catch(() => fail(res)));
  return { handler: app, close: () => pool.close() };
}
