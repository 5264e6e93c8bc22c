/**
 * Subject: the demo's Express app with metrics and traces on, as `npm start` runs it with `OTEL_EXPORTER_OTLP_ENDPOINT`
 * set: the SDK registered for the process (async context, W3C propagation), a request span and an attempt span per
 * request, batched and exported in OTLP/protobuf to a collector stand-in in its own process.
 */
import { startChild } from '../lib/ipc.mjs';
import { switchyardEnv } from '../lib/reference.mjs';
import { discard } from './demo-express.mjs';

const { createDemo } = await import(new URL('../../apps/demo/dist/demo.js', import.meta.url).href);

export async function createTarget({ upstreamUrl }) {
  const sink = await startChild('children/otlp-sink.mjs', { name: 'otlp sink' });
  // A queue deep enough for bench rates, exported every second: spans are exported, not dropped.
  process.env.OTEL_BSP_MAX_QUEUE_SIZE = '65536';
  process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE = '4096';
  process.env.OTEL_BSP_SCHEDULE_DELAY = '1000';
  const demo = await createDemo({
    env: { ...switchyardEnv(upstreamUrl), OTEL_EXPORTER_OTLP_ENDPOINT: sink.info.url, OTEL_METRIC_EXPORT_INTERVAL: '5000' },
    logDestination: discard(),
  });
  demo.telemetry.register();
  return {
    handler: demo.expressApp,
    async close() {
      await demo.close();
      await sink.stop();
    },
  };
}
