import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chat, send, start } from '../test/http.js';
import { behaviors } from './behavior.js';
import { startTestUpstream, type TestUpstream } from './test-upstream.js';

let upstream: TestUpstream;

beforeAll(async () => {
  upstream = await startTestUpstream();
});
afterEach(() => {
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

describe('startTestUpstream', () => {
  it('listens on loopback and names its base URL', () => {
    expect(upstream.port).toBeGreaterThan(0);
    expect(upstream.origin).toBe(`http://127.0.0.1:${upstream.port}`);
    expect(upstream.url).toBe(`http://127.0.0.1:${upstream.port}/v1`);
  });

  it('records method, path, query, headers and body, with the deployment as model on an Azure URL', async () => {
    const response = await send(`${upstream.origin}/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21`, {
      headers: { 'api-key': 'azure-key', Authorization: 'Bearer app-token', 'X-Custom': 'yes' },
      body: { messages: [{ role: 'user', content: 'hi' }] },
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.text)).toMatchObject({ model: 'my-gpt', object: 'chat.completion' });

    const recorded = upstream.lastRequest();
    expect(recorded).toMatchObject({
      id: 'req_' + recorded?.id.slice(4),
      method: 'POST',
      path: '/openai/deployments/my-gpt/chat/completions',
      url: '/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21',
      query: { 'api-version': '2024-10-21' },
      json: { messages: [{ role: 'user', content: 'hi' }] },
      aborted: false,
    });
    expect(recorded?.headers['api-key']).toBe('azure-key');
    expect(recorded?.headers.authorization).toBe('Bearer app-token');
    expect(recorded?.headers['x-custom']).toBe('yes');
    expect(recorded?.body).toBe('{"messages":[{"role":"user","content":"hi"}]}');
    expect(response.headers['x-request-id']).toBe(recorded?.id);
  });

  it('serves chat completions under any prefix', async () => {
    for (const prefix of ['/v1', '/compatible-mode/v1', '/api/v3', '/v1beta/openai', '']) {
      const response = await send(`${upstream.origin}${prefix}/chat/completions`, { body: chat('ping') });
      expect(response.status, prefix).toBe(200);
      expect(JSON.parse(response.text).choices[0].message.content).toBe('echo: ping');
    }
    expect(upstream.requests.map((request) => request.path)).toEqual([
      '/v1/chat/completions',
      '/compatible-mode/v1/chat/completions',
      '/api/v3/chat/completions',
      '/v1beta/openai/chat/completions',
      '/chat/completions',
    ]);
  });

  it("answers unknown paths and wrong methods with OpenAI's 404 envelope, without consuming the queue", async () => {
    upstream.enqueue(behaviors.status(418));
    const unknown = await send(`${upstream.url}/completions`, { body: {} });
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(unknown.text).toBe(
      '{\n    "error": {\n        "message": "Invalid URL (POST /v1/completions)",\n        "type": "invalid_request_error",\n        "param": null,\n        "code": null\n    }\n}\n',
    );
    const wrongMethod = await send(`${upstream.url}/chat/completions`);
    expect(wrongMethod.status).toBe(404);
    expect(JSON.parse(wrongMethod.text).error.message).toBe('Invalid URL (GET /v1/chat/completions)');
    expect((await send(`${upstream.url}/chat/completions`, { body: chat('x') })).status).toBe(418);
  });

  it('numbers x-request-id per request, on every answer', async () => {
    const first = await send(`${upstream.url}/models`);
    const second = await send(`${upstream.url}/nowhere`);
    const firstNumber = Number(String(first.headers['x-request-id']).replace('req_', ''));
    expect(first.headers['x-request-id']).toMatch(/^req_\d+$/);
    expect(second.headers['x-request-id']).toBe(`req_${firstNumber + 1}`);
  });

  it('uses each queued behavior for exactly one chat or embeddings request, in order, then the default', async () => {
    upstream.enqueue(behaviors.status(500), behaviors.status(503)).setDefault(behaviors.status(202));
    expect((await send(`${upstream.url}/models`)).status).toBe(200);
    expect((await send(`${upstream.url}/embeddings`, { body: { model: 'e', input: 'x' } })).status).toBe(500);
    expect((await send(`${upstream.url}/chat/completions`, { body: chat('x') })).status).toBe(503);
    expect((await send(`${upstream.url}/chat/completions`, { body: chat('x') })).status).toBe(202);
    expect((await send(`${upstream.url}/chat/completions`, { body: chat('x') })).status).toBe(202);
  });

  it('takes queued behaviors in arrival order for concurrent requests', async () => {
    upstream.enqueue(behaviors.status(201), behaviors.status(202), behaviors.status(203));
    const responses = await Promise.all([1, 2, 3].map(() => send(`${upstream.url}/chat/completions`, { body: chat('x') })));
    const byId = responses.map((response) => [response.headers['x-request-id'], response.status] as const);
    const expected = upstream.requests.map((request, index) => [request.id, 201 + index] as const);
    expect(byId.sort()).toEqual(expected.sort());
  });

  it('records the endpoint each request hit, undefined for a path it does not serve', async () => {
    await send(`${upstream.url}/chat/completions`, { body: chat('x') });
    await send(`${upstream.url}/embeddings`, { body: { model: 'e', input: 'x' } });
    await send(`${upstream.url}/models`);
    await send(`${upstream.origin}/v1/messages?beta=true`, { body: { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] } });
    await send(`${upstream.origin}/v1/messages/count_tokens`, { body: { model: 'm', messages: [{ role: 'user', content: 'x' }] } });
    await send(`${upstream.url}/responses`, { body: { model: 'm', input: 'x' } });
    await send(`${upstream.url}/completions`, { body: {} });
    await send(`${upstream.url}/responses`);
    expect(upstream.requests.map((request) => request.endpoint)).toEqual(['chat', 'embeddings', 'models', 'messages', 'countTokens', 'responses', undefined, undefined]);
  });

  it('gives queued behaviors to chat, messages and responses requests alike, in order', async () => {
    upstream.enqueue(behaviors.status(201), behaviors.status(202), behaviors.status(203));
    expect((await send(`${upstream.origin}/v1/messages`, { body: {} })).status).toBe(201);
    expect((await send(`${upstream.url}/responses`, { body: {} })).status).toBe(202);
    expect((await send(`${upstream.url}/chat/completions`, { body: chat('x') })).status).toBe(203);
  });

  it('scripts /models separately with onModels', async () => {
    upstream.enqueue(behaviors.status(500));
    upstream.onModels(behaviors.error('openai', 'invalid_api_key'));
    expect((await send(`${upstream.url}/models`)).status).toBe(401);
    expect((await send(`${upstream.url}/models`)).status).toBe(401);
    upstream.onModels(undefined);
    expect((await send(`${upstream.url}/models`)).status).toBe(200);
    expect((await send(`${upstream.url}/chat/completions`, { body: chat('x') })).status).toBe(500);
  });

  it('reset clears the queue, the records and the default', async () => {
    upstream.enqueue(behaviors.status(500)).setDefault(behaviors.status(503));
    await send(`${upstream.url}/models`);
    upstream.reset();
    expect(upstream.requests).toEqual([]);
    expect(upstream.lastRequest()).toBeUndefined();
    expect(upstream.totalConnections).toBe(0);
    expect((await send(`${upstream.url}/chat/completions`, { body: chat('x') })).status).toBe(200);
  });

  it('refuses a behavior it cannot serve when it is enqueued', () => {
    expect(() => upstream.enqueue({ type: 'nope' } as never)).toThrow(/unknown behavior type 'nope'.*echo, stream/);
    expect(() => upstream.enqueue(behaviors.fixture('no-such-file'))).toThrow(/no fixture named 'no-such-file'.*openai-text\.sse\.txt/);
    expect(() => upstream.enqueue(behaviors.stallMidStream(-1))).toThrow(/afterChunks/);
    expect(() => upstream.setDefault(behaviors.status(42))).toThrow(/status/);
  });

  it('counts connections and sees them close', async () => {
    await send(`${upstream.url}/models`);
    await send(`${upstream.url}/models`);
    expect(upstream.totalConnections).toBe(2);
    await upstream.waitForOpenConnections(0);
    expect(upstream.openConnections).toBe(0);
  });

  it('marks a request aborted and counts its connection closed when the client gives up', async () => {
    upstream.enqueue(behaviors.stallBeforeFirstByte());
    const pending = start(`${upstream.url}/chat/completions`, { body: chat('wait') });
    const [request] = await upstream.waitForRequests(1);
    expect(request?.json).toEqual(chat('wait'));
    expect(upstream.openConnections).toBe(1);
    expect(request?.aborted).toBe(false);
    pending.abort();
    await upstream.waitForOpenConnections(0);
    expect(upstream.lastRequest()?.aborted).toBe(true);
  });

  it('rejects waitForOpenConnections after the timeout with the count', async () => {
    upstream.enqueue(behaviors.stallBeforeFirstByte());
    const pending = start(`${upstream.url}/chat/completions`, { body: chat('wait') });
    await upstream.waitForRequests(1);
    await expect(upstream.waitForOpenConnections(0, 20)).rejects.toThrow('testkit: 1 connection(s) still open after 20ms, expected at most 0');
    pending.abort();
    await upstream.waitForOpenConnections(0);
  });
});

describe('close', () => {
  it('resolves promptly with stalled requests, drops their sockets and stops listening', async () => {
    const local = await startTestUpstream();
    local.enqueue(behaviors.stallBeforeFirstByte(), behaviors.stallMidStream(1), behaviors.stream(['a', 'b'], { delayMs: 60_000 }));
    const stalled = send(`${local.url}/chat/completions`, { body: chat('one') }).catch((error: unknown) => error);
    const midStream = send(`${local.url}/chat/completions`, { body: chat('two', { stream: true }) });
    const slow = send(`${local.url}/chat/completions`, { body: chat('three', { stream: true }) });
    await local.waitForRequests(3);

    await local.close();
    expect(local.openConnections).toBe(0);
    expect(await stalled).toBeInstanceOf(Error);
    const cut = await midStream;
    expect(cut.complete).toBe(false);
    expect((await slow).complete).toBe(false);
    // The upstream closed them; the clients did not abort.
    expect(local.requests.map((request) => request.aborted)).toEqual([false, false, false]);
    await expect(send(`${local.url}/models`)).rejects.toThrow(/ECONNREFUSED/);
    await expect(local.waitForRequests(4)).rejects.toThrow('testkit: the upstream was closed');
  });

  it('can be called twice', async () => {
    const local = await startTestUpstream();
    await Promise.all([local.close(), local.close()]);
  });
});
