import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { assertBehavior, type Behavior } from './behavior.js';
import { Exchange } from './exchange.js';
import { completeRecord, recordRequest, type RecordedRequest } from './recorded-request.js';
import { notFound, respond, SANDBOX_MODEL, testkitError } from './respond.js';
import { matchRoute } from './routes.js';
import { Waiters } from './waiters.js';

/** Options for {@link startTestUpstream}. */
export interface TestUpstreamOptions {
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** What `GET …/models` lists. */
  models?: string[];
  /** What requests get when nothing is enqueued. Default `{ type: 'echo' }`. */
  defaultBehavior?: Behavior;
}

/**
 * An upstream on loopback that speaks Chat Completions, Responses and Anthropic Messages, scripted per test.
 * The route of each request decides the wire its behavior is rendered in.
 */
export interface TestUpstream {
  /** Base URL for a provider whose paths follow `/v1` (`…/chat/completions`, `…/responses`, `…/messages`): `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  /** `http://127.0.0.1:PORT`: the base URL for the Anthropic SDK, which adds `/v1/messages` itself. */
  readonly origin: string;
  /** The port it listens on. */
  readonly port: number;
  /** Every request received, in order: recorded when its headers arrive, body filled in when complete. */
  readonly requests: RecordedRequest[];
  /** The most recent request, if any. */
  lastRequest(): RecordedRequest | undefined;
  /** Sockets open right now. */
  readonly openConnections: number;
  /** Sockets accepted since start (or the last `reset()`). */
  readonly totalConnections: number;
  /** Resolves once `openConnections <= atMost`; rejects after `timeoutMs` (default 2000). */
  waitForOpenConnections(atMost: number, timeoutMs?: number): Promise<void>;
  /** Resolves once `count` requests have arrived with complete bodies; rejects after `timeoutMs` (default 2000). */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /**
   * Each behavior answers exactly one later chat/completions, messages, responses or embeddings request, first in first
   * out; then the default applies. `/models` and `/messages/count_tokens` do not take from the queue.
   */
  enqueue(...behaviors: Behavior[]): this;
  /** What chat/completions, messages, responses and embeddings requests get when the queue is empty. */
  setDefault(behavior: Behavior): this;
  /** What every `GET …/models` gets (for probes); `undefined` goes back to listing the models. */
  onModels(behavior: Behavior | undefined): this;
  /** What every `POST …/messages/count_tokens` gets; `undefined` goes back to counting (`{"input_tokens": N}`). */
  onCountTokens(behavior: Behavior | undefined): this;
  /** Clears the queue, the records and the connection total; default, models and count_tokens behaviors back to the sandbox. */
  reset(): this;
  /** Destroys every socket and stops listening. Stalled requests do not delay it. */
  close(): Promise<void>;
}

const DEFAULT_MODELS = [SANDBOX_MODEL, 'gpt-5-mini', 'text-embedding-3-small'];
const DEFAULT_WAIT_MS = 2000;
const ECHO: Behavior = { type: 'echo' };

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Starts the test upstream on loopback. Unscripted, it is the deterministic sandbox: chat completions, messages and
 * responses answer `echo: <last user message>` in their own wire, count_tokens counts words, embeddings are
 * hash-derived vectors, `/models` lists `options.models`.
 */
