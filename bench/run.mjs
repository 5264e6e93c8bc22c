/**
 * `npm run bench`: Switchyard against hand-written references, every server in its own process.
 *
 * Part 1, throughput and latency: a testkit upstream (8-chunk streams, no delay), three references (a plain
 * `node:http` keep-alive proxy, a minimal Express 5 route and a minimal Koa 3 route forwarding through an undici
 * Pool; also on plain `node:http`, the same minimal route and a leaner one, for the floor) and three subjects (the demo's Express app, the demo's Koa app, the core's handler on `node:http`), driven
 * by autocannon at concurrency 1 and 32 for each scenario (chat completions, /api/chat, Anthropic Messages and OpenAI
 * Responses passed through and translated), targets interleaved, rounds repeated, medians reported.
 * Part 2: memory per open stream, time from a client's abort to the upstream socket closing, cost of resolving a route.
 * Part 3: what shared state costs a request: the core with in-process state, with Redis and no quotas, with quotas in
 * memory and with quotas in Redis (a `redis-server` on loopback, started here; skipped when none is installed), and
 * how many Redis commands each request caused.
 *
 * Flags: --duration <s> (3) --rounds <n> (3) --warmup <s> (1) --streams <n> (1000) --aborts <n> (50)
 *        --resolve-iterations <n> (200000) --targets a,b --scenarios a,b --no-extras --no-state --smoke
 *        --driver autocannon|wrk (part 1's load generator; wrk: one thread, whole seconds)
 * Exit code 0 when every target answered correctly throughout; 1 otherwise. No thresholds gate the exit code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { killChildren, startChild } from './lib/ipc.mjs';
import { openStream, requestOnce, runLoad } from './lib/load.mjs';
import { CALLER_KEY, checkAnswer, FAST_STREAM, SCENARIOS, SLOW_STREAM } from './lib/scenarios.mjs';
import { formatExtras, formatTable, formatTargets, median } from './lib/report.mjs';
import { formatState, measureState } from './lib/state.mjs';
import { removeWrkScripts, runWrk, wrkBinary } from './lib/wrk.mjs';

/** Every server the bench drives. `minimal` is the same framework's hand-written forwarding route. */
export const TARGETS = [
  { id: 'proxy', label: 'node:http proxy', kind: 'reference', minimal: 'proxy' },
  { id: 'express-min', label: 'Express minimal', kind: 'reference', minimal: 'express-min' },
  { id: 'koa-min', label: 'Koa minimal', kind: 'reference', minimal: 'koa-min' },
  // The same minimal route with no framework (undici, an abort signal, `pipeline`), and the leanest one (no signal,
  // `data` events): what the framework and those conveniences cost. Part 1 only.
  { id: 'node-min', label: 'node:http minimal', kind: 'reference', minimal: 'node-min', extras: false },
  { id: 'node-lean-min', label: 'node:http lean', kind: 'reference', minimal: 'node-lean-min', extras: false },
  { id: 'core-node', label: 'core on node:http', kind: 'subject', minimal: 'proxy' },
  { id: 'demo-express', label: 'demo Express', kind: 'subject', minimal: 'express-min' },
  { id: 'demo-koa', label: 'demo Koa', kind: 'subject', minimal: 'koa-min' },
  // The adapters alone: an app with only `app.use(switchyard(options))`, against the same framework's minimal route.
  { id: 'express-bare', label: 'Express adapter', kind: 'subject', minimal: 'express-min', extras: false },
  { id: 'koa-bare', label: 'Koa adapter', kind: 'subject', minimal: 'koa-min', extras: false },
  // OpenTelemetry: the core with telemetry off (against core-node, the API installed and no SDK registered), the demo
  // with its SDK off (against demo-express, metrics on), and the demo with traces exported too. Not in part 2.
  { id: 'core-node-off', label: 'core, telemetry off', kind: 'subject', minimal: 'proxy', extras: false },
  { id: 'demo-express-off', label: 'demo Express, OTel off', kind: 'subject', minimal: 'express-min', extras: false },
  { id: 'demo-express-otel', label: 'demo Express + traces', kind: 'subject', minimal: 'express-min', extras: false },
];
const CONCURRENCY = [1, 32];

const { values: flags } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    duration: { type: 'string' },
    rounds: { type: 'string' },
    warmup: { type: 'string' },
    streams: { type: 'string' },
    aborts: { type: 'string' },
    'resolve-iterations': { type: 'string' },
    targets: { type: 'string' },
    scenarios: { type: 'string' },
    'no-extras': { type: 'boolean', default: false },
    'no-state': { type: 'boolean', default: false },
    driver: { type: 'string', default: 'autocannon' },
  },
});

