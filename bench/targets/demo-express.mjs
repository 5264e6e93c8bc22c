/** Subject: the demo's Express app (compression as the demo has it), its request log sent to a discarding stream. */
import { Writable } from 'node:stream';
import { switchyardEnv } from '../lib/reference.mjs';

const { createDemo } = await import(new URL('../../apps/demo/dist/demo.js', import.meta.url).href);

/** A log destination that drops every line, so stdout is never the bottleneck (the line is still built). */
export function discard() {
  return new Writable({
    write(_chunk, _encoding, callback) {
      callback();
    },
  });
}

export async function createTarget({ upstreamUrl }) {
  const demo = await createDemo({ env: switchyardEnv(upstreamUrl), logDestination: discard() });
  return { handler: demo.expressApp, close: () => demo.close() };
}
