import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDemo } from './demo.js';

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve((server.address() as AddressInfo).port));
  });
}

const demo = await createDemo();
// This process's one OpenTelemetry SDK: other instrumentation in it (and the app's own spans) share it.
demo.telemetry.register();
const expressServer = createServer(demo.expressApp);
const koaServer = createServer(demo.koaApp.callback());
// The WebSocket chat (GET /api/chat upgrades) on both servers.
demo.attach(expressServer);
demo.attach(koaServer);
const expressPort = await listen(expressServer, Number(process.env.PORT ?? 3000));
const koaPort = await listen(koaServer, Number(process.env.KOA_PORT ?? 3001));

const { config } = demo.switchyard;
const lines = [
  '',
  `Switchyard demo (cluster ${config.cluster}, default provider ${config.defaultProviders[0]})`,
  `  Express: http://localhost:${expressPort}/`,
  `  Koa:     http://localhost:${koaPort}/`,
  demo.sandbox ? `  No operator key set: requests go to the offline sandbox upstream at ${demo.sandbox.url}` : '  Operator keys configured; no sandbox.',
  ...demo.telemetry.exports.map((line) => `  OpenTelemetry ${line}`),
  '',
  'Try:',
  `  curl -N -X POST http://localhost:${expressPort}/api/chat -H 'Content-Type: application/json' -d '{"question":"hi","agent":"App","provider":"general"}'`,
  `  or the same chat over a WebSocket at ws://localhost:${expressPort}/api/chat (one JSON frame per turn)`,
  '',
];
process.stderr.write(`${lines.join('\n')}\n`);

let closing = false;
function shutdown() {
  if (closing) return;
  closing = true;
  expressServer.closeAllConnections();
  koaServer.closeAllConnections();
  expressServer.close();
  koaServer.close();
  void demo.close();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
