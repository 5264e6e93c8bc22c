import type { IncomingMessage } from 'node:http';

/**
 * The body a parser in front left for `handleNode`, or undefined when it set an empty object without reading the
 * request (Express 4's `express.json()` and `@koa/bodyparser` do, for a content type they skip), so the core reads it.
 */
export function parsedBody(req: IncomingMessage, body: unknown): unknown {
  if (body === undefined || req.readableEnded) return body;
  if (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0) return undefined;
  return body;
}
