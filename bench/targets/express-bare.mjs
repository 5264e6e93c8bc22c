/** Subject: the Express adapter alone, an Express 5 app with only `app.use(switchyard(options))`, configured as `core-node`. */
import express from 'express';
import { optionsFromEnv } from '@switchyard/core';
import { switchyard } from '@switchyard/express';
import { switchyardEnv } from '../lib/reference.mjs';

export async function createTarget({ upstreamUrl }) {
  const middleware = switchyard(optionsFromEnv(switchyardEnv(upstreamUrl)));
  await middleware.switchyard.ready();
  const app = express();
  app.use(middleware);
  return { handler: app, close: () => middleware.switchyard.close() };
}
