/**
 * The READMEs' examples work as written: every ```js block of README.md and of each published package's README that
 * is a whole program runs under plain `node` (on the built packages, resolved from the repository's node_modules). A
 * block that starts a server is made to listen on a free loopback port (a preloaded hook rewrites `listen`), then must
 * serve `/api/providers` and answer a keyless chat request with Switchyard's `missing_api_key`, calling no provider.
 * A script (one that says what it prints, `console.log(…); // output`) must print exactly that. Other blocks are
 * fragments of a program shown elsewhere; each package README has at least one whole example. `npm test` builds first; this test skips when the build is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingBuilds, stopExample } from './example-process.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const READMES = ['README.md', 'packages/core/README.md', 'packages/express/README.md', 'packages/koa/README.md', 'packages/testkit/README.md'];

const missing = missingBuilds(['core', 'express', 'koa', 'testkit'], 'js');
if (missing.length > 0) console.warn(`readme: skipped, no ESM build at ${missing.join(', ')} (run \`npm run build\`, or \`npm test\`, which builds first)`);

/** Rewrites every `listen` to a free loopback port and says where, as the examples' own log lines do. */
const LISTEN_HOOK = `import { Server } from 'node:http';
const listen = Server.prototype.listen;
Server.prototype.listen = function (...args) {
  const callback = typeof args.at(-1) === 'function' ? args.at(-1) : undefined;
  this.once('listening', () => console.log('listening on http://127.0.0.1:' + this.address().port));
  return callback ? listen.call(this, 0, '127.0.0.1', callback) : listen.call(this, 0, '127.0.0.1');
};
`;

interface Block {
  name: string;
  code: string;
  /** Starts a server (`listen(`, `serve(`), or prints what it says it prints; otherwise a fragment. */
  kind: 'server' | 'script' | 'fragment';
}

function kindOf(code: string): Block['kind'] {
  if (/\.listen\(|\bserve\(/.test(code)) return 'server';
  if (/console\.log\(.*\); \/\/ /.test(code)) return 'script';
  return 'fragment';
}

function jsBlocks(readme: string): Block[] {
  const text = readFileSync(join(REPO_ROOT, readme), 'utf8');
  return [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((match, index) => ({ name: `${readme} #${index + 1}`, code: match[1] ?? '', kind: kindOf(match[1] ?? '') }));
}

const ALL_BLOCKS = READMES.flatMap(jsBlocks);
const BLOCKS = ALL_BLOCKS.filter((block) => block.kind !== 'fragment');

/** Runs a block; resolves with its URL once it listens (a server), or with its output once it exits 0 (a script). */
function runBlock(file: string, hook: string, serves: boolean): Promise<{ child: ChildProcess; url?: string; output: string }> {
  // NODE_ENV=test keeps reachability probes off: a README example must not reach for the internet here.
  const child = spawn(process.execPath, ['--import', hook, file], { env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${file} neither listened nor finished within 15 s\n${output}`));
    }, 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (serves && match?.[1]) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, url: match[1], output });
      }
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      // A script's own servers (a test upstream) say where they listen too; that line is the hook's, not the script's.
      if (code === 0) resolve({ child, output: output.replace(/^listening on .*\n/gm, '') });
      else reject(new Error(`${file} exited with code ${code}\n${output}`));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

describe.skipIf(missing.length > 0)('README examples', () => {
  let dir = '';
  let hook = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'switchyard-readme-'));
    // The blocks import packages by name, as a user's app does: from node_modules (the repository's, linked).
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    hook = join(dir, 'listen-hook.mjs');
    writeFileSync(hook, LISTEN_HOOK);
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds a whole example in every package README, and the recipes in README.md', () => {
    for (const readme of READMES.slice(1)) expect(BLOCKS.filter((block) => block.name.startsWith(`${readme} `)).length, readme).toBeGreaterThan(0);
    expect(BLOCKS.filter((block) => block.name.startsWith('README.md ')).length).toBeGreaterThanOrEqual(5);
  });

  it.each(BLOCKS)('$name runs as written', async ({ name, code, kind }) => {
    const file = join(dir, `${name.replace(/[^a-z0-9]+/gi, '-')}.mjs`);
    writeFileSync(file, code);
    const { child, url, output } = await runBlock(file, hook, kind === 'server');
    try {
      if (url === undefined) {
        // A block that prints says what it prints, in a comment after each console.log.
        const promised = [...code.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((match) => match[1]);
        expect(output.trim().split('\n'), name).toEqual(promised);
        return;
      }
      const providers = await fetch(`${url}/api/providers`);
      expect(providers.status, name).toBe(200);
      expect(((await providers.json()) as { providers: Array<{ id: string }> }).providers.map((provider) => provider.id), name).toContain('openai');
      const keyless = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-llm-provider': 'openai' },
        body: '{"model":"general","messages":[{"role":"user","content":"hi"}]}',
      });
      expect(keyless.status, name).toBe(400);
      expect(((await keyless.json()) as { error: { code: string } }).error.code, name).toBe('missing_api_key');
    } finally {
      await stopExample(child);
    }
  });
});
