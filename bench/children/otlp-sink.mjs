/**
 * A collector's OTLP/HTTP receiver for the bench, in its own process: reads every export and answers 200, counting
 * requests and bytes (`stats`), so exporting spans costs the server what it costs against a real collector.
 */
import { createServer } from 'node:http';
import { serveParent } from '../lib/ipc.mjs';

const received = { requests: 0, bytes: 0 };
const server = createServer((req, res) => {
  req.on('data', (chunk) => {
    received.bytes += chunk.length;
  });
  req.on('end', () => {
    received.requests += 1;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));

serveParent({ url: `http://127.0.0.1:${server.address().port}` }, { stats: () => ({ ...received }) }, async () => {
  server.closeAllConnections();
  server.close();
});
