/**
 * The same load as `runLoad` (bench/lib/load.mjs), driven by `wrk` (C, one thread) instead of autocannon: a generator
 * that costs far less CPU per request, so less of the 2-core machine goes to it. A Lua script per scenario sets the
 * POST body and headers and prints wrk's own summary as one JSON line at the end.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestHeaders } from './scenarios.mjs';

const MARK = 'WRK_RESULT ';

/** The wrk binary (`WRK` env, else `wrk` on the PATH); throws with a hint when there is none. */
export function wrkBinary() {
  const binary = process.env.WRK ?? 'wrk';
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' });
  } catch (error) {
    // wrk --version exits 1 after printing its version; only a missing binary is an error here.
    if (error.code === 'ENOENT') throw new Error(`--driver wrk needs wrk (apt-get install wrk, or WRK=/path/to/wrk)`);
  }
  return binary;
}

/** A Lua long string whose brackets do not occur in `text`. */
function luaString(text) {
  let level = '';
  while (text.includes(`]${level}]`)) level += '=';
  return `[${level}[${text}]${level}]`;
}

/** The Lua script for `scenario`: method, body, headers (wrk adds Content-Length), and a JSON summary in `done`. */
export function wrkScript(scenario) {
  const { 'content-length': _length, ...headers } = requestHeaders(scenario);
  return [
    'wrk.method = "POST"',
    `wrk.body = ${luaString(scenario.body)}`,
    ...Object.entries(headers).map(([name, value]) => `wrk.headers[ ${luaString(name)} ] = ${luaString(String(value))}`),
    'function done(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format('${MARK}{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\\n',`,
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99)))',
    'end',
    '',
  ].join('\n');
}

const scripts = new Map();
let scriptDir;

function scriptFor(scenario) {
  let path = scripts.get(scenario.id);
  if (!path) {
    scriptDir ??= mkdtempSync(join(tmpdir(), 'switchyard-wrk-'));
    path = join(scriptDir, `${scenario.id}.lua`);
    writeFileSync(path, wrkScript(scenario));
    scripts.set(scenario.id, path);
  }
  return path;
}

/** Removes the generated scripts. */
export function removeWrkScripts() {
  if (scriptDir) rmSync(scriptDir, { recursive: true, force: true });
  scriptDir = undefined;
  scripts.clear();
}

/**
 * Runs wrk with one thread and `connections` keep-alive connections against `port` for `duration` seconds (whole
 * seconds, at least 1: wrk's own resolution). Resolves to the shape `runLoad` resolves to.
 */
export function runWrk({ port, scenario, connections, duration }) {
  const seconds = Math.max(1, Math.round(duration));
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', scriptFor(scenario), `http://127.0.0.1:${port}${scenario.path}`];
  return new Promise((resolve, reject) => {
    execFile(wrkBinary(), args, { timeout: (seconds + 30) * 1000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`wrk failed: ${error.message} ${stderr}`));
      const line = stdout.split('\n').find((l) => l.startsWith(MARK));
      if (!line) return reject(new Error(`wrk printed no summary: ${stdout.slice(0, 500)}`));
      const r = JSON.parse(line.slice(MARK.length));
      const ok = r.requests - r.status;
      const wall = r.duration_us / 1e6;
      resolve({
        requests: ok,
        rps: ok / wall,
        p50: r.p50_us / 1000,
        p99: r.p99_us / 1000,
        // Read errors at the very end are wrk closing its own connections mid-answer; connect and write errors are not.
        errors: r.connect + r.write,
        readErrors: r.read,
        timeouts: r.timeout,
        non2xx: r.status,
        seconds: wall,
      });
    });
  });
}
