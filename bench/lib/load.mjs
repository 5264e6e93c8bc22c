/** Drives one target with autocannon and reads requests/s and latency percentiles from the responses themselves. */
import http from 'node:http';
import autocannon from 'autocannon';
import { requestHeaders } from './scenarios.mjs';

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function withoutLength(headers) {
  const { 'content-length': _length, ...rest } = headers;
  return rest;
}

/**
 * Runs `connections` keep-alive connections against `port` for `duration` seconds (or `amount` requests).
 * Latencies are kept at full resolution (autocannon's histogram rounds to whole ms, too coarse at concurrency 1).
 */
export function runLoad({ port, scenario, connections, duration, amount }) {
  return new Promise((resolve, reject) => {
    const latencies = [];
    let ok = 0;
    const started = performance.now();
    const instance = autocannon(
      {
        url: `http://127.0.0.1:${port}${scenario.path}`,
        method: 'POST',
        // autocannon adds Content-Length itself; a second one would be a malformed request.
        headers: withoutLength(requestHeaders(scenario)),
        body: scenario.body,
        connections,
        pipelining: 1,
        timeout: 10,
        sampleInt: 100,
        ...(amount ? { amount } : { duration }),
      },
      (error, result) => {
        if (error) return reject(error);
        const seconds = (performance.now() - started) / 1000;
        latencies.sort((a, b) => a - b);
        resolve({
          requests: ok,
          rps: ok / seconds,
          p50: percentile(latencies, 50),
          p99: percentile(latencies, 99),
          errors: result.errors,
          timeouts: result.timeouts,
          non2xx: result.non2xx,
          seconds,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++;
        latencies.push(responseTime);
      }
    });
  });
}

/** One request, read to the end: `{status, headers, text}`. */
export function requestOnce(port, scenario, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: scenario.path, method: 'POST', headers: requestHeaders(scenario), agent: false, timeout: timeoutMs },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(scenario.body);
  });
}

/**
 * Opens a streaming request and resolves once its first body bytes arrive, with the request (to destroy later).
 * Rejects on a non-200 answer or after `timeoutMs`.
 */
export function openStream(port, scenario, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: scenario.path, method: 'POST', headers: requestHeaders(scenario), agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no first bytes within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        clearTimeout(timer);
        req.destroy();
        reject(new Error(`status ${res.statusCode}`));
        return;
      }
      res.on('error', () => {});
      res.once('data', () => {
        clearTimeout(timer);
        res.on('data', () => {});
        resolve(req);
      });
    });
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(scenario.body);
  });
}
