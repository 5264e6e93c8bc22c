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

describePackaging({
  dir: join(REPO_ROOT, 'packages', 'koa'),
  exports: ['switchyard'],
  typePackages: ['@types/koa'],
  // @types/koa names `contentDisposition.Options`, which koa 3's own content-disposition no longer declares;
  // every Koa 3 + TypeScript app runs with skipLibCheck for that reason. Imports are still resolved and checked.
  tscFlags: ['--skipLibCheck'],
  smoke: KOA_SMOKE,
  checkSmoke(value, build) {
    expect(value, build).toEqual({ cluster: 'cn', ids: ['openai', 'anthropic', 'gemini', 'deepseek', 'dashscope', 'volcengine'], plain: { lazy: 'object' }, hasSwitchyard: 'function' });
  },
});
