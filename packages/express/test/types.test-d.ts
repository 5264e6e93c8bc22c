/**
 * Types: importing '@switchyard/express' turns `req.llm` on by declaration merging, and what `switchyard()` returns
 * fits `app.use` and route definitions.
 */
import express, { type Request, type RequestHandler } from 'express';
import type OpenAI from 'openai';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { describe, expectTypeOf, it } from 'vitest';
import type { Completion, EndpointName, Embeddings, LlmContext, Route, StreamPart, Switchyard } from '@switchyard/core';
import { switchyard, type SwitchyardExpressOptions, type SwitchyardMiddleware } from '../src/index.js';

describe('@switchyard/express types', () => {
  it('types req.llm on every Express request', () => {
    expectTypeOf<Request['llm']>().toEqualTypeOf<LlmContext>();
    expectTypeOf<Request['llm']['route']>().toEqualTypeOf<Route>();
    expectTypeOf<LlmContext['complete']>().returns.resolves.toEqualTypeOf<Completion>();
    expectTypeOf<LlmContext['embed']>().returns.resolves.toEqualTypeOf<Embeddings>();
    expectTypeOf<LlmContext['chat']>().returns.toEqualTypeOf<AsyncGenerator<StreamPart, void>>();
    expectTypeOf<LlmContext['openai']>().returns.toEqualTypeOf<OpenAI>();
    const handler: RequestHandler = async (req, res) => {
      expectTypeOf(req.llm).toEqualTypeOf<LlmContext>();
      const answer = await req.llm.complete({ messages: [{ role: 'user', content: 'hi' }] });
      expectTypeOf(answer.text).toBeString();
      res.json({ text: answer.text });
    };
    expectTypeOf(handler).toMatchTypeOf<RequestHandler>();
  });

  it('fits app.use, routes and the options', () => {
    const middleware = switchyard({ cluster: 'cn', serve: false });
    expectTypeOf(middleware).toEqualTypeOf<SwitchyardMiddleware>();
    expectTypeOf(middleware).toMatchTypeOf<RequestHandler>();
    expectTypeOf(middleware.switchyard).toEqualTypeOf<Switchyard>();
    expectTypeOf(middleware.handlers).toEqualTypeOf<Record<EndpointName, RequestHandler>>();
    expectTypeOf(switchyard).toBeCallableWith();
    expectTypeOf(switchyard).toBeCallableWith(middleware.switchyard);
    expectTypeOf<SwitchyardExpressOptions['serve']>().toEqualTypeOf<boolean | undefined>();
    const app = express();
    app.use(middleware);
    // The WebSocket chat on the server the app listens on (http and https servers alike).
    expectTypeOf(middleware.attach).toBeCallableWith(createServer());
    expectTypeOf(middleware.attach).toBeCallableWith(createHttpsServer());
    expectTypeOf(middleware.attach).returns.toEqualTypeOf<() => void>();
    // What app.listen returns is what attach takes: the one line of the README.
    expectTypeOf(middleware.attach).toBeCallableWith(app.listen(0));
    app.post('/chat', middleware.handlers.chat);
    app.use('/llm', express.Router().get('/models', middleware.handlers.models));
    // @ts-expect-error: the cluster is 'global' or 'cn'
    switchyard({ cluster: 'mars' });
  });
});
