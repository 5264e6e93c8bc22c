import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SwitchyardError } from '../errors.js';
import { type ConnectTarget, createDispatcher, type UpstreamDispatcher } from './dispatcher.js';

const TIMEOUTS = { connectMs: 2000, firstByteMs: 2000, idleMs: 2000, totalMs: 5000 };

/** A resolver scripted per name: each lookup of a name takes the next answer (the last one repeats). */
function scriptedLookup(script: Record<string, string[][]>) {
  const calls: string[] = [];
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (error: Error | null, result: LookupAddress[] | string, family?: number) => void) => {
    calls.push(hostname);
    const answers = script[hostname];
    if (!answers) {
      callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
      return;
    }
    const seen = calls.filter((name) => name === hostname).length;
    const answer = (answers[Math.min(seen, answers.length) - 1] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    if (options.all) callback(null, answer);
    else callback(null, answer[0]?.address ?? '', answer[0]?.family);
  }) as unknown as LookupFunction;
  return { lookup, calls };
}

async function failure(promise: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await promise;
  } catch (error) {
    if (SwitchyardError.isInstance(error)) return error;
    throw new Error(`expected a SwitchyardError, got ${String(error)}`, { cause: error });
  }
  throw new Error('expected the request to fail');
}

let upstream: TestUpstream;
let dispatcher: UpstreamDispatcher | undefined;

beforeAll(async () => {
  upstream = await startTestUpstream();
});
afterEach(async () => {
  await dispatcher?.close();
  dispatcher = undefined;
  upstream.reset();
});
afterAll(async () => {
  await upstream.close();
});

