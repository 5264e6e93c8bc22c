import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

/**
 * One request/response pair, with the waits and writes a behavior needs.
 * Everything pending ends when the response closes (finished, client gone, or upstream closed),
 * so no timer outlives its connection.
 */
export class Exchange {
  #closed = false;
  /** Set when the upstream itself dropped the connection, so the request is not marked as aborted by the client. */
  droppedByUpstream = false;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #wakers = new Set<() => void>();

  constructor(
    readonly request: IncomingMessage,
    readonly response: ServerResponse,
  ) {
    response.once('close', () => {
      this.#closed = true;
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      for (const wake of this.#wakers) wake();
      this.#wakers.clear();
    });
  }

  /** True once the response is over, whoever ended it. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves after `ms`, or as soon as the response closes. */
  sleep(ms: number): Promise<void> {
    if (this.#closed || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#timers.add(timer);
      this.#wakers.add(wake);
    });
  }

  /** Writes and waits until the bytes are handed to the socket (or the response closes). */
  write(data: string | Buffer): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#wakers.delete(done);
        resolve();
      };
      this.#wakers.add(done);
      this.response.write(data, () => done());
    });
  }

  /** Sends status and headers now, before any body byte. */
  open(status: number, headers: OutgoingHttpHeaders): void {
    if (this.#closed) return;
    this.response.writeHead(status, headers);
    this.response.flushHeaders();
  }

  /** A complete answer with a Content-Length. */
  send(status: number, headers: OutgoingHttpHeaders, body: string | Buffer): void {
    if (this.#closed) return;
    this.response.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) });
    this.response.end(body);
  }

  /** Ends a streamed answer. */
  end(): void {
    if (!this.#closed) this.response.end();
  }

  /** Drops the connection without finishing the answer. */
  cut(): void {
    this.droppedByUpstream = true;
    this.request.socket.destroy();
  }
}
