/**
 * The WebSocket chat (SPEC §4, `GET /api/chat` with `Upgrade: websocket`): each client text frame is one turn, each
 * event goes back as one text frame. The turn itself is `runChatTurn`, the same as `POST /api/chat`.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { ResolvedConfig } from '../config.js';
import { SwitchyardError } from '../errors.js';
import type { HeaderBag } from '../router/resolve.js';
import { type ChatEvent, chatErrorEvent, chatEventJson } from '../stream/sse-encoder.js';
import { toSwitchyardError } from '../upstream-errors.js';
import { type ChatEventSink, type ChatTurnContext, runChatTurn } from './chat-endpoint.js';
import { parseJsonObject } from './request-body.js';

/** Close codes of RFC 6455 the chat uses. */
export const CLOSE_CODES = { goingAway: 1001, policyViolation: 1008, messageTooBig: 1009 } as const;

/** Above this many bytes queued on a socket, a turn waits for the client before reading more from the upstream. */
const HIGH_WATER_BYTES = 64 * 1024;

/** What the socket side needs from the Switchyard it serves. */
export interface ChatSocketOptions {
  config: ResolvedConfig;
  /** Whether an `Authorization` value (`Bearer <token>`) is a valid app token (always true when none are configured). */
  authorized(authorization: string | undefined): boolean;
  /** A fresh context for one turn: request id, log entry, attempts. */
  turnContext(method: string, path: string, headers: HeaderBag, query: URLSearchParams | undefined): ChatTurnContext;
  /** Credentials read from the query of upgrade requests (`llm_*`), when the operator turned them on. */
  credentialQuery(url: string | undefined, headers: HeaderBag): URLSearchParams | undefined;
  /** Hands a finished turn's log entry on (the `onRequest` logger); `secrets` are masked in it too. */
  report(context: ChatTurnContext, started: number, firstWriteAt: number | undefined, secrets: readonly (string | undefined)[]): void;
}

/** The WebSocket side of the chat endpoint. */
export interface ChatSockets {
  /** Takes an upgrade request for the chat path; returns false (and leaves the socket alone) for any other. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Sockets open right now. */
  readonly size: number;
  /** Aborts every turn and closes every socket (1001). */
  close(): void;
}

class TurnCancelled extends Error {
  override readonly name = 'AbortError';
  constructor(readonly byClient: boolean) {
    super(byClient ? 'The client cancelled the turn.' : 'The socket closed.');
  }
}

function pathOf(url: string | undefined): string {
  if (!url) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return req.method === 'GET' && first(req.headers.upgrade)?.toLowerCase() === 'websocket';
}

// Browsers send Origin on every WebSocket handshake and sockets ignore the same-origin policy: a page of another
// site must not drive this server (and its operator keys) from a visitor's browser. Non-browser clients send none.
function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = first(req.headers.origin)?.trim().toLowerCase();
  if (origin === undefined || origin === '') return true;
  if (allowed.includes('*') || allowed.includes(origin.replace(/\/+$/, ''))) return true;
  try {
    return new URL(origin).host === first(req.headers.host)?.trim().toLowerCase();
  } catch {
    return false;
  }
}

