import { randomUUID } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, LookupFunction } from 'node:net';
import express from 'express';
import Koa from 'koa';
import type { Switchyard } from '@switchyard/core';
import { switchyard as expressSwitchyard } from '@switchyard/express';
import { switchyard as koaSwitchyard } from '@switchyard/koa';

/** Every key `newKey` made in this test file: the telemetry scan looks for each of them in what was recorded. */
export const issuedKeys = new Set<string>();

/** A caller key built at run time: no key-shaped literal sits in the source. */
export function newKey(label = 'caller'): string {
  const key = `sk-${label}-${randomUUID()}`;
  issuedKeys.add(key);
  return key;
}

/** The two adapters, each on its own real server on loopback, over one Switchyard. */
export interface Adapters {
  express: string;
  koa: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function shut(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Starts Express and Koa apps that both mount `instance` (and nothing else). */
export async function startAdapters(instance: Switchyard): Promise<Adapters> {
  const app = express();
  app.use(expressSwitchyard(instance));
  const koa = new Koa();
  koa.use(koaSwitchyard(instance));
  const expressServer = createServer(app);
  const koaServer = createServer(koa.callback());
  const [expressBase, koaBase] = await Promise.all([listen(expressServer), listen(koaServer)]);
  return {
    express: expressBase,
    koa: koaBase,
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

/** The error code of an answer: OpenAI's envelope (`error.code`) or the `/api/chat` one (`error.code` too). */
export function errorCode(response: RawResponse): string | undefined {
  try {
    const body = JSON.parse(response.text) as { error?: { code?: unknown } };
    return typeof body.error?.code === 'string' ? body.error.code : undefined;
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
