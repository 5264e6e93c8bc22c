import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard, toSwitchyardError, type Switchyard } from '@switchyard/core';
import { switchyard as expressSwitchyard } from '@switchyard/express';
import { startTestUpstream, type RecordedRequest, type TestUpstream } from '@switchyard/testkit';
import { createDemo, type Demo } from '../../apps/demo/src/demo.js';
import { ChatSocket, replyText } from '../integration/ws-client.js';
import { type Adapters, errorCode, newKey, send, shut, startAdapters, trackUpgrades } from './support.js';

/** Every header value and the body of every request an upstream received, as one searchable text. */
function everything(upstream: TestUpstream): string {
  return upstream.requests.map((request: RecordedRequest) => `${request.url}\n${JSON.stringify(request.headers)}\n${request.body}`).join('\n');
}

const CHAT = JSON.stringify({ model: 'general', messages: [{ role: 'user', content: 'hello' }] });
const MESSAGES = JSON.stringify({ model: 'general', max_tokens: 32, messages: [{ role: 'user', content: 'hello' }] });
const json = { 'content-type': 'application/json' };

describe('key isolation (SPEC §2, §6)', () => {
  let operatorUpstream: TestUpstream;
  let geminiUpstream: TestUpstream;
  let callerRelay: TestUpstream;
  let instance: Switchyard;
  let adapters: Adapters;
  let sdkServer: Server;
  let sdkBase: string;
  const operatorKey = newKey('operator');
  const geminiKey = newKey('gemini-operator');

  beforeAll(async () => {
    [operatorUpstream, geminiUpstream, callerRelay] = await Promise.all([startTestUpstream(), startTestUpstream(), startTestUpstream()]);
    instance = createSwitchyard({
      providers: {
        openai: { baseUrl: operatorUpstream.url, apiKey: operatorKey },
        gemini: { baseUrl: geminiUpstream.url, apiKey: geminiKey },
      },
      allowedBaseUrls: [callerRelay.url],
      failover: ['gemini'],
    });
    adapters = await startAdapters(instance);
    // A route of the app's own that calls the provider with the official SDK client from req.llm.openai().
    const app = express();
    app.use(expressSwitchyard(instance));
    app.post('/sdk', express.json(), async (req, res) => {
      try {
        const completion = await req.llm.openai().chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'via sdk' }] });
        res.json({ text: completion.choices[0]?.message.content });
      } catch (error) {
        const normalized = toSwitchyardError(error);
        res.status(normalized.status).json({ error: { code: normalized.code, message: normalized.message } });
      }
    });
    sdkServer = createServer(app);
    await new Promise<void>((resolve) => sdkServer.listen(0, '127.0.0.1', resolve));
    sdkBase = `http://127.0.0.1:${(sdkServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    sdkServer.closeAllConnections();
    await new Promise((resolve) => sdkServer.close(resolve));
    await adapters.close();
    await instance.close();
    await Promise.all([operatorUpstream.close(), geminiUpstream.close(), callerRelay.close()]);
  });

  it.each(['express', 'koa'] as const)('%s: the operator key never goes to a caller-chosen URL, allowlisted or not', async (adapter) => {
    callerRelay.reset();
    const base = adapters[adapter];
    // No caller key: refused before anything is sent.
    const refused = await send(base, '/v1/chat/completions', { headers: { ...json, 'x-llm-provider': 'openai', 'x-llm-base-url': callerRelay.url }, body: CHAT });
    expect(refused.status).toBe(400);
    expect(errorCode(refused)).toBe('missing_api_key');
    expect(callerRelay.requests).toHaveLength(0);
    // With a caller key the relay gets that key and nothing of the operator's, even when the relay fails over.
    const callerKey = newKey();
    callerRelay.enqueue({ type: 'status', status: 503, body: { error: { message: 'down', type: 'server_error' } } });
    await send(base, '/v1/chat/completions', { headers: { ...json, 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey, 'x-llm-base-url': callerRelay.url }, body: CHAT });
    const ok = await send(base, '/v1/chat/completions', { headers: { ...json, 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey, 'x-llm-base-url': callerRelay.url }, body: CHAT });
    expect(ok.status).toBe(200);
    expect(callerRelay.lastRequest()?.headers.authorization).toBe(`Bearer ${callerKey}`);
    expect(everything(callerRelay)).not.toContain(operatorKey);
    expect(everything(callerRelay)).not.toContain(geminiKey);
    expect(everything(geminiUpstream)).not.toContain(callerKey);
  });

  it.each(['express', 'koa'] as const)('%s: a caller key never reaches another provider, even when its own provider fails', async (adapter) => {
    // Its own instance: the failures below open the openai circuit, which must not leak into the other tests.
    const [own, other] = await Promise.all([startTestUpstream(), startTestUpstream()]);
    const isolated = createSwitchyard({
      providers: { openai: { baseUrl: own.url, apiKey: operatorKey }, gemini: { baseUrl: other.url, apiKey: geminiKey } },
      failover: ['gemini'],
    });
    const servers = await startAdapters(isolated);
    try {
      const callerKey = newKey();
      own.setDefault({ type: 'status', status: 503, body: { error: { message: 'overloaded', type: 'server_error' } } });
      const response = await send(servers[adapter], '/v1/chat/completions', { headers: { ...json, 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey }, body: CHAT });
      expect(response.text).not.toContain(callerKey);
      expect(own.requests.length).toBeGreaterThan(0);
      for (const request of own.requests) expect(request.headers.authorization).toBe(`Bearer ${callerKey}`);
      // Failover may take the request to gemini, with the operator's gemini key only.
      for (const request of other.requests) expect(request.headers.authorization).toBe(`Bearer ${geminiKey}`);
      expect(everything(other)).not.toContain(callerKey);
      // And the other way round: a caller's gemini key never reaches openai.
      own.reset();
      const geminiCaller = newKey('gemini-caller');
      await send(servers[adapter], '/v1/chat/completions', { headers: { ...json, 'x-llm-provider': 'gemini', 'x-llm-api-key': geminiCaller }, body: CHAT });
      expect(other.lastRequest()?.headers.authorization).toBe(`Bearer ${geminiCaller}`);
      expect(everything(own)).not.toContain(geminiCaller);
    } finally {
      await servers.close();
      await isolated.close();
      await Promise.all([own.close(), other.close()]);
    }
  });

  it.each(['express', 'koa'] as const)('%s: inbound Authorization, Cookie and X-LLM-* headers are never forwarded upstream', async (adapter) => {
    operatorUpstream.reset();
    const callerKey = newKey();
    const appToken = newKey('app-token');
    const response = await send(adapters[adapter], '/v1/chat/completions', {
      headers: {
        ...json,
        authorization: `Bearer ${appToken}`,
        cookie: `session=${appToken}`,
        'x-llm-provider': 'openai',
        'x-llm-api-key': callerKey,
        'x-llm-extra': 'x',
        'x-forwarded-for': '10.0.0.1',
        'x-api-key': appToken,
        'api-key': appToken,
        'proxy-authorization': `Basic ${appToken}`,
        'user-agent': 'hostile/1.0',
      },
      body: CHAT,
    });
    expect(response.status).toBe(200);
    const received = operatorUpstream.lastRequest()!;
    const allowed = new Set(['host', 'connection', 'content-type', 'content-length', 'accept', 'authorization', 'transfer-encoding']);
    expect(Object.keys(received.headers).filter((name) => !allowed.has(name))).toEqual([]);
    expect(received.headers.authorization).toBe(`Bearer ${callerKey}`);
    expect(everything(operatorUpstream)).not.toContain(appToken);
  });

  it('req.llm.openai(): the SDK client goes through the same policy for a caller-chosen base URL', async () => {
    callerRelay.reset();
    const callerKey = newKey();
    const hostile = await send(sdkBase, '/sdk', {
      headers: { ...json, 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey, 'x-llm-base-url': `https://0x7f.0.0.1:${operatorUpstream.port}/v1` },
      body: '{}',
    });
    expect(hostile.status).toBe(400);
    expect(errorCode(hostile)).toBe('base_url_forbidden');
    callerRelay.enqueue({ type: 'status', status: 302, headers: { location: `${operatorUpstream.url}/chat/completions` }, body: '' });
    operatorUpstream.reset();
    const redirected = await send(sdkBase, '/sdk', { headers: { ...json, 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey, 'x-llm-base-url': callerRelay.url }, body: '{}' });
    expect(errorCode(redirected)).toBe('base_url_forbidden');
    expect(operatorUpstream.totalConnections).toBe(0);
    const ok = await send(sdkBase, '/sdk', { headers: { ...json, 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey, 'x-llm-base-url': callerRelay.url }, body: '{}' });
    expect(JSON.parse(ok.text)).toEqual({ text: 'echo: via sdk' });
    expect(callerRelay.lastRequest()?.headers.authorization).toBe(`Bearer ${callerKey}`);
    expect(everything(callerRelay)).not.toContain(operatorKey);
  });
});

