import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ConnectTarget, createSwitchyard, SwitchyardError, type Switchyard } from '@switchyard/core';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { type Adapters, errorCode, newKey, type RawResponse, scriptedLookup, send, startAdapters, utf8Bytes } from './support.js';

/**
 * SPEC §6: hostile `X-LLM-Base-Url` values, through both adapters over real servers on loopback. Every one is answered
 * 400 `base_url_forbidden`, and the testkit upstream (whose port the loopback forms aim at) sees no connection at all.
 * A connect hook refuses any connection that passed the policy, so even a broken policy sends no packet off loopback.
 */

const PUBLIC = '93.184.216.34';

let upstream: TestUpstream;
let relay: TestUpstream;
let instance: Switchyard;
let adapters: Adapters;
let lookupCalls: string[];
let tripped: ConnectTarget[];
const callerKey = newKey();

beforeAll(async () => {
  upstream = await startTestUpstream();
  relay = await startTestUpstream();
  const { lookup, calls } = scriptedLookup({
    localhost: [['127.0.0.1', '::1']],
    'localhost.': [['127.0.0.1']],
    'private.test': [['10.1.2.3']],
    'loopback.test': [['127.0.0.1']],
    'metadata.test': [['169.254.169.254']],
    'v6private.test': [['fd00::1']],
    'mapped.test': [['::ffff:127.0.0.1']],
    'mixed.test': [[PUBLIC, '192.168.0.10']],
    'mixed6.test': [['2606:4700::1111', 'fe80::1']],
    // Public on the first lookup, then loopback for good (one name per adapter, so each test sees the flip).
    'rebind-express.test': [[PUBLIC], ['127.0.0.1']],
    'rebind-koa.test': [[PUBLIC], ['127.0.0.1']],
  });
  lookupCalls = calls;
  instance = createSwitchyard({ allowedBaseUrls: [relay.url], queryCredentials: true, lookup });
  tripped = [];
  instance.dispatcher.onConnect((target) => {
    tripped.push(target);
    throw new SwitchyardError('provider_unreachable', 'test tripwire: no connection leaves loopback');
  });
  adapters = await startAdapters(instance);
});

beforeEach(() => {
  tripped.length = 0;
});

afterEach(() => {
  expect(upstream.totalConnections, 'the loopback upstream saw a connection').toBe(0);
});

afterAll(async () => {
  await adapters.close();
  await instance.close();
  await Promise.all([upstream.close(), relay.close()]);
});

