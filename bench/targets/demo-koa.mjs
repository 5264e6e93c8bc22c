/** Subject: the demo's Koa app (koa-compress as the demo has it), its request log sent to a discarding stream. */
import { switchyardEnv } from '../lib/reference.mjs';
import { discard } from './demo-express.mjs';

const { createDemo } = await import(new URL('../../apps/demo/dist/demo.js', import.meta.url).href);

export async function createTarget({ upstreamUrl }) {
  const demo = await createDemo({ env: switchyardEnv(upstreamUrl), logDestination: discard() });
  return { handler: demo.koaApp.callback(), close: () => demo.close() };
}
