/**
 * Types: importing '@switchyard/koa' types `ctx.state.llm` by declaration merging, and what `switchyard()` returns
 * fits `app.use` and `@koa/router` routes.
 */
import Router from '@koa/router';
import Koa, { type DefaultState, type Middleware, type ParameterizedContext } from 'koa';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { describe, expectTypeOf, it } from 'vitest';
import type { EndpointName, LlmContext, Route, Switchyard } from '@switchyard/core';
import { switchyard, type SwitchyardKoaMiddleware, type SwitchyardKoaOptions } from '../src/index.js';

describe('@switchyard/koa types', () => {
  it('types ctx.state.llm on every Koa context', () => {
    expectTypeOf<DefaultState['llm']>().toEqualTypeOf<LlmContext>();
    expectTypeOf<ParameterizedContext['state']['llm']>().toEqualTypeOf<LlmContext>();
    const app = new Koa();
    app.use(async (ctx) => {
      expectTypeOf(ctx.state.llm).toEqualTypeOf<LlmContext>();
      expectTypeOf(ctx.state.llm.route).toEqualTypeOf<Route>();
      ctx.body = (await ctx.state.llm.complete({ messages: [{ role: 'user', content: 'hi' }] })).text;
    });
  });

  it('fits app.use, @koa/router and the options', () => {
    const middleware = switchyard({ cluster: 'global', serve: false });
    expectTypeOf(middleware).toEqualTypeOf<SwitchyardKoaMiddleware>();
    expectTypeOf(middleware).toMatchTypeOf<Middleware>();
    expectTypeOf(middleware.switchyard).toEqualTypeOf<Switchyard>();
    expectTypeOf(middleware.handlers).toEqualTypeOf<Record<EndpointName, Middleware>>();
    expectTypeOf(switchyard).toBeCallableWith(middleware.switchyard);
    expectTypeOf<SwitchyardKoaOptions['serve']>().toEqualTypeOf<boolean | undefined>();
    const app = new Koa();
    app.use(middleware);
    const router = new Router();
    router.post('/chat', middleware.handlers.chat);
    router.get('/models', middleware.handlers.models);
    app.use(router.routes());
    router.get('/route', (ctx) => {
      expectTypeOf(ctx.state.llm).toEqualTypeOf<LlmContext>();
    });
    // The WebSocket chat on the server the app listens on (http and https servers alike).
    expectTypeOf(middleware.attach).toBeCallableWith(createServer());
    expectTypeOf(middleware.attach).toBeCallableWith(createHttpsServer());
    expectTypeOf(middleware.attach).returns.toEqualTypeOf<() => void>();
    // What app.listen returns is what attach takes: the one line of the README.
    expectTypeOf(middleware.attach).toBeCallableWith(app.listen(0));
    // @ts-expect-error: heartbeatMs is a number of milliseconds
    switchyard({ heartbeatMs: 'soon' });
  });
});
