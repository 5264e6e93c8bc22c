import { randomUUID } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, LookupFunction, Socket } from 'node:net';
import express from 'express';
import Koa from 'koa';
import type { Switchyard } from '@switchyard/core';
import { switchyard as expressSwitchyard } from '@switchyard/express';
import { switchyard as koaSwitchyard } from '@switchyard/koa';

/** A caller key built at run time: no key-shaped literal sits in the source. */
export function newKey(label = 'caller'): string {
  return `sk-${label}-${randomUUID()}`;
}

/** The two adapters, each on its own real server on loopback, over one Switchyard. */
export interface Adapters {
  express: string;
  koa: string;
  /** The WebSocket chat of each, attached with the adapter's `middleware.attach(server)`. */
  ws: { express: string; koa: string };
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Upgraded sockets, per server: they leave the http server's own bookkeeping, so closing it would wait for them. */
const upgraded = new WeakMap<Server, Set<Socket>>();

/** Tracks the sockets a server upgrades, so `shut` can cut them. */
export function trackUpgrades(server: Server): void {
  const sockets = new Set<Socket>();
  upgraded.set(server, sockets);
  server.on('upgrade', (_req, socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
}

export async function shut(server: Server): Promise<void> {
  server.closeAllConnections();
  for (const socket of upgraded.get(server) ?? []) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
}

function wsUrl(base: string): string {
  return `${base.replace(/^http/, 'ws')}/api/chat`;
}

/** Starts Express and Koa apps that both mount `instance` (and nothing else), with the WebSocket chat attached. */
export async function startAdapters(instance: Switchyard): Promise<Adapters> {
  const app = express();
  const expressMiddleware = expressSwitchyard(instance);
  app.use(expressMiddleware);
  const koa = new Koa();
  const koaMiddleware = koaSwitchyard(instance);
  koa.use(koaMiddleware);
  const expressServer = createServer(app);
  const koaServer = createServer(koa.callback());
  expressMiddleware.attach(expressServer);
  koaMiddleware.attach(koaServer);
  trackUpgrades(expressServer);
  trackUpgrades(koaServer);
  const [expressBase, koaBase] = await Promise.all([listen(expressServer), listen(koaServer)]);
  return {
    express: expressBase,
    koa: koaBase,
    ws: { express: wsUrl(expressBase), koa: wsUrl(koaBase) },
    close: async () => {
      await Promise.all([shut(expressServer), shut(koaServer)]);
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * One request over node:http, which sends header values as given (a string of byte values 0x80–0xFF goes out as those
 * bytes, so a test can send raw UTF-8 as a real client would).
 */
export function send(base: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: options.method ?? 'POST', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The error code of an answer: OpenAI's envelope and the `/api/chat` one (`error.code`), or Anthropic's (`code` beside `error`). */
export function errorCode(response: RawResponse): string | undefined {
  try {
    const body = JSON.parse(response.text) as { error?: { code?: unknown }; code?: unknown };
    if (typeof body.error?.code === 'string') return body.error.code;
    return typeof body.code === 'string' ? body.code : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes of a UTF-8 string as a latin1 string: what node:http puts on the wire byte for byte. */
export function utf8Bytes(text: string): string {
  return Buffer.from(text, 'utf8').toString('latin1');
}

/** A resolver scripted per name: each lookup of a name takes the next answer (the last one repeats); others fail. */
export function scriptedLookup(script: Record<string, string[][]>): { lookup: LookupFunction; calls: string[] } {
  const calls: string[] = [];
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (error: Error | null, result: LookupAddress[] | string, family?: number) => void) => {
    calls.push(hostname);
    const answers = script[hostname.toLowerCase()];
    if (!answers) {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      return;
    }
    const seen = calls.filter((name) => name.toLowerCase() === hostname.toLowerCase()).length;
    const answer = (answers[Math.min(seen, answers.length) - 1] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    if (options.all) callback(null, answer);
    else callback(null, answer[0]?.address ?? '', answer[0]?.family);
  }) as unknown as LookupFunction;
  return { lookup, calls };
}
