/** Runs an example under plain `node`, as users run it, and stops it again. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built files of the workspace packages the examples load with plain `node` (no source condition). */
export function missingBuilds(packages: readonly string[], kind: 'cjs' | 'js'): string[] {
  return packages.map((pkg) => fileURLToPath(new URL(`../../../packages/${pkg}/dist/index.${kind}`, import.meta.url))).filter((path) => !existsSync(path));
}

/** The path of `apps/demo/examples/<file>`. */
export function examplePath(file: string): string {
  return fileURLToPath(new URL(`../examples/${file}`, import.meta.url));
}

/** Starts an example and resolves with its URL once it says it listens. */
export function startExample(path: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [path], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error('the example did not start within 10 s')), 10_000);
    function fail(error: Error) {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${error.message}\n${output}`));
    }
    const onExit = (code: number | null) => fail(new Error(`the example exited with code ${code}`));
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, url: match[1] });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Stops an example with SIGTERM and waits for it to exit (it must shut down on its own). */
export async function stopExample(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}
