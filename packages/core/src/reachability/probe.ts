import { lookup as systemLookup } from 'node:dns';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, isIP, type LookupFunction, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { joinEndpoint } from '../providers/join-url.js';
import { normalizeUpstreamError } from '../upstream-errors.js';

/** What a probe found (SPEC §3): the provider answered, blocked us by region, was not reached, or answered badly. */
export type ProbeStatus = 'reachable' | 'region_blocked' | 'network_blocked' | 'degraded';

/** The steps of a probe, in order. */
export type ProbeStep = 'dns' | 'tcp' | 'tls' | 'http';

/** One probe of one base URL. */
export interface ProbeResult {
  /** What the probe found. */
  status: ProbeStatus;
  /** From the start of the DNS step to the end of the last step that ran. */
  latencyMs: number;
  /** Epoch ms when the probe finished. */
  checkedAt: number;
  /** Duration of each step that completed, in ms. */
  steps: Partial<Record<ProbeStep, number>>;
  /** The step that failed, when one did. */
  failedStep?: ProbeStep;
  /** The status `GET {base}/models` answered with. */
  httpStatus?: number;
  /** A short reason: an errno-style code, `timeout`, or the upstream's error code. Never a key. */
  detail?: string;
}

/** Deadlines of each step, in ms. */
export interface ProbeDeadlines {
  /** The DNS lookup. */
  dnsMs: number;
  /** The TCP connect. */
  connectMs: number;
  /** The TLS handshake. */
  tlsMs: number;
  /** The `GET /models` answer. */
  httpMs: number;
}

export interface ProbeTargetOptions extends ProbeDeadlines {
  /** Replaces DNS resolution (tests inject failures and point host names at loopback). */
  lookup?: LookupFunction | undefined;
  /** The provider id, for classifying its 403 bodies. */
  provider?: string | undefined;
}

/** The largest error body read to classify a 403, in bytes. */
const MAX_BODY_BYTES = 64 * 1024;

class StepFailure extends Error {
  constructor(
    readonly step: ProbeStep,
    readonly detail: string,
  ) {
    super(`${step}: ${detail}`);
  }
}

function detailOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'error';
}

/** Runs one step under its own deadline; `abort` tears down what the step opened when the deadline passes. */
function step<T>(name: ProbeStep, ms: number, run: () => Promise<T>, abort: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      abort();
      reject(new StepFailure(name, 'timeout'));
    }, ms);
    // A probe never keeps the process alive.
    timer.unref();
    run().then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof StepFailure ? error : new StepFailure(name, detailOf(error)));
      },
    );
  });
}

function resolveHost(host: string, lookup: LookupFunction): Promise<{ address: string; family: number }> {
  const family = isIP(host);
  if (family !== 0) return Promise.resolve({ address: host, family });
  return new Promise((resolve, reject) => {
    lookup(host, { all: true }, (error, address, addressFamily) => {
      if (error) return reject(error);
      const first = Array.isArray(address) ? address[0] : { address, family: addressFamily ?? 0 };
      if (!first?.address) return reject(Object.assign(new Error(`no address for ${host}`), { code: 'ENOTFOUND' }));
      resolve({ address: first.address, family: first.family || isIP(first.address) });
    });
  });
}

function waitFor(socket: Socket, event: 'connect' | 'secureConnect'): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once(event, () => {
      socket.off('error', reject);
      resolve();
    });
    socket.once('error', reject);
  });
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function get(socket: Socket, url: URL): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        method: 'GET',
        path: url.pathname + url.search,
        // No key: a probe proves the provider can be reached, not that a key works (SPEC §3).
        headers: { host: url.host, accept: 'application/json', 'user-agent': 'switchyard-probe' },
        createConnection: () => socket,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_BODY_BYTES) chunks.push(chunk);
          else response.destroy();
        });
        const done = () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.once('end', done);
        // An oversized body is still an answer: classify on what was read.
        response.once('close', done);
        response.once('error', reject);
      },
    );
    request.once('error', reject);
    request.end();
  });
}

