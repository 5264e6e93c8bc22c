/**
 * A real `ws` client for the WebSocket chat, as a platform client uses it: one JSON text frame per turn, one event per
 * frame back, a turn over at `end`.
 */
import WebSocket, { type ClientOptions } from 'ws';

export type ChatEvent = Record<string, unknown> & { type: string };

/** How a socket closed, as the client saw it. */
export interface Closed {
  code: number;
  reason: string;
}

export class ChatSocket {
  readonly events: ChatEvent[] = [];
  /** Frames that were not text or not JSON (there should be none). */
  readonly oddFrames: string[] = [];
  readonly closed: Promise<Closed>;
  /** Errors the client reported (an unexpected HTTP answer to the upgrade, for one). */
  readonly errors: string[] = [];
  pings = 0;
  #read = 0;
  #waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((resolve) => {
      ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.#wake();
      });
    });
    ws.on('message', (data, isBinary) => {
      const text = data.toString();
      if (isBinary) this.oddFrames.push(`binary: ${text}`);
      else {
        try {
          this.events.push(JSON.parse(text) as ChatEvent);
        } catch {
          this.oddFrames.push(text);
        }
      }
      this.#wake();
    });
    ws.on('ping', () => {
      this.pings += 1;
    });
    ws.on('error', (error) => {
      this.errors.push(error.message);
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Opens a socket; resolves once it is open, or once it closed before opening (see `closed`). */
  static async open(url: string, options: ClientOptions = {}): Promise<ChatSocket> {
    const ws = new WebSocket(url, options);
    const socket = new ChatSocket(ws);
    await new Promise<void>((resolve) => {
      ws.once('open', () => resolve());
      ws.once('close', () => resolve());
    });
    return socket;
  }

  send(value: unknown): void {
    this.ws.send(typeof value === 'string' ? value : JSON.stringify(value));
  }

  /** The next event not read yet; rejects after `timeoutMs` or when the socket closes first. */
  async next(timeoutMs = 5000): Promise<ChatEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.#read >= this.events.length) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed; events so far: ${JSON.stringify(this.events)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no event in ${timeoutMs}ms; events so far: ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.events[this.#read++] as ChatEvent;
  }

  /** Reads events until one matches. */
  async until(match: (event: ChatEvent) => boolean, timeoutMs = 5000): Promise<ChatEvent[]> {
    const seen: ChatEvent[] = [];
    for (;;) {
      const event = await this.next(timeoutMs);
      seen.push(event);
      if (match(event)) return seen;
    }
  }

  /** Reads one turn's events, through `end`. */
  turn(timeoutMs = 5000): Promise<ChatEvent[]> {
    return this.until((event) => event.type === 'end', timeoutMs);
  }

  /** Sends a turn and reads its events through `end`. */
  ask(body: unknown, timeoutMs = 5000): Promise<ChatEvent[]> {
    this.send(body);
    return this.turn(timeoutMs);
  }

  close(): Promise<Closed> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    return this.closed;
  }
}

/** The reply text of a turn's events. */
export function replyText(events: readonly ChatEvent[]): string {
  return events
    .filter((event) => event.type === 'reply')
    .map((event) => event.content)
    .join('');
}