function hostileRows(port: number): { name: string; url: string; raw?: boolean }[] {
  const P = port;
  return [
    { name: 'loopback, decimal', url: `https://2130706433:${P}/v1` },
    { name: 'loopback, octal', url: `https://0177.0.0.1:${P}/v1` },
    { name: 'loopback, whole octal', url: `https://017700000001:${P}/v1` },
    { name: 'loopback, hex', url: `https://0x7f.0.0.1:${P}/v1` },
    { name: 'loopback, whole hex', url: `https://0x7f000001:${P}/v1` },
    { name: 'loopback, short', url: `https://127.1:${P}/v1` },
    { name: 'loopback, zero-padded', url: `https://127.000.000.001:${P}/v1` },
    { name: 'loopback, dotted', url: `https://127.0.0.1:${P}/v1` },
    { name: 'loopback, other 127/8 address', url: `https://127.8.9.10:${P}/v1` },
    { name: 'IPv6 loopback', url: `https://[::1]:${P}/v1` },
    { name: 'IPv6 loopback, long form', url: `https://[0:0:0:0:0:0:0:1]:${P}/v1` },
    { name: 'IPv4-mapped loopback, dotted', url: `https://[::ffff:127.0.0.1]:${P}/v1` },
    { name: 'IPv4-mapped loopback, hex', url: `https://[::ffff:7f00:1]:${P}/v1` },
    { name: 'NAT64 loopback', url: `https://[64:ff9b::7f00:1]:${P}/v1` },
    { name: 'unspecified 0.0.0.0', url: `https://0.0.0.0:${P}/v1` },
    { name: 'unspecified, short 0', url: `https://0:${P}/v1` },
    { name: 'IPv6 unspecified', url: `https://[::]:${P}/v1` },
    { name: 'cloud metadata 169.254.169.254', url: 'https://169.254.169.254/latest/meta-data/iam/' },
    { name: 'cloud metadata, hex', url: 'https://0xa9fea9fe/latest/meta-data/' },
    { name: 'cloud metadata, IPv6 (AWS)', url: 'https://[fd00:ec2::254]/latest/meta-data/' },
    { name: 'Oracle Cloud metadata 192.0.0.192', url: 'https://192.0.0.192/opc/v2/' },
    { name: 'private 10/8', url: 'https://10.0.0.1/v1' },
    { name: 'private 10/8, odd port', url: 'https://10.255.255.254:8443/v1' },
    { name: 'private 172.16/12', url: 'https://172.16.0.1/v1' },
    { name: 'private 172.16/12, redis port', url: 'https://172.31.255.254:6379/' },
    { name: 'private 192.168/16, ssh port', url: 'https://192.168.1.1:22/' },
    { name: 'CGNAT 100.64/10', url: 'https://100.64.0.1/v1' },
    { name: 'benchmarking 198.18/15', url: 'https://198.18.0.1/v1' },
    { name: 'multicast 224/4', url: 'https://224.0.0.1/v1' },
    { name: 'broadcast', url: 'https://255.255.255.255/v1' },
    { name: 'IPv6 multicast', url: 'https://[ff02::1]/v1' },
    { name: 'IPv6 link-local', url: 'https://[fe80::1]/v1' },
    { name: 'IPv6 unique local', url: 'https://[fc00::1]/v1' },
    { name: 'userinfo trick', url: `https://api.openai.com@127.0.0.1:${P}/v1` },
    { name: 'userinfo with password', url: 'https://user:secret@api.openai.com/v1' },
    { name: 'encoded @ in the host', url: 'https://api.openai.com%40127.0.0.1/v1' },
    { name: 'http to a public name', url: 'http://api.openai.com/v1' },
    { name: 'http to the loopback upstream itself', url: `http://127.0.0.1:${P}/v1` },
    { name: 'http to a private address', url: 'http://10.0.0.1/v1' },
    { name: 'percent-encoded loopback', url: `https://%31%32%37.0.0.1:${P}/v1` },
    { name: 'fullwidth digits (raw UTF-8 bytes)', url: `https://１２７.０.０.１:${P}/v1`, raw: true },
    { name: 'ideographic full stops (raw UTF-8 bytes)', url: `https://127。0。0。1:${P}/v1`, raw: true },
    { name: 'circled letters for localhost (raw UTF-8 bytes)', url: `https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:${P}/v1`, raw: true },
    { name: 'localhost', url: `https://localhost:${P}/v1` },
    { name: 'LOCALHOST, upper case', url: `https://LOCALHOST:${P}/v1` },
    { name: 'localhost with a trailing dot', url: `https://localhost.:${P}/v1` },
    { name: 'a name resolving to 10/8', url: 'https://private.test/v1' },
    { name: 'a name resolving to loopback', url: `https://loopback.test:${P}/v1` },
    { name: 'a name resolving to cloud metadata', url: 'https://metadata.test/latest/meta-data/' },
    { name: 'a name resolving to IPv6 unique local', url: 'https://v6private.test/v1' },
    { name: 'a name resolving to IPv4-mapped loopback', url: 'https://mapped.test/v1' },
    { name: 'a name resolving to one public and one private address', url: 'https://mixed.test/v1' },
    { name: 'a name resolving to public and link-local IPv6', url: 'https://mixed6.test/v1' },
    { name: 'file URL', url: 'file:///etc/passwd' },
    { name: 'javascript URL', url: 'javascript:alert(1)' },
    { name: 'gopher URL', url: `gopher://127.0.0.1:${P}/_` },
    { name: 'not a URL', url: 'relay.example.com/v1' },
    { name: 'loopback, short hex', url: `https://0x7f.1:${P}/v1` },
  ];
}

/** Unicode forms that reach the core decoded: the upgrade-request query (`llm_base_url`), which URL-decodes UTF-8. */
function unicodeQueryRows(port: number): { name: string; url: string }[] {
  return [
    { name: 'fullwidth digits via the query', url: `https://１２７.０.０.１:${port}/v1` },
    { name: 'ideographic full stops via the query', url: `https://127。0。0。1:${port}/v1` },
    { name: 'circled localhost via the query', url: `https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ:${port}/v1` },
    { name: 'fullwidth metadata address via the query', url: 'https://１６９.２５４.１６９.２５４/latest/' },
  ];
}

const CHAT_BODY = JSON.stringify({ model: 'general', messages: [{ role: 'user', content: 'hi' }] });
const MESSAGES_BODY = JSON.stringify({ model: 'general', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });

function expectRefused(response: RawResponse, key: string): void {
  expect(response.status, response.text).toBe(400);
  expect(errorCode(response), response.text).toBe('base_url_forbidden');
  expect(response.text).not.toContain(key);
}

