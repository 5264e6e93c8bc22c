import { join } from 'node:path';
import { expect } from 'vitest';
import { describePackaging, REPO_ROOT } from '../../core/test/packaging.js';

/** Mounts the loaded `@switchyard/koa` as `m` in a real Koa app on loopback and asks it for /api/providers. */
const KOA_SMOKE = `
const Koa = (await import('koa')).default;
const middleware = m.switchyard({ cluster: 'cn' });
const app = new Koa();
app.use(middleware);
app.use((ctx) => { ctx.body = { lazy: typeof ctx.state.llm }; });
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

/** An app as a user types it: the middleware in `app.use`, a handler behind a path check, `ctx.state.llm` in its own. */
function usage(importKoa: string, factory: string): string {
  return `${importKoa}
const app = new Koa();
const middleware = ${factory}({ cluster: 'global', serve: true });
app.use(middleware);
app.use(async (ctx, next) => {
  if (ctx.path === '/models') await middleware.handlers.models(ctx, next);
  else await next();
});
app.use(async (ctx) => {
  const id: string = ctx.state.llm.route.provider.id;
  ctx.body = { id, text: (await ctx.state.llm.complete({ messages: [{ role: 'user', content: 'hi' }] })).text };
});
export const closed: Promise<void> = middleware.switchyard.close();
`;
}

describePackaging({
  dir: join(REPO_ROOT, 'packages', 'koa'),
  exports: ['switchyard'],
  typePackages: ['@types/koa'],
  typeUsage: { esm: usage("import Koa from 'koa';", 'switchyard'), cjs: usage("import Koa = require('koa');", 'pkg.switchyard') },
  // @types/koa names `contentDisposition.Options`, which koa 3's own content-disposition no longer declares;
  // every Koa 3 + TypeScript app runs with skipLibCheck for that reason. Imports are still resolved and checked.
  tscFlags: ['--skipLibCheck'],
  smoke: KOA_SMOKE,
  checkSmoke(value, build) {
    expect(value, build).toEqual({ cluster: 'cn', ids: ['openai', 'anthropic', 'gemini', 'deepseek', 'dashscope', 'volcengine'], plain: { lazy: 'object' }, hasSwitchyard: 'function' });
  },
});