function textOf(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

/** Creates the WebSocket side of the chat: `handleUpgrade` for `node:http` servers, one ping timer for all sockets. */
export function createChatSockets(options: ChatSocketOptions): ChatSockets {
  const { config } = options;
  // maxPayload is the body limit: a bigger frame closes the socket with 1009. No compression: no inflate bombs.
  const server = new WebSocketServer({ noServer: true, maxPayload: config.limits.bodyBytes, perMessageDeflate: false, clientTracking: false });
  const open = new Map<WebSocket, { alive: boolean; stop(reason: TurnCancelled): void }>();
  let pinger: NodeJS.Timeout | undefined;

  // One timer for every socket: a socket that did not answer the last ping by the next one is gone.
  function startPinger(): void {
    if (pinger) return;
    pinger = setInterval(() => {
      for (const [ws, state] of open) {
        if (!state.alive) {
          ws.terminate();
          continue;
        }
        state.alive = false;
        ws.ping();
      }
    }, config.heartbeatMs);
    pinger.unref();
  }

  function refuseSocket(ws: WebSocket, req: IncomingMessage, error: SwitchyardError, secrets: readonly (string | undefined)[]): void {
    const context = options.turnContext('GET', pathOf(req.url), req.headers, undefined);
    context.log.transport = 'websocket';
    context.log.status = error.status;
    context.log.code = error.code;
    options.report(context, performance.now(), undefined, secrets);
    ws.close(CLOSE_CODES.policyViolation, error.message.slice(0, 120));
  }

  function serve(ws: WebSocket, req: IncomingMessage): void {
    const path = pathOf(req.url);
    const query = new URLSearchParams(req.url?.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
    const token = query.get('token')?.trim() || undefined;
    const credentials = options.credentialQuery(req.url, req.headers);
    const secrets = [first(req.headers['x-llm-api-key'])?.trim(), credentials?.get('llm_api_key')?.trim(), token];
    ws.on('error', () => {
      // ws reports protocol errors (an oversize frame, bad UTF-8) here, then closes with the matching code.
    });
    if (!originAllowed(req, config.allowedOrigins)) {
      return refuseSocket(ws, req, new SwitchyardError('unauthorized', 'This origin may not open the chat socket.', { hint: "open the socket from this server's own pages, or ask the operator to allow this origin" }), secrets);
    }
    const authorization = first(req.headers.authorization) ?? (token === undefined ? undefined : `Bearer ${token}`);
    if (!options.authorized(authorization)) {
      return refuseSocket(ws, req, new SwitchyardError('unauthorized', 'This server needs an app token.', { hint: 'send Authorization: Bearer <app token>, or ?token=<app token> in the socket URL' }), secrets);
    }

    let turn: AbortController | undefined;
    const state = {
      alive: true,
      stop(reason: TurnCancelled) {
        turn?.abort(reason);
      },
    };
    open.set(ws, state);
    startPinger();
    ws.on('pong', () => {
      state.alive = true;
    });
    ws.on('close', () => {
      open.delete(ws);
      state.stop(new TurnCancelled(false));
      if (open.size === 0 && pinger) {
        clearInterval(pinger);
        pinger = undefined;
      }
    });

    const sendNow = (event: ChatEvent): void => {
      if (ws.readyState === WebSocket.OPEN) ws.send(chatEventJson(event));
    };

    async function runTurn(body: () => Promise<Record<string, unknown>>): Promise<void> {
      const controller = new AbortController();
      turn = controller;
      const started = performance.now();
      const context = options.turnContext('GET', path, req.headers, credentials);
      context.log.transport = 'websocket';
      let firstWriteAt: number | undefined;
      let ended = false;
      const send = (event: ChatEvent): Promise<void> | undefined => {
        if (ws.readyState !== WebSocket.OPEN) return undefined;
        firstWriteAt ??= performance.now();
        const text = chatEventJson(event);
        if (ws.bufferedAmount < HIGH_WATER_BYTES) {
          ws.send(text);
          return undefined;
        }
        // The client reads slower than the upstream writes: wait until this frame is on the wire, or the turn is over.
        return new Promise<void>((resolve) => {
          controller.signal.addEventListener('abort', () => resolve(), { once: true });
          ws.send(text, () => resolve());
        });
      };
      const events: ChatEventSink = {
        signal: controller.signal,
        refuse(_number, error) {
          send(chatErrorEvent(error));
          events.end({ type: 'end', content: '', finish_reason: 'error' });
        },
        commit() {
          // A socket has no headers: the route event says what the routing headers say.
        },
        send,
        end(event) {
          ended = true;
          send(event);
        },
      };
      try {
        await runChatTurn(context, body, events);
      } catch (error) {
        // Not expected (the turn turns failures into events), but a socket is never left mid-turn without an end.
        if (!ended && !controller.signal.aborted) {
          send(chatErrorEvent(toSwitchyardError(error)));
          events.end({ type: 'end', content: '', finish_reason: 'error' });
        }
      } finally {
        turn = undefined;
        // A cancelled turn still ends with `end`, so the client knows the socket is ready for the next one.
        if (!ended && ws.readyState === WebSocket.OPEN) events.end({ type: 'end', content: '', finish_reason: 'stop' });
        options.report(context, started, firstWriteAt, secrets);
      }
    }

    ws.on('message', (data: RawData, isBinary: boolean) => {
      let body: Record<string, unknown> | undefined;
      let problem: unknown;
      if (isBinary) {
        problem = new SwitchyardError('invalid_request', 'A turn must be a text frame.', { hint: 'send {"question": "..."} as a text frame' });
      } else {
        try {
          body = parseJsonObject(textOf(data), config.limits);
        } catch (error) {
          problem = error;
        }
      }
      if (body?.type === 'cancel') {
        state.stop(new TurnCancelled(true));
        return;
      }
      if (turn) {
        // One turn at a time; the running turn goes on undisturbed.
        const busy = problem
          ? toSwitchyardError(problem)
          : new SwitchyardError('invalid_request', 'A turn is already running on this socket.', { hint: 'wait for its end event, or send {"type":"cancel"} first' });
        sendNow(chatErrorEvent(busy));
        return;
      }
      void runTurn(problem === undefined ? async () => body as Record<string, unknown> : () => Promise.reject(problem));
    });
  }

  return {
    handleUpgrade(req, socket, head) {
      if (!isWebSocketUpgrade(req) || pathOf(req.url) !== config.paths.chat) return false;
      server.handleUpgrade(req, socket, head, (ws) => serve(ws, req));
      return true;
    },
    get size() {
      return open.size;
    },
    close() {
      if (pinger) clearInterval(pinger);
      pinger = undefined;
      for (const [ws, state] of open) {
        state.stop(new TurnCancelled(false));
        ws.close(CLOSE_CODES.goingAway, 'server shutting down');
        // A client that never answers the close frame is cut off.
        setTimeout(() => ws.terminate(), 1000).unref();
      }
      open.clear();
    },
  };
}
