/**
 * The shared integration harness: for one adapter (`express` | `koa`) it starts a testkit upstream and a real app
 * server on 127.0.0.1, with the Switchyard middleware and whatever the host app puts around it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import compression from 'compression';
import express from 'express';
import expressPackage from 'express/package.json' with { type: 'json' };
import Koa from 'koa';
import koaPackage from 'koa/package.json' with { type: 'json' };
import koaCompress from 'koa-compress';
import { type LlmContext, type Switchyard, SwitchyardError, type SwitchyardOptions } from '@switchyard/core';
import { switchyard as expressSwitchyard } from '@switchyard/express';
import { switchyard as koaSwitchyard } from '@switchyard/koa';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';

/** The adapters every suite runs against. */
export const ADAPTERS = ['express', 'koa'] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/**
 * The Express and Koa versions under test: the current majors in the `suites` project, Express 4 and Koa 2 in
 * `suites-express4-koa2`, which resolves `express` and `koa` to the npm aliases `express4` and `koa2`.
 */
export const FRAMEWORK_VERSIONS: Readonly<Record<AdapterName, string>> = { express: expressPackage.version, koa: koaPackage.version };

/** A route of the host app, written once for both adapters: it gets `req.llm` / `ctx.state.llm` (on demand) and the parsed body. */
export type AppRoute = (llm: () => LlmContext, body: Record<string, unknown>) => Promise<unknown>;

export interface HarnessOptions {
  /** Switchyard options, built from the upstream. Default: provider `openai` pointing at the upstream, no operator key. */
  switchyard?: (upstream: TestUpstream) => SwitchyardOptions;
  /** Install `compression` / `koa-compress` (threshold 0) before the middleware. */
  compression?: boolean;
  /** Install `express.json()` / `@koa/bodyparser` before the middleware. */
  bodyParser?: boolean;
  /** POST routes of the host app, mounted after the middleware (Koa: through `@koa/router`). */
  routes?: Record<string, AppRoute>;
  /** Mount `middleware.handlers` on paths of the app's choosing: `/custom/*` (Express routes, `@koa/router`) and `/bare/models` (Koa without a router). */
  handlers?: boolean;
  /** Use this upstream instead of starting one (it is then not closed by the harness). */
  upstream?: TestUpstream;
  /** The host app's own middleware in front of everything: runs each request inside `around` (an active span, say). */
  around?: (run: () => Promise<void>) => Promise<void>;
}

export interface Harness {
  adapter: AdapterName;
  /** `http://127.0.0.1:PORT`, the app server. */
  url: string;
  /** `ws://127.0.0.1:PORT/api/chat`: the WebSocket chat, attached with the adapter's `middleware.attach(server)`. */
  wsUrl: string;
  upstream: TestUpstream;
  /** The Switchyard behind the middleware. */
  switchyard: Switchyard;
  close(): Promise<void>;
}

/** What an app builder hands back: the app's request listener and the middleware (for `attach`). */
interface Built {
  listener: RequestListener;
  attach(server: Server): () => void;
  switchyard: Switchyard;
}

/** A caller key built at run time (never a key-shaped literal in the source). */
export function callerKey(): string {
  return `sk-test-${randomUUID()}`;
}

/** Turns retries off (unless a suite sets them), so an error scripted once stays the final answer and the suite stays fast. */
export function withoutRetries(options: SwitchyardOptions): SwitchyardOptions {
  return { retries: { max: 0 }, ...options };
}

const defaultOptions = (upstream: TestUpstream): SwitchyardOptions => ({ providers: { openai: { baseUrl: upstream.url } } });

function statusOf(error: unknown): { status: number; body: unknown } {
  if (SwitchyardError.isInstance(error)) return { status: error.status, body: { error: { code: error.code, message: error.message } } };
  return { status: 500, body: { error: { code: 'internal', message: error instanceof Error ? error.message : String(error) } } };
}

function expressApp(options: HarnessOptions, upstream: TestUpstream): Built {
  const app = express();
  // Express logs every error it answers unless env is 'test'; the suite provokes some on purpose.
  app.set('env', 'test');
  const { around } = options;
  if (around) {
    app.use((_req, res, next) => {
      void around(
        () =>
          new Promise<void>((resolve) => {
            res.once('close', resolve);
            next();
          }),
      );
    });
  }
  if (options.compression) app.use(compression({ threshold: 0 }));
  if (options.bodyParser) app.use(express.json());
  const middleware = expressSwitchyard(withoutRetries((options.switchyard ?? defaultOptions)(upstream)));
  app.use(middleware);
  for (const [path, route] of Object.entries(options.routes ?? {})) {
    app.post(path, express.json(), async (req, res) => {
      try {
        res.json(await route(() => req.llm, (req.body ?? {}) as Record<string, unknown>));
      } catch (error) {
        const { status, body } = statusOf(error);
        res.status(status).json(body);
      }
    });
  }
  if (options.handlers) {
    app.post('/custom/chat', middleware.handlers.chat);
    app.post('/custom/completions', middleware.handlers.chatCompletions);
    app.get('/custom/providers', middleware.handlers.providers);
    app.get('/bare/models', middleware.handlers.models);
  }
  return { listener: app, attach: middleware.attach, switchyard: middleware.switchyard };
}

