/**
 * Reference: the leanest forwarding route on plain `node:http` through an undici `Pool`: `request` with no abort
 * signal, the answer written with `data` events rather than `pipeline`. Beside `node-min` it shows what those two
 * conveniences cost (BENCHMARKS.md: the hot path at the framework floor).
 */
import { Pool } from 'undici';
import { nodeReferenceHandler, upstreamHeaders, upstreamPath, upstreamTarget } from '../lib/reference.mjs';

export async function createTarget({ upstreamUrl }) {
  const upstream = upstreamTarget(upstreamUrl);
  const pool = new Pool(upstream.origin);

  async function forward(req, res, body) {
    const answer = await pool.request({ path: upstreamPath(upstream, req.url), method: 'POST', headers: upstreamHeaders(req, Buffer.byteLength(body)), body });
    // A client that leaves takes the upstream call with it.
    res.on('close', () => {
      if (!res.writableFinished) answer.body.destroy();
    });
    const headers = { 'content-type': answer.headers['content-type'] ?? 'application/json' };
    if (answer.headers['content-length']) headers['content-length'] = answer.headers['content-length'];
    res.writeHead(answer.statusCode, headers);
    answer.body.on('data', (chunk) => {
      if (res.write(chunk)) return;
      answer.body.pause();
      res.once('drain', () => answer.body.resume());
    });
    answer.body.on('end', () => res.end());
    answer.body.on('error', () => res.end());
  }

  return { handler: nodeReferenceHandler(forward), close: () => pool.close() };
}
