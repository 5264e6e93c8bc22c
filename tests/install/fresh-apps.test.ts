/**
 * What `npm publish` would ship, installed the way a user installs it: the packed tarballs of @switchyard/core,
 * @switchyard/express and @switchyard/koa go into fresh apps beside Express 4, Express 5, Koa 2 and Koa 3 (and their
 * @types) from the npm registry, with npm's shared cache. Each app, from CommonJS and from ESM, answers the seed's curl
 * and the `openai` SDK against the testkit upstream on loopback, and type-checks against its framework's own @types.
 *
 * Needs the registry (the cache answers most of it after `npm ci`); SWITCHYARD_SKIP_REGISTRY=1 skips this file offline.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestUpstream, type TestUpstream } from '@switchyard/testkit';
import { hasCurl, SEED_CURL } from '../integration/seed.js';

const run = promisify(execFile);
const REPO_ROOT = resolve(import.meta.dirname, '../..');
const APPS_DIR = join(import.meta.dirname, 'apps');

interface FreshApp {
  /** `express4`, `koa3`, …: the directory and the test's name. */
  name: string;
  framework: 'express' | 'koa';
  major: number;
  /** What the app's package.json asks npm for, beside the tarballs. */
  dependencies: Record<string, string>;
}

const APPS: FreshApp[] = [
  { name: 'express4', framework: 'express', major: 4, dependencies: { express: '^4.21.2', '@types/express': '^4.17.21' } },
  { name: 'express5', framework: 'express', major: 5, dependencies: { express: '^5.0.0', '@types/express': '^5.0.0' } },
  { name: 'koa2', framework: 'koa', major: 2, dependencies: { koa: '^2.15.0', '@types/koa': '^2.15.0' } },
  { name: 'koa3', framework: 'koa', major: 3, dependencies: { koa: '^3.0.0', '@types/koa': '^3.0.0' } },
];

const skip = process.env.SWITCHYARD_SKIP_REGISTRY === '1';
if (skip) console.warn('fresh-apps: SWITCHYARD_SKIP_REGISTRY=1, the installs from the registry are skipped');

/** Child processes get no npm_* variables of the `npm test` around them (npm_config_local_prefix would point npm at the repository). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== 'NODE_OPTIONS') env[key] = value;
  // The shared cache, when the run names one.
  if (process.env.npm_config_cache) env.npm_config_cache = process.env.npm_config_cache;
  return { ...env, ...extra };
}

/** Packs a workspace package into `dest` and returns the tarball's path. */
async function pack(pkg: string, dest: string): Promise<string> {
  const dir = join(REPO_ROOT, 'packages', pkg);
  for (const file of ['dist/index.js', 'dist/index.cjs', 'dist/index.d.ts']) {
    if (!existsSync(join(dir, file))) throw new Error(`${pkg}: ${file} is missing; run npm run build first (npm test builds before it runs vitest)`);
  }
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dest], { cwd: dir, env: childEnv(), timeout: 60_000 });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  if (!packed) throw new Error(`npm pack printed nothing for ${pkg}`);
  return join(dest, packed.filename);
}