function post(url: string, callerChosen = true) {
  return dispatcher!.request({ url, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model":"m","messages":[]}', callerChosen, timeouts: TIMEOUTS });
}

describe('createDispatcher: caller-chosen origins', () => {
  it('refuses a name that resolves to a private address, with one lookup and no connection', async () => {
    const { lookup, calls } = scriptedLookup({ 'relay.test': [['127.0.0.1']] });
    dispatcher = createDispatcher({ lookup });
    const error = await failure(post(`https://relay.test:${upstream.port}/v1/chat/completions`));
    expect(error.code).toBe('base_url_forbidden');
    expect(error.status).toBe(400);
    expect(calls).toEqual(['relay.test']);
    expect(upstream.totalConnections).toBe(0);
  });

  it('refuses a name when any one of its addresses is private', async () => {
    const { lookup } = scriptedLookup({ 'mixed.test': [['93.184.216.34', '10.0.0.7']] });
    dispatcher = createDispatcher({ lookup });
    const seen: ConnectTarget[] = [];
    dispatcher.onConnect((target) => seen.push(target));
    expect((await failure(post('https://mixed.test/v1/chat/completions'))).code).toBe('base_url_forbidden');
    expect(seen).toEqual([]);
  });

  it('pins each connection to the addresses it checked: a rebinding answer is never consulted for that connection', async () => {
    const { lookup, calls } = scriptedLookup({ 'rebind.test': [['93.184.216.34'], ['127.0.0.1']] });
    dispatcher = createDispatcher({ lookup });
    const seen: ConnectTarget[] = [];
    // The hook sees the target after the check and before the socket connects; refusing here sends no packet.
    dispatcher.onConnect((target) => {
      seen.push(target);
      throw new SwitchyardError('provider_unreachable', 'test: no packets leave loopback');
    });
    const first = await failure(post('https://rebind.test/v1/chat/completions'));
    expect(first.code).toBe('provider_unreachable');
    expect(seen).toEqual([{ hostname: 'rebind.test', port: 443, addresses: [{ address: '93.184.216.34', family: 4 }] }]);
    expect(calls).toEqual(['rebind.test']);
    // The next connection resolves again, and the rebound answer is checked like the first.
    const second = await failure(post('https://rebind.test/v1/chat/completions'));
    expect(second.code).toBe('base_url_forbidden');
    expect(calls).toEqual(['rebind.test', 'rebind.test']);
    expect(seen).toHaveLength(1);
  });

  it('checks IP literals that the socket would connect to without a lookup', async () => {
    const { lookup, calls } = scriptedLookup({});
    dispatcher = createDispatcher({ lookup });
    const seen: ConnectTarget[] = [];
    dispatcher.onConnect((target) => {
      seen.push(target);
      throw new SwitchyardError('provider_unreachable', 'test: no packets leave loopback');
    });
    expect((await failure(post(`https://127.0.0.1:${upstream.port}/v1`))).code).toBe('base_url_forbidden');
    expect((await failure(post('https://[::ffff:127.0.0.1]/v1'))).code).toBe('base_url_forbidden');
    // A public literal passes the policy and reaches the hook, which keeps this test on loopback.
    expect((await failure(post('https://8.8.8.8/v1'))).code).toBe('provider_unreachable');
    expect(seen.map((target) => target.addresses[0]?.address)).toEqual(['8.8.8.8']);
    expect(calls).toEqual([]);
    expect(upstream.totalConnections).toBe(0);
  });

  it('also guards the checked agent itself, for code that bypasses request()', async () => {
    dispatcher = createDispatcher({});
    const error = await dispatcher.callerAgent
      .request({ origin: `https://127.0.0.1:${upstream.port}`, path: '/v1/models', method: 'GET' })
      .then(() => undefined, (e: unknown) => e);
    expect(SwitchyardError.isInstance(error) && error.code).toBe('base_url_forbidden');
    const http = await dispatcher.callerAgent.request({ origin: upstream.origin, path: '/v1/models', method: 'GET' }).then(() => undefined, (e: unknown) => e);
    expect(SwitchyardError.isInstance(http) && http.code).toBe('base_url_forbidden');
    expect(upstream.totalConnections).toBe(0);
  });

  it('serves an allowlisted relay (http on loopback) and refuses its redirects without following them', async () => {
    const other = await startTestUpstream();
    try {
      dispatcher = createDispatcher({ allowedBaseUrls: [upstream.url] });
      const ok = await post(`${upstream.url}/chat/completions`);
      expect(ok.status).toBe(200);
      await ok.body.resume();
      upstream.enqueue({ type: 'status', status: 302, headers: { location: `${other.url}/chat/completions` }, body: '' });
      const error = await failure(post(`${upstream.url}/chat/completions`));
      expect(error.code).toBe('base_url_forbidden');
      expect(error.hint).toContain('redirect');
      expect(other.totalConnections).toBe(0);
      // Not allowlisted: the other relay is refused outright.
      expect((await failure(post(`${other.url}/chat/completions`))).code).toBe('base_url_forbidden');
      expect(other.totalConnections).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('applies the same policy to fetch (the openai SDK path), redirects included', async () => {
    dispatcher = createDispatcher({ allowedBaseUrls: [upstream.url] });
    const refused = await dispatcher.fetch(`https://0x7f.0.0.1:${upstream.port}/v1/models`, undefined, { callerChosen: true }).then(() => undefined, (e: unknown) => e);
    expect(SwitchyardError.isInstance(refused) && refused.code).toBe('base_url_forbidden');
    expect(upstream.totalConnections).toBe(0);
    upstream.onModels({ type: 'status', status: 307, headers: { location: 'http://169.254.169.254/latest/meta-data/' }, body: '' });
    const redirected = await dispatcher.fetch(`${upstream.url}/models`, undefined, { callerChosen: true }).then(() => undefined, (e: unknown) => e);
    expect(SwitchyardError.isInstance(redirected) && redirected.code).toBe('base_url_forbidden');
    expect(upstream.requests).toHaveLength(1);
  });
});

describe('createDispatcher: operator origins', () => {
  it('uses the injected lookup without the caller policy, and bounds the first byte', async () => {
    const { lookup, calls } = scriptedLookup({ 'provider.test': [['127.0.0.1']] });
    dispatcher = createDispatcher({ lookup });
    const response = await post(`http://provider.test:${upstream.port}/v1/chat/completions`, false);
    expect(response.status).toBe(200);
    await response.body.resume();
    expect(calls).toEqual(['provider.test']);
    upstream.enqueue({ type: 'stallBeforeFirstByte' });
    const stalled = await dispatcher
      .request({ url: `${upstream.url}/chat/completions`, method: 'POST', headers: {}, body: '{}', callerChosen: false, timeouts: { ...TIMEOUTS, firstByteMs: 200 } })
      .then(() => undefined, (e: unknown) => e);
    expect((stalled as { code?: string }).code).toBe('UND_ERR_HEADERS_TIMEOUT');
  });
});
