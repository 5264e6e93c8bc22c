/**
 * The recipes for servers without an adapter package, run as users run them (`node apps/demo/examples/<file>`, on the
 * built ESM of @switchyard/core): Fastify 5 (handleNode on the raw request and reply), Hono on @hono/node-server (the
 * core's fetch) and plain node:http. Each is answered by the openai SDK and checked on what the upstream received.
 * `npm test` builds first; this test builds nothing and skips when the build is missing.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import WebSocket from 'ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { behaviors, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { examplePath, missingBuilds, startExample, stopExample } from './example-process.js';

const missing = missingBuilds(['core'], 'js');
if (missing.length > 0) console.warn(`recipes: skipped, no ESM build at ${missing.join(', ')} (run \`npm run build\`, or \`npm test\`, which builds first)`);

const RECIPES = [
  ['fastify.mjs', 'Fastify 5'],
  ['hono.mjs', 'Hono on @hono/node-server'],
  ['node-http.mjs', 'node:http'],
] as const;

/** The `/api/chat` events of an SSE body. */
function events(text: string): Array<{ type: string; content?: string; code?: string }> {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => JSON.parse(frame.slice('data: '.length)) as { type: string; content?: string });
}

describe.skipIf(missing.length > 0).each(RECIPES)('examples/%s (%s)', (file) => {
  let upstream: TestUpstream;
  let example: { child: ChildProcess; url: string };
  let operatorKey: string;
  let key: string;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    operatorKey = `sk-operator-${randomUUID()}`;
    // NODE_ENV=test keeps the reachability probes off, so every upstream request below is one the test made.
    example = await startExample(examplePath(file), { PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'test', OPENAI_API_KEY: operatorKey, OPENAI_BASE_URL: upstream.url });
  });
  afterAll(async () => {
    if (example) await stopExample(example.child);
    await upstream?.close();
  });
  beforeEach(() => {
    upstream.reset();
    key = `sk-caller-${randomUUID()}`;
  });

  const client = () => new OpenAI({ apiKey: 'app-token', baseURL: `${example.url}/v1`, maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': key } });

  it('answers the openai SDK, whole and streamed, with the caller key upstream and the tier resolved', async () => {
    const whole = await client().chat.completions.create({ model: 'general', messages: [{ role: 'user', content: 'whole' }] });
    expect(whole.choices[0]?.message.content).toBe('echo: whole');
    const stream = await client().chat.completions.create({ model: 'expert', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'in parts' }] });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      chunks++;
    }
    expect(text).toBe('echo: in parts');
    expect(chunks).toBeGreaterThan(2);
    const calls = upstream.requests;
    expect(calls.map((request) => (request.json as { model: string }).model)).toEqual(['gpt-5', 'gpt-5-pro']);
    for (const request of calls) {
      expect(request.headers.authorization).toBe(`Bearer ${key}`);
      expect(request.headers['x-llm-api-key']).toBeUndefined();
    }
    const embeddings = await client().embeddings.create({ model: 'embedding', input: 'hi' });
    expect(embeddings.data[0]?.embedding.length).toBeGreaterThan(0);
    const models = await client().models.list();
    expect(models.data.map((model) => model.id)).toEqual(expect.arrayContaining(['general', 'expert', 'embedding']));
  });

  it("streams /api/chat to the seed's request, with the SSE headers and the routing headers", async () => {
    const response = await fetch(`${example.url}/api/chat`, {
      method: 'POST',
      headers: { authorization: 'Bearer app-token', 'x-llm-provider': 'openai', 'x-llm-api-key': key, 'content-type': 'application/json' },
      body: '{"question":"hi","agent":"App","provider":"general"}',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    expect(response.headers.get('x-accel-buffering')).toBe('no');
    expect(response.headers.get('x-llm-served-by')).toBe('openai/gpt-5');
    const received = events(await response.text());
    expect(received.map((event) => event.type).filter((type) => type !== 'reply')).toEqual(['id', 'route', 'costStatistics', 'end']);
    expect(received.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe('echo: hi');
    expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
  });

  it("leaves the body to the core: its own 400 for bad JSON, and a body of any content type read as JSON", async () => {
    const bad = await fetch(`${example.url}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-llm-api-key': key }, body: '{"question":' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ success: false, code: -1, error: { code: 'invalid_request' } });
    const plain = await fetch(`${example.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-llm-api-key': key },
      body: '{"model":"general","messages":[{"role":"user","content":"plain"}]}',
    });
    expect(plain.status).toBe(200);
    expect(((await plain.json()) as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).toBe('echo: plain');
    expect(upstream.requests).toHaveLength(1);
  });

  it('raises an unknown provider in the SDK as its own error class, and calls no upstream', async () => {
    const error = await new OpenAI({ apiKey: 'x', baseURL: `${example.url}/v1`, maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'nope', 'X-LLM-Api-Key': key } }).chat.completions
      .create({ model: 'general', messages: [{ role: 'user', content: 'hi' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('unknown_provider');
    expect(upstream.requests).toHaveLength(0);
  });

  it("gives the app's own route an LLM context: the operator key without a caller key, and LLM errors with their status", async () => {
    const response = await fetch(`${example.url}/summarize${file === 'node-http.mjs' ? '?text=mine' : ''}`, {
      method: file === 'node-http.mjs' ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      ...(file === 'node-http.mjs' ? {} : { body: '{"text":"mine"}' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ summary: 'echo: Summarize: mine', servedBy: 'openai/gpt-5' });
    expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${operatorKey}`);
    const failing = await fetch(`${example.url}/summarize${file === 'node-http.mjs' ? '?text=x' : ''}`, {
      method: file === 'node-http.mjs' ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-provider': 'nope' },
      ...(file === 'node-http.mjs' ? {} : { body: '{"text":"x"}' }),
    });
    expect(failing.status).toBe(400);
    expect(((await failing.json()) as { error: { code: string } }).error.code).toBe('unknown_provider');
  });

  it('serves the WebSocket chat on the same server: one turn, its events, the caller key upstream', async () => {
    const ws = new WebSocket(`${example.url.replace('http', 'ws')}/api/chat`, { headers: { 'x-llm-provider': 'openai', 'x-llm-api-key': key } });
    const received: Array<{ type: string; content?: unknown; finish_reason?: string }> = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => ws.send(JSON.stringify({ question: 'over a socket' })));
      ws.on('message', (data) => {
        const event = JSON.parse(String(data)) as { type: string; content?: unknown; finish_reason?: string };
        received.push(event);
        if (event.type === 'end') resolve();
      });
    });
    ws.close();
    expect(received.map((event) => event.type).filter((type) => type !== 'reply')).toEqual(['id', 'route', 'costStatistics', 'end']);
    expect(received.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe('echo: over a socket');
    expect(received.at(-1)?.finish_reason).toBe('stop');
    expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
  });

  it('aborts the upstream call within a second when the client leaves mid-stream', async () => {
    upstream.enqueue(behaviors.stallMidStream(1, ['first']));
    const controller = new AbortController();
    const response = await fetch(`${example.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llm-api-key': key },
      body: '{"model":"general","stream":true,"messages":[{"role":"user","content":"stall"}]}',
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let seen = '';
    while (!seen.includes('"first"')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += new TextDecoder().decode(value);
    }
    expect(seen).toContain('"first"');
    expect(upstream.openConnections).toBe(1);
    controller.abort();
    await upstream.waitForOpenConnections(0, 1000);
    expect(upstream.lastRequest()?.aborted).toBe(true);
  });

  it('shuts down on SIGTERM: the server and the router closed, nothing left to keep the process up', async () => {
    expect(await stopExample(example.child)).toBe(0);
  });
});
