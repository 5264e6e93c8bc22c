import type { Context, Middleware, Next } from 'koa';
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

declare module 'koa' {
  interface DefaultState {
    /** The LLM side of this request: its route and calls made on it (resolved on first use). */
    llm: LlmContext;
  }
}

export interface SwitchyardKoaOptions extends SwitchyardOptions {
  /** Serve the endpoints of SPEC §4 at their paths (default). With false, the middleware only adds `ctx.state.llm`. */
  serve?: boolean;
}

/** The middleware, with the Switchyard behind it and one handler per endpoint (works with or without `@koa/router`). */
export interface SwitchyardKoaMiddleware extends Middleware {
  /** The Switchyard behind the middleware (share it with other apps, or close it on shutdown). */
  readonly switchyard: Switchyard;
  /** One handler per endpoint, for `@koa/router` routes or paths of your choosing. */
  readonly handlers: Record<EndpointName, Middleware>;
  /** Serves the WebSocket chat (`GET /api/chat` upgrades) on the server the app listens on: `middleware.attach(app.listen(3000))`. Returns a detach function. */
  attach(server: UpgradeServer): () => void;
}

function bodyOf(ctx: Context): unknown {
  return parsedBody(ctx.req, (ctx.request as { body?: unknown }).body);
}

function attachContext(ctx: Context, instance: Switchyard): void {
  let llm: LlmContext | undefined;
  Object.defineProperty(ctx.state, 'llm', {
    configurable: true,
    enumerable: false,
    get: () => (llm ??= instance.context({ headers: ctx.req.headers, body: bodyOf(ctx), signal: clientGoneSignal(ctx.res) })),
  });
}

async function serveEndpoint(ctx: Context, instance: Switchyard, endpoint?: EndpointName): Promise<boolean> {
  // The core writes to the Node response itself, so Koa must not respond, and koa-compress must not buffer SSE.
  ctx.respond = false;
  (ctx as { compress?: boolean }).compress = false;
  const handled = await instance.handleNode(ctx.req, ctx.res, { body: bodyOf(ctx), path: ctx.path, ...(endpoint ? { endpoint } : {}) });
  if (!handled) ctx.respond = true;
  return handled;
}

/**
 * `app.use(switchyard(options))`: every request gets `ctx.state.llm`, and the endpoints of SPEC §4 are served.
 * Options are validated now: a wrong option throws here, listing every problem. Pass a `Switchyard` to share one.
 */
export function switchyard(options: SwitchyardKoaOptions | Switchyard = {}): SwitchyardKoaMiddleware {
  const instance = isSwitchyard(options) ? options : createSwitchyard(options);
  const serve = isSwitchyard(options) || options.serve !== false;

  const middleware = async function switchyardMiddleware(ctx: Context, next: Next): Promise<void> {
    attachContext(ctx, instance);
    if (serve && instance.matches(ctx.method, ctx.path)) {
      await serveEndpoint(ctx, instance);
      return;
    }
    await next();
  };

  const handler = (endpoint: EndpointName): Middleware =>
    async function switchyardHandler(ctx: Context): Promise<void> {
      attachContext(ctx, instance);
      await serveEndpoint(ctx, instance, endpoint);
    };

  const handlers = Object.fromEntries(ENDPOINT_NAMES.map((name) => [name, handler(name)])) as Record<EndpointName, Middleware>;
  // Upgrade requests never reach Koa middleware: they are the server's 'upgrade' events.
  const attach = (server: UpgradeServer) => instance.attach(server);
  return Object.assign(middleware, { switchyard: instance, handlers, attach }) as SwitchyardKoaMiddleware;
}

export type { LlmContext, Switchyard, SwitchyardOptions, UpgradeServer } from '@switchyard/core';
