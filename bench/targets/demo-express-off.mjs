/** Subject: the demo's Express app as `demo-express`, with `OTEL_SDK_DISABLED=true`: no metrics, no traces. */
import { switchyardEnv } from '../lib/reference.mjs';
import { discard } from './demo-express.mjs';

const { createDemo } = await import(new URL('../../apps/demo/dist/demo.js', import.meta.url).href);

export async function createTarget({ upstreamUrl }) {
  const demo = await createDemo({ env: { ...switchyardEnv(upstreamUrl), OTEL_SDK_DISABLED: 'true' }, logDestination: discard() });
  return { handler: demo.expressApp, close: () => demo.close() };
}
