import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSwitchyard, ERROR_STATUS, SwitchyardError, type Switchyard } from '@switchyard/core';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { type Adapters, newKey, type RawResponse, scriptedLookup, send, startAdapters } from './support.js';

/**
 * SPEC §6 "bad input gets a 4xx with a clear code and never a 5xx, a hang or a crash": arbitrary headers, bodies and
 * encodings thrown at both adapters over HTTP. Every answer is a success or a JSON error with a known code.
 */

const KNOWN_CODES = new Set(Object.keys(ERROR_STATUS));
const BODY_LIMIT = 64 * 1024;
const RUNS = 120;

let upstream: TestUpstream;
let instance: Switchyard;
let adapters: Adapters;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  upstream = await startTestUpstream();
  // Every name resolves to a private address, so an arbitrary base URL never leads to a DNS query off this machine.
  const { lookup } = scriptedLookup({});
  const anyName = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
    options.all ? callback(null, [{ address: '10.9.9.9', family: 4 }]) : callback(null, '10.9.9.9', 4)) as unknown as typeof lookup;
  instance = createSwitchyard({
    // Every provider on the loopback upstream: nothing in this suite may reach another address.
    providers: { openai: { baseUrl: upstream.url }, gemini: { baseUrl: upstream.url }, dashscope: { baseUrl: upstream.url }, volcengine: { baseUrl: upstream.url }, anthropic: { baseUrl: upstream.url }, deepseek: { baseUrl: upstream.url, wireBaseUrls: { messages: upstream.url } } },
    limits: { bodyBytes: BODY_LIMIT, jsonDepth: 32 },
    lookup: anyName,
  });
  // A public IP literal passes the policy; this egress guard stops it before any packet, answering as the policy would.
  instance.dispatcher.onConnect(() => {
    throw new SwitchyardError('base_url_forbidden', 'test egress guard: this suite stays on loopback');
  });
  adapters = await startAdapters(instance);
});

afterAll(async () => {
  await adapters.close();
  await instance.close();
  await upstream.close();
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  expect(unhandled).toEqual([]);
});

const ENDPOINTS = [
  { method: 'POST', path: '/v1/chat/completions' },
  { method: 'POST', path: '/v1/responses' },
  { method: 'POST', path: '/v1/messages' },
  { method: 'POST', path: '/v1/messages/count_tokens' },
  { method: 'POST', path: '/api/chat' },
  { method: 'POST', path: '/v1/embeddings' },
  { method: 'GET', path: '/v1/models' },
  { method: 'GET', path: '/api/providers' },
] as const;

/** Statuses seen per property, to show each one exercised both successes and refusals. */
const seen = new Map<string, Set<number>>();

/** What a well-formed answer is: a 2xx, or a 4xx JSON error whose code Switchyard knows. */
function expectWellFormed(response: RawResponse, what: string, property: string): void {
  let statuses = seen.get(property);
  if (!statuses) seen.set(property, (statuses = new Set()));
  statuses.add(response.status);
  expect(response.status, `${what} → ${response.status} ${response.text.slice(0, 300)}`).toBeLessThan(500);
  if (response.status < 300) return;
  let code: unknown;
  try {
    // OpenAI's envelope and /api/chat's carry `error.code`; Anthropic's carries `code` beside `error`.
    const parsed = JSON.parse(response.text) as { error?: { code?: unknown }; code?: unknown };
    code = parsed.error?.code ?? parsed.code;
  } catch {
    code = `not JSON: ${response.text.slice(0, 200)}`;
  }
  expect(KNOWN_CODES.has(String(code)), `${what} → ${response.status} code ${String(code)}`).toBe(true);
}

