import { createServer as createNetServer, type LookupFunction, type Server as NetServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { behaviors, startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { createHealthRegistry, probeTarget, resolveConfig, SwitchyardError, type ProbeTargetOptions } from '../src/index.js';
import { eventually, post, providers, serve, testKey } from './harness.js';

const DEADLINES = { dnsMs: 1_000, connectMs: 1_000, tlsMs: 300, httpMs: 300 };

let upstream: TestUpstream;
/** Accepts connections and never writes a byte. */
let silent: NetServer;
const silentSockets = new Set<Socket>();
let silentPort: number;

beforeAll(async () => {
  upstream = await startTestUpstream();
  silent = createNetServer((socket) => {
    silentSockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => silentSockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  silentPort = (silent.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const socket of silentSockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
  await upstream.close();
});

beforeEach(() => {
  upstream.reset();
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Resolves `*.probe.test` to loopback; `blocked.probe.test` fails as a poisoned resolver would. */
const lookup: LookupFunction = (hostname, _options, callback) => {
  if (hostname === 'blocked.probe.test') {
    callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
    return;
  }
  callback(null, [{ address: '127.0.0.1', family: 4 }], 4);
};

const probe = (url: string, extra: Partial<ProbeTargetOptions> = {}) => probeTarget(url, { ...DEADLINES, lookup, ...extra });

describe('probeTarget: DNS → TCP → TLS → GET /models, classified', () => {
  it('a closed port is network_blocked at the TCP step', async () => {
    const result = await probe(`http://127.0.0.1:${await closedPort()}/v1`);
    expect(result).toMatchObject({ status: 'network_blocked', failedStep: 'tcp', detail: 'ECONNREFUSED' });
    expect(result.steps.dns).toBeTypeOf('number');
  });

  it('a port that accepts and never answers is network_blocked at the HTTP step, within its deadline', async () => {
    const started = performance.now();
    const result = await probe(`http://127.0.0.1:${silentPort}/v1`);
    expect(result).toMatchObject({ status: 'network_blocked', failedStep: 'http', detail: 'timeout' });
    expect(result.steps.tcp).toBeTypeOf('number');
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('the same over https is network_blocked at the TLS step', async () => {
    const result = await probe(`https://127.0.0.1:${silentPort}/v1`);
    expect(result).toMatchObject({ status: 'network_blocked', failedStep: 'tls', detail: 'timeout' });
  });

  it('a 403 region block is region_blocked, and the probe sends no key', async () => {
    upstream.onModels(behaviors.regionBlock());
    const result = await probe(upstream.url, { provider: 'openai' });
    expect(result).toMatchObject({ status: 'region_blocked', httpStatus: 403 });
    expect(upstream.requests).toHaveLength(1);
    const [request] = upstream.requests;
    expect(request).toMatchObject({ method: 'GET', path: '/v1/models' });
    expect(request?.headers.authorization).toBeUndefined();
    expect(request?.headers['api-key']).toBeUndefined();
  });

  it('a 401 without a key is reachable', async () => {
    upstream.onModels(behaviors.error('openai', 'invalid_api_key'));
    const result = await probe(upstream.url);
    expect(result).toMatchObject({ status: 'reachable', httpStatus: 401 });
    expect(Object.keys(result.steps)).toEqual(['dns', 'tcp', 'http']);
    expect(result.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('a 2xx is reachable and a 5xx degraded', async () => {
    expect(await probe(upstream.url)).toMatchObject({ status: 'reachable', httpStatus: 200 });
    upstream.onModels(behaviors.garbage());
    expect(await probe(upstream.url)).toMatchObject({ status: 'degraded', httpStatus: 502 });
  });

  it('an injected DNS failure is network_blocked at the DNS step', async () => {
    const result = await probe(`http://blocked.probe.test:${upstream.port}/v1`);
    expect(result).toMatchObject({ status: 'network_blocked', failedStep: 'dns', detail: 'ENOTFOUND' });
    expect(upstream.requests).toEqual([]);
  });

  it('a resolver that never answers times out at the DNS step', async () => {
    const hang: LookupFunction = () => {};
    const result = await probe(`http://hang.probe.test:${upstream.port}/v1`, { lookup: hang, dnsMs: 200 });
    expect(result).toMatchObject({ status: 'network_blocked', failedStep: 'dns', detail: 'timeout' });
  });

  it('resolves host names with the injected lookup', async () => {
    const result = await probe(`http://api.probe.test:${upstream.port}/v1`);
    expect(result.status).toBe('reachable');
    expect(upstream.requests[0]?.headers.host).toBe(`api.probe.test:${upstream.port}`);
  });
});

describe('probes in a Switchyard', () => {
  const probed = (url: string, extra: object = {}) => ({
    builtinProviders: false,
    defaultProviders: ['local'],
    lookup,
    providers: { local: { baseUrl: url, clusters: ['global' as const], apiKey: testKey('operator'), tiers: { general: ['m1'] } } },
    ...extra,
  });

  it('validates the new options with every problem listed', () => {
    let issues: string[] = [];
    try {
      resolveConfig({ retries: { max: -1 }, breaker: { failureThreshold: 0 }, probes: { jitter: 2 }, tierTimeouts: { expert: { firstByteMs: 0 } } });
    } catch (error) {
      issues = (error as { issues: string[] }).issues;
    }
    expect(issues.map((issue) => issue.split(':')[0])).toEqual(['tierTimeouts.expert.firstByteMs', 'retries.max', 'breaker.failureThreshold', 'probes.jitter']);
  });

  it('are off by default under a test runner', () => {
    expect(resolveConfig({}).probes.enabled).toBe(false);
    expect(resolveConfig({ probes: { enabled: true } }).probes).toMatchObject({ enabled: true, ttlMs: 60_000 });
  });

  it('warm at start-up without delaying it, one probe per target, shown by /api/providers', async () => {
    upstream.onModels(behaviors.error('openai', 'invalid_api_key'));
    const s = await serve(probed(`http://api.probe.test:${upstream.port}/v1`, { probes: { enabled: true } }));
    try {
      // Concurrent callers share the probe the warm-up started.
      const [a, b] = await Promise.all([s.switchyard.health.probe('local'), s.switchyard.health.probe('local')]);
      expect(a).toBe(b);
      expect(upstream.requests.filter((request) => request.path === '/v1/models')).toHaveLength(1);
      const local = (await providers(s.base)).local;
      expect(local?.reachable).toEqual({ policy: true, probe: true });
      expect(local?.probe).toMatchObject({ status: 'reachable', httpStatus: 401, failedStep: null, latencyMs: expect.any(Number), checkedAt: expect.any(String) });
      expect(Object.keys(local?.probe?.steps ?? {})).toEqual(['dns', 'tcp', 'http']);
    } finally {
      await s.close();
    }
  });

  it('a probe that never finishes does not hold up start-up or requests', async () => {
    const s = await serve(probed(`http://127.0.0.1:${silentPort}/v1`, { probes: { enabled: true, httpMs: 5_000 } }));
    try {
      const local = (await providers(s.base)).local;
      expect(local?.probe).toBeNull();
      expect(local?.reachable).toEqual({ policy: true, probe: null });
    } finally {
      await s.close();
    }
  });

  it('half-opens an open circuit with a probe after the cooldown', async () => {
    const s = await serve(
      probed(upstream.url, { probes: { enabled: true }, retries: { max: 0 }, breaker: { failureThreshold: 1, cooldownMs: 200 } }),
    );
    try {
      await s.switchyard.health.probe('local');
      upstream.enqueue(behaviors.status(500, 'boom'));
      const failed = await post(`${s.base}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: 'x' }] });
      expect(failed.status).toBe(502);
      expect((await providers(s.base)).local?.breaker.state).toBe('open');
      const chats = () => upstream.requests.filter((request) => request.path === '/v1/chat/completions').length;
      // No request is needed: the probe after the cooldown closes the circuit.
      await eventually(async () => (await providers(s.base)).local?.breaker.state === 'closed', 5_000, 'closed by the probe');
      expect(chats()).toBe(1);
      expect(upstream.requests.filter((request) => request.path === '/v1/models').length).toBeGreaterThanOrEqual(2);
    } finally {
      await s.close();
    }
  });

  it('still half-opens when the cooldown timer fires a moment before the clock says the cooldown is over', async () => {
    // The registry's clock runs 10 % slower than the timers, as Date.now() and timers can disagree by a millisecond.
    const config = resolveConfig(probed(upstream.url, { probes: { enabled: true }, breaker: { failureThreshold: 1, cooldownMs: 50 } }));
    const start = Date.now();
    const registry = createHealthRegistry({ config, lookup, now: () => start + (Date.now() - start) * 0.9 });
    try {
      const permit = await registry.acquire('local');
      registry.report('local', permit, new SwitchyardError('provider_unreachable', 'refused'));
      expect(registry.health('local').breaker.state).toBe('open');
      await eventually(async () => registry.health('local').breaker.state === 'closed', 3_000, 'closed by the trial probe');
      expect(upstream.requests.filter((request) => request.path === '/v1/models').length).toBeGreaterThanOrEqual(1);
    } finally {
      registry.close();
    }
  });

  it('steers to failover when the last probe says blocked', async () => {
    const other = await startTestUpstream();
    upstream.onModels(behaviors.regionBlock());
    const operator = testKey('operator');
    const s = await serve(
      probed(upstream.url, {
        failover: ['other'],
        providers: {
          local: { baseUrl: upstream.url, clusters: ['global'], apiKey: testKey('operator'), tiers: { general: ['m1'] } },
          other: { baseUrl: other.url, clusters: ['global'], apiKey: operator, tiers: { general: ['m2'] } },
        },
      }),
    );
    try {
      expect((await s.switchyard.health.probe('local'))?.status).toBe('region_blocked');
      const answer = await post(`${s.base}/v1/chat/completions`, { model: 'general', messages: [{ role: 'user', content: 'x' }] });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-llm-served-by')).toBe('other/m2');
      expect(answer.headers.get('x-llm-fallback-reason')).toBe('provider_unreachable: local probe region_blocked');
      expect(upstream.requests.filter((request) => request.path === '/v1/chat/completions')).toEqual([]);
      expect(other.lastRequest()?.headers.authorization).toBe(`Bearer ${operator}`);
    } finally {
      await s.close();
      await other.close();
    }
  });
});