/** Writes a fresh app (package.json and its two entry files) and installs it with npm, from the shared cache first. */
async function install(app: FreshApp, root: string, tarballs: Record<string, string>): Promise<string> {
  const dir = join(root, app.name);
  mkdirSync(dir);
  const adapter = `@switchyard/${app.framework}`;
  const packageJson = {
    name: `fresh-${app.name}`,
    private: true,
    dependencies: { '@switchyard/core': `file:${tarballs.core}`, [adapter]: `file:${tarballs[app.framework]}`, ...app.dependencies, '@types/node': '^20.19.0' },
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
  for (const kind of ['cjs', 'mjs']) copyFileSync(join(APPS_DIR, `${app.framework}.${kind}`), join(dir, `app.${kind}`));
  try {
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd: dir, env: childEnv(), timeout: 240_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm install failed for ${app.name}:\n${stderr ?? ''}${stdout ?? ''}`, { cause: error });
  }
  return dir;
}

/** Starts `node app.<kind>` in `dir` and resolves with its URL once it says it listens. */
function start(dir: string, kind: 'cjs' | 'mjs', env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [`app.${kind}`], { cwd: dir, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error('the app did not start within 15 s')), 15_000);
    function fail(error: Error) {
      clearTimeout(timer);
      child.kill();
      reject(new Error(`${dir}/app.${kind}: ${error.message}\n${output}`));
    }
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, url: match[1] });
      }
    };
    const onExit = (code: number | null) => fail(new Error(`the app exited with code ${code}`));
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe.skipIf(skip)('packed tarballs in fresh apps from the registry', () => {
  let root = '';
  let upstream: TestUpstream;
  const installed = new Map<string, string>();

  beforeAll(async () => {
    root = realpathSync(mkdtempSync(join(tmpdir(), 'switchyard-fresh-')));
    const tarballDir = join(root, 'tarballs');
    mkdirSync(tarballDir);
    const [core, express, koa] = await Promise.all(['core', 'express', 'koa'].map((pkg) => pack(pkg, tarballDir)));
    const tarballs = { core: core as string, express: express as string, koa: koa as string };
    // All at once: an install mostly waits on the cache and the disk.
    const dirs = await Promise.all(APPS.map((app) => install(app, root, tarballs)));
    APPS.forEach((app, index) => installed.set(app.name, dirs[index] as string));
    upstream = await startTestUpstream();
  }, 600_000);

  afterAll(async () => {
    await upstream?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  describe.each(APPS)('$name', (app) => {
    const dir = () => installed.get(app.name) as string;

    it(`installed ${app.framework} ${app.major} from the registry and the tarballs, not the workspace`, () => {
      const version = (JSON.parse(readFileSync(join(dir(), 'node_modules', app.framework, 'package.json'), 'utf8')) as { version: string }).version;
      expect(Number(version.split('.')[0])).toBe(app.major);
      for (const pkg of ['core', app.framework]) {
        const installedDir = join(dir(), 'node_modules', '@switchyard', pkg);
        // A real copy from the tarball, holding the build and no sources.
        expect(realpathSync(installedDir)).toBe(installedDir);
        expect(existsSync(join(installedDir, 'dist', 'index.cjs'))).toBe(true);
        expect(existsSync(join(installedDir, 'src'))).toBe(false);
      }
    });

    describe.each(['cjs', 'mjs'] as const)('app.%s', (kind) => {
      let child: ChildProcess;
      let url: string;
      let token: string;
      let operatorKey: string;

      beforeAll(async () => {
        token = `app-${randomUUID()}`;
        operatorKey = `sk-operator-${randomUUID()}`;
        // The demo's environment (SPEC §8): an operator key and relay for openai, and an app token; NODE_ENV=test
        // keeps the reachability probes off, so every upstream request is one the test made.
        ({ child, url } = await start(dir(), kind, { NODE_ENV: 'test', OPENAI_API_KEY: operatorKey, OPENAI_BASE_URL: upstream.url, SWITCHYARD_APP_TOKENS: token }));
      });
      afterAll(async () => {
        if (child) await stop(child);
      });

      it.skipIf(!hasCurl())('answers the seed curl with the /api/chat events and the caller key upstream', async () => {
        const key = `sk-caller-${randomUUID()}`;
        const { stdout } = await run('/bin/sh', ['-c', SEED_CURL], { env: { ...process.env, BASE_URL: url, TOKEN: token, LLM_KEY: key }, timeout: 10_000 });
        const events = stdout
          .split('\n\n')
          .filter((frame) => frame.trim() !== '')
          .map((frame) => JSON.parse(frame.replace(/^data: /, '')) as { type: string; content?: string });
        expect(events.map((event) => event.type).filter((type) => type !== 'reply')).toEqual(['id', 'route', 'costStatistics', 'end']);
        expect(events.filter((event) => event.type === 'reply').map((event) => event.content).join('')).toBe('echo: hi');
        expect(events.at(-1)).toEqual({ type: 'end', content: '', finish_reason: 'stop' });
        const received = upstream.lastRequest();
        expect(received?.headers.authorization).toBe(`Bearer ${key}`);
        expect(received?.json).toMatchObject({ model: 'gpt-5', messages: [{ role: 'system' }, { role: 'user', content: 'hi' }] });
        expect(JSON.stringify(received?.headers) + (received?.body ?? '')).not.toContain(token);
      });

      it('answers the openai SDK, streamed and not, with the caller key upstream', async () => {
        const key = `sk-caller-${randomUUID()}`;
        const client = new OpenAI({ apiKey: token, baseURL: `${url}/v1`, maxRetries: 0, defaultHeaders: { 'X-LLM-Provider': 'openai', 'X-LLM-Api-Key': key } });
        const completion = await client.chat.completions.create({ model: 'general', messages: [{ role: 'user', content: 'whole' }] });
        expect(completion.choices[0]?.message.content).toBe('echo: whole');
        const stream = await client.chat.completions.create({ model: 'expert', stream: true, messages: [{ role: 'user', content: 'in parts' }] });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
        expect(text).toBe('echo: in parts');
        const received = upstream.lastRequest();
        expect(received?.headers.authorization).toBe(`Bearer ${key}`);
        expect((received?.json as { model: string }).model).toBe('gpt-5-pro');
        const models = await client.models.list();
        expect(models.data.map((model) => model.id)).toEqual(expect.arrayContaining(['general', 'expert']));
      });

      it('gives its own route the LLM context, with the operator key from the environment', async () => {
        const response = await fetch(`${url}/summarize?text=fresh`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ summary: 'echo: Summarize: fresh', servedBy: 'openai/gpt-5' });
        expect(upstream.lastRequest()?.headers.authorization).toBe(`Bearer ${operatorKey}`);
      });
    });

    // The app's own JavaScript, checked by TypeScript against the @types it installed: `req.llm` / `ctx.state.llm`
    // come from the adapter's declarations, and the middleware fits that major's `app.use`.
    it.for(['cjs', 'mjs'] as const)('type-checks app.%s against the installed @types', { timeout: 60_000 }, async (kind) => {
      const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      // The declarations themselves (slow: openai's are large) are checked once, against @types/express 4; the packaging
      // tests check them against Express 5's. @types/koa names `contentDisposition.Options`, which content-disposition 1
      // (Koa 3) no longer declares, so Koa apps skip the check as every Koa 3 + TypeScript app does.
      const flags = app.name === 'express4' && kind === 'cjs' ? [] : ['--skipLibCheck'];
      const args = [tsc, '--noEmit', '--allowJs', '--checkJs', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--types', 'node', ...flags, `app.${kind}`];
      try {
        await run(process.execPath, args, { cwd: dir(), env: childEnv(), timeout: 60_000 });
      } catch (error) {
        const { stdout, stderr } = error as { stdout?: string; stderr?: string };
        throw new Error(`tsc found errors in ${app.name}/app.${kind}:\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
      }
    });
  });
});
