/**
 * Child processes of the bench and the small request/answer protocol over their IPC channel. Every child the bench
 * starts is tracked here and killed when the bench ends, however it ends; a child also exits when its parent goes.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const children = new Set();

/** Kills every child still running (synchronous, so it also works in an `exit` handler). */
export function killChildren() {
  for (const entry of children) {
    if (entry.child.exitCode === null && entry.child.signalCode === null) entry.child.kill('SIGKILL');
  }
  children.clear();
}

/**
 * Starts `script` (a path relative to bench/) as a child with an IPC channel and waits for its `ready` message.
 * Resolves to a handle: `info` (what the child reported), `call(cmd, args)`, `events` listeners, and `stop()`.
 */
export function startChild(script, { args = [], execArgv = [], name = script, readyTimeoutMs = 20_000 } = {}) {
  const child = fork(fileURLToPath(new URL(`../${script}`, import.meta.url)), args, {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  const pending = new Map();
  const listeners = new Set();
  let sequence = 0;
  let exited = false;
  const entry = { child };
  children.add(entry);

  const exitedPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      children.delete(entry);
      for (const { reject, timer } of pending.values()) {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${signal ?? code})`));
      }
      pending.clear();
      resolve({ code, signal });
    });
  });

  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    child.on('message', (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolve(message.info);
      } else if (message?.type === 'reply') {
        const waiting = pending.get(message.id);
        if (!waiting) return;
        pending.delete(message.id);
        clearTimeout(waiting.timer);
        if (message.error) waiting.reject(new Error(`${name}: ${message.error}`));
        else waiting.resolve(message.result);
      } else if (message?.type === 'event') {
        for (const listener of listeners) listener(message.event);
      }
    });
    void exitedPromise.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited before it was ready (${signal ?? code})`));
    });
  });

  const handle = {
    name,
    child,
    /** Sends a command; rejects after `timeoutMs` or if the child exits. */
    call(cmd, callArgs = {}, timeoutMs = 30_000) {
      if (exited) return Promise.reject(new Error(`${name} is not running`));
      const id = ++sequence;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: "${cmd}" got no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        child.send({ type: 'call', id, cmd, args: callArgs });
      });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    /** Asks the child to exit (so `--cpu-prof` can write its profile), then kills it if it has not within `graceMs`. */
    async stop(graceMs = 5_000) {
      if (exited) return;
      child.send({ type: 'call', id: 0, cmd: 'exit', args: {} }, () => {});
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
  return ready.then((info) => Object.assign(handle, { info }));
}

/**
 * The child side: reports `info` as ready and answers the parent's calls with `handlers[cmd](args)`.
 * `exit` runs `onExit` then exits with code 0; losing the parent exits at once.
 */
export function serveParent(info, handlers, onExit = async () => {}) {
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (message) => {
    if (message?.type !== 'call') return;
    if (message.cmd === 'exit') {
      try {
        await onExit();
      } finally {
        process.exit(0);
      }
    }
    const handler = handlers[message.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      const result = await handler(message.args ?? {});
      process.send({ type: 'reply', id: message.id, result });
    } catch (error) {
      process.send({ type: 'reply', id: message.id, error: error instanceof Error ? error.message : String(error) });
    }
  });
  process.send({ type: 'ready', info });
}

/** Sends an unsolicited event to the parent. */
export function emitToParent(event) {
  process.send?.({ type: 'event', event });
}

/** `file:` path of this repository's root, for imports of built workspace packages by path. */
export const repoRoot = new URL('../../', import.meta.url);
