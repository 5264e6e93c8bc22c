import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Options for {@link startTestRedis}. */
export interface TestRedisOptions {
  /** Default: a free port on 127.0.0.1. */
  port?: number;
  /** Path of `redis-server` (or `valkey-server`). Default: `$REDIS_SERVER`, else the first on `PATH`, else `/usr/bin/redis-server`. */
  binary?: string;
  /** How long to wait for the server to answer PING. Default 10 s. */
  startTimeoutMs?: number;
}

/** A real `redis-server` on loopback, persistence off, for tests. */
export interface TestRedis {
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly port: number;
  /** Whether the server process is running (and not paused). */
  readonly running: boolean;
  /** Stops the server (SIGTERM, nothing saved) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty; resolves once it answers. */
  start(): Promise<void>;
  /** Freezes the process (SIGSTOP): connections stay open and commands go unanswered, as with a Redis that hangs. */
  pause(): void;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
  /** Stops the server and removes its working directory. */
  close(): Promise<void>;
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** Where `redis-server` is, or undefined when it is not installed. */
export function findRedisServer(): string | undefined {
  const given = process.env.REDIS_SERVER;
  if (given) return given;
  const found = onPath('redis-server') ?? onPath('valkey-server');
  if (found) return found;
  try {
    accessSync('/usr/bin/redis-server', constants.X_OK);
    return '/usr/bin/redis-server';
  } catch {
    return undefined;
  }
}

/** Servers still running when the test process exits are killed with it, so none outlives a crashed run. */
const living = new Set<ChildProcess>();
let exitHook = false;
function remember(child: ChildProcess): void {
  living.add(child);
  child.once('exit', () => living.delete(child));
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const running of living) running.kill('SIGKILL');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves true when the server answers PING within `timeoutMs`. */
function ping(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

/**
 * Starts a real `redis-server` on 127.0.0.1 with persistence off (`--save '' --appendonly no`) in a temporary
 * directory. Throws when no binary is found: install Debian's `redis-server` (CI does).
 */
export async function startTestRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const binary = options.binary ?? findRedisServer();
  if (!binary) throw new Error('testkit: redis-server not found; install it (Debian: apt-get install redis-server) or set REDIS_SERVER');
  const port = options.port ?? (await freePort());
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-redis-'));
  let child: ChildProcess | undefined;
  let paused = false;
  let output = '';

  async function start(): Promise<void> {
    if (child) return;
    output = '';
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', '', '--loglevel', 'warning'];
    const started = spawn(binary as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    remember(started);
    paused = false;
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.once('exit', () => {
      if (child === started) child = undefined;
    });
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (!child) throw new Error(`testkit: redis-server exited at start:\n${output}`);
      if (await ping(port, 500)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await stop();
    throw new Error(`testkit: redis-server did not answer within ${startTimeoutMs} ms:\n${output}`);
  }

  async function stop(): Promise<void> {
    const running = child;
    if (!running) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    if (paused) running.kill('SIGCONT');
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    child = undefined;
    paused = false;
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get running() {
      return child !== undefined && !paused;
    },
    stop,
    start,
    pause() {
      if (child && !paused) {
        child.kill('SIGSTOP');
        paused = true;
      }
    },
    resume() {
      if (child && paused) {
        child.kill('SIGCONT');
        paused = false;
      }
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