/** Classifies an answer to `GET {base}/models` sent without a key. */
export function classifyProbeAnswer(status: number, body: string, headers: IncomingHttpHeaders, provider?: string): Pick<ProbeResult, 'status' | 'detail'> {
  if ((status >= 200 && status < 300) || status === 401) return { status: 'reachable', detail: `HTTP ${status}` };
  if (status === 403) {
    const error = normalizeUpstreamError({ status, body, headers, provider });
    if (error.code === 'region_restricted') return { status: 'region_blocked', detail: 'region_restricted' };
    // A 403 about the missing key (Gemini's "unregistered callers") is an answer from the provider, like a 401.
    if (error.code === 'invalid_api_key') return { status: 'reachable', detail: 'HTTP 403' };
  }
  return { status: 'degraded', detail: `HTTP ${status}` };
}

function failureStatus(failure: StepFailure): ProbeStatus {
  // A port that answers with something other than HTTP is up, but not an API.
  return failure.step === 'http' && failure.detail.startsWith('HPE_') ? 'degraded' : 'network_blocked';
}

/**
 * Probes one base URL: DNS → TCP → TLS (https) → `GET {base}/models` without a key, each step under its own
 * deadline. Never rejects and never outlives the sum of the deadlines.
 */
export async function probeTarget(baseUrl: string, options: ProbeTargetOptions): Promise<ProbeResult> {
  const started = performance.now();
  const steps: Partial<Record<ProbeStep, number>> = {};
  const finish = (result: Omit<ProbeResult, 'latencyMs' | 'checkedAt' | 'steps'>): ProbeResult => ({
    ...result,
    steps,
    latencyMs: Math.round(performance.now() - started),
    checkedAt: Date.now(),
  });
  let socket: Socket | undefined;
  const opened: Socket[] = [];
  const track = (created: Socket): Socket => {
    // Errors after a step settled (a late reset) must not crash the process; the steps listen for their own.
    created.on('error', () => {});
    // Nor does a probe keep the process alive.
    created.unref();
    opened.push(created);
    return created;
  };
  const teardown = () => {
    for (const open of opened) open.destroy();
  };
  try {
    const url = new URL(joinEndpoint(baseUrl, 'models', 'bearer').url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const https = url.protocol === 'https:';
    const port = Number(url.port) || (https ? 443 : 80);
    const lookup = options.lookup ?? (systemLookup as unknown as LookupFunction);

    let mark = performance.now();
    const timed = (name: ProbeStep) => {
      const now = performance.now();
      steps[name] = Math.round((now - mark) * 10) / 10;
      mark = now;
    };
    const { address, family } = await step('dns', options.dnsMs, () => resolveHost(host, lookup), () => {});
    timed('dns');
    await step(
      'tcp',
      options.connectMs,
      () => {
        socket = track(netConnect({ host: address, port, family: family === 6 ? 6 : 4 }));
        return waitFor(socket, 'connect');
      },
      teardown,
    );
    timed('tcp');
    if (https) {
      await step(
        'tls',
        options.tlsMs,
        () => {
          socket = track(tlsConnect({ socket, servername: isIP(host) === 0 ? host : undefined, ALPNProtocols: ['http/1.1'] }));
          return waitFor(socket, 'secureConnect');
        },
        teardown,
      );
      timed('tls');
    }
    const answer = await step('http', options.httpMs, () => get(socket as Socket, url), teardown);
    timed('http');
    return finish({ ...classifyProbeAnswer(answer.status, answer.body, answer.headers, options.provider), httpStatus: answer.status });
  } catch (error) {
    if (error instanceof StepFailure) return finish({ status: failureStatus(error), failedStep: error.step, detail: error.detail });
    return finish({ status: 'degraded', detail: detailOf(error) });
  } finally {
    teardown();
  }
}