describe.each(['express', 'koa'] as const)('hostile X-LLM-Base-Url through %s', (adapter) => {
  const rows = hostileRows(0);
  it(`has at least 40 hostile base URLs (${rows.length})`, () => {
    expect(rows.length).toBeGreaterThanOrEqual(40);
  });

  it.each(rows.map((row) => row.name))('refuses %s', async (name) => {
    const row = hostileRows(upstream.port).find((candidate) => candidate.name === name)!;
    const base = adapters[adapter];
    const headers = { 'content-type': 'application/json', 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey };
    const value = row.raw ? utf8Bytes(row.url) : row.url;
    expectRefused(await send(base, '/v1/chat/completions', { headers: { ...headers, 'x-llm-base-url': value }, body: CHAT_BODY }), callerKey);
    // Anthropic Messages, with the SDK's own key header and a provider that speaks it natively.
    const anthropic = { 'content-type': 'application/json', 'x-llm-provider': 'anthropic', 'x-api-key': callerKey, 'x-llm-base-url': value };
    const messages = await send(base, '/v1/messages', { headers: anthropic, body: MESSAGES_BODY });
    expectRefused(messages, callerKey);
    expect((JSON.parse(messages.text) as { type: string; error: { type: string } }).error.type).toBe('invalid_request_error');
    const chat = await send(base, '/api/chat', { headers: { ...headers, 'x-llm-base-url': value }, body: JSON.stringify({ question: 'hi' }) });
    expectRefused(chat, callerKey);
    expect((JSON.parse(chat.text) as { code: number }).code).toBe(-7);
    expect(tripped).toEqual([]);
  });

  it.each(unicodeQueryRows(0).map((row) => row.name))('refuses %s', async (name) => {
    const row = unicodeQueryRows(upstream.port).find((candidate) => candidate.name === name)!;
    const query = new URLSearchParams({ llm_provider: 'openai', llm_api_key: callerKey, llm_base_url: row.url });
    const response = await send(adapters[adapter], `/v1/chat/completions?${query}`, { headers: { 'content-type': 'application/json', upgrade: 'websocket' }, body: CHAT_BODY });
    expectRefused(response, callerKey);
    expect(tripped).toEqual([]);
  });

  it('refuses a name that rebinds from public to private: each connection uses only the addresses it checked', async () => {
    const name = `rebind-${adapter}.test`;
    const lookups = () => lookupCalls.filter((called) => called === name).length;
    // The rebound answer is the loopback upstream's own port: had any socket used it, the upstream would see a connection.
    const headers = { 'content-type': 'application/json', 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey, 'x-llm-base-url': `https://${name}:${upstream.port}/v1` };
    const first = await send(adapters[adapter], '/v1/chat/completions', { headers, body: CHAT_BODY });
    // The first connection got exactly the public answer it checked (the tripwire stops it there: no packet leaves).
    expect(tripped).toEqual([{ hostname: name, port: upstream.port, addresses: [{ address: PUBLIC, family: 4 }] }]);
    // A retry of that request, if the router makes one, opens a new connection: its lookup is checked again and refused.
    expect([503, 400]).toContain(first.status);
    expect(first.text).not.toContain(callerKey);
    expectRefused(await send(adapters[adapter], '/v1/chat/completions', { headers, body: CHAT_BODY }), callerKey);
    // One lookup per connection: the hook saw one connection, every other lookup ended in a refusal.
    expect(tripped).toHaveLength(1);
    expect(lookups()).toBeGreaterThanOrEqual(2);
    expect(upstream.totalConnections).toBe(0);
  });

  it('refuses a redirect from an allowlisted relay to a private address, without following it', async () => {
    relay.reset();
    relay.enqueue({ type: 'status', status: 302, headers: { location: `http://127.0.0.1:${upstream.port}/v1/chat/completions` }, body: '' });
    const headers = { 'content-type': 'application/json', 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey, 'x-llm-base-url': relay.url };
    const response = await send(adapters[adapter], '/v1/chat/completions', { headers, body: CHAT_BODY });
    expectRefused(response, callerKey);
    expect((JSON.parse(response.text) as { error: { hint: string } }).error.hint).toContain('redirect');
    expect(relay.requests).toHaveLength(1);
    expect(tripped).toEqual([]);
  });

  it('still serves the allowlisted relay (the control: the policy is not refusing everything)', async () => {
    relay.reset();
    const headers = { 'content-type': 'application/json', 'x-llm-provider': 'openai', 'x-llm-api-key': callerKey, 'x-llm-base-url': relay.url };
    const response = await send(adapters[adapter], '/v1/chat/completions', { headers, body: CHAT_BODY });
    expect(response.status).toBe(200);
    expect(relay.lastRequest()?.headers.authorization).toBe(`Bearer ${callerKey}`);
  });
});