const smoke = flags.smoke;
const settings = {
  duration: Number(flags.duration ?? (smoke ? 0.2 : 3)),
  rounds: Number(flags.rounds ?? (smoke ? 1 : 3)),
  warmup: Number(flags.warmup ?? (smoke ? 0.1 : 1)),
  streams: Number(flags.streams ?? (smoke ? 100 : 1000)),
  aborts: Number(flags.aborts ?? (smoke ? 3 : 50)),
  resolveIterations: Number(flags['resolve-iterations'] ?? (smoke ? 20_000 : 200_000)),
  extras: !flags['no-extras'],
  state: !flags['no-state'],
  driver: flags.driver,
};
if (settings.driver !== 'autocannon' && settings.driver !== 'wrk') throw new Error('--driver is autocannon or wrk');
// Part 1's load generator: autocannon (Node, in this process) or wrk (C, one thread, its own process).
const load = settings.driver === 'wrk' ? runWrk : runLoad;
if (settings.driver === 'wrk') {
  wrkBinary();
  // wrk counts whole seconds.
  settings.duration = Math.max(1, Math.round(settings.duration));
  settings.warmup = Math.max(1, Math.round(settings.warmup));
}
for (const [name, value] of Object.entries(settings)) {
  if (typeof value === 'number' && !(value > 0 && value <= 1_000_000)) throw new Error(`--${name} must be a positive number`);
}
const pick = (list, filter) => (filter ? list.filter((item) => filter.split(',').includes(item.id)) : list);
const targets = pick(TARGETS, flags.targets);
const scenarios = pick(SCENARIOS, flags.scenarios);
if (targets.length === 0 || scenarios.length === 0) throw new Error('no targets or scenarios left after filtering');

const failures = [];
const t0 = Date.now();
const log = (line) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);

// Bounded in time whatever happens: the expected run time, doubled, plus a margin; then everything is killed.
const perRun = settings.duration + 0.5;
const budgetSeconds =
  60 +
  2 * (settings.rounds * targets.length * scenarios.length * CONCURRENCY.length * perRun + targets.length * scenarios.length * (settings.warmup + 0.5)) +
  (settings.extras ? 2 * targets.length * 2 * (15 + settings.streams / 50 + settings.aborts * 0.2) + 60 : 0) +
  (settings.state ? 2 * (4 * CONCURRENCY.length * settings.rounds * perRun + 4 * (settings.warmup + 0.5)) + 60 : 0);
const watchdog = setTimeout(() => {
  log(`bench: over its time budget of ${Math.round(budgetSeconds)} s; stopping`);
  killChildren();
  process.exit(2);
}, budgetSeconds * 1000);

process.on('exit', () => {
  killChildren();
  removeWrkScripts();
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    killChildren();
    process.exit(130);
  });
}

function machine() {
  const cpu = cpus()[0]?.model ?? 'unknown';
  return { nproc: cpus().length, cpu, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` };
}

function isSubject(target) {
  return target.kind === 'subject';
}

/** Every target answers every scenario correctly once before it is measured. */
async function checkTargets(servers) {
  for (const target of targets) {
    for (const scenario of scenarios) {
      try {
        checkAnswer(scenario, await requestOnce(servers.get(target.id).info.port, scenario), { subject: isSubject(target) });
      } catch (error) {
        failures.push(`${target.id} ${scenario.id}: wrong answer: ${error.message}`);
      }
    }
  }
}

function rotate(list, by) {
  const shift = by % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}

function recordLoadProblems(target, scenario, connections, result) {
  const problems = [];
  if (result.errors > 0) problems.push(`${result.errors} errors`);
  if (result.timeouts > 0) problems.push(`${result.timeouts} timeouts`);
  if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx`);
  if (result.requests === 0) problems.push('no answer');
  if (problems.length > 0) failures.push(`${target.id} ${scenario.id} c=${connections}: ${problems.join(', ')}`);
}

/** Part 1: warm-up, then rounds of every (scenario, concurrency, target) with the target order rotating per round. */
async function measureLoad(servers) {
  const runs = [];
  for (const scenario of scenarios) {
    for (const target of targets) {
      await load({ port: servers.get(target.id).info.port, scenario, connections: 32, duration: settings.warmup });
    }
  }
  for (let round = 0; round < settings.rounds; round++) {
    log(`bench: round ${round + 1}/${settings.rounds}`);
    for (const scenario of scenarios) {
      for (const connections of CONCURRENCY) {
        for (const target of rotate(targets, round)) {
          const server = servers.get(target.id);
          const cpuBefore = await server.call('cpu');
          const result = await load({ port: server.info.port, scenario, connections, duration: settings.duration });
          const cpuAfter = await server.call('cpu');
          // CPU the server spent per answer: steadier than req/s on a machine whose cores the load generator shares.
          result.cpuPerRequestUs = (cpuAfter.user - cpuBefore.user + cpuAfter.system - cpuBefore.system) / Math.max(1, result.requests);
          recordLoadProblems(target, scenario, connections, result);
          runs.push({ round, target: target.id, scenario: scenario.id, connections, ...result });
        }
      }
    }
  }
  return runs;
}

