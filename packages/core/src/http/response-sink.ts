import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCancellation, onCancel } from '../cancellation.js';

/** Where an endpoint writes its answer: a Node response, or a web `Response` body. */
export interface ResponseSink {
  /** Aborted when the client goes away before the answer is finished. */
  readonly signal: AbortSignal;
  /** Whether status and headers were sent (the commit point has passed). */
  readonly committed: boolean;
  /** `performance.now()` when the first body byte was written; undefined until then. */
  readonly firstWriteAt: number | undefined;
  /** Sends status and headers: the commit point. */
  writeHead(status: number, headers: Record<string, string>): void;
  /** Writes a chunk; returns a promise only when the client is slower than the upstream (backpressure). */
  write(chunk: string | Uint8Array): Promise<void> | undefined;
  /** Ends the answer, with a last chunk if given. */
  end(chunk?: string | Uint8Array): void;
}

class ClientGoneError extends Error {
  override readonly name = 'AbortError';
  constructor() {
    super('The client closed the connection.');
  }
}

/** A signal aborted when the client goes away before `res` is finished (for `req.llm` calls and the sinks). */
export function clientGoneSignal(res: ServerResponse): AbortSignal {
  const controller = createCancellation();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new ClientGoneError());
  });
  return controller.signal;
}

/**
 * A sink over Node's `ServerResponse`: the fast path for Express, Koa and plain `node:http`. Writes of one event-loop
 * turn are corked together and flushed before the next, so a stream's last frames and its end leave in one packet.
 * A class rather than an object literal with getters, which costs about a microsecond per request to create.
 */
class NodeSink implements ResponseSink {
  readonly signal: AbortSignal;
  firstWriteAt: number | undefined = undefined;
  private readonly res: ServerResponse;
  private waiting: Promise<void> | undefined = undefined;
  private corked = false;

  constructor(res: ServerResponse) {
    this.res = res;
    this.signal = clientGoneSignal(res);
  }

  get committed(): boolean {
    return this.res.headersSent;
  }

  // end() uncorks fully, and the socket may serve the next request by then: never uncork after it.
  private readonly flush = (): void => {
    if (!this.corked) return;
    this.corked = false;
    if (!this.res.writableEnded) this.res.uncork();
  };

  writeHead(status: number, headers: Record<string, string>): void {
    this.res.writeHead(status, headers);
  }

  write(chunk: string | Uint8Array): Promise<void> | undefined {
    const { res } = this;
    if (res.destroyed) return undefined;
    this.firstWriteAt ??= performance.now();
    if (!this.corked) {
      this.corked = true;
      res.cork();
      setImmediate(this.flush);
    }
    if (res.write(chunk)) return undefined;
    // A client slower than the upstream: flush now rather than at the end of the turn.
    this.flush();
    // Resolve on drain, or on close so a vanished client never leaves us waiting.
    this.waiting ??= new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        this.waiting = undefined;
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
    return this.waiting;
  }

  end(chunk?: string | Uint8Array): void {
    if (this.res.writableEnded) return;
    if (chunk !== undefined) this.firstWriteAt ??= performance.now();
    this.res.end(chunk);
  }
}

/** A sink over Node's `ServerResponse` (see {@link NodeSink}). */
export function createNodeSink(_req: IncomingMessage, res: ServerResponse): ResponseSink {
  return new NodeSink(res);
}

const encoder = new TextEncoder();

/** A sink that produces a web-standard `Response`, for the core's `fetch` handler. */
export function createWebSink(requestSignal: AbortSignal | undefined): { sink: ResponseSink; response: Promise<Response> } {
  const controller = createCancellation();
  if (requestSignal) onCancel(requestSignal, () => controller.abort(new ClientGoneError()));
  let stream!: ReadableStreamDefaultController<Uint8Array>;
  let pull: (() => void) | undefined;
  let ended = false;
  const body = new ReadableStream<Uint8Array>(
    {
      start(c) {
        stream = c;
      },
      pull() {
        pull?.();
        pull = undefined;
      },
      cancel() {
        ended = true;
        pull?.();
        controller.abort(new ClientGoneError());
      },
    },
    { highWaterMark: 8 },
  );
  let resolveResponse!: (response: Response) => void;
  const response = new Promise<Response>((resolve) => {
    resolveResponse = resolve;
  });
  let committed = false;
  let firstWriteAt: number | undefined;
  const sink: ResponseSink = {
    signal: controller.signal,
    get committed() {
      return committed;
    },
    get firstWriteAt() {
      return firstWriteAt;
    },
    writeHead(status, headers) {
      committed = true;
      const nullBody = status === 204 || status === 304;
      resolveResponse(new Response(nullBody ? null : body, { status, headers }));
    },
    write(chunk) {
      if (ended) return undefined;
      firstWriteAt ??= performance.now();
      stream.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      if ((stream.desiredSize ?? 1) > 0) return undefined;
      return new Promise<void>((resolve) => {
        pull = resolve;
      });
    },
    end(chunk) {
      if (ended) return;
      if (chunk !== undefined) firstWriteAt ??= performance.now();
      if (chunk !== undefined) stream.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      ended = true;
      stream.close();
    },
  };
  return { sink, response };
}