export async function startTestUpstream(options: TestUpstreamOptions = {}): Promise<TestUpstream> {
  const host = options.host ?? '127.0.0.1';
  const models = [...(options.models ?? DEFAULT_MODELS)];
  if (options.defaultBehavior !== undefined) assertBehavior(options.defaultBehavior);
  let defaultBehavior = options.defaultBehavior ?? ECHO;
  let modelsBehavior: Behavior | undefined;
  let countTokensBehavior: Behavior | undefined;
  const queue: Behavior[] = [];
  const requests: RecordedRequest[] = [];
  const completed = new WeakSet<RecordedRequest>();
  const sockets = new Set<Socket>();
  const waiters = new Waiters();
  let totalConnections = 0;
  let sequence = 0;
  let closing = false;

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    sequence += 1;
    const number = sequence;
    const id = `req_${number}`;
    const record = recordRequest(request, id);
    requests.push(record);
    response.setHeader('x-request-id', id);
    const route = matchRoute(record.method, record.path);
    // Anthropic names its request id `request-id`; the SDK reads it from there.
    if (route?.wire === 'messages') response.setHeader('request-id', id);
    const exchange = new Exchange(request, response);
    response.once('close', () => {
      if (!response.writableFinished && !exchange.droppedByUpstream && !closing) record.aborted = true;
    });
    // A reset or destroyed socket surfaces as an error on the streams; the 'close' handlers above account for it.
    request.on('error', () => {});
    response.on('error', () => {});

    // Decided when the headers arrive, so concurrent requests take queued behaviors in arrival order.
    let behavior: Behavior | undefined;
    if (route?.endpoint === 'models') behavior = modelsBehavior ?? ECHO;
    else if (route?.endpoint === 'countTokens') behavior = countTokensBehavior ?? ECHO;
    else if (route !== undefined) behavior = queue.shift() ?? defaultBehavior;

    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      completeRecord(record, Buffer.concat(chunks).toString('utf8'));
      completed.add(record);
      waiters.notify();
      if (route === undefined || behavior === undefined) {
        const answer = notFound(record.method, record.path);
        exchange.send(answer.status, answer.headers, answer.body);
        return;
      }
      respond(behavior, { exchange, route, json: record.json, sequence: number, models }).catch((error: unknown) => {
        if (response.headersSent) {
          exchange.cut();
          return;
        }
        const answer = testkitError(error instanceof Error ? error.message : String(error), route.wire);
        exchange.send(answer.status, answer.headers, answer.body);
      });
    });
  });

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    totalConnections += 1;
    socket.once('close', () => {
      sockets.delete(socket);
      // The response's own 'close' (which marks a request aborted) runs after this listener; let it run first.
      setImmediate(() => waiters.notify());
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });

  const port = (server.address() as AddressInfo).port;
  const origin = `http://${hostForUrl(host)}:${port}`;
  let closed: Promise<void> | undefined;

  const upstream: TestUpstream = {
    url: `${origin}/v1`,
    origin,
    port,
    requests,
    lastRequest: () => requests.at(-1),
    get openConnections() {
      return sockets.size;
    },
    get totalConnections() {
      return totalConnections;
    },
    waitForOpenConnections(atMost, timeoutMs = DEFAULT_WAIT_MS) {
      return waiters.until(
        () => sockets.size <= atMost,
        timeoutMs,
        () => `testkit: ${sockets.size} connection(s) still open after ${timeoutMs}ms, expected at most ${atMost}`,
      );
    },
    async waitForRequests(count, timeoutMs = DEFAULT_WAIT_MS) {
      const complete = (): number => requests.filter((request) => completed.has(request)).length;
      await waiters.until(
        () => complete() >= count,
        timeoutMs,
        () => `testkit: ${complete()} complete request(s) after ${timeoutMs}ms, expected ${count}`,
      );
      return requests.slice();
    },
    enqueue(...behaviors) {
      for (const behavior of behaviors) assertBehavior(behavior);
      queue.push(...behaviors);
      return this;
    },
    setDefault(behavior) {
      assertBehavior(behavior);
      defaultBehavior = behavior;
      return this;
    },
    onModels(behavior) {
      if (behavior !== undefined) assertBehavior(behavior);
      modelsBehavior = behavior;
      return this;
    },
    onCountTokens(behavior) {
      if (behavior !== undefined) assertBehavior(behavior);
      countTokensBehavior = behavior;
      return this;
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
      totalConnections = 0;
      defaultBehavior = ECHO;
      modelsBehavior = undefined;
      countTokensBehavior = undefined;
      return this;
    },
    close() {
      closed ??= (async () => {
        closing = true;
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        const socketsClosed = [...sockets].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
        for (const socket of sockets) socket.destroy();
        await Promise.all([serverClosed, ...socketsClosed]);
        waiters.notify();
        waiters.close('testkit: the upstream was closed');
      })();
      return closed;
    },
  };
  return upstream;
}
