/**
 * Profiles one server under test: `node bench/profile.mjs [--target core-node] [--scenario v1-stream]
 * [--connections 32] [--duration 8]`. The server child runs with `--cpu-prof`; autocannon drives it after a
 * warm-up; the child exits so the profile is written to bench/results/profiles/, and a summary is printed:
 * self time by area (node internals, undici, the framework, Switchyard's core, GC), the hottest functions, and the
 * time charged to the nearest Switchyard function on each sample's stack (what each of ours costs, counted once).
 * Build first (`npm run bench -- --smoke` does, or the turbo build line of BENCHMARKS.md).
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { killChildren, startChild } from './lib/ipc.mjs';
import { runLoad } from './lib/load.mjs';
import { FAST_STREAM, SCENARIOS } from './lib/scenarios.mjs';

const { values } = parseArgs({
  options: {
    target: { type: 'string', default: 'core-node' },
    scenario: { type: 'string', default: 'v1-stream' },
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '8' },
    top: { type: 'string', default: '25' },
  },
});
const scenario = SCENARIOS.find((s) => s.id === values.scenario);
if (!scenario) throw new Error(`unknown scenario ${values.scenario}; one of ${SCENARIOS.map((s) => s.id).join(', ')}`);
const dir = fileURLToPath(new URL('./results/profiles/', import.meta.url));
mkdirSync(dir, { recursive: true });
const name = `${values.target}-${scenario.id}-c${values.connections}-${Date.now()}.cpuprofile`;

process.on('exit', killChildren);
const watchdog = setTimeout(() => {
  process.stderr.write('profile: over its time budget; stopping\n');
  process.exit(2);
}, (Number(values.duration) + 60) * 1000);

/** Where a frame's code lives. */
function areaOf(frame) {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.includes('/packages/core/')) return 'switchyard core';
  if (url.includes('/packages/express/') || url.includes('/packages/koa/')) return 'switchyard adapter';
  if (url.includes('/apps/demo/')) return 'demo';
  if (url.includes('/bench/')) return 'bench target code';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:internal/deps/undici')) return 'node: bundled undici';
  if (url.startsWith('node:')) {
    const mod = url.slice(5).replace(/^internal\//, '');
    if (/^(_http_|http)/.test(mod)) return 'node: http';
    if (/^(net|stream_base_commons|dns|tcp)/.test(mod)) return 'node: net';
    if (mod.startsWith('streams/') || mod === 'stream') return 'node: streams';
    if (/^(process\/task_queues|timers|async_hooks)/.test(mod)) return 'node: ticks and timers';
    if (/^(event_target|abort_controller|events)/.test(mod) || mod === 'events') return 'node: events and abort';
    if (/^(buffer|encoding|util)/.test(mod) || mod === 'buffer') return 'node: buffers and text';
    if (mod.startsWith('crypto') || mod === 'crypto') return 'node: crypto';
    if (mod.startsWith('url') || mod === 'url') return 'node: url';
    return `node: ${mod.split('/')[0]}`;
  }
  return url;
}

function shortUrl(url) {
  return url.replace(/^file:\/\/.*?\/(node_modules|packages|apps|bench)\//, '$1/');
}

/** Self and inclusive time per function, and self time per area, from a V8 `.cpuprofile`. */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const key = (node) => `${node.callFrame.functionName || '(anonymous)'} ${shortUrl(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;
  const self = new Map();
  const inclusive = new Map();
  const areas = new Map();
  // Every sample charged to the nearest Switchyard frame on its stack (node and undici work included), or to the
  // function it ran in when no Switchyard frame is on the stack: what each of our functions costs, counted once.
  const owned = new Map();
  const ours = (n) => /\/packages\/(core|express|koa)\//.test(n.callFrame.url);
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const node = byId.get(profile.samples[i]);
    if (!node) continue;
    if (node.callFrame.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    total += dt;
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const area = areaOf(node.callFrame);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    let owner = node;
    while (owner && !ours(owner)) owner = byId.get(parent.get(owner.id));
    const ownerKey = owner ? key(owner) : `(outside) ${k}`;
    owned.set(ownerKey, (owned.get(ownerKey) ?? 0) + dt);
    const seen = new Set();
    for (let id = node.id; id !== undefined; id = parent.get(id)) {
      const k2 = key(byId.get(id));
      if (seen.has(k2)) continue;
      seen.add(k2);
      inclusive.set(k2, (inclusive.get(k2) ?? 0) + dt);
    }
  }
  return { self, inclusive, areas, owned, total, idle };
}

function print(title, map, total, count, filter = () => true) {
  const rows = [...map.entries()].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, count);
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of rows) process.stdout.write(`  ${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}\n`);
}

const upstream = await startChild('children/upstream.mjs', { args: [JSON.stringify(FAST_STREAM)], name: 'upstream' });
const server = await startChild('children/server.mjs', {
  args: [values.target, upstream.info.url],
  execArgv: ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`],
  name: values.target,
});
let result;
try {
  await runLoad({ port: server.info.port, scenario, connections: Number(values.connections), duration: 1 });
  result = await runLoad({ port: server.info.port, scenario, connections: Number(values.connections), duration: Number(values.duration) });
} finally {
  await server.stop(15_000);
  await upstream.stop();
}
if (!readdirSync(dir).includes(name)) throw new Error(`no profile written at ${dir}${name}`);
const { self, inclusive, areas, owned, total, idle } = summarize(JSON.parse(readFileSync(`${dir}${name}`, 'utf8')));
process.stdout.write(
  `${values.target} ${scenario.id} c=${values.connections}: ${result.rps.toFixed(0)} req/s under the profiler, p50 ${result.p50.toFixed(2)} ms; ` +
    `busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms; profile bench/results/profiles/${name}\n`,
);
print('Self time by area:', areas, total, 30);
print('Hottest functions (self):', self, total, Number(values.top));
print('Switchyard functions (inclusive):', inclusive, total, Number(values.top), (k) => k.includes('packages/core/') || k.includes('packages/express/') || k.includes('packages/koa/'));
print('Time charged to the nearest Switchyard function (or the function itself, outside):', owned, total, Number(values.top));
clearTimeout(watchdog);
killChildren();
