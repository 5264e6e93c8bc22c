import cluster, { type Worker } from 'node:cluster';

/** What a worker reports once it listens. */
export interface WorkerReady {
  expressPort: number;
  koaPort: number;
  cluster: string;
  defaultProvider: string;
  sandbox: string | undefined;
  store: 'memory' | 'redis';
}

/** `WEB_CONCURRENCY` as a worker count: 1 when unset, empty or not a positive whole number. */
export function workerCount(value: string | undefined): number {
  const count = Number(value?.trim() || 1);
  return Number.isInteger(count) && count > 0 ? count : 1;
}

/** A worker that dies is replaced after this long, so a crash loop does not spin. */
const RESTART_DELAY_MS = 1_000;

/**
 * The primary of `WEB_CONCURRENCY` workers (`node:cluster`): forks them, resolves when every one listens, replaces a
 * worker that dies, and on SIGINT/SIGTERM stops them all and exits. The workers share the listening ports; they share
 * breakers and limits only through Redis (`REDIS_URL`).
 */
export function runPrimary(count: number): Promise<WorkerReady> {
  let stopping = false;
  const waiting = new Set<Worker>();
  return new Promise((resolve, reject) => {
    let first: WorkerReady | undefined;
    const fork = () => {
      const worker = cluster.fork();
      waiting.add(worker);
      worker.on('message', (message: { type?: string; ready?: WorkerReady }) => {
        if (message?.type !== 'switchyard-ready' || !message.ready) return;
        first ??= message.ready;
        waiting.delete(worker);
        if (waiting.size === 0 && first) resolve(first);
      });
    };
    cluster.on('exit', (worker, code, signal) => {
      waiting.delete(worker);
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
        return;
      }
      if (!first) {
        reject(new Error(`a worker exited before it listened (${signal ?? code})`));
        return;
      }
      process.stderr.write(`worker ${worker.process.pid} exited (${signal ?? code}); starting another\n`);
      setTimeout(fork, RESTART_DELAY_MS).unref();
    });
    const stop = () => {
      if (stopping) return;
      stopping = true;
      const running = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
      if (running.length === 0) process.exit(0);
      for (const worker of running) worker.process.kill('SIGTERM');
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    for (let i = 0; i < count; i++) fork();
  });
}
