/**
 * Request bodies read by the core itself (no framework parser in front): limits enforced while reading, also for
 * chunked bodies that announce no length, with the answer still reaching the client.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard, type Switchyard } from '../src/index.js';

let server: Server;
let sy: Switchyard;
let port: number;

beforeAll(async () => {
  sy = createSwitchyard({ limits: { bodyBytes: 1000 }, probes: { enabled: false } });
  server = createServer((req, res) => {
    void sy.handleNode(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await sy.close();
});

/** Posts `chunks` with `Transfer-Encoding: chunked` (no Content-Length) and reads the answer. */
function postChunked(path: string, chunks: string[]): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe('request bodies read by the core', () => {
  it('answers 413 payload_too_large to a chunked body over the limit, before reading all of it', async () => {
    const answer = await postChunked('/v1/chat/completions', ['{"model":"general","messages":"', 'x'.repeat(600), 'x'.repeat(600), '"}']);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'payload_too_large' } });
  });

  it('reads a chunked body within the limit', async () => {
    // No key for the default provider: the body was read and parsed, and routing answered.
    const answer = await postChunked('/v1/chat/completions', ['{"model":"gen', 'eral","messages":[{"role":"user","content":"hi"}]}']);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'missing_api_key' } });
  });

  it('answers 400 to a chunked body that is not JSON', async () => {
    const answer = await postChunked('/v1/chat/completions', ['{"model":', 'nope']);
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'invalid_request' } });
  });
});
