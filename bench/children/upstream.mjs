/**
 * The bench's upstream, in its own process: a testkit upstream on loopback. Its answer is a behavior the parent
 * sets (8 chunks, no delay, for the load part; slow streams for memory and aborts). It also times, on the
 * monotonic clock shared by every process of the machine, the moment its open connections drop to a count.
 */
import { startTestUpstream } from '@switchyard/testkit';
import { emitToParent, serveParent } from '../lib/ipc.mjs';

const behavior = JSON.parse(process.argv[2] ?? '{"type":"echo"}');
const upstream = await startTestUpstream({ host: '127.0.0.1', port: 0, defaultBehavior: behavior });

// The testkit records every request; under load that is millions of records, so forget them as they pile up.
setInterval(() => {
  if (upstream.requests.length > 1_000) upstream.requests.splice(0);
}, 250).unref();

let token = 0;

serveParent(
  { url: upstream.url, origin: upstream.origin },
  {
    setDefault: ({ behavior: next }) => {
      upstream.setDefault(next);
      return true;
    },
    connections: () => ({ open: upstream.openConnections, total: upstream.totalConnections }),
    waitForOpenConnections: async ({ atMost, timeoutMs }) => {
      await upstream.waitForOpenConnections(atMost, timeoutMs);
      return upstream.openConnections;
    },
    /** Arms a watch: an event with the monotonic time at which `drop` of the connections open now have closed. */
    armClose: ({ drop = 1, timeoutMs }) => {
      const id = ++token;
      const open = upstream.openConnections;
      upstream.waitForOpenConnections(open - drop, timeoutMs).then(
        () => emitToParent({ kind: 'closed', id, at: process.hrtime.bigint().toString() }),
        (error) => emitToParent({ kind: 'closed', id, error: error.message }),
      );
      return { id, open };
    },
  },
  () => upstream.close(),
);