function koaApp(options: HarnessOptions, upstream: TestUpstream): Built {
  const app = new Koa();
  // Koa logs every error it answers unless silent; the suite provokes some on purpose.
  app.silent = true;
  const { around } = options;
  if (around) app.use((_ctx, next) => around(() => next()));
  if (options.compression) app.use(koaCompress({ threshold: 0 }));
  if (options.bodyParser) app.use(bodyParser());
  const middleware = koaSwitchyard(withoutRetries((options.switchyard ?? defaultOptions)(upstream)));
  app.use(middleware);
  const router = new Router();
  for (const [path, route] of Object.entries(options.routes ?? {})) {
    router.post(path, bodyParser(), async (ctx) => {
      try {
        ctx.body = await route(() => ctx.state.llm, ((ctx.request as { body?: unknown }).body ?? {}) as Record<string, unknown>);
      } catch (error) {
        const { status, body } = statusOf(error);
        ctx.status = status;
        ctx.body = body;
      }
    });
  }
  if (options.handlers) {
    router.post('/custom/chat', middleware.handlers.chat);
    router.post('/custom/completions', middleware.handlers.chatCompletions);
    router.get('/custom/providers', middleware.handlers.providers);
  }
  app.use(router.routes());
  if (options.handlers) {
    // Without a router: the handler is plain Koa middleware behind a path check.
    app.use(async (ctx, next) => {
      if (ctx.method === 'GET' && ctx.path === '/bare/models') await middleware.handlers.models(ctx, next);
      else await next();
    });
  }
  return { listener: app.callback(), attach: middleware.attach, switchyard: middleware.switchyard };
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** Starts a testkit upstream (unless given) and a real Express or Koa server on loopback. */
export async function startHarness(adapter: AdapterName, options: HarnessOptions = {}): Promise<Harness> {
  const upstream = options.upstream ?? (await startTestUpstream());
  const built = adapter === 'express' ? expressApp(options, upstream) : koaApp(options, upstream);
  const server = createServer(built.listener);
  // The one line a host app adds for the WebSocket chat.
  const detach = built.attach(server);
  const port = await listen(server);
  return {
    adapter,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/api/chat`,
    upstream,
    switchyard: built.switchyard,
    async close() {
      detach();
      // Upgraded sockets are no longer the http server's: the Switchyard closes them.
      await built.switchyard.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      if (!options.upstream) await upstream.close();
    },
  };
}

/** A port nothing listens on: bound once, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One SSE frame as the client saw it: raw text, the parsed `data:` JSON (undefined for comments and `[DONE]`), and when it arrived. */
export interface SseFrame {
  raw: string;
  data: Record<string, unknown> | undefined;
  at: number;
}

/** Reads an SSE body frame by frame, as it arrives. */
export async function* sseFrames(response: Response): AsyncGenerator<SseFrame> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end !== -1) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const payload = raw.startsWith('data: ') ? raw.slice(6) : undefined;
      const data = payload === undefined || payload === '[DONE]' ? undefined : (JSON.parse(payload) as Record<string, unknown>);
      yield { raw, data, at: performance.now() };
      end = buffer.indexOf('\n\n');
    }
  }
  if (buffer.trim() !== '') yield { raw: buffer, data: undefined, at: performance.now() };
}

/** Every frame of an SSE answer. */
export async function readFrames(response: Response): Promise<SseFrame[]> {
  const frames: SseFrame[] = [];
  for await (const frame of sseFrames(response)) frames.push(frame);
  return frames;
}

/** The `/api/chat` events of an answer (data frames only). */
export async function readEvents(response: Response): Promise<Array<Record<string, unknown> & { type: string }>> {
  return (await readFrames(response)).flatMap((frame) => (frame.data ? [frame.data as Record<string, unknown> & { type: string }] : []));
}

/** POSTs JSON (a string is sent as is). */
export function post(url: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

/** The `event:`/`data:` frames of a Responses stream as the client received them; every event's name is its type. */
export async function responsesEvents(response: Response): Promise<Array<Record<string, any>>> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('event: '))
    .map((frame) => {
      const [eventLine, dataLine] = frame.split('\n') as [string, string];
      const data = JSON.parse(dataLine.slice(6)) as Record<string, any>;
      if (data.type !== eventLine.slice(7)) throw new Error(`event ${eventLine} carries type ${String(data.type)}`);
      return data;
    });
}
