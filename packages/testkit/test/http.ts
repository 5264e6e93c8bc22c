import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

/** What a client received, byte for byte. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** False when the connection ended before the response did. */
  complete: boolean;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | object;
}

/** One request on its own connection (no keep-alive), so connection counts are predictable. */
export function send(url: string, init: RawRequest = {}): Promise<RawResponse> {
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      url,
      {
        method: init.method ?? (body === undefined ? 'GET' : 'POST'),
        agent: false,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
      },
      (response) => {
        const chunks: Buffer[] = [];
        let complete = false;
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          complete = true;
        });
        response.on('error', () => {});
        response.on('close', () => {
          const bytes = Buffer.concat(chunks);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: bytes, text: bytes.toString('utf8'), complete });
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/** Parses `data: …` frames from SSE text. */
export function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice('data: '.length));
}

/** A chat request body. */
export function chat(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'gpt-5-mini', messages: [{ role: 'user', content }], ...extra };
}

/** A request left open, for tests that abort it or watch it stall. */
export interface OpenRequest {
  /** Resolves when the status line and headers arrive. */
  response: Promise<IncomingMessage>;
  /** The client gives up: destroys its socket. */
  abort(): void;
}

/** Starts a request on its own connection and hands back control before it completes. */
export function start(url: string, init: RawRequest = {}): OpenRequest {
  const body = init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  const request = httpRequest(url, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    agent: false,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
  });
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  // Aborting rejects `response` when no headers came; a test that never awaits it must not see an unhandled rejection.
  response.catch(() => {});
  request.end(body);
  return { response, abort: () => request.destroy() };
}

/** Reads from a response until `done(text so far)` holds. */
export function readUntil(response: IncomingMessage, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('utf8');
      if (done(text)) {
        response.off('data', onData);
        response.pause();
        resolve(text);
      }
    };
    response.on('data', onData);
    response.once('end', () => reject(new Error(`response ended before the condition held; got ${JSON.stringify(text)}`)));
    response.once('error', reject);
  });
}

/** One server-sent event: its `event:` name (null when the frame has none) and its `data:` text. */
export interface SseEvent {
  event: string | null;
  data: string;
}

/** Parses SSE text into events, as the official SDKs do: `event:` and `data:` lines, frames split by a blank line. */
export function sseEvents(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      let event: string | null = null;
      const data: string[] = [];
      for (const line of frame.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice('event: '.length);
        else if (line.startsWith('data: ')) data.push(line.slice('data: '.length));
      }
      return { event, data: data.join('\n') };
    });
}

/** An Anthropic Messages request body. */
export function messages(content: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [{ role: 'user', content }], ...extra };
}

/** An OpenAI Responses request body. */
export function responsesBody(input: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'gpt-5-mini', input, ...extra };
}
