/**
 * `npm run scorecard`: streams that survive, failover-benchmark style. Four gateways side by side in one run, against
 * the same testkit faults on the same long answer:
 *
 * - Switchyard with resume and hedge (`resume: { tiers: ['*'], stallMs }`, `hedge: { tiers: { '*': ms } }`);
 * - Switchyard without them (retries, the breaker and cross-provider failover only, as configured by default);
 * - a bare `node:http` proxy to the primary upstream (the one in bench/targets/proxy.mjs);
 * - Portkey's open-source gateway (`@portkey-ai/gateway`), with its fallback config (a retry on the primary, then the
 *   secondary) and a request timeout. It needs Node 22: it is installed on first use into bench/.portkey/ (outside the
 *   workspace, git-ignored) with npm's `node` package, and runs in its own process under that Node 22, never in the
 *   project's runtime nor in `npm test`.
 *
 * Two testkit upstreams on loopback: the primary and the secondary, both streaming the same long answer (the testkit's
 * `continuation` behavior, which also answers a continuation deterministically). Each fault hits the primary's first
 * request only (one-shot), except `connect refused` (the primary is a closed port throughout). Each gateway gets a
 * fresh instance per run, so no breaker learns from an earlier run. For each fault and gateway: answers completed (the
 * stream finished without an error), text intact (equal to the unbroken answer), time to the first body byte and
 * total time, medians over the runs. Not a test: it never gates anything.
 *
 * Flags: --runs <n> (5) --smoke (1 run) --no-portkey --faults a,b --client-timeout <ms> (10000)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createSwitchyard } from '@switchyard/core';
import { behaviors, splitIntoChunks, startTestUpstream } from '@switchyard/testkit';
import { createTarget as createProxy } from './targets/proxy.mjs';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'no-portkey': { type: 'boolean', default: false },
    faults: { type: 'string' },
    'client-timeout': { type: 'string' },
  },
});
const RUNS = Number(flags.runs ?? (flags.smoke ? 1 : 5));
const CLIENT_TIMEOUT_MS = Number(flags['client-timeout'] ?? 10_000);
if (!(RUNS > 0 && RUNS <= 100) || !(CLIENT_TIMEOUT_MS > 0)) throw new Error('--runs must be 1..100 and --client-timeout positive');

/** The unbroken answer: 240 words, streamed a word per frame 2 ms apart. */
const LONG = Array.from(
  { length: 12 },
  (_, i) => `Section ${i + 1}: a river carries silt from the hills to the sea, and where the current slows the silt settles, layer on layer, into a delta that grows a little every year.`,
).join(' ');
const CHUNKS = splitIntoChunks(LONG);
const AT_30 = Math.round(CHUNKS.length * 0.3);
const FRAME_GAP_MS = 2;
const SLOW_FIRST_BYTE_MS = 3000;

/** Timeouts every gateway gets where it has the setting: the first byte, the gap between chunks. */
const FIRST_BYTE_MS = 2000;
const IDLE_MS = 2000;
const STALL_MS = 1000;
const HEDGE_MS = 500;

const FAULTS = [
  { id: '500', label: '500 before the first byte', primary: () => behaviors.status(500, { error: { message: 'The server had an error.', type: 'server_error', code: null } }) },
  { id: '429', label: '429 rate limited', primary: () => behaviors.rateLimit() },
  { id: 'refused', label: 'connect refused', refused: true },
  { id: 'stall-first', label: 'stall before the first byte', primary: () => behaviors.stallBeforeFirstByte() },
  { id: 'cut-30', label: 'cut after 30% of the text', primary: () => behaviors.cutMidStream(AT_30, CHUNKS) },
  { id: 'stall-30', label: 'stall after 30% of the text', primary: () => behaviors.stallMidStream(AT_30, CHUNKS) },
  { id: 'slow-first', label: `slow first byte (${SLOW_FIRST_BYTE_MS / 1000} s)`, primary: () => behaviors.continuation(LONG, { delayMs: FRAME_GAP_MS, firstByteDelayMs: SLOW_FIRST_BYTE_MS }) },
].filter((fault) => !flags.faults || flags.faults.split(',').includes(fault.id));

