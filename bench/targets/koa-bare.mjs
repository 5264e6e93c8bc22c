/** Subject: the Koa adapter alone, a Koa 3 app with only `app.use(switchyard(options))`, configured as `core-node`. */
import Koa from 'koa';
import { optionsFromEnv } from '@switchyard/core';
import { switchyard } from '@switchyard/koa';
import { switchyardEnv } from '../lib/reference.mjs';

export async function createTarget({ upstreamUrl }) {
  const middleware = switchyard(optionsFromEnv(switchyardEnv(upstreamUrl)));
  await middleware.switchyard.ready();
  const app = new Koa();
  // Autocannon and wrk close their connections at the end of every run: a premature close is expected.
  app.silent = true;
  app.use(middleware);
  return { handler: app.callback(), close: () => middleware.switchyard.close() };
}
