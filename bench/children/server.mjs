/**
 * One server under test, in its own process: `node children/server.mjs <target> <upstreamUrl>`. It listens on
 * 127.0.0.1 (any free port), reports the port, and answers `memory` (RSS and heap after a full GC when
 * `--expose-gc` is on) and `exit` (closes, so `--cpu-prof` writes its profile).
 */
import { createServer } from 'node:http';
import { serveParent } from '../lib/ipc.mjs';

const [target, upstreamUrl] = process.argv.slice(2);
if (!target || !upstreamUrl) throw new Error('usage: server.mjs <target> <upstreamUrl>');
const { createTarget } = await import(`../targets/${target}.mjs`);
const { handler, close } = await createTarget({ upstreamUrl });
const server = createServer({ keepAliveTimeout: 30_000 }, handler);
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', resolve);
});

function collect() {
  if (typeof globalThis.gc === 'function') {
    globalThis.gc();
    globalThis.gc();
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { rss, heapUsed, external, arrayBuffers };
}

serveParent(
  { port: server.address().port, pid: process.pid },
  { memory: () => collect(), cpu: () => process.cpuUsage() },
  async () => {
    server.closeAllConnections();
    server.close();
    await close?.();
  },
);
