/**
 * Reference: the minimal forwarding route on plain `node:http` through an undici `Pool` (the client the core uses), the
 * same route as Express minimal and Koa minimal without their framework: an abort signal per call and `pipeline`.
 */
import { pipeline } from 'node:stream/promises';
import { Pool } from 'undici';
import { nodeReferenceHandler, upstreamHeaders, upstreamPath, upstreamTarget } from '../lib/reference.mjs';

export async function createTarget({ upstreamUrl }) {
  const upstream = upstreamTarget(upstreamUrl);
  const pool = new Pool(upstream.origin);

  async function forward(req, res, body) {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const answer = await pool.request({ path: upstreamPath(upstream, req.url), method: 'POST', headers: upstreamHeaders(req, Buffer.byteLength(body)), body, signal: controller.signal });
    const headers = { 'content-type': answer.headers['content-type'] ?? 'application/json' };
    if (answer.headers['content-length']) headers['content-length'] = answer.headers['content-length'];
    res.writeHead(answer.statusCode, headers);
    await pipeline(answer.body, res).catch(() => {});
  }

  return { handler: nodeReferenceHandler(forward), close: () => pool.close() };
}