/** Medians across rounds per (target, scenario, concurrency), with the ratios to the references of the same run. */
function summarize(runs) {
  const rows = [];
  for (const scenario of scenarios) {
    for (const connections of CONCURRENCY) {
      const cell = (id) => {
        const mine = runs.filter((run) => run.target === id && run.scenario === scenario.id && run.connections === connections);
        if (mine.length === 0) return undefined;
        return {
          rps: median(mine.map((r) => r.rps)),
          p50: median(mine.map((r) => r.p50)),
          p99: median(mine.map((r) => r.p99)),
          cpuUs: median(mine.map((r) => r.cpuPerRequestUs)),
          rounds: mine.length,
        };
      };
      for (const target of targets) {
        const own = cell(target.id);
        if (!own) continue;
        const proxy = cell('proxy');
        const minimal = cell(target.minimal);
        rows.push({
          target: target.id,
          label: target.label,
          kind: target.kind,
          scenario: scenario.id,
          connections,
          ...own,
          vsProxy: proxy ? own.rps / proxy.rps : undefined,
          vsMinimal: minimal && target.minimal !== target.id ? own.rps / minimal.rps : undefined,
          addedP50: minimal && target.minimal !== target.id ? own.p50 - minimal.p50 : undefined,
          cpuVsMinimal: minimal && target.minimal !== target.id ? own.cpuUs / minimal.cpuUs : undefined,
          minimal: target.minimal,
        });
      }
    }
  }
  return rows;
}

/**
 * Time from a client's abort to the upstream socket closing, `count` times, on a fresh server whose upstream
 * answers slowly (so the stream is open when the client leaves). Both ends read the machine's monotonic clock.
 */
async function measureAborts(port, scenario, upstream, count) {
  const delays = [];
  for (let i = 0; i < count; i++) {
    const req = await openStream(port, scenario);
    const armed = await upstream.call('armClose', { drop: 1, timeoutMs: 5_000 });
    const closed = new Promise((resolve) => {
      const off = upstream.onEvent((event) => {
        if (event.kind === 'closed' && event.id === armed.id) {
          off();
          resolve(event);
        }
      });
    });
    const abortedAt = process.hrtime.bigint();
    req.destroy();
    const event = await closed;
    if (event.error) throw new Error(`upstream connection still open after a client abort: ${event.error}`);
    delays.push(Number(BigInt(event.at) - abortedAt) / 1e6);
  }
  return { count, medianMs: median(delays), maxMs: Math.max(...delays) };
}

/** Memory per open stream: RSS (and heap) with `count` slow streams open, minus idle, divided by `count`. */
async function measureMemory(server, port, scenario, upstream, count) {
  await upstream.call('setDefault', { behavior: FAST_STREAM });
  await runLoad({ port, scenario, connections: 8, amount: 400 });
  const before = await upstream.call('connections');
  const idle = await server.call('memory');
  await upstream.call('setDefault', { behavior: SLOW_STREAM });
  const clients = [];
  try {
    // In batches, so the listen backlog never overflows into SYN retries.
    for (let opened = 0; opened < count; opened += 100) {
      const batch = Math.min(100, count - opened);
      clients.push(...(await Promise.all(Array.from({ length: batch }, () => openStream(port, scenario)))));
    }
    const open = await server.call('memory');
    const during = await upstream.call('connections');
    return {
      streams: count,
      idleRssMiB: idle.rss / 2 ** 20,
      openRssMiB: open.rss / 2 ** 20,
      rssPerStreamKiB: (open.rss - idle.rss) / count / 1024,
      heapPerStreamKiB: (open.heapUsed - idle.heapUsed) / count / 1024,
      upstreamOpen: during.open - before.open,
    };
  } finally {
    for (const req of clients) req.destroy();
    await upstream.call('waitForOpenConnections', { atMost: before.open, timeoutMs: 15_000 }, 20_000);
  }
}

/** Part 2 for one target and scenario, on a fresh server child pointed at the slow upstream. */
async function measureStreamsOf(target, scenario, upstream) {
  const server = await startChild('children/server.mjs', { args: [target.id, upstream.info.url], execArgv: ['--expose-gc'], name: `${target.id} (part 2)` });
  try {
    await upstream.call('setDefault', { behavior: SLOW_STREAM });
    const aborts = await measureAborts(server.info.port, scenario, upstream, settings.aborts);
    const memory = await measureMemory(server, server.info.port, scenario, upstream, settings.streams);
    return { target: target.id, scenario: scenario.id, aborts, memory };
  } finally {
    await server.stop();
  }
}