const log = (line) => process.stderr.write(`${line}\n`);

function listen(handler) {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function closedPort() {
  const server = await listen(() => {});
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function stop(server) {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(resolve));
}

/** Switchyard's options for the scorecard: the primary with two models, the secondary as failover, operator keys. */
function switchyardOptions(primaryUrl, secondaryUrl, survive) {
  return {
    builtinProviders: false,
    providers: {
      primary: { baseUrl: primaryUrl, apiKey: 'sk-scorecard-primary', clusters: ['global'], tiers: { general: ['primary-large', 'primary-small'] } },
      secondary: { baseUrl: secondaryUrl, apiKey: 'sk-scorecard-secondary', clusters: ['global'], tiers: { general: ['secondary-large'] } },
    },
    defaultProviders: ['primary'],
    failover: ['secondary'],
    timeouts: { connectMs: 1000, firstByteMs: FIRST_BYTE_MS, idleMs: IDLE_MS, totalMs: 60_000 },
    retries: { max: 1, baseDelayMs: 100, maxDelayMs: 500, retryAfterCapMs: 2000 },
    telemetry: false,
    ...(survive ? { resume: { tiers: ['*'], stallMs: STALL_MS }, hedge: { tiers: { '*': HEDGE_MS } } } : {}),
  };
}

/** A Switchyard subject: the core's handler on node:http, fresh for every run. */
function switchyardSubject(id, label, survive) {
  return {
    id,
    label,
    async start({ primaryUrl, secondaryUrl }) {
      const switchyard = createSwitchyard(switchyardOptions(primaryUrl, secondaryUrl, survive));
      const server = await listen((req, res) => {
        void switchyard.handleNode(req, res).then((handled) => {
          if (!handled) res.writeHead(404).end();
        });
      });
      return {
        url: `http://127.0.0.1:${server.address().port}/v1/chat/completions`,
        headers: {},
        close: async () => {
          await stop(server);
          await switchyard.close();
        },
      };
    },
  };
}

const proxySubject = {
  id: 'proxy',
  label: 'bare node:http proxy',
  async start({ primaryUrl }) {
    const target = await createProxy({ upstreamUrl: primaryUrl });
    const server = await listen(target.handler);
    return {
      url: `http://127.0.0.1:${server.address().port}/v1/chat/completions`,
      headers: { 'x-llm-api-key': 'sk-scorecard-primary' },
      close: async () => {
        await stop(server);
        await target.close();
      },
    };
  },
};

/**
 * Where Portkey's gateway is installed, outside the workspace: the published package with the versions of `hono` and
 * `@hono/node-server` its own lockfile pins (later `@hono/node-server` releases make every streamed answer a 500,
 * Portkey-AI/gateway#1389), and npm's `node` package for the Node 22 it needs.
 */
const PORTKEY_DIR = new URL('./.portkey/', import.meta.url);
const PORTKEY_PACKAGE = {
  private: true,
  description: "Portkey's gateway for bench/scorecard.mjs (not part of Switchyard)",
  dependencies: { '@portkey-ai/gateway': '1.15.2', node: '22' },
  overrides: { '@hono/node-server': '1.13.5', hono: '4.9.7' },
};

function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${output.slice(-2000)}`))));
  });
}

/** Portkey's gateway in its own Node 22 process, started once; its fallback config travels with each request. */
async function startPortkey() {
  const dir = fileURLToPath(PORTKEY_DIR);
  const bin = join(dir, 'node_modules', '.bin');
  const wanted = `${JSON.stringify(PORTKEY_PACKAGE, null, 2)}\n`;
  if (!existsSync(join(bin, 'gateway')) || !existsSync(join(dir, 'package.json')) || readFileSync(join(dir, 'package.json'), 'utf8') !== wanted) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), wanted);
    log(`installing Portkey's gateway into ${dir} (once)…`);
    await run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: dir });
  }
  const port = await closedPort();
  // The gateway's `#!/usr/bin/env node` finds npm's Node 22 first on this PATH.
  const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH}`, NODE_ENV: 'production' };
  const version = (await run(join(bin, 'node'), ['--version'], { env })).trim();
  const child = spawn(join(bin, 'gateway'), [`--port=${port}`, '--headless'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.once('exit', kill);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Portkey's gateway exited (${child.exitCode}):\n${output.slice(-2000)}`);
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      (response) => response.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline) {
      kill();
      throw new Error(`Portkey's gateway did not start within 60 s:\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { port, version, kill, output: () => output };
}

function portkeySubject(portkey) {
  return {
    id: 'portkey',
    label: `Portkey gateway 1.15.2 (fallback)`,
    async start({ primaryUrl, secondaryUrl }) {
      const config = {
        strategy: { mode: 'fallback' },
        request_timeout: FIRST_BYTE_MS,
        targets: [
          { provider: 'openai', api_key: 'sk-scorecard-primary', custom_host: primaryUrl, override_params: { model: 'primary-large' }, retry: { attempts: 1 } },
          { provider: 'openai', api_key: 'sk-scorecard-secondary', custom_host: secondaryUrl, override_params: { model: 'secondary-large' } },
        ],
      };
      return { url: `http://127.0.0.1:${portkey.port}/v1/chat/completions`, headers: { 'x-portkey-config': JSON.stringify(config) }, close: async () => {} };
    },
  };
}

