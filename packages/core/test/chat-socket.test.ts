/**
 * The WebSocket chat on a plain `node:http` server, through the core alone: `attach`, `handleUpgrade` beside other
 * upgrade listeners, detaching, and `close()` with sockets open.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { behaviors, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { createSwitchyard, type RequestLogEntry, type Switchyard } from '../src/index.js';
import { testKey } from './harness.js';

interface Running {
  server: Server;
  switchyard: Switchyard;
  upstream: TestUpstream;
  url: string;
  log: RequestLogEntry[];
}

const running: Running[] = [];

async function start(setup: (server: Server, switchyard: Switchyard) => void = (server, switchyard) => void switchyard.attach(server)): Promise<Running> {
  const upstream = await startTestUpstream();
  const log: RequestLogEntry[] = [];
  const switchyard = createSwitchyard({ providers: { openai: { baseUrl: upstream.url } }, onRequest: (entry) => log.push(entry) });
  const server = createServer((req, res) => {
    void switchyard.handleNode(req, res).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  setup(server, switchyard);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const entry = { server, switchyard, upstream, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, log };
  running.push(entry);
  return entry;
}

afterEach(async () => {
  for (const { server, switchyard, upstream } of running.splice(0)) {
    await switchyard.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await upstream.close();
  }
});

/** Opens a socket and collects its events; resolves once open (or closed). */
async function open(url: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(url, { headers });
  const events: Array<Record<string, unknown>> = [];
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('message', (data) => events.push(JSON.parse(data.toString()) as Record<string, unknown>));
  ws.on('error', () => {});
  await new Promise<void>((resolve) => {
    ws.once('open', () => resolve());
    ws.once('close', () => resolve());
  });
  const until = async (type: string) => {
    while (!events.some((event) => event.type === type)) {
      if (ws.readyState === WebSocket.CLOSED) throw new Error(`closed before ${type}: ${JSON.stringify(events)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  return { ws, events, closed, until };
}

describe('the WebSocket chat on node:http', () => {
  it('attach(server): a turn, one log entry for it', async () => {
    const { url, log, upstream } = await start();
    const key = testKey('caller');
    const socket = await open(`${url}/api/chat`, { 'x-llm-api-key': key });
    socket.ws.send(JSON.stringify({ question: 'plain node' }));
    await socket.until('end');
    expect(socket.events.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe('echo: plain node');
    expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
    await expect.poll(() => log.length).toBe(1);
    expect(log[0]).toMatchObject({ endpoint: 'chat', transport: 'websocket', status: 200, method: 'GET', path: '/api/chat' });
    expect(JSON.stringify(log)).not.toContain(key);
  });

  it('handleUpgrade leaves other paths to the other upgrade listeners', async () => {
    const echo = new WebSocketServer({ noServer: true });
    const { url } = await start((server, switchyard) => {
      server.on('upgrade', (req, socket, head) => {
        if (switchyard.handleUpgrade(req, socket, head)) return;
        echo.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data) => ws.send(`echo ${data.toString()}`)));
      });
    });
    const other = new WebSocket(`${url}/other`);
    const answer = await new Promise<string>((resolve, reject) => {
      other.once('open', () => other.send('ping'));
      other.once('message', (data) => resolve(data.toString()));
      other.once('error', reject);
    });
    expect(answer).toBe('echo ping');
    other.close();
    const chat = await open(`${url}/api/chat`, { 'x-llm-api-key': testKey('caller') });
    chat.ws.send(JSON.stringify({ question: 'beside another' }));
    await chat.until('end');
    expect(chat.events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
    chat.ws.close();
    echo.close();
  });

  it('attach leaves other paths alone when another upgrade listener is there, and answers 404 when none is', async () => {
    const { url, server } = await start();
    const alone = await open(`${url}/elsewhere`);
    expect(await alone.closed).toBe(1006);
    const echo = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      if (req.url === '/elsewhere') echo.handleUpgrade(req, socket, head, (ws) => ws.close(4000, 'taken by the other listener'));
    });
    const taken = await open(`${url}/elsewhere`);
    expect(await taken.closed).toBe(4000);
    echo.close();
  });

  it('detach() stops serving the chat on that server', async () => {
    let detach = () => {};
    const { url } = await start((server, switchyard) => {
      detach = switchyard.attach(server);
    });
    detach();
    const socket = await open(`${url}/api/chat`);
    expect(await socket.closed).toBe(1006);
    expect(socket.events).toEqual([]);
  });

  it('close() ends every socket with 1001 and aborts the turn it was running', async () => {
    const { url, switchyard, upstream } = await start();
    upstream.enqueue(behaviors.stallMidStream(1, ['first']));
    const socket = await open(`${url}/api/chat`, { 'x-llm-api-key': testKey('caller') });
    socket.ws.send(JSON.stringify({ question: 'stall' }));
    await socket.until('reply');
    await switchyard.close();
    expect(await socket.closed).toBe(1001);
    await upstream.waitForOpenConnections(0, 1000);
    expect(upstream.lastRequest()?.aborted).toBe(true);
  });
});
