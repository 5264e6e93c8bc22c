import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RecordedRequest } from '@switchyard/testkit';
import { createSwitchyard, type RequestLogEntry, type Switchyard, type SwitchyardOptions } from '../src/index.js';
import type { ProviderStatus } from '../src/http/providers-endpoint.js';

/** A Switchyard served by a real node:http server on loopback, through `handleNode`. */
export interface Served {
  base: string;
  switchyard: Switchyard;
  /** One entry per request served, as `onRequest` received it. */
  log: RequestLogEntry[];
  /** Resolves with the next log entry. */
  nextLog(): Promise<RequestLogEntry>;
  close(): Promise<void>;
}

/** Starts a Switchyard on a loopback port. */
export async function serve(options: SwitchyardOptions): Promise<Served> {
  const log: RequestLogEntry[] = [];
  const waiting: Array<(entry: RequestLogEntry) => void> = [];
  const switchyard = createSwitchyard({
    ...options,
    onRequest: (entry) => {
      log.push({ ...entry });
      waiting.shift()?.(entry);
    },
  });
  const server: Server = createServer((req, res) => {
    void switchyard.handleNode(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    switchyard,
    log,
    nextLog: () => new Promise((resolve) => waiting.push(resolve)),
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await switchyard.close();
    },
  };
}

/** A key-shaped value built at run time (never a literal in the source). */
export function testKey(kind: string): string {
  return `sk-${kind}-${randomUUID()}`;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** POSTs JSON and reads the whole answer. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Answer> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), signal });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** The `data:` payloads of an SSE body, in order (comments skipped). */
export function dataFrames(text: string): string[] {
  return text
    .split('\n\n')
    .map((frame) => frame.trim())
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice(6));
}

/** The `/api/chat` events of an SSE body. */
export function chatEvents(text: string): Array<Record<string, any>> {
  return dataFrames(text).map((data) => JSON.parse(data) as Record<string, any>);
}

/** `GET /api/providers`, by provider id. */
export async function providers(base: string): Promise<Record<string, ProviderStatus>> {
  const response = await fetch(`${base}/api/providers`);
  const body = (await response.json()) as { providers: ProviderStatus[] };
  return Object.fromEntries(body.providers.map((provider) => [provider.id, provider]));
}

/** Re-checks `check` every few ms until it holds; for states that change with time (a cooldown ending). */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Everything an upstream received, as one string: headers, URLs and bodies. */
export function everythingReceived(requests: readonly RecordedRequest[]): string {
  return requests.map((request) => `${request.url}\n${JSON.stringify(request.headers)}\n${request.body}`).join('\n');
}