/** One streamed chat completion, as a client sees it: the first body byte, the end, the text, and how it ended. */
function ask(url, headers) {
  const body = JSON.stringify({ model: 'general', stream: true, messages: [{ role: 'user', content: 'Tell me about river deltas.' }] });
  return new Promise((resolve) => {
    const started = performance.now();
    let firstByte;
    let raw = '';
    let settled = false;
    const finish = (how, status) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const total = performance.now() - started;
      let text = '';
      let finished = false;
      let errored = false;
      for (const frame of raw.split(/\r?\n\r?\n/)) {
        const line = frame.split(/\r?\n/).find((item) => item.startsWith('data:'));
        if (!line) continue;
        const data = line.slice(5).trim();
        if (data === '[DONE]') {
          finished = true;
          continue;
        }
        try {
          const chunk = JSON.parse(data);
          if (chunk.error) errored = true;
          text += chunk.choices?.[0]?.delta?.content ?? '';
          if (chunk.choices?.[0]?.finish_reason) finished = true;
        } catch {
          errored = true;
        }
      }
      const completed = status === 200 && finished && !errored && how === 'end';
      const ended = status !== 200 ? `HTTP ${status ?? '—'}` : errored ? 'error frame' : completed ? 'finished' : how === 'timeout' ? 'client timeout' : finished ? 'finished, cut' : how === 'end' ? 'ended unfinished' : 'cut';
      resolve({ completed, intact: completed && text === LONG, truncated: finished && !errored && text !== LONG, firstByte, total, ended });
    };
    const request = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        firstByte ??= performance.now() - started;
        raw += chunk;
      });
      response.on('end', () => finish('end', response.statusCode));
      response.on('error', () => finish('cut', response.statusCode));
      response.on('close', () => finish(response.complete ? 'end' : 'cut', response.statusCode));
    });
    const timer = setTimeout(() => {
      request.destroy();
      finish('timeout', 200);
    }, CLIENT_TIMEOUT_MS);
    request.on('error', () => finish('cut', undefined));
    request.end(body);
  });
}

