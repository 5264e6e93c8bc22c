import { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import {
  clientGoneSignal,
  createSwitchyard,
  ENDPOINT_NAMES,
  type EndpointName,
  isSwitchyard,
  type LlmContext,
  parsedBody,
  type Switchyard,
  type SwitchyardOptions,
  type UpgradeServer,
} from '@switchyard/core';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The LLM side of this request: its route and calls made on it (resolved on first use). */
      llm: LlmContext;
    }
  }
}

export interface SwitchyardExpressOptions extends SwitchyardOptions {
  /** Serve the endpoints of SPEC §4 at their paths (default). With false, the middleware only adds `req.llm`. */
  serve?: boolean;
}

/** The middleware, with the Switchyard behind it and one handler per endpoint for routes of your choosing. */
export interface SwitchyardMiddleware extends RequestHandler {
  /** The Switchyard behind the middleware (share it with other apps, or close it on shutdown). */
  readonly switchyard: Switchyard;
  /** One handler per endpoint, for routes of your choosing (`app.post('/chat', middleware.handlers.chat)`). */
  readonly handlers: Record<EndpointName, RequestHandler>;
  /** Serves the WebSocket chat (`GET /api/chat` upgrades) on the server the app listens on: `middleware.attach(app.listen(3000))`. Returns a detach function. */
  attach(server: UpgradeServer): () => void;
}

const INSTANCE = Symbol('switchyard.instance');
const CONTEXT = Symbol('switchyard.context');

type TaggedRequest = Request & { [INSTANCE]?: Switchyard; [CONTEXT]?: LlmContext };

// Express gives each app and sub-app its own request object over one shared prototype; the getter goes there, so
// every app and sub-app sees it. Outside Express (a bare IncomingMessage) it goes on the request itself.
function requestPrototype(req: Request): object {
  let proto = Object.getPrototypeOf(req) as object;
  if (proto === IncomingMessage.prototype) return req;
  for (let next = Object.getPrototypeOf(proto) as object | null; next && next !== IncomingMessage.prototype; next = Object.getPrototypeOf(next) as object | null) proto = next;
  return proto;
}

/** Request prototypes already given the getter: after the first request of an app, one lookup. */
const installed = new WeakSet<object>();

// `req.llm` is a getter on the request prototype, so a request that never touches it pays one property write.
function installGetter(req: Request): void {
  const own = Object.getPrototypeOf(req) as object;
  if (installed.has(own)) return;
  const proto = requestPrototype(req);
  // A bare IncomingMessage gets the getter on itself, every time; Express requests share it through their prototype.
  if (proto !== req) installed.add(own);
  if (Object.hasOwn(proto, 'llm')) return;
  Object.defineProperty(proto, 'llm', {
    configurable: true,
    get(this: TaggedRequest): LlmContext {
      const instance = this[INSTANCE];
      if (!instance) throw new Error('req.llm needs app.use(switchyard(...)) before this route');
      this[CONTEXT] ??= instance.context({ headers: this.headers, body: this.body, signal: this.res ? clientGoneSignal(this.res) : undefined });
      return this[CONTEXT];
    },
  });
}

/**
 * `app.use(switchyard(options))`: every request gets `req.llm`, and the endpoints of SPEC §4 are served
 * (`POST /api/chat`, `POST /v1/chat/completions`, `POST /v1/embeddings`, `GET /v1/models`, `GET /api/providers`).
 * Options are validated now: a wrong option throws here, listing every problem. Pass a `Switchyard` to share one.
 */
export function switchyard(options: SwitchyardExpressOptions | Switchyard = {}): SwitchyardMiddleware {
  const instance = isSwitchyard(options) ? options : createSwitchyard(options);
  const serve = isSwitchyard(options) || options.serve !== false;

  const middleware = function switchyardMiddleware(req: Request, res: Response, next: NextFunction): void {
    (req as TaggedRequest)[INSTANCE] = instance;
    // Per request, not once: each Express app (and sub-app) has its own request prototype.
    installGetter(req);
    if (serve && instance.matches(req.method, req.path)) {
      instance.handleNode(req, res, { body: parsedBody(req, req.body), path: req.path }).catch(next);
      return;
    }
    next();
  };

  const handler = (endpoint: EndpointName): RequestHandler =>
    function switchyardHandler(req: Request, res: Response, next: NextFunction): void {
      instance.handleNode(req, res, { body: parsedBody(req, req.body), endpoint }).catch(next);
    };

  const handlers = Object.fromEntries(ENDPOINT_NAMES.map((name) => [name, handler(name)])) as Record<EndpointName, RequestHandler>;
  // Upgrade requests never reach Express middleware: they are the server's 'upgrade' events.
  const attach = (server: UpgradeServer) => instance.attach(server);
  return Object.assign(middleware, { switchyard: instance, handlers, attach });
}

export type { LlmContext, Switchyard, SwitchyardOptions, UpgradeServer } from '@switchyard/core';
