/**
 * Part 3 of the bench: what the shared state costs a request. The core on node:http four ways: in-process state and
 * no quotas (`core-node`), Redis and no quotas (`core-redis`), quotas in memory (`core-limits`), quotas in Redis
 * (`core-redis-limits`); each Redis target has its own `redis-server` on loopback (started here, persistence off), so
 * the commands Redis processed during a run (`INFO all`) are that target's: they say whether a request made a round trip.
 */
import { createConnection } from 'node:net';
import { findRedisServer, startTestRedis } from '@switchyard/testkit';
import { startChild } from './ipc.mjs';
import { runLoad } from './load.mjs';
import { markdownTable, median } from './report.mjs';

/** The state targets: the env each adds to the bench's own (`switchyardEnv`). */
export const STATE_TARGETS = [
  { id: 'core-node', label: 'core, in-process state', redis: false, limits: false },
  { id: 'core-redis', label: 'core, Redis, no quotas', redis: true, limits: false },
  { id: 'core-limits', label: 'core, quotas in memory', redis: false, limits: true },
  { id: 'core-redis-limits', label: 'core, quotas in Redis', redis: true, limits: true },
];

/** Quotas that never refuse: the bench measures the check, not the refusal (one caller, rpm plus a daily budget). */
const LIMITS = { SWITCHYARD_CALLER_RPM: '1000000000', SWITCHYARD_CALLER_TOKENS_PER_DAY: '1000000000000', SWITCHYARD_QUOTA_SECRET: 'bench-quota-secret-0123456789' };

/**
 * The command deadline here is a second, not the default 10 ms: with load generator, upstream, server and Redis on two
 * cores, Redis is sometimes not scheduled within 10 ms, the instance then serves alone (faster, on local counters) and
 * the table would hide the round trip it is there to show. Runs report whether an instance went alone.
 */
export function stateEnv(target, redisUrl) {
  return { ...(target.redis ? { REDIS_URL: redisUrl, SWITCHYARD_REDIS_TIMEOUT_MS: '1000' } : {}), ...(target.limits ? LIMITS : {}) };
}

/** The instance's shared state as `/api/providers` shows it. */
async function stateOf(port) {
  const response = await fetch(`http://127.0.0.1:${port}/api/providers`);
  return (await response.json()).state;
}

/**
 * Commands Redis processed so far, from `INFO all` over a plain socket: every command (those a script runs included)
 * and the scripts (EVALSHA and EVAL: one round trip each).
 */
function commandsProcessed(port) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let text = '';
    socket.once('connect', () => socket.write('INFO all\r\n'));
    socket.on('data', (chunk) => {
      text += chunk.toString();
      const length = Number(/^\$(\d+)\r\n/.exec(text)?.[1]);
      if (!(Buffer.byteLength(text) >= length + String(length).length + 5)) return;
      socket.destroy();
      const calls = (name) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(text)?.[1] ?? 0);
      resolve({ all: Number(/total_commands_processed:(\d+)/.exec(text)?.[1]), scripts: calls('evalsha') + calls('eval') });
    });
    socket.once('error', reject);
    setTimeout(() => {
      socket.destroy();
      reject(new Error('INFO stats: no answer'));
    }, 2_000).unref();
  });
}

/**
 * Runs part 3: every state target for `scenario` at each concurrency, `rounds` times with the order rotated, medians.
 * Returns undefined (with the reason) when no redis-server is installed.
 */
