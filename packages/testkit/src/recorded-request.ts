import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { matchRoute, type Endpoint } from './routes.js';

/** A request as the test upstream received it. */
export interface RecordedRequest {
  /** The `x-request-id` the upstream answered with (`req_<n>`). */
  id: string;
  /** The HTTP method. */
  method: string;
  /** Path without the query. */
  path: string;
  /** Path and query, as sent. */
  url: string;
  /** The query parameters. */
  query: Record<string, string>;
  /** Lower-case names, as Node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The body as text; '' until the body is complete. */
  body: string;
  /** The body parsed as JSON, or undefined (empty, not JSON, or not complete yet). */
  json: unknown;
  /** True when the client closed the connection before the upstream finished answering. */
  aborted: boolean;
  /** The endpoint the request hit (`chat`, `messages`, `responses`, …), or undefined when no route matched (a 404). */
  endpoint: Endpoint | undefined;
}

/** Records a request when its headers arrive. */
export function recordRequest(request: IncomingMessage, id: string): RecordedRequest {
  const url = request.url ?? '/';
  const parsed = new URL(url, 'http://testkit.invalid');
  const headers: IncomingHttpHeaders = { ...request.headers };
  const method = request.method ?? 'GET';
  return {
    id,
    method,
    path: parsed.pathname,
    url,
    query: Object.fromEntries(parsed.searchParams),
    headers,
    body: '',
    json: undefined,
    aborted: false,
    endpoint: matchRoute(method, parsed.pathname)?.endpoint,
  };
}

/** Fills in the body once it is complete. */
export function completeRecord(record: RecordedRequest, body: string): void {
  record.body = body;
  if (body === '') return;
  try {
    record.json = JSON.parse(body);
  } catch {
    record.json = undefined;
  }
}