const median = (values) => {
  const sorted = values.filter((value) => value !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const ms = (value) => (value === undefined ? '—' : value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`);
const mostCommon = (values) => {
  const counts = new Map();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([value, count]) => (counts.size > 1 ? `${value} ×${count}` : value)).join(', ');
};

async function main() {
  const started = Date.now();
  const [primary, secondary] = await Promise.all([startTestUpstream(), startTestUpstream()]);
  const healthy = behaviors.continuation(LONG, { delayMs: FRAME_GAP_MS });
  const refusedUrl = `http://127.0.0.1:${await closedPort()}/v1`;
  const subjects = [switchyardSubject('survive', 'Switchyard, resume + hedge', true), switchyardSubject('plain', 'Switchyard, without', false), proxySubject];
  let portkey;
  if (!flags['no-portkey']) {
    log("starting Portkey's gateway…");
    try {
      portkey = await startPortkey();
      subjects.push(portkeySubject(portkey));
      log(`Portkey gateway up on :${portkey.port} under Node ${portkey.version}`);
    } catch (error) {
      log(`Portkey skipped: ${error.message}`);
    }
  }
  const rows = [];
  try {
    for (const fault of FAULTS) {
      for (const subject of subjects) {
        const results = [];
        for (let run = 0; run < RUNS; run++) {
          primary.reset().setDefault(healthy);
          secondary.reset().setDefault(healthy);
          if (fault.primary) primary.enqueue(fault.primary());
          const instance = await subject.start({ primaryUrl: fault.refused ? refusedUrl : primary.url, secondaryUrl: secondary.url });
          try {
            results.push(await ask(instance.url, instance.headers));
          } finally {
            await instance.close();
          }
        }
        const row = {
          fault: fault.label,
          subject: subject.label,
          completed: results.filter((result) => result.completed).length,
          intact: results.filter((result) => result.intact).length,
          truncated: results.filter((result) => result.truncated).length,
          runs: RUNS,
          firstByteMs: median(results.map((result) => result.firstByte)),
          totalMs: median(results.map((result) => result.total)),
          ended: mostCommon(results.map((result) => result.ended)),
        };
        rows.push(row);
        log(`${fault.id.padEnd(12)} ${subject.id.padEnd(8)} completed ${row.completed}/${RUNS} intact ${row.intact}/${RUNS} first byte ${ms(row.firstByteMs)} total ${ms(row.totalMs)} (${row.ended})`);
      }
    }
  } finally {
    if (process.env.SCORECARD_DEBUG && portkey) log(portkey.output().slice(-3000));
    portkey?.kill();
    await Promise.all([primary.close(), secondary.close()]);
  }

  const lines = [
    `Scorecard: ${RUNS} run(s) per cell, ${CHUNKS.length}-frame answer (${LONG.length} characters, a frame every ${FRAME_GAP_MS} ms), medians.`,
    `Timeouts where a gateway has them: first byte ${FIRST_BYTE_MS} ms, idle ${IDLE_MS} ms; Switchyard resume stallMs ${STALL_MS} ms, hedge ${HEDGE_MS} ms; client gives up after ${CLIENT_TIMEOUT_MS} ms.`,
    portkey ? `Portkey: @portkey-ai/gateway 1.15.2 under Node ${portkey.version}, fallback primary (1 retry) → secondary, request_timeout ${FIRST_BYTE_MS} ms.` : 'Portkey: not run.',
    '',
    '| fault | gateway | completed | text intact | first byte | total | how it ended |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((row) => `| ${row.fault} | ${row.subject} | ${row.completed}/${row.runs} | ${row.intact}/${row.runs}${row.truncated ? ` (${row.truncated} cut short, ended clean)` : ''} | ${ms(row.firstByteMs)} | ${ms(row.totalMs)} | ${row.ended} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  const out = new URL('./results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  writeFileSync(new URL(flags.smoke ? 'scorecard-smoke.json' : 'scorecard.json', out), `${JSON.stringify({ date: new Date().toISOString(), runs: RUNS, seconds: (Date.now() - started) / 1000, rows }, null, 2)}\n`);
  const survive = rows.filter((row) => row.subject === 'Switchyard, resume + hedge');
  const whole = survive.every((row) => row.intact === row.runs);
  log(`Switchyard with resume and hedge: ${whole ? 'every fault case complete and intact' : 'NOT every fault case intact'} (${Math.round((Date.now() - started) / 1000)} s)`);
  process.exitCode = whole ? 0 : 1;
}

await main();
