/** Reference: the same minimal forwarding route in bare Koa 3, through an undici `Pool`. */
import Koa from 'koa';
import { Pool } from 'undici';
import { chatRequestBody, readBody, upstreamHeaders, upstreamPath, upstreamTarget } from '../lib/reference.mjs';

export async function createTarget({ upstreamUrl }) {
  const upstream = upstreamTarget(upstreamUrl);
  const pool = new Pool(upstream.origin);
  const app = new Koa();
  // Autocannon closes its connections at the end of every run: a premature close is expected, not worth a log line.
  app.silent = true;
  app.use(async (ctx) => {
    if (ctx.method !== 'POST' || (ctx.path !== '/v1/chat/completions' && ctx.path !== '/api/chat' && ctx.path !== '/v1/messages')) {
      ctx.status = 404;
      return;
    }
    const text = await readBody(ctx.req);
    const body = ctx.path === '/api/chat' ? chatRequestBody(text) : text;
    const controller = new AbortController();
    ctx.res.on('close', () => {
      if (!ctx.res.writableFinished) controller.abort();
    });
    const answer = await pool.request({ path: upstreamPath(upstream, ctx.path), method: 'POST', headers: upstreamHeaders(ctx.req, Buffer.byteLength(body)), body, signal: controller.signal });
    ctx.status = answer.statusCode;
    ctx.type = answer.headers['content-type'] ?? 'application/json';
    if (answer.headers['content-length']) ctx.length = Number(answer.headers['content-length']);
    ctx.body = answer.body;
  });
  return { handler: app.callback(), close: () => pool.close() };
}