describe('key isolation for keys in the WebSocket query (llm_* with queryCredentials)', () => {
  let own: TestUpstream;
  let other: TestUpstream;
  let relay: TestUpstream;
  let instance: Switchyard;
  let adapters: Adapters;
  const operatorKey = newKey('operator');
  const geminiKey = newKey('gemini-operator');
  const sockets: ChatSocket[] = [];

  async function ask(url: string, body: unknown, headers: Record<string, string> = {}) {
    const socket = await ChatSocket.open(url, { headers });
    sockets.push(socket);
    return socket.ask(body);
  }

  beforeAll(async () => {
    [own, other, relay] = await Promise.all([startTestUpstream(), startTestUpstream(), startTestUpstream()]);
    instance = createSwitchyard({
      providers: { openai: { baseUrl: own.url, apiKey: operatorKey }, gemini: { baseUrl: other.url, apiKey: geminiKey } },
      allowedBaseUrls: [relay.url],
      failover: ['gemini'],
      queryCredentials: true,
      retries: { max: 0 },
    });
    adapters = await startAdapters(instance);
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await adapters.close();
    await instance.close();
    await Promise.all([own.close(), other.close(), relay.close()]);
  });

  it.each(['express', 'koa'] as const)('%s: a query key goes to its own provider only, never to a failover provider', async (adapter) => {
    own.reset();
    other.reset();
    const key = newKey();
    const url = `${adapters.ws[adapter]}?llm_provider=openai&llm_api_key=${key}`;
    expect(replyText(await ask(url, { question: 'own' }))).toBe('echo: own');
    expect(own.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
    // Its provider failing: failover may take the turn to gemini, with the operator's gemini key and nothing of the caller's.
    own.enqueue({ type: 'status', status: 503, body: { error: { message: 'overloaded', type: 'server_error' } } });
    const events = await ask(url, { question: 'failing' });
    expect(JSON.stringify(events)).not.toContain(key);
    for (const request of other.requests) expect(request.headers.authorization).toBe(`Bearer ${geminiKey}`);
    expect(everything(other)).not.toContain(key);
    expect(everything(relay)).not.toContain(key);
  });

  it.each(['express', 'koa'] as const)('%s: llm_base_url takes the query key only; the operator key never goes to it', async (adapter) => {
    relay.reset();
    const key = newKey();
    const refused = await ask(`${adapters.ws[adapter]}?llm_provider=openai&llm_base_url=${encodeURIComponent(relay.url)}`, { question: 'no key' });
    expect(refused).toEqual([
      { type: 'error', content: expect.any(String), code: 'missing_api_key', hint: expect.stringContaining('never sent to a caller-chosen URL') },
      { type: 'end', content: '', finish_reason: 'error' },
    ]);
    expect(relay.requests).toHaveLength(0);
    const relayed = await ask(`${adapters.ws[adapter]}?llm_provider=openai&llm_api_key=${key}&llm_base_url=${encodeURIComponent(relay.url)}`, { question: 'relayed' });
    expect(replyText(relayed)).toBe('echo: relayed');
    expect(relay.lastRequest()?.headers.authorization).toBe(`Bearer ${key}`);
    expect(everything(relay)).not.toContain(operatorKey);
    const forbidden = await ask(`${adapters.ws[adapter]}?llm_api_key=${key}&llm_base_url=${encodeURIComponent(`https://0x7f.1:${own.port}/v1`)}`, { question: 'hostile' });
    expect(forbidden[0]).toMatchObject({ type: 'error', code: 'base_url_forbidden' });
    expect(JSON.stringify(forbidden)).not.toContain(key);
  });

  it.each(['express', 'koa'] as const)('%s: the llm_* query is read on upgrades only: a POST carrying it uses the operator key', async (adapter) => {
    own.reset();
    const key = newKey();
    const response = await send(adapters[adapter], `/api/chat?llm_provider=gemini&llm_api_key=${key}`, { headers: json, body: JSON.stringify({ question: 'post' }) });
    expect(response.status).toBe(200);
    expect(own.lastRequest()?.headers.authorization).toBe(`Bearer ${operatorKey}`);
    expect(everything(own) + everything(other)).not.toContain(key);
  });

  it.each(['express', 'koa'] as const)('%s: without queryCredentials the query is ignored and its key goes nowhere', async (adapter) => {
    const [upstream] = await Promise.all([startTestUpstream()]);
    const closed = createSwitchyard({ providers: { openai: { baseUrl: upstream.url, apiKey: operatorKey } } });
    const servers = await startAdapters(closed);
    try {
      const key = newKey();
      const events = await ask(`${servers.ws[adapter]}?llm_provider=openai&llm_api_key=${key}`, { question: 'ignored' });
      expect(replyText(events)).toBe('echo: ignored');
      expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${operatorKey}`);
      expect(everything(upstream)).not.toContain(key);
    } finally {
      await Promise.all(sockets.splice(0).map((socket) => socket.close()));
      await servers.close();
      await closed.close();
      await upstream.close();
    }
  });
});

describe('no key in any log line or response body (the demo logger, captured)', () => {
  let demo: Demo;
  let upstream: TestUpstream;
  let relay: TestUpstream;
  let servers: Server[];
  let bases: string[];
  const lines: string[] = [];
  const operatorKey = newKey('operator');

  beforeAll(async () => {
    [upstream, relay] = await Promise.all([startTestUpstream(), startTestUpstream()]);
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    demo = await createDemo({
      env: { OPENAI_API_KEY: operatorKey, OPENAI_BASE_URL: upstream.url, SWITCHYARD_ALLOWED_BASE_URLS: relay.url, LOG_LEVEL: 'info' },
      logDestination: destination,
    });
    servers = [createServer(demo.expressApp), createServer(demo.koaApp.callback())];
    for (const server of servers) {
      demo.attach(server);
      trackUpgrades(server);
    }
    bases = await Promise.all(
      servers.map(async (server) => {
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      }),
    );
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => shut(server)));
    await demo.close();
    await Promise.all([upstream.close(), relay.close()]);
  });

  it('runs successes, every error kind and hostile URLs through both apps; no key in the logs or the bodies', async () => {
    const keys = [operatorKey];
    const bodies: string[] = [];
    for (const base of bases) {
      const callerKey = newKey();
      keys.push(callerKey);
      const caller = { ...json, 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey };
      const anthropicCaller = { ...json, 'x-llm-provider': 'openai', 'x-api-key': callerKey, 'anthropic-version': '2023-06-01' };
      const echoKey = (status: number, code: string) => ({
        type: 'status' as const,
        status,
        body: { error: { message: `Incorrect API key provided: ${callerKey}. Bearer ${callerKey} api_key=${callerKey}`, type: 'invalid_request_error', code } },
      });
      const calls: Array<{ path: string; headers?: Record<string, string>; body?: string; method?: string; script?: Parameters<TestUpstream['enqueue']>[0]; on?: TestUpstream }> = [
        { path: '/v1/chat/completions', body: CHAT },
        { path: '/v1/chat/completions', body: JSON.stringify({ model: 'general', stream: true, messages: [{ role: 'user', content: 'hi' }] }) },
        { path: '/api/chat', body: JSON.stringify({ question: 'hi' }) },
        { path: '/v1/embeddings', body: JSON.stringify({ input: 'hi' }) },
        { path: '/v1/models', method: 'GET' },
        { path: '/api/providers', method: 'GET' },
        { path: '/v1/chat/completions', headers: caller, body: CHAT },
        { path: '/v1/chat/completions', headers: { ...caller, 'x-llm-base-url': relay.url }, body: CHAT, on: relay },
        { path: '/v1/chat/completions', headers: caller, body: CHAT, script: echoKey(401, 'invalid_api_key') },
        { path: '/api/chat', headers: caller, body: JSON.stringify({ question: 'hi' }), script: echoKey(401, 'invalid_api_key') },
        { path: '/v1/chat/completions', headers: caller, body: CHAT, script: echoKey(400, 'invalid_request_error') },
        { path: '/v1/chat/completions', headers: caller, body: CHAT, script: { type: 'error', provider: 'openai', code: 'insufficient_quota' } },
        { path: '/v1/chat/completions', headers: caller, body: CHAT, script: { type: 'regionBlock' } },
        { path: '/v1/chat/completions', headers: caller, body: CHAT, script: { type: 'error', provider: 'openai', code: 'model_not_found' } },
        { path: '/v1/chat/completions', headers: caller, body: CHAT, script: { type: 'garbage' } },
        { path: '/v1/chat/completions', headers: caller, body: JSON.stringify({ model: 'general', stream: true, messages: [{ role: 'user', content: 'hi' }] }), script: { type: 'cutMidStream', afterChunks: 1 } },
        // Anthropic Messages: the SDK's x-api-key as the caller key, translated to the chat upstream, errors echoing it.
        { path: '/v1/messages', headers: anthropicCaller, body: MESSAGES },
        { path: '/v1/messages', headers: anthropicCaller, body: JSON.stringify({ model: 'general', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }) },
        { path: '/v1/messages', headers: anthropicCaller, body: MESSAGES, script: echoKey(401, 'invalid_api_key') },
        { path: '/v1/messages', headers: anthropicCaller, body: JSON.stringify({ model: 'general', max_tokens: 16, stream: true, messages: [{ role: 'user', content: 'hi' }] }), script: { type: 'cutMidStream', afterChunks: 1 } },
        { path: '/v1/messages', headers: { ...anthropicCaller, 'x-llm-base-url': relay.url }, body: MESSAGES, on: relay },
        { path: '/v1/messages', headers: { ...anthropicCaller, 'x-llm-base-url': `https://10.0.0.1/v1?key=${callerKey}` }, body: MESSAGES },
        { path: '/v1/messages/count_tokens', headers: anthropicCaller, body: JSON.stringify({ model: 'general', messages: [{ role: 'user', content: 'hi' }] }) },
        { path: '/v1/messages', headers: anthropicCaller, body: '{"max_tokens":' },
        { path: '/v1/chat/completions', headers: { ...caller, 'x-llm-base-url': `https://0x7f.1:${upstream.port}/v1` }, body: CHAT },
        { path: '/v1/chat/completions', headers: { ...caller, 'x-llm-base-url': `https://${callerKey}@127.0.0.1/v1` }, body: CHAT },
        { path: '/v1/chat/completions', headers: { ...caller, 'x-llm-base-url': `${relay.url}?llm_api_key=${callerKey}` }, body: CHAT, on: relay },
        { path: '/v1/chat/completions', headers: { ...caller, 'x-llm-base-url': `https://10.0.0.1/v1?llm_api_key=${callerKey}` }, body: CHAT },
        { path: '/v1/chat/completions', headers: { ...json, 'x-llm-base-url': relay.url }, body: CHAT },
        { path: '/v1/chat/completions', headers: { ...caller, 'x-llm-provider': 'nope' }, body: CHAT },
        { path: '/v1/chat/completions', headers: { ...caller, 'x-llm-api-key': `${callerKey}${'x'.repeat(1100)}` }, body: CHAT },
        { path: '/v1/chat/completions', headers: caller, body: '{"model":' },
        { path: '/api/chat', headers: caller, body: JSON.stringify({ question: '' }) },
      ];
      for (const call of calls) {
        if (call.script) (call.on ?? upstream).enqueue(call.script);
        const response = await send(base, call.path, { method: call.method ?? 'POST', headers: call.headers ?? json, ...(call.body === undefined ? {} : { body: call.body }) });
        expect(response.status, `${call.path} ${response.text}`).toBeLessThan(600);
        bodies.push(response.text);
      }
      // A caller who types the key where a model name goes: the upstream echoes it back (the caller's own doing), but the log line masks it.
      await send(base, '/v1/chat/completions', { headers: caller, body: JSON.stringify({ model: callerKey, messages: [{ role: 'user', content: 'hi' }] }) });
      await send(base, '/v1/messages', { headers: anthropicCaller, body: JSON.stringify({ model: callerKey, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }) });

      // The WebSocket chat with the key in the query (the demo reads llm_*): turns that succeed, fail, are refused.
      const socketKey = newKey('socket');
      keys.push(socketKey);
      const ws = `${base.replace(/^http/, 'ws')}/api/chat`;
      const socket = await ChatSocket.open(`${ws}?llm_provider=openai&llm_api_key=${socketKey}`);
      const answered = await socket.ask({ question: 'over the socket' });
      expect(replyText(answered)).toBe('echo: over the socket');
      upstream.enqueue({ type: 'status', status: 401, body: { error: { message: `Incorrect API key provided: ${socketKey}.`, type: 'invalid_request_error', code: 'invalid_api_key' } } });
      const refusedUpstream = await socket.ask({ question: 'refused upstream' });
      expect(refusedUpstream.find((event) => event.type === 'error')).toMatchObject({ code: 'invalid_api_key' });
      // Typed as a model name, the key comes back to its own caller in the route event: logged masked, not counted as a leak.
      await socket.ask({ question: 'typed', provider: socketKey });
      const badJson = await socket.ask('{"question":');
      bodies.push(JSON.stringify([...answered, ...refusedUpstream, ...badJson]));
      await socket.close();
      const hostile = await ChatSocket.open(`${ws}?llm_api_key=${socketKey}&llm_base_url=${encodeURIComponent(`https://10.0.0.1/v1?llm_api_key=${socketKey}`)}`);
      bodies.push(JSON.stringify(await hostile.ask({ question: 'hostile relay' })));
      await hostile.close();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.length).toBeGreaterThanOrEqual(bodies.length);
    for (const line of lines) JSON.parse(line);
    const bodyText = bodies.join('\n');
    const logText = lines.join('\n');
    for (const key of keys) {
      expect(logText).not.toContain(key);
      expect(bodyText).not.toContain(key);
      // Not even the distinctive tail of a key.
      expect(logText).not.toContain(key.slice(-12));
      expect(bodyText).not.toContain(key.slice(-12));
    }
    // Anything else logged through the demo logger: credential headers by path, key-shaped strings anywhere.
    const before = lines.length;
    demo.logger.info({ req: { headers: { authorization: `Bearer ${keys[1]}`, 'x-llm-api-key': keys[1], cookie: `s=${keys[1]}` } }, url: `/ws?llm_api_key=${keys[1]}` }, `failed for ${keys[1]}`);
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.length).toBe(before + 1);
    expect(lines.at(-1)).not.toContain(keys[1]);
    expect(lines.at(-1)).toContain('[redacted]');
    // The capture is real: it holds the per-request lines, errors included.
    expect(logText).toContain('"code":"base_url_forbidden"');
    expect(logText).toContain('"code":"invalid_api_key"');
    expect(logText).toContain('"transport":"websocket"');
  });
});
