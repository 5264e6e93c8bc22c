import cluster from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDemo } from './demo.js';
import { runPrimary, workerCount, type WorkerReady } from './workers.js';

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve((server.address() as AddressInfo).port));
  });
}

function banner(ready: WorkerReady, workers: number): string {
  const lines = [
    '',
    `Switchyard demo (cluster ${ready.cluster}, default provider ${ready.defaultProvider})`,
    `  Express: http://localhost:${ready.expressPort}/`,
    `  Koa:     http://localhost:${ready.koaPort}/`,
    ready.sandbox ? `  No operator key set: requests go to the offline sandbox upstream${workers > 1 ? ' of each worker' : ` at ${ready.sandbox}`}` : '  Operator keys configured; no sandbox.',
    workers > 1
      ? `  ${workers} worker processes; state ${ready.store === 'redis' ? 'shared through Redis' : 'per worker (set REDIS_URL to share breakers and limits)'}`
      : `  State: ${ready.store === 'redis' ? 'shared through Redis' : 'in this process'}`,
    '',
    'Try:',
    `  curl -N -X POST http://localhost:${ready.expressPort}/api/chat -H 'Content-Type: application/json' -d '{"question":"hi","agent":"App","provider":"general"}'`,
    `  or the same chat over a WebSocket at ws://localhost:${ready.expressPort}/api/chat (one JSON frame per turn)`,
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** One process serving both apps: the whole demo, or one worker of it. */
async function serve(): Promise<WorkerReady> {
  const demo = await createDemo();
  const expressServer = createServer(demo.expressApp);
  const koaServer = createServer(demo.koaApp.callback());
  // The WebSocket chat (GET /api/chat upgrades) on both servers.
  demo.attach(expressServer);
  demo.attach(koaServer);
  const expressPort = await listen(expressServer, Number(process.env.PORT ?? 3000));
  const koaPort = await listen(koaServer, Number(process.env.KOA_PORT ?? 3001));
  let closing = false;
  function shutdown() {
    if (closing) return;
    closing = true;
    expressServer.closeAllConnections();
    koaServer.closeAllConnections();
    expressServer.close();
    koaServer.close();
    // A worker's channel to the primary would keep it alive: let it go once everything else is closed.
    void demo.close().then(() => cluster.worker?.disconnect());
  }
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  const { config, state } = demo.switchyard;
  return { expressPort, koaPort, cluster: config.cluster, defaultProvider: config.defaultProviders[0] ?? '', sandbox: demo.sandbox?.url, store: state.store };
}

const workers = workerCount(process.env.WEB_CONCURRENCY);
if (workers > 1 && cluster.isPrimary) {
  const ready = await runPrimary(workers);
  process.stderr.write(banner(ready, workers));
} else if (cluster.isWorker) {
  // The primary prints one banner for all workers.
  process.send?.({ type: 'switchyard-ready', ready: await serve() });
} else {
  process.stderr.write(banner(await serve(), 1));
}