export async function measureState({ upstreamUrl, scenario, concurrency, rounds, duration, warmup, log, failures }) {
  if (!findRedisServer()) return { skipped: 'no redis-server on this machine' };
  const redises = new Map();
  const servers = new Map();
  const runs = [];
  try {
    for (const target of STATE_TARGETS) {
      if (target.redis) redises.set(target.id, await startTestRedis());
      const env = JSON.stringify(stateEnv(target, redises.get(target.id)?.url));
      servers.set(target.id, await startChild('children/server.mjs', { args: [target.id === 'core-node' ? 'core-node' : 'core-state', upstreamUrl, env], name: target.id }));
    }
    for (const target of STATE_TARGETS) await runLoad({ port: servers.get(target.id).info.port, scenario, connections: 32, duration: warmup });
    for (let round = 0; round < rounds; round++) {
      log(`bench: part 3 (shared state), round ${round + 1}/${rounds}`);
      for (const connections of concurrency) {
        const order = STATE_TARGETS.slice(round % STATE_TARGETS.length).concat(STATE_TARGETS.slice(0, round % STATE_TARGETS.length));
        for (const target of order) {
          const port = servers.get(target.id).info.port;
          const redis = redises.get(target.id);
          const stateBefore = await stateOf(port);
          const before = redis ? await commandsProcessed(redis.port) : undefined;
          const result = await runLoad({ port, scenario, connections, duration });
          const after = redis ? await commandsProcessed(redis.port) : undefined;
          const stateAfter = await stateOf(port);
          const requests = Math.max(1, result.requests);
          if (result.errors > 0 || result.non2xx > 0 || result.requests === 0) failures.push(`${target.id} c=${connections}: ${result.errors} errors, ${result.non2xx} non-2xx`);
          runs.push({
            target: target.id,
            connections,
            ...result,
            // The INFO before counts as one command.
            commandsPerRequest: before && after ? Math.max(0, after.all - before.all - 1) / requests : 0,
            scriptsPerRequest: before && after ? (after.scripts - before.scripts) / requests : 0,
            wentAlone: stateBefore.since !== stateAfter.since || stateAfter.mode === 'alone',
          });
        }
      }
    }
  } finally {
    await Promise.all([...servers.values()].map((server) => server.stop()));
    await Promise.all([...redises.values()].map((redis) => redis.close()));
  }
  const rows = [];
  for (const connections of concurrency) {
    const cell = (id) => {
      const mine = runs.filter((run) => run.target === id && run.connections === connections);
      return {
        rps: median(mine.map((r) => r.rps)),
        p50: median(mine.map((r) => r.p50)),
        p99: median(mine.map((r) => r.p99)),
        commandsPerRequest: median(mine.map((r) => r.commandsPerRequest)),
        scriptsPerRequest: median(mine.map((r) => r.scriptsPerRequest)),
        aloneRuns: mine.filter((r) => r.wentAlone).length,
        rounds: mine.length,
      };
    };
    const base = cell('core-node');
    const inMemory = cell('core-limits');
    for (const target of STATE_TARGETS) {
      const own = cell(target.id);
      rows.push({
        target: target.id,
        label: target.label,
        connections,
        ...own,
        addedP50: target.id === 'core-node' ? undefined : own.p50 - base.p50,
        redisP50: target.id === 'core-redis-limits' ? own.p50 - inMemory.p50 : undefined,
      });
    }
  }
  // Not a wall-clock number: a Redis round trip per request where no quota is configured is a bug. (Background
  // reconciles, a few commands every 5 s, stay far below this.)
  for (const row of rows.filter((r) => r.target === 'core-redis')) {
    if (row.commandsPerRequest >= 0.5) failures.push(`core-redis c=${row.connections}: ${row.commandsPerRequest.toFixed(2)} Redis commands per request without quotas`);
  }
  return { scenario: scenario.id, rows, runs };
}

function fixed(value, digits) {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}
function signed(value, digits) {
  return value === undefined || !Number.isFinite(value) ? '—' : `${value >= 0 ? '+' : ''}${value.toFixed(digits)}`;
}

/** The part 3 table. */
export function formatState(state) {
  if (!state || state.skipped) return `Shared state: skipped (${state?.skipped ?? 'not run'}).`;
  const header = ['state', 'c', 'req/s', 'p50 ms', 'p99 ms', 'Δp50 vs in-process ms', 'Δp50 of Redis ms', 'Redis scripts/req', 'Redis cmds/req', 'runs alone'];
  const lines = state.rows.map((r) => [
    r.label,
    r.connections,
    fixed(r.rps, 0),
    fixed(r.p50, 2),
    fixed(r.p99, 2),
    signed(r.addedP50, 2),
    signed(r.redisP50, 2),
    fixed(r.scriptsPerRequest, 2),
    fixed(r.commandsPerRequest, 2),
    `${r.aloneRuns}/${r.rounds}`,
  ]);
  return (
    `Shared state (${state.scenario}; Redis on loopback; quotas: requests per minute and tokens per day, never refusing).\n` +
    'Δp50 of Redis: quotas in Redis minus quotas in memory. Scripts/req: round trips (reserve before the call, settle after the answer); cmds/req counts the commands scripts run too, and background reconciles. Runs alone: runs in which the instance lost Redis (a miss of its command deadline).\n\n' +
    markdownTable(header, lines)
  );
}
