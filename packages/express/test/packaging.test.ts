import { join } from 'node:path';
import { expect } from 'vitest';
import { describePackaging, REPO_ROOT } from '../../core/test/packaging.js';

/** Mounts the loaded `@switchyard/express` as `m` in a real Express app on loopback and asks it for /api/providers. */
const EXPRESS_SMOKE = `
const express = (await import('express')).default;
const middleware = m.switchyard({ cluster: 'cn' });
const app = express();
app.use(middleware);
app.get('/plain', (req, res) => res.json({ lazy: typeof req.llm }));
const server = await new Promise((resolve) => { const s = app.listen(0, '127.0.0.1', () => resolve(s)); });
const base = 'http://127.0.0.1:' + server.address().port;
try {
  const providers = await (await fetch(base + '/api/providers')).json();
  const plain = await (await fetch(base + '/plain')).json();
  return { cluster: providers.cluster, ids: providers.providers.map((p) => p.id), plain, hasSwitchyard: typeof middleware.switchyard.resolve };
} finally {
  server.close();
  await middleware.switchyard.close();
}`;

/** An app as a user types it: the middleware in `app.use`, a handler on a route, `req.llm` in a route of its own. */
function usage(importExpress: string, factory: string): string {
  return `${importExpress}
const app = express();
const middleware = ${factory}({ cluster: 'cn', serve: true });
app.use(middleware);
app.post('/chat', middleware.handlers.chat);
app.use('/llm', express.Router().get('/models', middleware.handlers.models));
app.get('/who', (req, res) => {
  const id: string = req.llm.route.provider.id;
  res.json({ id });
});
app.post('/ask', (req, res, next) => {
  req.llm.complete({ messages: [{ role: 'user', content: 'hi' }] }).then((answer) => res.json({ text: answer.text }), next);
});
export const closed: Promise<void> = middleware.switchyard.close();
`;
}

describePackaging({
  dir: join(REPO_ROOT, 'packages', 'express'),
  exports: ['switchyard'],
  typePackages: ['@types/express'],
  typeUsage: { esm: usage("import express from 'express';", 'switchyard'), cjs: usage("import express = require('express');", 'pkg.switchyard') },
  smoke: EXPRESS_SMOKE,
  checkSmoke(value, build) {
    expect(value, build).toEqual({ cluster: 'cn', ids: ['openai', 'anthropic', 'gemini', 'deepseek', 'dashscope', 'volcengine'], plain: { lazy: 'object' }, hasSwitchyard: 'function' });
  },
});