// A header value as a client can send one: tab, visible ASCII, space and obs-text bytes (0x80–0xFF).
const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.constant(0x09) },
  { weight: 2, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
).map((code) => String.fromCharCode(code));
const headerValue = fc.oneof(
  fc.string({ unit: headerChar, maxLength: 64 }),
  fc.string({ unit: headerChar, minLength: 900, maxLength: 3000 }),
  fc.constantFrom('openai', 'OpenAI', 'gemini', 'nope', '', ' ', 'sandbox', '__proto__', 'constructor'),
  fc.webUrl().map((url) => url.replace(/^http:/, 'https:')),
  fc.ipV4().map((ip) => `https://${ip}/v1`),
  fc.ipV6().map((ip) => `https://[${ip}]/v1`),
  fc.constantFrom('https://0x7f.1/', 'https://[::ffff:7f00:1]/', 'file:///etc/passwd', 'https://a@b/', '%zz', 'https://%00/'),
);
const keyValue = fc.oneof(
  fc.constant(undefined),
  fc.constant(newKey()),
  headerValue,
);

describe.each(['express', 'koa'] as const)('hostile input through %s (fast-check)', (adapter) => {
  it('arbitrary X-LLM-* and other header values: never a 5xx, always a known code or a success', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ENDPOINTS),
        fc.record({
          provider: fc.option(headerValue, { nil: undefined }),
          key: keyValue,
          anthropicKey: fc.option(keyValue, { nil: undefined }),
          baseUrl: fc.option(headerValue, { nil: undefined }),
          other: headerValue,
          auth: fc.option(headerValue, { nil: undefined }),
          version: fc.option(headerValue, { nil: undefined }),
        }),
        fc.constantFrom('general', 'gpt-5', 'openai/gpt-5', 'nope/x', 'embedding', ''),
        async (endpoint, values, model) => {
          const headers: Record<string, string> = { 'content-type': 'application/json', 'x-anything': values.other };
          if (values.provider !== undefined) headers['x-llm-provider'] = values.provider;
          if (values.key !== undefined) headers['x-llm-api-key'] = values.key;
          if (values.baseUrl !== undefined) headers['x-llm-base-url'] = values.baseUrl;
          if (values.auth !== undefined) headers.authorization = values.auth;
          if (values.anthropicKey !== undefined) headers['x-api-key'] = values.anthropicKey;
          if (values.version !== undefined) headers['anthropic-version'] = values.version;
          const body = endpoint.path === '/api/chat' ? JSON.stringify({ question: 'hi', provider: model }) : JSON.stringify({ model, input: 'x', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
          const response = await send(adapters[adapter], endpoint.path, { method: endpoint.method, headers, ...(endpoint.method === 'POST' ? { body } : {}) });
          expectWellFormed(response, `${endpoint.method} ${endpoint.path} ${JSON.stringify(values).slice(0, 200)}`, `headers ${adapter}`);
        },
      ),
      { numRuns: RUNS },
    );
    const statuses = [...(seen.get(`headers ${adapter}`) ?? [])];
    expect(statuses.some((status) => status < 300) && statuses.some((status) => status >= 400)).toBe(true);
  });

  it('arbitrary bodies, content types and encodings: never a 5xx, always a known code or a success', async () => {
    const deep = fc.integer({ min: 1, max: 200 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);
    const deepObject = fc.integer({ min: 1, max: 100 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
    const valid = fc.constantFrom(
      JSON.stringify({ model: 'general', messages: [{ role: 'user', content: 'hi' }] }),
      JSON.stringify({ question: 'hi', messages: [{ role: 'user', content: 'x' }] }),
      JSON.stringify({ input: ['a', 'b'] }),
      JSON.stringify({ model: 'general', max_tokens: 8, messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }),
      JSON.stringify({ model: 'general', instructions: 'be brief', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }] }),
    );
    const body = fc.oneof(
      valid,
      valid.chain((text) => fc.integer({ min: 0, max: text.length - 1 }).map((cut) => text.slice(0, cut))),
      fc.uint8Array({ maxLength: 2048 }).map((bytes) => Buffer.from(bytes)),
      fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null'),
      fc.record({ model: fc.anything(), messages: fc.anything(), question: fc.anything(), input: fc.anything(), stream: fc.anything(), max_tokens: fc.anything(), system: fc.anything(), tools: fc.anything(), instructions: fc.anything(), reasoning: fc.anything(), text: fc.anything() }).map((value) => {
        try {
          return JSON.stringify(value) ?? '{}';
        } catch {
          return '{}';
        }
      }),
      deep,
      deepObject,
      fc.integer({ min: 1_000, max: BODY_LIMIT - 200 }).map((size) => JSON.stringify({ question: 'q'.repeat(size), model: 'general', messages: [{ role: 'user', content: 'x' }] })),
      fc.constant(JSON.stringify({ question: 'x'.repeat(BODY_LIMIT + 10) })),
      fc.constantFrom('', ' ', '\u0000', '\uFEFF{}', '{"question":"\ud800"}', '{"__proto__":{"x":1},"question":"hi"}', 'null', '[]', '"str"', '1e309'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ENDPOINTS.filter((endpoint) => endpoint.method === 'POST')),
        body,
        fc.constantFrom('application/json', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', '', '*/*'),
        fc.constantFrom(undefined, 'gzip', 'br', 'deflate', 'identity', 'x-bogus', 'gzip, gzip'),
        fc.boolean(),
        async (endpoint, payload, contentType, encoding, withKey) => {
          const headers: Record<string, string> = {};
          if (contentType) headers['content-type'] = contentType;
          if (encoding) headers['content-encoding'] = encoding;
          if (withKey) headers['x-llm-api-key'] = newKey();
          const response = await send(adapters[adapter], endpoint.path, { headers, body: payload });
          expectWellFormed(response, `${endpoint.path} ${contentType} ${encoding} ${String(payload).slice(0, 120)}`, `bodies ${adapter}`);
        },
      ),
      {
        numRuns: RUNS,
        // Each kind of answer the property is about, whatever the random draws: a success, a bad body, an oversize one.
        examples: [
          [ENDPOINTS[0], JSON.stringify({ model: 'general', messages: [{ role: 'user', content: 'hi' }] }), 'application/json', undefined, true],
          [ENDPOINTS[0], '{"model":', 'application/json', undefined, true],
          [ENDPOINTS[0], JSON.stringify({ question: 'x'.repeat(BODY_LIMIT + 10) }), 'application/json', undefined, true],
        ],
      },
    );
    const statuses = [...(seen.get(`bodies ${adapter}`) ?? [])];
    expect(statuses.some((status) => status < 300) && statuses.includes(400) && statuses.includes(413)).toBe(true);
  });
});

describe.each(['express', 'koa'] as const)('hostile Responses requests through %s (fast-check)', (adapter) => {
  // Items and tools of every type the Responses API knows (and some it does not), with arbitrary fields.
  const item = fc.record(
    {
      type: fc.constantFrom('message', 'function_call', 'function_call_output', 'reasoning', 'item_reference', 'custom_tool_call', 'web_search_call', 'x', undefined),
      role: fc.oneof(fc.constantFrom('user', 'assistant', 'system', 'developer', 'tool'), fc.anything()),
      content: fc.oneof(fc.string(), fc.array(fc.record({ type: fc.constantFrom('input_text', 'output_text', 'input_image', 'input_file', 'refusal', 'summary_text', 'x'), text: fc.anything(), image_url: fc.anything(), refusal: fc.anything() }, { requiredKeys: [] })), fc.anything()),
      call_id: fc.anything(),
      name: fc.anything(),
      arguments: fc.anything(),
      output: fc.oneof(fc.string(), fc.anything()),
      summary: fc.anything(),
      encrypted_content: fc.anything(),
    },
    { requiredKeys: [] },
  );
  const tool = fc.record({ type: fc.constantFrom('function', 'namespace', 'web_search', 'custom', 'file_search', 'x'), name: fc.anything(), parameters: fc.anything(), tools: fc.anything() }, { requiredKeys: [] });
  const request = fc.record(
    {
      model: fc.constantFrom('general', 'gpt-5', 'reasoning', 5, undefined),
      input: fc.oneof(fc.string(), fc.array(item, { maxLength: 6 }), fc.anything()),
      instructions: fc.anything(),
      tools: fc.oneof(fc.array(tool, { maxLength: 3 }), fc.anything()),
      tool_choice: fc.oneof(fc.constantFrom('auto', 'none', 'required'), fc.anything()),
      reasoning: fc.oneof(fc.record({ effort: fc.constantFrom('none', 'low', 'high', 'xhigh', 'bogus'), summary: fc.anything() }, { requiredKeys: [] }), fc.anything()),
      text: fc.oneof(fc.record({ format: fc.record({ type: fc.constantFrom('text', 'json_object', 'json_schema', 'x'), schema: fc.anything(), name: fc.anything() }, { requiredKeys: [] }) }), fc.anything()),
      max_output_tokens: fc.anything(),
      temperature: fc.anything(),
      previous_response_id: fc.anything(),
      store: fc.anything(),
      stream: fc.boolean(),
    },
    { requiredKeys: [] },
  );

  it('translated (gemini speaks chat only) and passed through (openai): never a 5xx, always a known code or a success', async () => {
    await fc.assert(
      fc.asyncProperty(request, fc.constantFrom('gemini', 'openai'), async (body, provider) => {
        const response = await send(adapters[adapter], '/v1/responses', { headers: { 'content-type': 'application/json', 'x-llm-provider': provider, 'x-llm-api-key': newKey() }, body: JSON.stringify(body) });
        expectWellFormed(response, `${provider} ${JSON.stringify(body).slice(0, 300)}`, `responses ${adapter}`);
      }),
      { numRuns: RUNS },
    );
    const statuses = [...(seen.get(`responses ${adapter}`) ?? [])];
    expect(statuses.some((status) => status < 300) && statuses.includes(400)).toBe(true);
  });
});

describe('limits answer with clear codes (both adapters)', () => {
  it.each(['express', 'koa'] as const)('%s: 413 payload_too_large, 400 for depth and for oversize or malformed X-LLM-* values', async (adapter) => {
    const base = adapters[adapter];
    const before = upstream.requests.length;
    const big = await send(base, '/v1/chat/completions', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ question: 'x'.repeat(BODY_LIMIT) }) });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.text).error.code).toBe('payload_too_large');
    const deep = await send(base, '/v1/chat/completions', { headers: { 'content-type': 'application/json', 'x-llm-api-key': newKey() }, body: `{"a":${'['.repeat(40)}${']'.repeat(40)}}` });
    expect(deep.status).toBe(400);
    expect(JSON.parse(deep.text).error.code).toBe('invalid_request');
    const longKey = await send(base, '/v1/chat/completions', { headers: { 'content-type': 'application/json', 'x-llm-api-key': newKey() + 'k'.repeat(1024) }, body: '{}' });
    expect(longKey.status).toBe(400);
    expect(JSON.parse(longKey.text).error.code).toBe('invalid_request');
    const controlKey = await send(base, '/api/chat', { headers: { 'content-type': 'application/json', 'x-llm-api-key': `${newKey()}\u00e9\u0080` }, body: '{"question":"hi"}' });
    expect(controlKey.status).toBe(400);
    expect(JSON.parse(controlKey.text).error.code).toBe('invalid_request');
    const notUrl = await send(base, '/api/chat', { headers: { 'content-type': 'application/json', 'x-llm-api-key': newKey(), 'x-llm-base-url': 'relay.example.com' }, body: '{"question":"hi"}' });
    expect(notUrl.status).toBe(400);
    expect(JSON.parse(notUrl.text).error.code).toBe('base_url_forbidden');
    // Node itself bounds the header block (16 KB by default): 431, before any of our code runs.
    const huge = await send(base, '/v1/chat/completions', { headers: { 'x-llm-api-key': 'k'.repeat(20_000) }, body: '{}' }).catch((error: unknown) => ({ status: -1, text: String(error), headers: {} }));
    expect([431, -1]).toContain(huge.status);
    expect(upstream.requests.length).toBe(before);
  });
});