async function measureExtras() {
  const streamScenarios = scenarios.filter((scenario) => scenario.stream && scenario.extras !== false);
  // The plain proxy is the reference here; the undici-Pool references take ~3 s to close an aborted upstream socket
  // (see BENCHMARKS.md), which would make this part minutes long. `--targets` picks them explicitly.
  const part2 = flags.targets ? targets : targets.filter((target) => target.id === 'proxy' || (isSubject(target) && target.extras !== false));
  const upstream = await startChild('children/upstream.mjs', { args: [JSON.stringify(SLOW_STREAM)], name: 'slow upstream' });
  const streams = [];
  try {
    for (const target of part2) {
      for (const scenario of streamScenarios) {
        log(`bench: part 2, ${target.id} ${scenario.id}`);
        try {
          streams.push(await measureStreamsOf(target, scenario, upstream));
        } catch (error) {
          failures.push(`${target.id} ${scenario.id} part 2: ${error.message}`);
        }
      }
    }
  } finally {
    await upstream.stop();
  }
  log('bench: part 2, resolve');
  const resolver = await startChild('children/resolve.mjs', { args: [String(settings.resolveIterations)], name: 'resolve', readyTimeoutMs: 120_000 });
  await resolver.stop();
  return { streams, resolve: resolver.info.results };
}

async function main() {
  const started = Date.now();
  log(`bench: ${smoke ? 'smoke, ' : ''}${targets.length} targets × ${scenarios.length} scenarios × c=${CONCURRENCY.join(',')}, ${settings.rounds} round(s) of ${settings.duration} s`);
  if (!CALLER_KEY) throw new Error('no caller key');
  const upstream = await startChild('children/upstream.mjs', { args: [JSON.stringify(FAST_STREAM)], name: 'upstream' });
  const servers = new Map();
  let runs = [];
  try {
    const started = await Promise.allSettled(targets.map((target) => startChild('children/server.mjs', { args: [target.id, upstream.info.url], name: target.id })));
    for (const [index, outcome] of started.entries()) {
      if (outcome.status === 'fulfilled') servers.set(targets[index].id, outcome.value);
    }
    const failed = started.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
    await checkTargets(servers);
    runs = await measureLoad(servers);
    // The same answers after the load as before it.
    await checkTargets(servers);
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
    await upstream.stop();
  }
  const rows = summarize(runs);
  const extras = settings.extras ? await measureExtras() : undefined;
  let state;
  if (settings.state) {
    const stateUpstream = await startChild('children/upstream.mjs', { args: [JSON.stringify(FAST_STREAM)], name: 'upstream (part 3)' });
    try {
      const scenario = SCENARIOS.find((s) => s.id === 'v1-json');
      state = await measureState({ upstreamUrl: stateUpstream.info.url, scenario, concurrency: CONCURRENCY, rounds: settings.rounds, duration: settings.duration, warmup: settings.warmup, log, failures });
    } catch (error) {
      failures.push(`part 3 (shared state): ${error.message}`);
    } finally {
      await stateUpstream.stop();
    }
  }

  const report = { date: new Date().toISOString(), smoke, machine: machine(), settings, rows, runs, extras, state, failures, seconds: (Date.now() - started) / 1000 };
  const out = new URL('./results/', import.meta.url);
  mkdirSync(out, { recursive: true });
  const name = `bench-${report.date.replace(/[:.]/g, '-')}${smoke ? '-smoke' : ''}.json`;
  writeFileSync(new URL(name, out), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(new URL(smoke ? 'latest-smoke.json' : 'latest.json', out), `${JSON.stringify(report, null, 2)}\n`);

  const m = report.machine;
  process.stdout.write(`\nSwitchyard bench — ${m.nproc} × ${m.cpu}, Node ${m.node}, ${settings.driver}, ${settings.rounds} round(s) × ${settings.duration} s, medians\n\n`);
  process.stdout.write(`${formatTable(rows)}\n`);
  if (extras) process.stdout.write(`\n${formatExtras(extras)}\n`);
  if (state) process.stdout.write(`\n${formatState(state)}\n`);
  process.stdout.write(`\n${formatTargets(rows, extras)}\n`);
  process.stdout.write(`\nJSON: bench/results/${name} (${Math.round(report.seconds)} s)\n`);
  if (failures.length > 0) {
    process.stdout.write(`\nFAILED:\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
    return 1;
  }
  return 0;
}

main()
  .then(
    (code) => code,
    (error) => {
      log(`bench: ${error.stack ?? error}`);
      return 1;
    },
  )
  .then((code) => {
    clearTimeout(watchdog);
    killChildren();
    process.exit(code);
  });
